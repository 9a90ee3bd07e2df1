"""Accounting identities and subtotals, checked on amounts by (metric, period).

:func:`_check_identities` checks :data:`IDENTITIES` (assets = liabilities + equity, ...) on any
amounts, the model's or the table's; :func:`check_table` is the deterministic pass that finds the
terms by their row labels (:data:`TABLE_LABELS`) and also checks block subtotals. Used by
:mod:`structkit.tasks.financials`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

from ...adapters._record import Record
from ._models import Flag
from ._statement import _index, _norm, _Row, _Table

__all__ = [
    "ABSOLUTE_TOLERANCE",
    "IDENTITIES",
    "RELATIVE_TOLERANCE",
    "TABLE_LABELS",
    "Values",
    "check_table",
]

#: Identity tolerance: relative part (0.5 %) and absolute floor (one unit of the table's scale).
RELATIVE_TOLERANCE = Decimal("0.005")
ABSOLUTE_TOLERANCE = Decimal(1)


@dataclass(frozen=True)
class _Amount:
    value: Decimal
    pointer: str


Values = dict[tuple[str, str], _Amount]  # (metric, period) -> amount


# --------------------------------------------------------------------------- identities

_Term = tuple[int, str]


@dataclass(frozen=True)
class _Identity:
    total: str
    terms: tuple[_Term, ...]
    optional: tuple[_Term, ...] = ()
    """Terms added when the statement has them (the FX effect on cash)."""

    @property
    def name(self) -> str:
        rhs = ""
        for sign, term in self.terms:
            rhs += (" - " if sign < 0 else " + ") + term if rhs else term
        return f"{self.total} = {rhs}"


_BETWEEN: tuple[_Term, ...] = ((1, "noncontrolling_interest"), (1, "temporary_equity"))

IDENTITIES: tuple[_Identity, ...] = (
    # Noncontrolling interests and temporary (mezzanine) equity sit between liabilities and
    # the parent's equity on statements that have them.
    _Identity(
        "total_assets",
        ((1, "total_liabilities"), (1, "shareholders_equity")),
        optional=_BETWEEN,
    ),
    _Identity(
        "total_liabilities_and_equity",
        ((1, "total_liabilities"), (1, "shareholders_equity")),
        optional=_BETWEEN,
    ),
    _Identity("total_assets", ((1, "total_liabilities_and_equity"),)),
    _Identity("total_assets", ((1, "total_current_assets"), (1, "total_non_current_assets"))),
    _Identity(
        "total_liabilities",
        ((1, "total_current_liabilities"), (1, "total_non_current_liabilities")),
    ),
    _Identity("gross_profit", ((1, "revenue"), (-1, "cost_of_revenue"))),
    _Identity("operating_income", ((1, "gross_profit"), (-1, "operating_expenses"))),
    _Identity(
        "net_change_in_cash",
        ((1, "operating_cash_flow"), (1, "investing_cash_flow"), (1, "financing_cash_flow")),
        optional=((1, "fx_effect_on_cash"),),
    ),
)


def _within(actual: Decimal, expected: Decimal) -> bool:
    tolerance = max(RELATIVE_TOLERANCE * max(abs(actual), abs(expected)), ABSOLUTE_TOLERANCE)
    return abs(actual - expected) <= tolerance


def _check_identities(
    values: Values, periods: Sequence[str], source: Literal["model", "table"]
) -> list[Flag]:
    flags: list[Flag] = []
    for period in periods:
        for identity in IDENTITIES:
            needed = [identity.total, *(t for _, t in identity.terms)]
            if any((m, period) not in values for m in needed):
                continue
            terms = identity.terms + tuple(
                (sign, t) for sign, t in identity.optional if (t, period) in values
            )
            needed += [t for _, t in terms[len(identity.terms) :]]
            actual = values[(identity.total, period)].value
            # An expense may be printed positive (and subtracted) or negative (and added).
            as_printed = sum((sign * values[(t, period)].value for sign, t in terms), Decimal(0))
            all_added = sum((values[(t, period)].value for _, t in terms), Decimal(0))
            # IFRS prints the net change before the FX effect, US GAAP after it; a total equity
            # row may already include the noncontrolling interests: each reading holds.
            core = sum((sign * values[(t, period)].value for sign, t in identity.terms), Decimal(0))
            if any(_within(actual, total) for total in (as_printed, all_added, core)):
                continue
            flags.append(
                Flag(
                    kind="identity",
                    source=source,
                    period=period,
                    check=identity.name,
                    expected=float(as_printed),
                    actual=float(actual),
                    pointers=[values[(m, period)].pointer for m in needed],
                    message=(
                        f"{identity.name} fails in {period}: {actual} vs {as_printed} "
                        f"(off by {actual - as_printed})"
                    ),
                )
            )
    return flags


# Row labels (normalized with _norm) that identify identity terms in the deterministic pass,
# most specific first: the first label present in a section wins.
TABLE_LABELS: dict[str, tuple[str, ...]] = {
    "revenue": (
        "total net sales",
        "total revenues",
        "total revenue",
        "total net revenues",
        "total net revenue",
        "net sales",
        "net revenues",
        "net revenue",
        "revenues",
        "revenue",
        "sales",
    ),
    "cost_of_revenue": (
        "total cost of sales",
        "total cost of revenues",
        "total cost of revenue",
        "cost of sales",
        "cost of revenues",
        "cost of revenue",
        "cost of goods sold",
    ),
    "gross_profit": ("gross profit", "gross margin", "gross profit loss"),
    "operating_expenses": ("total operating expenses", "operating expenses"),
    "operating_income": (
        "operating income",
        "operating income loss",
        "income from operations",
        "income loss from operations",
        "operating profit",
        "operating loss",
    ),
    "net_income": ("net income", "net income loss", "net earnings", "net loss", "net profit"),
    "total_current_assets": ("total current assets",),
    "total_non_current_assets": (
        "total non current assets",
        "total noncurrent assets",
        "total long term assets",
    ),
    "total_assets": ("total assets",),
    "total_current_liabilities": ("total current liabilities",),
    "total_non_current_liabilities": (
        "total non current liabilities",
        "total noncurrent liabilities",
        "total long term liabilities",
    ),
    "total_liabilities": ("total liabilities",),
    "shareholders_equity": (
        "total equity",
        "total shareholders equity",
        "total stockholders equity",
        "total shareholders equity deficit",
        "total stockholders equity deficit",
        "total shareholders deficit",
        "total stockholders deficit",
        "shareholders equity",
        "stockholders equity",
    ),
    "total_liabilities_and_equity": (
        "total liabilities and equity",
        "total liabilities and shareholders equity",
        "total liabilities and stockholders equity",
        "total liabilities and shareholders equity deficit",
        "total liabilities and stockholders equity deficit",
        "total liabilities shareholders equity",
        "total liabilities stockholders equity",
    ),
}
# Subtotals whose parts are the rows right above them (back to the previous total or heading).
_BLOCK_SUBTOTALS = {
    "total current assets",
    "total non current assets",
    "total noncurrent assets",
    "total current liabilities",
    "total non current liabilities",
    "total noncurrent liabilities",
    "total operating expenses",
    "total shareholders equity",
    "total stockholders equity",
    "total equity",
}
_BLOCK_STOPS = {
    *TABLE_LABELS["revenue"],
    *TABLE_LABELS["gross_profit"],
    *TABLE_LABELS["operating_income"],
    *TABLE_LABELS["net_income"],
}
# Share counts and ratios inside a block; "Common stock, $0.001 par value; ... shares
# authorized; ... issued and outstanding, respectively" is money, "Common stock, shares issued"
# is a count.
_NOT_MONEY = re.compile(
    r"\bshares?(?: issued| outstanding| authorized| issued and outstanding)?$"
    r"|\bper share\b|\bpercent\b|%"
)


def _table_values(table: _Table) -> tuple[Values, dict[str, _Row]]:
    """Identity terms found by label, per section (the first section holding a term wins)."""
    values: Values = {}
    chosen: dict[str, _Row] = {}
    for rows in table.rows:
        by_label: dict[str, _Row] = {}
        for row in rows:
            if any(c.amount is not None for c in row.cells.values()):  # not a heading
                by_label.setdefault(_norm(row.label), row)
        for metric, labels in TABLE_LABELS.items():
            if metric in chosen:
                continue
            found = next((by_label[label] for label in labels if label in by_label), None)
            if found is None:
                continue
            chosen[metric] = found
            for period, cell in found.cells.items():
                if cell.amount is not None:
                    values[(metric, period)] = _Amount(cell.amount, cell.pointer)
    return values, chosen


def _block_flags(rows: list[_Row], periods: Sequence[str]) -> list[Flag]:
    flags: list[Flag] = []
    for at, row in enumerate(rows):
        if _norm(row.label) not in _BLOCK_SUBTOTALS:
            continue
        parts: list[_Row] = []
        for above in reversed(rows[:at]):
            key = _norm(above.label)
            if key.startswith("total ") or key in _BLOCK_STOPS:
                break
            if _NOT_MONEY.search(key):
                continue
            if all(c.amount is None for c in above.cells.values()):
                break  # a heading such as "Current assets:"
            parts.append(above)
        if len(parts) < 2:
            continue
        for period in periods:
            total = row.cells.get(period)
            if total is None or total.amount is None:
                continue
            amounts = [p.cells[period].amount for p in parts if period in p.cells]
            summed = sum((a for a in amounts if a is not None), Decimal(0))
            if _within(total.amount, summed):
                continue
            flags.append(
                Flag(
                    kind="subtotal",
                    source="table",
                    period=period,
                    check=f"{row.label} = sum of the {len(parts)} rows above it",
                    expected=float(summed),
                    actual=float(total.amount),
                    pointers=[total.pointer]
                    + [p.cells[period].pointer for p in reversed(parts) if period in p.cells],
                    message=(
                        f"{row.label!r} in {period} is {total.amount} but the {len(parts)} rows "
                        f"above it add up to {summed}"
                    ),
                )
            )
    return flags


def check_table(record: Record) -> list[Flag]:
    """The deterministic pass: identity and subtotal violations found from row labels alone.

    Needs no model answer: rows such as "Total assets", "Total liabilities", "Total
    shareholders' equity", "Gross profit" are found by their labels, and subtotals such as
    "Total current assets" are compared with the sum of the rows above them.
    """
    table = _index(record)
    values, _ = _table_values(table)
    flags = _check_identities(values, table.periods, "table")
    for rows in table.rows:
        flags.extend(_block_flags(rows, table.periods))
    return flags
