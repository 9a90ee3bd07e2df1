"""Financial statement -> canonical line items, verified and analysed in code.

The model only *maps*: for each canonical metric (revenue, total assets, ...) it names the row
label, the period column and the cell text exactly as they appear in the table. It never does
arithmetic. Everything numeric happens here, in :func:`verify_financials` (the task's
``postprocess``):

1. every line item is checked against the table: the (row, period) cell must exist and hold the
   same number (commas, spaces, currency signs and parentheses normalized; a value that is the
   cell times the record's scale also counts). Items get ``grounded``, ``pointer`` and ``amount``;
   ungrounded ones are flagged and never used.
2. ratios per period (margins, current ratio, liabilities-to-equity, ROA/ROE) and year-over-year
   growth of revenue and net income are computed from grounded amounts only, with periods sorted
   by the dates in their headers ("Sep. 30, 2023", "FY2023", "2023-12-31").
3. accounting identities (assets = liabilities + equity, gross profit = revenue - cost of revenue,
   operating income = gross profit - operating expenses, ...) are checked twice: on the model's
   grounded items, and by a deterministic pass (:func:`check_table`) that finds the rows by their
   labels ("Total assets", "Total liabilities and shareholders' equity", ...) and also checks that
   subtotals such as "Total current assets" equal the rows above them. So a broken statement is
   flagged even when the model missed every item.

With grounding on (the default), :func:`grounded_financials_schema` narrows decoding so that
each line item's ``source_label``, ``period`` and ``value`` can only be the row label, column
header and exact text of one numeric cell of this very record. The code-filled fields are
``SkipJsonSchema``: they are not in the decoding schema, and the model cannot set them.

Amounts stay in the table's units; ``scale``/``currency`` (from ``Record.meta``, else from the
headers) say what they are. Ratios do not depend on the scale; the identity tolerance is 0.5 % or
one unit of the table, whichever is larger.
"""

from __future__ import annotations

import copy
import dataclasses
import itertools
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any, Literal, TypeVar, get_args

from pydantic import BaseModel, ConfigDict, Field, StringConstraints
from pydantic.json_schema import SkipJsonSchema

from .._task import Task
from ..adapters._record import Record, Section, Value

__all__ = [
    "FINANCIALS",
    "MAX_CELL_ALTERNATIVES",
    "METRICS",
    "Financials",
    "Flag",
    "Growth",
    "LineItem",
    "Metric",
    "PeriodRatios",
    "check_table",
    "combine_statements",
    "grounded_financials_schema",
    "parse_amount",
    "period_sort_key",
    "verify_financials",
]

Metric = Literal[
    "revenue",
    "cost_of_revenue",
    "gross_profit",
    "operating_expenses",
    "operating_income",
    "pretax_income",
    "income_tax",
    "net_income",
    "eps_basic",
    "eps_diluted",
    "cash_and_equivalents",
    "total_current_assets",
    "total_assets",
    "total_current_liabilities",
    "total_liabilities",
    "long_term_debt",
    "shareholders_equity",
    "total_liabilities_and_equity",
    "operating_cash_flow",
    "capital_expenditures",
]
METRICS: tuple[str, ...] = get_args(Metric)

MAX_LABEL_CHARS = 160
MAX_PERIOD_CHARS = 80
MAX_VALUE_CHARS = 40
MAX_LINE_ITEMS = 48  # a combined 3-period statement; small models fill lists to the cap
MAX_NARRATIVE_CHARS = 400

#: Identity tolerance: relative part (0.5 %) and absolute floor (one unit of the table's scale).
RELATIVE_TOLERANCE = Decimal("0.005")
ABSOLUTE_TOLERANCE = Decimal(1)

SCALE_FACTORS: dict[str, int] = {
    "units": 1,
    "ones": 1,
    "thousands": 1_000,
    "millions": 1_000_000,
    "billions": 1_000_000_000,
}


# --------------------------------------------------------------------------- models


class LineItem(BaseModel):
    """One canonical metric for one period, as found in the table."""

    model_config = ConfigDict(extra="forbid")

    metric: Metric = Field(description="The canonical metric.")
    source_label: Annotated[str, StringConstraints(min_length=1, max_length=MAX_LABEL_CHARS)] = (
        Field(description="The row label exactly as written in the table.")
    )
    period: Annotated[str, StringConstraints(min_length=1, max_length=MAX_PERIOD_CHARS)] = Field(
        description="The period column header exactly as written."
    )
    value: Annotated[str, StringConstraints(min_length=1, max_length=MAX_VALUE_CHARS)] = Field(
        description="The cell text exactly as written, e.g. '383,285' or '(565)'."
    )
    # Filled in code by verify_financials; not part of the decoding schema.
    grounded: SkipJsonSchema[bool] = False
    """True when the (source_label, period) cell exists and holds ``value``."""
    pointer: SkipJsonSchema[str | None] = None
    """The cell's pointer, ``row=<n>;col=<period>``."""
    section: SkipJsonSchema[str | None] = None
    """Title of the table the cell is in (records combining several statements)."""
    amount: SkipJsonSchema[float | None] = None
    """The cell's number in the table's units (see ``Financials.scale``)."""


class PeriodRatios(BaseModel):
    """Ratios for one period, from grounded amounts; ``None`` when an input is missing."""

    model_config = ConfigDict(extra="forbid")

    period: str
    gross_margin: float | None = None
    operating_margin: float | None = None
    net_margin: float | None = None
    current_ratio: float | None = None
    debt_to_equity: float | None = None
    """Total liabilities / shareholders' equity."""
    return_on_assets: float | None = None
    """Net income / total assets (same period, end-of-period assets)."""
    return_on_equity: float | None = None
    """Net income / shareholders' equity (same period)."""


class Growth(BaseModel):
    """Change of a metric from one period to the next (0.05 = +5 %)."""

    model_config = ConfigDict(extra="forbid")

    metric: str
    period: str
    previous_period: str
    value: float | None
    """``(current - previous) / |previous|``; ``None`` when the previous amount is zero."""


FlagKind = Literal["ungrounded", "conflict", "identity", "subtotal", "disagreement", "period_order"]


class Flag(BaseModel):
    """Something a reader of the numbers should know about."""

    model_config = ConfigDict(extra="forbid")

    kind: FlagKind
    source: Literal["model", "table"]
    """``model``: about the model's line items; ``table``: found by the deterministic pass."""
    message: str
    period: str | None = None
    check: str | None = None
    """The identity, e.g. ``total_assets = total_liabilities + shareholders_equity``."""
    expected: float | None = None
    """What the right-hand side adds up to."""
    actual: float | None = None
    """What the table says."""
    pointers: list[str] = Field(default_factory=list)


class Financials(BaseModel):
    """The model's mapping of a statement to canonical metrics, plus what code derives from it.

    Only ``statement``, ``line_items`` (metric, source_label, period, value) and ``narrative``
    are decoded; everything else is filled by :func:`verify_financials`.
    """

    model_config = ConfigDict(extra="forbid")

    statement: Literal[
        "income_statement", "balance_sheet", "cash_flow_statement", "combined", "other"
    ] = Field(description="Which statement the table is.")
    line_items: list[LineItem] = Field(
        max_length=MAX_LINE_ITEMS,
        description="One item per canonical metric and period found in the table.",
    )
    narrative: Annotated[str, StringConstraints(max_length=MAX_NARRATIVE_CHARS)] = Field(
        description="Two sentences on what the statement shows; no computed numbers."
    )
    # Filled in code by verify_financials; not part of the decoding schema.
    currency: SkipJsonSchema[str | None] = None
    scale: SkipJsonSchema[str | None] = None
    """``units``, ``thousands``, ``millions`` or ``billions``: amounts are in these."""
    periods: SkipJsonSchema[list[str]] = Field(default_factory=list)
    """The table's period columns, oldest first when their headers are dates."""
    ratios: SkipJsonSchema[list[PeriodRatios]] = Field(default_factory=list)
    growth: SkipJsonSchema[list[Growth]] = Field(default_factory=list)
    flags: SkipJsonSchema[list[Flag]] = Field(default_factory=list)

    def value_of(self, metric: str, period: str) -> float | None:
        """The grounded amount of ``metric`` in ``period`` (first grounded item), else None."""
        for item in self.line_items:
            if item.grounded and item.metric == metric and _norm(item.period) == _norm(period):
                return item.amount
        return None

    def ratios_for(self, period: str) -> PeriodRatios | None:
        """The ratios of one period."""
        return next((r for r in self.ratios if r.period == period), None)


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


# --------------------------------------------------------------------------- grounded schema


_T = TypeVar("_T")


def _dedupe(items: Iterable[_T]) -> list[_T]:
    return list(dict.fromkeys(items))


#: Above this many numeric cells, one decoding alternative per cell makes the grammar too big to
#: compile quickly; labels, periods and values are then enumerated independently instead.
MAX_CELL_ALTERNATIVES = 400


def grounded_financials_schema(record: Record, base_schema: dict[str, Any]) -> dict[str, Any]:
    """``base_schema`` narrowed to ``record``: every line item can only name a real cell.

    A line item is one of the record's numeric cells: ``anyOf`` one alternative per cell, whose
    ``source_label``, ``period`` and ``value`` are that cell's row label, column header and exact
    text (``const``). So decoding cannot pair a label with another row's number. Tables with more
    than :data:`MAX_CELL_ALTERNATIVES` cells fall back to independent enums (any label, any
    period, any numeric cell text); :func:`verify_financials` then catches mismatched pairs. Which
    *metric* a cell is stays the model's call. A record with no usable table allows no items.
    """
    schema = copy.deepcopy(base_schema)
    table = _index(record)
    rows = [r for r in table.all_rows() if len(r.label) <= MAX_LABEL_CHARS]
    cells: list[tuple[str, str, str]] = _dedupe(
        (r.label, c.period, c.text)
        for r in rows
        for c in r.cells.values()
        if c.amount is not None
        and 0 < len(c.text) <= MAX_VALUE_CHARS
        and 0 < len(c.period) <= MAX_PERIOD_CHARS
    )
    line_items = schema["properties"]["line_items"]
    if not cells:
        line_items["maxItems"] = 0
        return schema
    # A table has at most one item per numeric cell; small models fill lists to the cap,
    # so a cap sized to the table saves the tokens (and time) of padding items.
    line_items["maxItems"] = min(MAX_LINE_ITEMS, len(cells))
    item = schema["$defs"][LineItem.__name__]
    props = item["properties"]

    def narrowed(name: str, **constraint: Any) -> dict[str, Any]:
        keep = {k: v for k, v in props[name].items() if k in ("title", "description")}
        return {**keep, "type": "string", **constraint}

    if len(cells) > MAX_CELL_ALTERNATIVES:
        for index, name in enumerate(("source_label", "period", "value")):
            props[name] = narrowed(name, enum=_dedupe(cell[index] for cell in cells))
        return schema
    base = {k: v for k, v in item.items() if k != "properties"}
    item.clear()
    item["anyOf"] = [
        {
            **base,
            "properties": {
                "metric": props["metric"],
                "source_label": narrowed("source_label", const=label),
                "period": narrowed("period", const=period),
                "value": narrowed("value", const=text),
            },
        }
        for label, period, text in cells
    ]
    return schema


# --------------------------------------------------------------------------- verification


def _find_rows(table: _Table, label: str) -> list[_Row]:
    rows = list(table.all_rows())
    exact = [r for r in rows if r.label == label.strip()]
    if exact:
        return exact
    key = _norm(label)
    return [r for r in rows if _norm(r.label) == key]


def _find_period(table: _Table, period: str) -> str | None:
    if period.strip() in table.periods:
        return period.strip()
    key = _norm(period)
    return next((p for p in table.periods if _norm(p) == key), None)


def _matches(item: LineItem, cell: _Cell, factor: int) -> bool:
    if cell.text.strip() == item.value.strip():
        return True
    wanted = parse_amount(item.value)
    if wanted is None or cell.amount is None:
        return False
    # The same number, or the model wrote it in full units (cell x scale).
    return wanted == cell.amount or (factor != 1 and wanted == cell.amount * factor)


def _ground(item: LineItem, table: _Table, factor: int) -> tuple[LineItem, _Cell | Flag]:
    """The item with ``grounded``/``pointer``/``amount`` set, and its cell or why it has none."""
    rows = _find_rows(table, item.source_label)
    period = _find_period(table, item.period)
    reason: str
    if not rows:
        reason = f"no row labelled {item.source_label!r}"
    elif period is None:
        reason = f"no period column {item.period!r}"
    else:
        cells = [r.cells[period] for r in rows if period in r.cells]
        hit = next((c for c in cells if _matches(item, c, factor)), None)
        if hit is not None:
            update = {
                "grounded": True,
                "pointer": hit.pointer,
                "section": hit.section,
                "amount": None if hit.amount is None else float(hit.amount),
            }
            return item.model_copy(update=update), hit
        held = ", ".join(repr(c.text) for c in cells) or "nothing"
        reason = f"the cell holds {held}, not {item.value!r}"
    flag = Flag(
        kind="ungrounded",
        source="model",
        period=item.period,
        message=f"{item.metric}: {reason}",
        pointers=[
            r.cells[period].pointer for r in rows if period is not None and period in r.cells
        ],
    )
    update = {"grounded": False, "pointer": None, "section": None, "amount": None}
    return item.model_copy(update=update), flag


@dataclass(frozen=True)
class _Amount:
    value: Decimal
    pointer: str


Values = dict[tuple[str, str], _Amount]  # (metric, period) -> amount


def _model_values(grounded: Sequence[tuple[str, _Cell]]) -> tuple[Values, list[Flag]]:
    """Amounts of the grounded items by (metric, period); a second, different amount is a
    conflict (the first one is kept)."""
    values: Values = {}
    flags: list[Flag] = []
    for metric, cell in grounded:
        if cell.amount is None:
            continue
        key = (metric, cell.period)
        if key in values and values[key].value != cell.amount:
            flags.append(
                Flag(
                    kind="conflict",
                    source="model",
                    period=cell.period,
                    message=f"{metric} is mapped to two different amounts; using the first",
                    pointers=[values[key].pointer, cell.pointer],
                )
            )
            continue
        values.setdefault(key, _Amount(cell.amount, cell.pointer))
    return values, flags


# --------------------------------------------------------------------------- identities

_Term = tuple[int, str]


@dataclass(frozen=True)
class _Identity:
    total: str
    terms: tuple[_Term, ...]

    @property
    def name(self) -> str:
        rhs = ""
        for sign, term in self.terms:
            rhs += (" - " if sign < 0 else " + ") + term if rhs else term
        return f"{self.total} = {rhs}"


IDENTITIES: tuple[_Identity, ...] = (
    _Identity("total_assets", ((1, "total_liabilities"), (1, "shareholders_equity"))),
    _Identity(
        "total_liabilities_and_equity", ((1, "total_liabilities"), (1, "shareholders_equity"))
    ),
    _Identity("total_assets", ((1, "total_liabilities_and_equity"),)),
    _Identity("total_assets", ((1, "total_current_assets"), (1, "total_non_current_assets"))),
    _Identity(
        "total_liabilities",
        ((1, "total_current_liabilities"), (1, "total_non_current_liabilities")),
    ),
    _Identity("gross_profit", ((1, "revenue"), (-1, "cost_of_revenue"))),
    _Identity("operating_income", ((1, "gross_profit"), (-1, "operating_expenses"))),
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
            actual = values[(identity.total, period)].value
            # An expense may be printed positive (and subtracted) or negative (and added).
            as_printed = sum(
                (sign * values[(t, period)].value for sign, t in identity.terms), Decimal(0)
            )
            all_added = sum((values[(t, period)].value for _, t in identity.terms), Decimal(0))
            if _within(actual, as_printed) or _within(actual, all_added):
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
_KNOWN_LABELS = {label for labels in TABLE_LABELS.values() for label in labels}
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
_NOT_MONEY = re.compile(r"\bshares?\b|\bper share\b|\bpercent\b|%")


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


def _chronological(periods: list[str]) -> tuple[list[str], bool]:
    """Periods oldest first, and whether that order is known (every header is a distinct date)."""
    keys = [period_sort_key(p) for p in periods]
    if len(periods) > 1 and all(k is not None for k in keys) and len(set(keys)) == len(keys):
        order = sorted(range(len(periods)), key=lambda i: keys[i] or date.min)
        return [periods[i] for i in order], True
    return list(periods), len(periods) <= 1


def _disagreements(items: Sequence[LineItem], chosen: dict[str, _Row]) -> list[Flag]:
    flags: list[Flag] = []
    seen: set[str] = set()
    for item in items:
        row = chosen.get(item.metric)
        if not item.grounded or row is None or item.metric in seen:
            continue
        if _norm(item.source_label) != _norm(row.label):
            seen.add(item.metric)
            flags.append(
                Flag(
                    kind="disagreement",
                    source="model",
                    period=item.period,
                    pointers=[p for p in (item.pointer,) if p],
                    message=(
                        f"{item.metric} is mapped to {item.source_label!r}, but the row "
                        f"{row.label!r} is labelled like it"
                    ),
                )
            )
    return flags


def _finding(flag: Flag) -> tuple[object, ...]:
    return (flag.kind, flag.check, flag.period, flag.expected, flag.actual)


def verify_financials(value: Financials, record: Record) -> Financials:
    """The task's postprocess: ground every item, compute ratios and growth, check identities.

    Returns a copy of ``value`` with the code-filled fields set; never trusts the model's
    arithmetic and never uses an ungrounded item.
    """
    table = _index(record)
    currency, scale = _units(record, table)
    factor = SCALE_FACTORS.get((scale or "units").lower(), 1)
    items: list[LineItem] = []
    flags: list[Flag] = []
    grounded: list[tuple[str, _Cell]] = []
    for item in value.line_items:
        checked, found = _ground(item, table, factor)
        items.append(checked)
        if isinstance(found, Flag):
            flags.append(found)
        else:
            grounded.append((item.metric, found))
    values, conflicts = _model_values(grounded)
    flags.extend(conflicts)
    periods, ordered = _chronological(table.periods)
    if not ordered:
        flags.append(
            Flag(
                kind="period_order",
                source="table",
                message="period headers are not all dates; growth is not computed",
            )
        )
    table_values, chosen = _table_values(table)
    flags.extend(_disagreements(items, chosen))
    flags.extend(_check_identities(values, periods, "model"))
    deterministic = _check_identities(table_values, periods, "table")
    for rows in table.rows:
        deterministic.extend(_block_flags(rows, periods))
    known = {_finding(f) for f in flags}
    flags.extend(f for f in deterministic if _finding(f) not in known)
    return value.model_copy(
        update={
            "line_items": items,
            "currency": currency,
            "scale": scale,
            "periods": periods,
            "ratios": _ratios(values, periods),
            "growth": _growth(values, periods) if ordered else [],
            "flags": flags,
        }
    )


# --------------------------------------------------------------------------- helpers


def combine_statements(*records: Record, record_id: str | None = None) -> Record:
    """One record holding the tables of several statements (e.g. income statement + balance
    sheet), so ROA/ROE can be computed. Periods match by their exact header text. Section titles
    are made unique (a pointer plus its section names one cell).

    Raises:
        ValueError: no records, or records stating different currencies or scales.
    """
    if not records:
        raise ValueError("combine_statements needs at least one record")
    meta: dict[str, str] = {}
    for r in records:
        for key in ("currency", "scale"):
            if key not in r.meta:
                continue
            if meta.setdefault(key, r.meta[key]) != r.meta[key]:
                raise ValueError(f"the statements are in different {key}s; convert them first")
    sections: list[Section] = []
    titles: set[str] = set()
    for section in (s for r in records for s in r.sections):
        title, n = section.title, 1
        while title in titles:
            n += 1
            title = f"{section.title} ({n})"
        titles.add(title)
        sections.append(dataclasses.replace(section, title=title))
    return Record(
        record_id=record_id or "+".join(r.record_id for r in records),
        kind=records[0].kind,
        sections=sections,
        meta=meta,
        issues=[i for r in records for i in r.issues],
    )


FINANCIALS: Task[Financials] = Task(
    name="financials",
    template="financials.jinja",
    output_model=Financials,
    format="csv",
    # One item per metric and period: the right answer for Apple's 3-year income statement is
    # about 1,500 tokens (SmolLM2 tokenizer), far over the 512 most small-model profiles allow.
    max_tokens=1792,  # ~48 items of ~35 tokens plus narrative
    grounded_schema=grounded_financials_schema,
    postprocess=verify_financials,
)
"""Financial statement analysis: map line items (model), verify and compute (code)."""
