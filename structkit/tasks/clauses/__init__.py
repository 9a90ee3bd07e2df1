"""Contract -> CUAD-style clause extraction, with every clause located in the source text.

The task (:mod:`._task`: postprocess, merge, one-shot questions, the factory), its output models
(:mod:`._models`), verbatim spans and locating them (:mod:`._spans`), code's ranking of candidate
spans (:mod:`._rank`), what code reads from structure (:mod:`._values`), the modes that ask
about candidates (:mod:`._modes`) and the learned heads (:mod:`._head`).
"""

from ._models import (
    CLAUSE_TYPES,
    DATE_TYPES,
    MAX_CLAUSES,
    MAX_SPAN,
    SINGLE_VALUED_TYPES,
    Clause,
    ClauseExtraction,
    ClauseType,
)
from ._spans import SquashedText, candidate_spans, grounded_schema, locate_span, squash
from ._task import CLAUSES, MODES, clauses_task, merge_clauses, postprocess
from ._values import normalize_date

__all__ = [
    "CLAUSES",
    "CLAUSE_TYPES",
    "DATE_TYPES",
    "MAX_CLAUSES",
    "MAX_SPAN",
    "MODES",
    "SINGLE_VALUED_TYPES",
    "Clause",
    "ClauseExtraction",
    "ClauseType",
    "SquashedText",
    "candidate_spans",
    "clauses_task",
    "grounded_schema",
    "locate_span",
    "merge_clauses",
    "normalize_date",
    "postprocess",
    "squash",
]
