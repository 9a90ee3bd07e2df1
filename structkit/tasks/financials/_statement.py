"""Reading a financial statement table: amounts, labels, period dates and the table index.

:func:`parse_amount` reads a cell's number, :func:`period_sort_key` the date a period header
stands for; :func:`_index` sees every table section of a record as rows (line items) by periods
(columns), and :func:`_units` finds the table's currency and scale. Used by
:mod:`structkit.tasks.financials`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation

from ...adapters._record import Record, Section, Value

__all__ = ["SCALE_FACTORS", "parse_amount", "period_sort_key"]

SCALE_FACTORS: dict[str, int] = {
    "units": 1,
    "ones": 1,
    "thousands": 1_000,
    "millions": 1_000_000,
    "billions": 1_000_000_000,
}


# --------------------------------------------------------------------------- numbers and labels

_CURRENCY_RE = re.compile(r"US\$|[$€£¥₹]|\b(?:USD|EUR|GBP|JPY|CHF|CAD|AUD|CNY|INR)\b")
_SPACES_RE = re.compile(r"[\s,\u00a0\u202f\u2009_']")
_NUMBER_RE = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)")
_DASHES = {"-", "\u2013", "\u2014", "\u2212", "--"}


def parse_amount(text: str) -> Decimal | None:
    """The number in a statement cell, or None when it is not a plain amount.

    ``"383,285"`` -> 383285; ``"(565)"``, ``"-565"`` and U+2212 minus ``565`` -> -565;
    ``"$ 1,234.5"`` -> 1234.5; a lone dash -> 0 (statements print zero that way). Percentages,
    dates and words are not amounts.
    """
    s = _CURRENCY_RE.sub("", text.strip()).strip()
    if s in _DASHES:
        return Decimal(0)
    s = s.replace("\u2212", "-").replace("\u2013", "-")
    negative = False
    if s.startswith("(") and s.endswith(")"):
        negative, s = True, s[1:-1]
    elif s.startswith("-(") and s.endswith(")"):
        return None
    s = _CURRENCY_RE.sub("", s)  # "($1,234)"
    s = _SPACES_RE.sub("", s)
    if not _NUMBER_RE.fullmatch(s):
        return None
    try:
        number = Decimal(s)
    except InvalidOperation:  # pragma: no cover - the regex admits only valid decimals
        return None
    return -number if negative else number


_QUOTES = str.maketrans({"\u2019": "'", "\u2018": "'", "`": "'", "&": " and "})


def _norm(text: str) -> str:
    """Label key: case, quotes, punctuation and spacing do not matter."""
    t = text.translate(_QUOTES).casefold().replace("'", "")
    t = re.sub(r"[^\w]+", " ", t)
    return " ".join(t.split())


_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_MONTH_DAY_YEAR = re.compile(r"\b([A-Za-z]{3,9})\.?\s+(\d{1,2}),?\s+(\d{4})\b")
_DAY_MONTH_YEAR = re.compile(r"\b(\d{1,2})\s+([A-Za-z]{3,9})\.?,?\s+(\d{4})\b")
_ISO_DATE = re.compile(r"\b(\d{4})-(\d{1,2})-(\d{1,2})\b")
_US_DATE = re.compile(r"\b(\d{1,2})/(\d{1,2})/(\d{4})\b")
_QUARTER = re.compile(r"\bQ([1-4])\b\D{0,3}(\d{4})|\b(\d{4})\D{0,3}\bQ([1-4])\b", re.IGNORECASE)
_YEAR = re.compile(r"(?:\bFY\s?|\b)((?:19|20)\d{2})\b", re.IGNORECASE)


def _safe_date(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None


def period_sort_key(header: str) -> date | None:
    """The date a period header stands for, for sorting; None when it names no date.

    Understands "Sep. 30, 2023", "30 September 2023", "2023-09-30", "9/30/2023", "Q3 2023",
    "FY2023" and "2023" (a bare or fiscal year sorts as its 31 December).
    """
    for pattern, order in ((_MONTH_DAY_YEAR, "mdy"), (_DAY_MONTH_YEAR, "dmy")):
        match = pattern.search(header)
        if match:
            a, b, year = match.groups()
            month_name, day = (a, b) if order == "mdy" else (b, a)
            prefix = month_name[:3].casefold()
            if prefix in _MONTHS and (
                found := _safe_date(int(year), _MONTHS.index(prefix) + 1, int(day))
            ):
                return found
    if (match := _ISO_DATE.search(header)) and (
        found := _safe_date(int(match[1]), int(match[2]), int(match[3]))
    ):
        return found
    if (match := _US_DATE.search(header)) and (
        found := _safe_date(int(match[3]), int(match[1]), int(match[2]))
    ):
        return found
    if match := _QUARTER.search(header):
        quarter = int(match[1] or match[4])
        year = int(match[2] or match[3])
        return _safe_date(year, quarter * 3, 28)
    if match := _YEAR.search(header):
        return date(int(match[1]), 12, 31)
    return None


# --------------------------------------------------------------------------- the table index


@dataclass(frozen=True)
class _Cell:
    label: str
    period: str
    text: str
    amount: Decimal | None
    pointer: str
    section: str


@dataclass
class _Row:
    section: str
    label: str
    cells: dict[str, _Cell]  # by period header


@dataclass
class _Table:
    """Every table section of a record, seen as line items (rows) by periods (columns)."""

    rows: list[list[_Row]] = field(default_factory=list)  # per section
    periods: list[str] = field(default_factory=list)  # column order, first seen first

    def all_rows(self) -> Iterable[_Row]:
        for rows in self.rows:
            yield from rows


def _label_column(section: Section) -> int:
    """The first column whose cells are mostly not numbers (the line items); default 0."""
    for index in range(len(section.columns)):
        texts = [row[index].text for row in section.rows if index < len(row)]
        filled = [t for t in texts if t.strip()]
        if filled and sum(parse_amount(t) is None for t in filled) * 2 > len(filled):
            return index
    return 0


def _index(record: Record) -> _Table:
    table = _Table()
    for section in record.sections:
        if not section.is_table or not section.rows:
            continue
        label_at = _label_column(section)
        numeric_columns = {
            name
            for i, name in enumerate(section.columns)
            if i != label_at
            and any(i < len(row) and parse_amount(row[i].text) is not None for row in section.rows)
        }
        periods = [c for c in section.columns if c in numeric_columns]
        for period in periods:
            if period not in table.periods:
                table.periods.append(period)
        rows: list[_Row] = []
        for row in section.rows:
            if label_at >= len(row) or not row[label_at].text.strip():
                continue
            label = row[label_at].text.strip()
            cells: dict[str, _Cell] = {}
            for name, value in zip(section.columns, row, strict=False):
                if name in numeric_columns:
                    cells[name] = _cell(label, name, value, section.title)
            rows.append(_Row(section.title, label, cells))
        table.rows.append(rows)
    return table


def _cell(label: str, period: str, value: Value, section: str) -> _Cell:
    return _Cell(label, period, value.text, parse_amount(value.text), value.pointer, section)


_SCALE_RE = re.compile(
    r"\b(?:in\s+)?(thousands|millions|billions)\b|\(\s*(000)'?s?\s*\)|\$\s?(000)\b", re.IGNORECASE
)


def _units(record: Record, table: _Table) -> tuple[str | None, str | None]:
    """(currency, scale): from ``record.meta``, else from titles, headers and number-less rows."""
    currency = record.meta.get("currency")
    scale = record.meta.get("scale")
    if currency and scale:
        return currency, scale
    texts = [record.meta.get("preamble", "")]
    for section in record.sections:
        texts.append(section.title)
        texts.extend(section.columns)
    texts.extend(
        r.label for r in table.all_rows() if all(c.amount is None for c in r.cells.values())
    )
    for text in texts:
        text = re.split(r"\bexcept\b", text, flags=re.IGNORECASE)[0]
        text = re.sub(r"\bshares?\b[^,;)]*", " ", text, flags=re.IGNORECASE)
        if scale is None and (match := _SCALE_RE.search(text)):
            scale = (match[1] or "thousands").lower()
        if currency is None and (code := re.search(r"\b(USD|EUR|GBP|JPY|CHF|CAD|AUD)\b", text)):
            currency = code[1]
    return currency, scale
