"""What a reviewer sees of one results line: its answer split into items, each with what it cites.

Generic over the tasks' output models (they gain fields over time), by structkit's provenance
conventions (:mod:`structkit.adapters._record`):

- an **item** is an element of a top-level list of the result (``/clauses/3``,
  ``/line_items/0``, ``/red_flags/1``), or a top-level field that is not a list (``/summary``);
- an item **cites** every provenance string inside it — ``row=<n>;col=<name>`` (a table cell),
  ``chars=<a>-<b>`` (a span of text), or a JSON Pointer / XPath held under a key naming a
  pointer (``pointer``, ``pointers``, ``evidence_pointers``, ...) — and every ``start``/``end``
  pair of character offsets;
- an item's **origin** says who decided it: ``adapter`` or ``model`` when it says so itself
  (``"origin": "adapter"``, a clause kept by a trained head); ``code`` when its top-level field
  is not in the schema the model decodes (``SkipJsonSchema`` fields: ratios, growth, flags,
  scores), or when it says so (``"origin": "code"``, ``"source": "table"``/``"code"``,
  ``"mapped_by"`` other than ``"model"`` such as ``"xbrl"``/``"lexicon"``, ``"computed":
  true``); otherwise ``model``. A reviewer's correction is shown as the reviewer's on the page.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

__all__ = ["ORIGINS", "TO_REVIEW", "Item", "citations", "decoded_fields", "flags_of", "split_items"]

CELL = re.compile(r"row=\d+;col=.+")
CHARS = re.compile(r"chars=(\d+)-(\d+)")
_CODE_SOURCES = ("table", "code", "computed", "rule", "rules")
_MODEL_MAKERS = ("model", "llm")
#: Who decides an item; ``reviewer`` is added by the page for a correction.
ORIGINS = ("code", "model", "adapter")
#: The origins a record is reviewed for (learned decisions, which can be wrong); a record
#: without such items is reviewed item by item all the same.
TO_REVIEW = ("model", "adapter")


@dataclass
class Item:
    """One reviewable piece of an answer."""

    path: str
    """JSON Pointer of the item inside the result, e.g. ``/clauses/3``."""
    label: str
    value: Any
    origin: str
    """``model`` (decoded by the model), ``adapter`` (kept by a trained head) or ``code``
    (computed by structkit)."""
    cites: list[str] = field(default_factory=list)


def _escape_token(token: str) -> str:
    return token.replace("~", "~0").replace("/", "~1")


def _is_pointer_key(key: str) -> bool:
    return "pointer" in key.lower() or key.lower() in ("xpath", "path", "provenance", "cites")


def citations(value: Any, *, under_pointer_key: bool = False) -> Iterator[str]:
    """Every provenance reference inside ``value``, in order (duplicates included)."""
    if isinstance(value, str):
        if CELL.fullmatch(value) or CHARS.fullmatch(value):
            yield value
        elif under_pointer_key and value.startswith("/"):
            yield value  # a JSON Pointer or an XPath
        return
    if isinstance(value, list):
        for child in value:
            yield from citations(child, under_pointer_key=under_pointer_key)
        return
    if isinstance(value, dict):
        start, end = value.get("start"), value.get("end")
        if (
            isinstance(start, int)
            and isinstance(end, int)
            and not isinstance(start, bool)
            and 0 <= start < end
        ):
            yield f"chars={start}-{end}"
        for key, child in value.items():
            yield from citations(child, under_pointer_key=_is_pointer_key(str(key)))


def _says_code(value: Any) -> bool:
    if not isinstance(value, dict):
        return False
    # ``mapped_by``/``origin`` name who made the item: anything but the model is code
    # (financials: "xbrl", "lexicon"); ``source`` is only trusted for the known code values.
    makers = [value.get(key) for key in ("mapped_by", "origin", "computed_by")]
    return (
        value.get("source") in _CODE_SOURCES
        or any(isinstance(m, str) and m not in _MODEL_MAKERS for m in makers)
        or value.get("computed") is True
    )


def _origin(value: Any, field_is_code: bool) -> str:
    if field_is_code:
        return "code"
    if isinstance(value, dict) and value.get("origin") in ORIGINS:
        return str(value["origin"])
    return "code" if _says_code(value) else "model"


def _label(name: str, index: int | None, value: Any) -> str:
    head = name if index is None else f"{name}[{index}]"
    if isinstance(value, dict):
        for key in ("clause_type", "metric", "condition", "kind", "name", "code", "period"):
            if isinstance(value.get(key), str):
                extra = value.get("period") if key == "metric" else None
                return f"{head} {value[key]}" + (f" · {extra}" if isinstance(extra, str) else "")
    return head


def split_items(result: Any, *, decoded: frozenset[str] | None) -> list[Item]:
    """The reviewable items of a result. ``decoded``: the top-level fields the model decodes
    (``None``: unknown, every field counts as the model's unless an item says otherwise)."""
    if not isinstance(result, dict):
        return [Item("", "answer", result, "model", list(dict.fromkeys(citations(result))))]
    items: list[Item] = []
    for name, value in result.items():
        base = "/" + _escape_token(str(name))
        field_is_code = decoded is not None and name not in decoded
        if isinstance(value, list):
            for index, child in enumerate(value):
                origin = _origin(child, field_is_code)
                cites = list(dict.fromkeys(citations(child)))
                items.append(
                    Item(f"{base}/{index}", _label(name, index, child), child, origin, cites)
                )
        else:
            origin = _origin(value, field_is_code)
            cites = list(dict.fromkeys(citations(value)))
            items.append(Item(base, _label(name, None, value), value, origin, cites))
    return items


def decoded_fields(schema: dict[str, Any]) -> frozenset[str]:
    """The top-level property names of a decoding schema (the fields the model writes)."""
    return frozenset(schema.get("properties", {}))


def flags_of(line: dict[str, Any], items: list[Item]) -> list[str]:
    """Short tags to filter records by: the error type, ``ungrounded`` (an item whose
    ``grounded``/``verified`` is false), ``issues`` (an item with issues), flag kinds."""
    tags: list[str] = []
    error = line.get("error")
    if isinstance(error, dict) and isinstance(error.get("type"), str):
        tags.append(error["type"])
    for item in items:
        value = item.value
        if not isinstance(value, dict):
            continue
        if value.get("grounded") is False or value.get("verified") is False:
            tags.append("ungrounded")
        if value.get("issues"):
            tags.append("issues")
        if item.path.startswith("/flags/") and isinstance(value.get("kind"), str):
            tags.append(value["kind"])
    return list(dict.fromkeys(tags))
