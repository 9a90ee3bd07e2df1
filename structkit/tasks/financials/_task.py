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
from collections.abc import Iterable, Sequence
from typing import Any, TypeVar

from ..._errors import ConfigurationError
from ..._task import Task
from ...adapters._record import Record, Section
from ._analysis import (
    _chronological,
    _growth,
    _ratios,
    _unordered_periods,
)
from ._identities import (
    Values,
    _Amount,
    _block_flags,
    _check_identities,
    _table_values,
)
from ._models import (
    MAX_LABEL_CHARS,
    MAX_LINE_ITEMS,
    MAX_PERIOD_CHARS,
    MAX_VALUE_CHARS,
    Financials,
    Flag,
    LineItem,
)
from ._questions import assemble_financials, financial_questions
from ._statement import (
    SCALE_FACTORS,
    _Cell,
    _index,
    _norm,
    _Row,
    _Table,
    _units,
    parse_amount,
)

__all__ = [
    "FINANCIALS",
    "MAX_CELL_ALTERNATIVES",
    "combine_statements",
    "grounded_financials_schema",
    "verify_financials",
]

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
        flags.append(_unordered_periods())
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
        raise ConfigurationError("combine_statements needs at least one record")
    meta: dict[str, str] = {}
    for r in records:
        for key in ("currency", "scale"):
            if key not in r.meta:
                continue
            if meta.setdefault(key, r.meta[key]) != r.meta[key]:
                raise ConfigurationError(
                    f"the statements are in different {key}s; convert them first"
                )
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
    modes=("model", "baseline"),
    questions=financial_questions,
    assemble=assemble_financials,
)
"""Financial statement analysis: code places rows by XBRL concept and label lexicon, the model
is asked only which row an open key metric is (``baseline`` mode: never); code computes the rest."""
