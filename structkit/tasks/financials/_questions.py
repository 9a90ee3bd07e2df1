"""Question mode for the financials task: the few rows code could not place, asked one by one.

Code places what it can (:func:`._analysis.code_items`). A metric is *open*
when the statement should have it and code did not place it: either several rows are worded
alike with different numbers (the lexicon leaves the tie open), or no row matched a key metric
of this statement kind. Each open metric becomes one small question: "which of these rows is
<metric>?", answered with an enum of row labels plus ``none``. The answer names a row, so the
amounts stay the table's cells (grounded by construction). In ``baseline`` mode, and when
nothing is open, there are no questions and the model is not called.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from ..._prompt import fence, render_template
from ..._task import Answers, Question, QuestionContext
from ...adapters._record import Record
from .._patterns import compiled
from ._analysis import (
    analyze,
    code_items,
    open_metrics,
    refuse_non_statement,
    row_items,
    statement_kind,
)
from ._lexicon import map_rows
from ._models import Financials, LineItem
from ._statement import _index, _Row, _Table

__all__ = ["MAX_OPTIONS", "MAX_QUESTIONS", "MEANINGS", "assemble_financials", "financial_questions"]

#: At most this many questions per statement, and options per question: small, well-posed.
MAX_QUESTIONS = 4
MAX_OPTIONS = 24
MAX_OPTION_CHARS = 100
_NONE = "none"

MEANINGS: dict[str, str] = {
    "revenue": "revenue (total net sales / turnover)",
    "operating_income": "operating income (profit from operations)",
    "net_income": "net income (profit for the period attributable to the parent's owners)",
    "total_assets": "total assets",
    "total_liabilities": "total liabilities",
    "shareholders_equity": "total shareholders' equity attributable to the parent (not "
    "including noncontrolling interests)",
    "operating_cash_flow": "net cash from operating activities",
    "investing_cash_flow": "net cash from investing activities",
    "financing_cash_flow": "net cash from financing activities (the section total)",
    "capital_expenditures": "capital expenditures (payments for property, plant and equipment)",
}


# A row can only be a missing metric if its label says something like it: the candidates of a
# question are the unplaced rows whose label has one of these stems (few options, and no
# question at all when no row could be it).
_STEMS: dict[str, re.Pattern[str]] = compiled(
    {
        "revenue": r"revenue|sales|turnover",
        "operating_income": r"operat",
        "net_income": r"income|profit|earnings|loss",
        "total_assets": r"assets",
        "total_liabilities": r"liabilit",
        "shareholders_equity": r"equity|deficit|stockholders|shareholders|funds",
        "operating_cash_flow": r"operat",
        "investing_cash_flow": r"invest",
        "financing_cash_flow": r"financ",
        "capital_expenditures": r"property|equipment|plant|capital|fixed asset",
    }
)


@dataclass
class _Plan:
    table: _Table
    items: list[LineItem]
    used: set[int]
    open: dict[str, list[_Row]]  # metric -> candidate rows, in table order


def _plan(record: Record) -> _Plan:
    table = _index(record)
    items, used = code_items(record, table)
    refuse_non_statement(record, table, len(items))
    kind = statement_kind({i.metric for i in items})
    open_: dict[str, list[_Row]] = {}
    if record.kind != "xbrl":  # tagged facts are never asked about
        _, ties = map_rows(table)
        for metric, rows in ties.items():
            if metric in MEANINGS:
                open_[metric] = [r for r in rows if id(r) not in used]
        missing, _labels = open_metrics(kind, items, table, used)
        loose = [
            r
            for r in table.all_rows()
            if id(r) not in used and any(c.amount is not None for c in r.cells.values())
        ]
        for metric in missing:
            stem = _STEMS.get(metric)
            candidates = [r for r in loose if stem is not None and stem.search(r.label)]
            if metric not in open_ and candidates:
                open_[metric] = candidates
    open_ = {m: rows for m, rows in list(open_.items())[:MAX_QUESTIONS] if rows}
    return _Plan(table, items, used, open_)


def _options(rows: list[_Row]) -> dict[str, _Row]:
    """Label -> row (the first row with that label), at most :data:`MAX_OPTIONS`."""
    options: dict[str, _Row] = {}
    for row in rows:
        label = row.label.strip()
        # A key metric's label is short; a long one (share capital terms) would only cost tokens.
        if label and len(label) <= MAX_OPTION_CHARS and label != _NONE and label not in options:
            options[label] = row
        if len(options) == MAX_OPTIONS:
            break
    return options


def _rows_text(rows: list[_Row], periods: list[str]) -> str:
    lines = ["label | " + " | ".join(periods)]
    for row in rows:
        cells = [row.cells[p].text if p in row.cells else "" for p in periods]
        lines.append(" | ".join([row.label, *cells]))
    return "\n".join(lines)


def _question(
    metric: str, options: dict[str, _Row], table: _Table, ctx: QuestionContext
) -> Question:
    choices = [*options, _NONE]
    schema: dict[str, Any] = {
        "type": "object",
        "properties": {"choice": {"enum": choices}},
        "required": ["choice"],
        "additionalProperties": False,
    }
    # The whole statement for context when it fits, else only the candidate rows.
    for rows in (list(table.all_rows()), list(options.values())):
        fenced, tag = fence(_rows_text(rows, table.periods), label="TABLE")
        content = render_template(
            "financials.jinja",
            table=fenced,
            tag=tag,
            metric=metric,
            meaning=MEANINGS.get(metric, metric.replace("_", " ")),
            options=choices,
        )
        if ctx.count_tokens(content) <= ctx.max_prompt_tokens:
            break
    longest = max(ctx.count_tokens(c) for c in choices)
    return Question(
        key=f"row:{metric}",
        messages=[{"role": "user", "content": content}],
        json_schema=schema,
        max_tokens=longest + 16,
    )


def financial_questions(record: Record, ctx: QuestionContext) -> list[Question]:
    """The task's ``questions``: one per open metric; none in ``baseline`` mode.

    Raises:
        NotAStatementError: the table is a time series or holds no numbers.
    """
    plan = _plan(record)
    if ctx.mode == "baseline":
        return []
    return [
        _question(metric, _options(rows), plan.table, ctx) for metric, rows in plan.open.items()
    ]


def assemble_financials(record: Record, answers: Answers) -> Financials:
    """The task's ``assemble``: code's items plus the rows the model named, then the analysis."""
    plan = _plan(record)
    items = list(plan.items)
    used = set(plan.used)
    for metric, rows in plan.open.items():
        answer = answers.values.get(f"row:{metric}")
        choice = answer.get("choice") if isinstance(answer, dict) else None
        row = _options(rows).get(choice) if isinstance(choice, str) else None
        if row is None or id(row) in used:
            continue
        items.extend(row_items(row, metric, "model"))
        used.add(id(row))
    return analyze(record, plan.table, items, used=used, questions=answers.asked)
