"""CUAD gold clauses and a span-overlap score for :mod:`structkit.tasks.clauses`.

CUAD's ``master_clauses.csv`` has one row per contract: ``Filename``, then for each of the 41
categories a context column holding the clause spans as a Python list literal (e.g.
``"['Bankers Bank', 'Netzee']"``) and an ``<category>-Answer`` column (``Yes``/``No``, a date, a
jurisdiction...). The list literals are parsed with :func:`ast.literal_eval` (never ``eval``) and
must be lists of strings.

Scoring rule (per clause type, spans of different types never match): a predicted span
*matches* a gold span when

- both have offsets in the source text (``start >= 0``) and their character ranges overlap by at
  least half of the shorter span (so a predicted sentence containing a short gold name matches,
  and a gold passage covering a predicted sentence matches); or
- either lacks offsets (not found in the text) and, after collapsing whitespace and case-folding,
  one text contains the other.

Precision is the share of predicted spans that match some gold span; recall the share of gold
spans matched by some prediction (matching is not one-to-one, as in CUAD's span evaluation);
F1 their harmonic mean. With no predictions precision is 1 only if there is no gold either (and
likewise recall), so an empty prediction against gold scores F1 = 0 and an empty prediction of an
absent type scores 1. ``micro`` sums the counts over the scored types.
"""

from __future__ import annotations

import ast
import csv
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from .._errors import DatasetError
from ..tasks.clauses import CLAUSE_TYPES, SquashedText, locate_span, squash

__all__ = [
    "CuadGold",
    "GoldSpan",
    "Score",
    "ScoreReport",
    "SpanLike",
    "dataset_name",
    "load_gold",
    "parse_span_list",
    "read_master_clauses",
    "score",
    "spans_match",
]

#: Longest context cell parsed (characters): a guard for literal_eval on untrusted files.
MAX_CELL = 1_000_000
_CANONICAL = {name.casefold(): name for name in CLAUSE_TYPES}


def canonical_category(name: str) -> str:
    """``name`` spelled as in :data:`~structkit.tasks.clauses.CLAUSE_TYPES` when it is one
    (case-insensitive: CUAD's descriptions say "IP Ownership Assignment", its master CSV
    "Ip Ownership Assignment"), else as given (stripped)."""
    cleaned = " ".join(name.split())
    return _CANONICAL.get(cleaned.casefold(), cleaned)


class SpanLike(Protocol):
    """What :func:`score` needs of a span: a :class:`GoldSpan` or a ``Clause``."""

    @property
    def clause_type(self) -> str: ...
    @property
    def text(self) -> str: ...
    @property
    def start(self) -> int: ...
    @property
    def end(self) -> int: ...


@dataclass(frozen=True)
class GoldSpan:
    """One CUAD gold span; ``start``/``end`` are -1 when it was not found in the text."""

    clause_type: str
    text: str
    start: int = -1
    end: int = -1
    grounding: str = ""


@dataclass(frozen=True)
class CuadGold:
    """The gold annotations of one contract."""

    filename: str
    spans: tuple[GoldSpan, ...]
    answers: dict[str, str] = field(default_factory=dict)
    """``<category>-Answer`` values by category, e.g. ``{"Governing Law": "England"}``."""

    def of_type(self, clause_type: str) -> list[GoldSpan]:
        return [s for s in self.spans if s.clause_type == clause_type]


def parse_span_list(cell: str) -> list[str]:
    """Parse a context cell (a Python list literal of strings) safely; ``""`` is no spans.

    Raises:
        DatasetError: the cell is not a list of strings (or is too long to parse).
    """
    cell = cell.strip()
    if not cell:
        return []
    if len(cell) > MAX_CELL:
        raise DatasetError(f"context cell longer than {MAX_CELL} characters")
    try:
        value = ast.literal_eval(cell)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError) as exc:
        raise DatasetError(f"context cell is not a Python list literal: {exc}") from None
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise DatasetError("context cell is not a list of strings")
    return value


def dataset_name(filename: str) -> str:
    """The name a CUAD contract has in an evaluation dataset (``datasets/clauses/``):
    ``cuad_<slug of its file name>``, the slug cut at 70 characters."""
    stem = re.sub(r"\.(pdf|txt)$", "", filename.strip(), flags=re.IGNORECASE)
    slug = re.sub(r"[^a-z0-9]+", "_", stem.lower()).strip("_")
    return "cuad_" + slug[:70].strip("_")


def read_master_clauses(path: str | os.PathLike[str]) -> list[dict[str, str]]:
    """The rows of a CUAD ``master_clauses.csv`` (UTF-8, with or without a BOM)."""
    with Path(path).open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


def _pick_row(rows: list[dict[str, str]], contract: str) -> dict[str, str]:
    wanted = contract.casefold()
    stem = Path(contract).stem.casefold()
    for test in (
        lambda name: name.casefold() == wanted,
        lambda name: Path(name).stem.casefold() == stem,
    ):
        found = [r for r in rows if test(r.get("Filename", ""))]
        if len(found) == 1:
            return found[0]
    found = [r for r in rows if wanted in r.get("Filename", "").casefold()]
    if len(found) == 1:
        return found[0]
    names = ", ".join(repr(r.get("Filename", "")) for r in rows[:10])
    how = "matches several rows" if found else "matches no row"
    raise DatasetError(f"contract {contract!r} {how} of the CUAD file (rows: {names}...)")


def _answer_column(row: dict[str, str], category: str) -> str:
    for key in (f"{category}-Answer", f"{category}- Answer", f"{category} -Answer"):
        if key in row:
            return row[key].strip()
    return ""


def load_gold(
    csv_path: str | os.PathLike[str],
    contract: str,
    *,
    source_text: str | None = None,
    rows: list[dict[str, str]] | None = None,
) -> CuadGold:
    """Gold spans and answers of one contract from a CUAD master-clauses CSV.

    Args:
        csv_path: ``master_clauses.csv`` (or a file with its header and some of its rows).
        contract: the ``Filename`` value, its stem, or a case-insensitive part of it that picks
            one row (e.g. ``"NETZEE"``).
        source_text: the contract text; when given, spans are located in it (exactly, then up
            to whitespace) so they can be scored by offsets.
        rows: the CSV's rows when already read (:func:`read_master_clauses`); ``csv_path`` is
            then not read again (training reads one 4 MB file for hundreds of contracts).

    Raises:
        DatasetError: no single row matches ``contract``, or a context cell is malformed.
    """
    if rows is None:
        rows = read_master_clauses(csv_path)
    row = _pick_row(rows, contract)
    squashed = SquashedText(source_text) if source_text is not None else None
    spans: list[GoldSpan] = []
    answers: dict[str, str] = {}
    for column, cell in row.items():
        if column is None or column == "Filename" or "answer" in column.casefold():
            continue
        category = canonical_category(column)
        answers[category] = _answer_column(row, column)
        seen: set[str] = set()
        for text in parse_span_list(cell or ""):
            if text in seen or not text.strip():
                continue
            seen.add(text)
            if source_text is not None:
                start, end, how = locate_span(text, source_text, squashed=squashed)
                spans.append(GoldSpan(category, text, start, end, how))
            else:
                spans.append(GoldSpan(category, text))
    return CuadGold(filename=row.get("Filename", contract), spans=tuple(spans), answers=answers)


def spans_match(predicted: SpanLike, gold: SpanLike) -> bool:
    """The matching rule of :func:`score` (see the module docstring)."""
    if canonical_category(predicted.clause_type) != canonical_category(gold.clause_type):
        return False
    if predicted.start >= 0 and gold.start >= 0:
        overlap = min(predicted.end, gold.end) - max(predicted.start, gold.start)
        shorter = min(predicted.end - predicted.start, gold.end - gold.start)
        return overlap > 0 and 2 * overlap >= shorter
    a, b = squash(predicted.text).casefold(), squash(gold.text).casefold()
    return bool(a and b) and (a in b or b in a)


@dataclass(frozen=True)
class Score:
    """Counts and rates for one clause type (or summed over types)."""

    predicted: int
    gold: int
    correct_predicted: int
    """Predicted spans matching some gold span."""
    found_gold: int
    """Gold spans matched by some predicted span."""

    @property
    def precision(self) -> float:
        if self.predicted == 0:
            return 1.0 if self.gold == 0 else 0.0
        return self.correct_predicted / self.predicted

    @property
    def recall(self) -> float:
        if self.gold == 0:
            return 1.0 if self.predicted == 0 else 0.0
        return self.found_gold / self.gold

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0


@dataclass(frozen=True)
class ScoreReport:
    """Per-type scores and their micro-average."""

    by_type: dict[str, Score]
    micro: Score

    @property
    def macro_f1(self) -> float:
        """Mean F1 over the scored types (1.0 when no type was scored)."""
        if not self.by_type:
            return 1.0
        return sum(s.f1 for s in self.by_type.values()) / len(self.by_type)


def score(
    predicted: Iterable[SpanLike],
    gold: Iterable[SpanLike],
    *,
    types: Iterable[str] | None = None,
) -> ScoreReport:
    """Precision/recall/F1 per clause type of ``predicted`` against ``gold`` spans.

    Args:
        types: the clause types to score; default: every type that occurs in either list. Pass
            e.g. ``CLAUSE_TYPES`` to also count absent types predicted correctly as absent.
    """
    pred_list, gold_list = list(predicted), list(gold)
    if types is None:
        chosen = sorted({canonical_category(s.clause_type) for s in [*pred_list, *gold_list]})
    else:
        chosen = [canonical_category(t) for t in types]
    by_type: dict[str, Score] = {}
    for clause_type in chosen:
        p = [s for s in pred_list if canonical_category(s.clause_type) == clause_type]
        g = [s for s in gold_list if canonical_category(s.clause_type) == clause_type]
        by_type[clause_type] = Score(
            predicted=len(p),
            gold=len(g),
            correct_predicted=sum(any(spans_match(x, y) for y in g) for x in p),
            found_gold=sum(any(spans_match(x, y) for x in p) for y in g),
        )
    micro = Score(
        predicted=sum(s.predicted for s in by_type.values()),
        gold=sum(s.gold for s in by_type.values()),
        correct_predicted=sum(s.correct_predicted for s in by_type.values()),
        found_gold=sum(s.found_gold for s in by_type.values()),
    )
    return ScoreReport(by_type=by_type, micro=micro)
