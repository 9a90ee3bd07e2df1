"""The earlier design of the financials task, kept for comparison tests: the model maps every
row of the statement in one big answer (structkit's task now places rows in code and asks only
about open metrics). Not part of the package (the classic diagnosis task is, in
``structkit.testing.freeform_diagnosis``)."""

from __future__ import annotations

from structkit import Task
from structkit.tasks.financials import Financials, grounded_financials_schema, verify_financials

__all__ = ["FINANCIALS_MAPPING"]

FINANCIALS_MAPPING: Task[Financials] = Task(
    name="financials-mapping",
    template="financials_map.jinja",
    output_model=Financials,
    format="csv",
    # One item per metric and period: the right answer for Apple's 3-year income statement is
    # about 1,500 tokens (SmolLM2 tokenizer), far over the 512 most small-model profiles allow.
    max_tokens=1792,  # ~48 items of ~35 tokens plus narrative
    grounded_schema=grounded_financials_schema,
    postprocess=verify_financials,
)
"""The earlier design: the model maps every row (one big answer)."""
