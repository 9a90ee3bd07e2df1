"""Render a :class:`Record` into prompt text, and fit it to a token budget.

Formats (choose per task and per call):

``json``      compact JSON: ``{"Section": {"key": "value"}, "Table": [{"col": "v"}, ...]}``
``markdown``  key-value sections as ``- key: value`` bullets, tables as pipe tables
``csv``       tables as CSV with a header; key-value sections as ``key,value`` rows
``kv``        ``key: value`` lines; table rows as ``col=value; col=value``
``text``      values only, one paragraph each (for plain-text documents such as contracts)

Cells are escaped so data cannot forge structure: ``|`` and newlines in Markdown cells, quotes in
CSV (by the csv module), newlines in key-value lines.

Budget policy when the rendered record is over ``budget`` tokens: ``split`` cuts tables into row
chunks that repeat the header and documents into groups of whole sections; ``error`` raises
:class:`RecordTooLargeError` saying by how much it is over.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from typing import Literal

from .._errors import ConfigurationError, RecordTooLargeError
from ._record import Record, Section

__all__ = ["FORMATS", "fit_to_budget", "render"]

FORMATS: tuple[str, ...] = ("json", "markdown", "csv", "kv", "text")
TokenCounter = Callable[[str], int]


#: Bookkeeping kept on records for code, not for the model (it would only cost tokens).
UNRENDERED_META = frozenset({"dtypes", "missing_cells", "preamble"})


def _shown_meta(record: Record) -> dict[str, str]:
    return {k: v for k, v in record.meta.items() if k not in UNRENDERED_META}


def _meta_line(record: Record) -> str:
    return "; ".join(f"{k}: {v}" for k, v in _shown_meta(record).items())


def _render_json(record: Record) -> str:
    out: dict[str, object] = {}
    if _shown_meta(record):
        out["_meta"] = _shown_meta(record)
    for section in record.sections:
        if section.is_table:
            body: object = [{cell.key: cell.text for cell in row} for row in section.rows]
        else:
            items: dict[str, object] = {}
            for value in section.values:
                # Repeated keys (e.g. several observations) become lists rather than overwrite.
                if value.key in items:
                    prev = items[value.key]
                    items[value.key] = (
                        [*prev, value.text] if isinstance(prev, list) else [prev, value.text]
                    )
                else:
                    items[value.key] = value.text
            body = items
        title = section.title
        suffix = 2
        while title in out:
            title = f"{section.title} ({suffix})"
            suffix += 1
        out[title] = body
    return json.dumps(out, ensure_ascii=False, separators=(",", ":"))


def _md_cell(text: str) -> str:
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\r", " ").replace("\n", "<br>")


def _one_line(text: str) -> str:
    return text.replace("\r", " ").replace("\n", " \\n ")


def _sections_text(record: Record, *, meta: str, section: Callable[[Section], str]) -> str:
    """The layout the line formats share: the meta line (``meta`` wraps it, ``{}`` for the line),
    then each section as ``section`` writes it, a blank line apart."""
    line = _meta_line(record)
    parts = [meta.format(line)] if line else []
    parts.extend(section(s) for s in record.sections)
    return "\n\n".join(parts)


def _markdown_section(section: Section) -> str:
    lines = [f"## {_one_line(section.title)}"]
    if section.is_table:
        lines.append("| " + " | ".join(_md_cell(c) for c in section.columns) + " |")
        lines.append("|" + "---|" * len(section.columns))
        for row in section.rows:
            lines.append("| " + " | ".join(_md_cell(c.text) for c in row) + " |")
    else:
        lines.extend(f"- {_one_line(v.key)}: {_one_line(v.text)}" for v in section.values)
    return "\n".join(lines)


def _csv_section(section: Section) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    if section.is_table:
        writer.writerow(section.columns)
        writer.writerows([c.text for c in row] for row in section.rows)
    else:
        writer.writerows((v.key, v.text) for v in section.values)
    return f"# {_one_line(section.title)}\n{buffer.getvalue().rstrip()}"


def _kv_section(section: Section) -> str:
    lines = [f"[{_one_line(section.title)}]"]
    if section.is_table:
        lines.extend(
            "; ".join(f"{_one_line(c.key)}={_one_line(c.text)}" for c in row)
            for row in section.rows
        )
    else:
        lines.extend(f"{_one_line(v.key)}: {_one_line(v.text)}" for v in section.values)
    return "\n".join(lines)


def _render_markdown(record: Record) -> str:
    return _sections_text(record, meta="({})", section=_markdown_section)


def _render_csv(record: Record) -> str:
    return _sections_text(record, meta="# {}", section=_csv_section)


def _render_kv(record: Record) -> str:
    return _sections_text(record, meta="{}", section=_kv_section)


def _render_text(record: Record) -> str:
    return "\n\n".join(v.text for v in record.values())


_RENDERERS: dict[str, Callable[[Record], str]] = {
    "text": _render_text,
    "json": _render_json,
    "markdown": _render_markdown,
    "csv": _render_csv,
    "kv": _render_kv,
}


def render(record: Record, *, format: str = "json") -> str:
    """Render ``record`` in one of :data:`FORMATS`."""
    try:
        renderer = _RENDERERS[format]
    except KeyError:
        raise ConfigurationError(
            f"unknown rendering format {format!r}; choose one of {', '.join(FORMATS)}"
        ) from None
    return renderer(record)


def _split_units(record: Record, per_chunk: int) -> list[list[Section]]:
    """Pieces a record may be cut into: whole sections, or slices of at most ``per_chunk`` table
    rows (header repeated) or key-value items (title repeated), in document order."""
    units: list[list[Section]] = []
    for section in record.sections:
        if section.is_table and len(section.rows) > per_chunk:
            for start in range(0, len(section.rows), per_chunk):
                chunk = section.rows[start : start + per_chunk]
                units.append([Section(title=section.title, columns=section.columns, rows=chunk)])
        elif not section.is_table and len(section.values) > per_chunk:
            for start in range(0, len(section.values), per_chunk):
                items = section.values[start : start + per_chunk]
                units.append([Section(title=section.title, values=items)])
        else:
            units.append([section])
    return units


def fit_to_budget(
    record: Record,
    *,
    budget: int,
    count_tokens: TokenCounter,
    format: str = "json",
    policy: Literal["split", "error"] = "error",
) -> list[tuple[Record, str]]:
    """Render ``record`` into one or more (part, text) pieces of at most ``budget`` tokens.

    Raises:
        RecordTooLargeError: with ``policy="error"`` when the record is over budget, or with
            ``policy="split"`` when a single section or table row alone is over budget.
    """
    text = render(record, format=format)
    tokens = count_tokens(text)
    if tokens <= budget:
        return [(record, text)]
    if policy == "error":
        raise RecordTooLargeError(
            f"rendered as {format}, the record does not fit",
            record_id=record.record_id,
            tokens=tokens,
            budget=budget,
        )
    # Greedy packing of units; long tables/sections are cut finer until each unit fits.
    rows = max(1, max((max(len(s.rows), len(s.values)) for s in record.sections), default=1))
    while True:
        units = _split_units(record, rows)
        sized = [
            (u, count_tokens(render(record.with_sections(u, part=""), format=format)))
            for u in units
        ]
        too_big = [n for _, n in sized if n > budget]
        if not too_big:
            break
        if rows == 1:
            raise RecordTooLargeError(
                "even one item or table row does not fit",
                record_id=record.record_id,
                tokens=max(too_big),
                budget=budget,
            )
        rows = max(1, rows // 2)
    pieces: list[list[Section]] = []
    current: list[Section] = []
    for unit, _ in sized:
        trial = current + unit
        if (
            current
            and count_tokens(render(record.with_sections(trial, part=""), format=format)) > budget
        ):
            pieces.append(current)
            current = list(unit)
        else:
            current = trial
    if current:
        pieces.append(current)
    out: list[tuple[Record, str]] = []
    for index, sections in enumerate(pieces, start=1):
        part = record.with_sections(sections, part=f"[part {index}/{len(pieces)}]")
        out.append((part, render(part, format=format)))
    return out
