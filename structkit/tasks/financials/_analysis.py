"""The financials task in code: place rows (XBRL concept, lexicon), then compute and check.

:func:`code_items` gives every row code can place exactly: facts of a tagged filing by their
concept (``mapped_by="xbrl"``), other rows by their label and heading (``mapped_by="lexicon"``).
:func:`open_metrics` says which key metrics of the statement are still missing and which rows
could hold them: the only things the model is asked about. :func:`analyze` turns placed rows
(code's and the model's) into the result: ratios, growth, cash-flow measures and identity checks,
all from grounded cells.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from typing import Literal

from ..._errors import NotAStatementError
from ...adapters._record import Record
from ._identities import Values, _Amount, _block_flags, _check_identities
from ._lexicon import map_rows
from ._models import (
    METRICS,
    Financials,
    Flag,
    Growth,
    LineItem,
    MappedBy,
    PeriodCashFlow,
    PeriodRatios,
)
from ._statement import _Row, _Table, _units, period_sort_key

__all__ = [
    "KEY_METRICS",
    "NotAStatementError",
    "analyze",
    "code_items",
    "open_metrics",
    "row_items",
    "statement_kind",
]


StatementKind = Literal[
    "income_statement", "balance_sheet", "cash_flow_statement", "combined", "other"
]

_KIND_METRICS: dict[str, tuple[str, ...]] = {
    "income_statement": (
        "revenue",
        "cost_of_revenue",
        "gross_profit",
        "operating_income",
        "pretax_income",
        "eps_basic",
    ),
    "balance_sheet": (
        "total_assets",
        "total_current_assets",
        "total_liabilities",
        "total_current_liabilities",
        "total_liabilities_and_equity",
    ),
    "cash_flow_statement": (
        "operating_cash_flow",
        "investing_cash_flow",
        "financing_cash_flow",
        "net_change_in_cash",
    ),
}
#: Per statement kind, the metrics worth a question when code did not find them.
KEY_METRICS: dict[str, tuple[str, ...]] = {
    "income_statement": ("revenue", "operating_income", "net_income"),
    "balance_sheet": ("total_assets", "total_liabilities", "shareholders_equity"),
    "cash_flow_statement": (
        "operating_cash_flow",
        "investing_cash_flow",
        "financing_cash_flow",
        "capital_expenditures",
    ),
}


def statement_kind(metrics: set[str]) -> StatementKind:
    """Which statement the placed metrics make the table (code's call, not the model's)."""
    kinds = [k for k, ms in _KIND_METRICS.items() if metrics & set(ms)]
    if len(kinds) > 1:
        return "combined"
    if kinds:
        return kinds[0]  # type: ignore[return-value]
    return "other"


def row_items(row: _Row, metric: str, mapped_by: MappedBy) -> list[LineItem]:
    """One grounded line item per numeric cell of ``row``."""
    return [
        LineItem(
            metric=metric,  # type: ignore[arg-type]
            source_label=row.label[:160],
            period=cell.period[:80],
            value=cell.text.strip()[:40] or "0",
            grounded=True,
            pointer=cell.pointer,
            section=cell.section,
            amount=float(cell.amount),
            mapped_by=mapped_by,
        )
        for cell in row.cells.values()
        if cell.amount is not None
    ]


def code_items(record: Record, table: _Table) -> tuple[list[LineItem], set[int]]:
    """Line items code places exactly, and the ids of the rows it used."""
    items: list[LineItem] = []
    used: set[int] = set()
    if record.kind == "xbrl":
        from ._xbrl_concepts import concept_metric, preferred

        # Several concepts can mean one metric; per period the first-choice concept wins.
        taken: set[tuple[str, str]] = set()
        for row in sorted(table.all_rows(), key=lambda r: preferred(r.label)):
            metric = concept_metric(row.label)
            if metric is None:
                continue
            for item in row_items(row, metric, "xbrl"):
                if (metric, item.period) not in taken:
                    taken.add((metric, item.period))
                    items.append(item)
            used.add(id(row))
        return items, used
    matches, _ = map_rows(table)
    for match in matches:
        items.extend(row_items(match.row, match.metric, "lexicon"))
        used.add(id(match.row))
    return items, used


def _numeric(row: _Row) -> bool:
    return any(c.amount is not None for c in row.cells.values())


_DATE_HEADER = re.compile(r"date|period|month|year|quarter|as of", re.IGNORECASE)


def refuse_non_statement(record: Record, table: _Table, placed: int) -> None:
    """Raise :class:`NotAStatementError` when the table is a time series or has no numbers."""
    if not table.rows or not any(_numeric(r) for r in table.all_rows()):
        raise NotAStatementError(
            "the record has no table of numbers, so it is not a financial statement",
            record_id=record.record_id,
        )
    if placed or record.kind == "xbrl":
        return
    dated = [r for r in table.all_rows() if period_sort_key(r.label) is not None]
    rows = list(table.all_rows())
    if len(dated) * 2 > len(rows):
        first = next((s for s in record.sections if s.is_table), None)
        column = first.columns[0] if first and first.columns else "the first column"
        if first and not _DATE_HEADER.search(column):
            column = "the first column"
        raise NotAStatementError(
            f"the table is a time series (dates in {column!r}, one row per date, "
            f"{len(table.periods)} value column(s)), not a financial statement; "
            "no line item was invented",
            record_id=record.record_id,
        )


def open_metrics(
    kind: StatementKind, items: Sequence[LineItem], table: _Table, used: set[int]
) -> tuple[list[str], list[str]]:
    """(key metrics code did not place, labels of the numeric rows code did not place)."""
    placed = {i.metric for i in items}
    kinds = list(KEY_METRICS) if kind == "combined" else [kind]
    missing = [m for k in kinds for m in KEY_METRICS.get(k, ()) if m not in placed]
    labels = list(
        dict.fromkeys(
            r.label for r in table.all_rows() if id(r) not in used and _numeric(r) and r.label
        )
    )
    return missing, labels


# --------------------------------------------------------------------------- analysis


def _values(items: Sequence[LineItem]) -> tuple[Values, list[Flag]]:
    values: Values = {}
    flags: list[Flag] = []
    for item in items:
        if not item.grounded or item.amount is None or item.pointer is None:
            continue
        key = (item.metric, item.period)
        amount = Decimal(str(item.amount))
        if key in values and values[key].value != amount:
            flags.append(
                Flag(
                    kind="conflict",
                    source="model" if item.mapped_by == "model" else "table",
                    period=item.period,
                    message=f"{item.metric} has two different amounts; using the first",
                    pointers=[values[key].pointer, item.pointer],
                )
            )
            continue
        values.setdefault(key, _Amount(amount, item.pointer))
    return values, flags


def _cash_flow(values: Values, periods: Sequence[str]) -> list[PeriodCashFlow]:
    out: list[PeriodCashFlow] = []
    for period in periods:
        operating = values.get(("operating_cash_flow", period))
        capex = values.get(("capital_expenditures", period))
        income = values.get(("net_income", period))
        fcf = None
        if operating is not None and capex is not None:
            # Capex is a payment: printed negative (added) or positive (subtracted).
            fcf = float(operating.value - abs(capex.value))
        conversion = None
        if operating is not None and income is not None and income.value != 0:
            conversion = float(operating.value / income.value)
        if fcf is not None or conversion is not None:
            out.append(
                PeriodCashFlow(period=period, free_cash_flow=fcf, cash_conversion=conversion)
            )
    return out


# --------------------------------------------------------------------------- ratios and growth


def _ratio(values: Values, top: str, bottom: str, period: str) -> float | None:
    a, b = values.get((top, period)), values.get((bottom, period))
    if a is None or b is None or b.value == 0:
        return None
    return float(a.value / b.value)


def _ratios(values: Values, periods: Sequence[str]) -> list[PeriodRatios]:
    out: list[PeriodRatios] = []
    for p in periods:
        ratios = PeriodRatios(
            period=p,
            gross_margin=_ratio(values, "gross_profit", "revenue", p),
            operating_margin=_ratio(values, "operating_income", "revenue", p),
            net_margin=_ratio(values, "net_income", "revenue", p),
            current_ratio=_ratio(values, "total_current_assets", "total_current_liabilities", p),
            debt_to_equity=_ratio(values, "total_liabilities", "shareholders_equity", p),
            return_on_assets=_ratio(values, "net_income", "total_assets", p),
            return_on_equity=_ratio(values, "net_income", "shareholders_equity", p),
        )
        if any(v is not None for k, v in ratios if k != "period"):
            out.append(ratios)
    return out


GROWTH_METRICS = ("revenue", "net_income")


def _growth(values: Values, periods: Sequence[str]) -> list[Growth]:
    out: list[Growth] = []
    for metric in GROWTH_METRICS:
        for previous, current in itertools.pairwise(periods):
            a, b = values.get((metric, previous)), values.get((metric, current))
            if a is None or b is None:
                continue
            change = None if a.value == 0 else float((b.value - a.value) / abs(a.value))
            out.append(
                Growth(metric=metric, period=current, previous_period=previous, value=change)
            )
    return out


def _chronological(periods: Sequence[str]) -> tuple[list[str], bool]:
    """Periods oldest first, and whether that order is known (every header is a distinct date)."""
    keys = [period_sort_key(p) for p in periods]
    if len(periods) > 1 and all(k is not None for k in keys) and len(set(keys)) == len(keys):
        order = sorted(range(len(periods)), key=lambda i: keys[i] or date.min)
        return [periods[i] for i in order], True
    return list(periods), len(periods) <= 1


def _unordered_periods() -> Flag:
    """The flag for periods whose order is unknown (see :func:`_chronological`)."""
    return Flag(
        kind="period_order",
        source="table",
        message="period headers are not all dates; growth is not computed",
    )


def analyze(
    record: Record,
    table: _Table,
    items: list[LineItem],
    *,
    used: set[int],
    questions: int,
) -> Financials:
    """The result from placed rows: ratios, growth, cash flow, identity and subtotal checks."""
    currency, scale = _units(record, table)
    order = {m: i for i, m in enumerate(METRICS)}
    items = sorted(items, key=lambda i: order.get(i.metric, len(order)))
    values, flags = _values(items)
    periods, ordered = _chronological(table.periods)
    if not ordered:
        flags.append(_unordered_periods())
    flags.extend(_check_identities(values, periods, "table"))
    if record.kind != "xbrl":
        for rows in table.rows:
            flags.extend(_block_flags(rows, periods))
    kind = statement_kind({i.metric for i in items})
    by = {m: sum(i.mapped_by == m for i in items) for m in ("xbrl", "lexicon", "model")}
    narrative = (
        f"{kind.replace('_', ' ')}: {len(items)} line items over {len(periods)} periods; "
        f"placed by XBRL concept {by['xbrl']}, by label {by['lexicon']}, by the model "
        f"{by['model']} ({questions} questions asked)."
    )
    unmapped = [
        r.label
        for r in table.all_rows()
        if id(r) not in used and any(c.amount is not None for c in r.cells.values())
    ]
    return Financials(
        statement=kind,
        line_items=items,
        narrative=narrative[:400],
        currency=currency,
        scale=scale,
        periods=periods,
        ratios=_ratios(values, periods),
        growth=_growth(values, periods) if ordered else [],
        flags=flags,
        cash_flow=_cash_flow(values, periods),
        model_questions=questions,
        unmapped_rows=unmapped[:200],
    )
