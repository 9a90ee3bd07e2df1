"""Verbatim candidate spans of a contract, the schema that grounds decoding in them, and
locating a span in the source text (exactly, or with whitespace runs collapsed)."""

from __future__ import annotations

import copy
import re
from typing import Any

from ..._errors import ConfigurationError
from ...adapters._record import Record
from ._models import MAX_SPAN, Grounding
from ._rank import candidate_offsets

__all__ = ["SquashedText", "candidate_spans", "grounded_schema", "locate_span", "squash"]

# --- candidate spans ---------------------------------------------------------------------------


def candidate_spans(text: str, *, max_length: int = MAX_SPAN) -> list[str]:
    """Verbatim, whitespace-trimmed pieces of ``text`` a clause may be copied from, in order.

    Pieces are sentences (periods after common abbreviations and initials do not end one),
    split again at layout gaps (blank lines, runs of 3+ spaces as in signature blocks), and cut
    to at most ``max_length`` characters (:func:`._clause_rank.candidate_offsets`). Every piece
    is a substring of ``text``; duplicates and pieces with fewer than 3 letters or digits (page
    numbers, rules, "By:") are dropped.
    """
    pieces = (text[s:e] for s, e in candidate_offsets(text, max_length=max_length))
    return list(dict.fromkeys(pieces))


def _part_spans(record: Record) -> list[str]:
    spans: list[str] = []
    seen: set[str] = set()
    for value in record.values():
        for span in candidate_spans(value.text):
            if span not in seen:
                seen.add(span)
                spans.append(span)
    return spans


def grounded_schema(record: Record, base_schema: dict[str, Any]) -> dict[str, Any]:
    """``base_schema`` with ``text`` constrained to the candidate spans of this (part) record."""
    spans = _part_spans(record)
    if not spans:
        return base_schema
    schema = copy.deepcopy(base_schema)
    try:
        properties = schema["$defs"]["Clause"]["properties"]
        description = properties["text"].get("description", "")
    except KeyError as exc:
        raise ConfigurationError("clauses: the schema has no Clause.text to ground") from exc
    properties["text"] = {"type": "string", "enum": spans, "description": description}
    return schema


# --- locating spans ----------------------------------------------------------------------------

_WS = re.compile(r"\s+")


def squash(text: str) -> str:
    return _WS.sub(" ", text).strip()


class SquashedText:
    """``text`` with whitespace runs collapsed to one space, and a map back to ``text``."""

    def __init__(self, text: str):
        chars: list[str] = []
        origin: list[int] = []
        for match in re.finditer(r"\s+|\S+", text):
            if match.group(0)[0].isspace():
                chars.append(" ")
                origin.append(match.start())
            else:
                chars.extend(match.group(0))
                origin.extend(range(match.start(), match.end()))
        self.text = "".join(chars)
        self.origin = origin

    def find(self, span: str, start: int = 0) -> tuple[int, int] | None:
        """Offsets in the original text of the first whitespace-insensitive match of ``span``."""
        wanted = squash(span)
        if not wanted:
            return None
        at = self.text.find(wanted, start)
        if at < 0:
            return None
        return self.origin[at], self.origin[at + len(wanted) - 1] + 1


def locate_span(
    span: str, source: str, *, squashed: SquashedText | None = None
) -> tuple[int, int, Grounding]:
    """Where ``span`` is in ``source``: (start, end, how), or (-1, -1, "not found").

    An exact match wins; otherwise whitespace runs are collapsed on both sides and the match is
    mapped back to offsets in ``source``. The first occurrence is used.
    """
    if span.strip():
        at = source.find(span)
        if at >= 0:
            return at, at + len(span), "exact"
    found = (squashed or SquashedText(source)).find(span)
    if found is not None:
        return found[0], found[1], "whitespace-normalized"
    return -1, -1, "not found"
