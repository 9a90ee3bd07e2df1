"""JSON records (dicts, JSON text/files, JSON Lines), with FHIR R4 resources and Bundles.

Parsing is strict and keeps numbers exactly as written: ``1.50`` stays ``"1.50"`` and a 5000-digit
integer stays text instead of tripping CPython's int-size limit. NaN/Infinity, duplicate keys and
nesting deeper than ``max_depth`` are refused with a typed error (CPython would otherwise accept
NaN, silently keep the last duplicate, or die with RecursionError).

Generic JSON is flattened into one section per top-level object; FHIR (anything with a
``resourceType``) is reduced to what matters clinically, per resource type, with codes and units
kept and noise (ids, meta, narrative HTML, references, billing resources, direct identifiers such
as names, addresses and phone numbers) dropped.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from .._errors import RecordParseError, UnsafeInputError
from .._strictjson import no_duplicate_keys, reject_constant
from ._fhir import fhir_record
from ._record import Record, Section, Value
from ._source import read_source

__all__ = ["iter_jsonl", "parse_json", "record_from_value"]

MAX_BYTES = 50 * 1024 * 1024
MAX_DEPTH = 64


def _depth_ok(value: Any, max_depth: int) -> bool:
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > max_depth:
            return False
        if isinstance(node, dict):
            stack.extend((v, depth + 1) for v in node.values())
        elif isinstance(node, list):
            stack.extend((v, depth + 1) for v in node)
    return True


def _loads(text: str, *, record_id: str, max_depth: int) -> Any:
    # Cheap pre-check: nesting depth bounded by the count of openers; refuse before recursing.
    if text.count("[") + text.count("{") > max_depth and not _shallow(text, max_depth):
        raise UnsafeInputError(f"JSON nested deeper than {max_depth}", record_id=record_id)
    try:
        return json.loads(
            text,
            parse_float=str,  # exact text, no binary rounding, no inf from 1e400
            parse_int=str,  # exact text, no int-size DoS
            parse_constant=reject_constant,
            object_pairs_hook=no_duplicate_keys,
        )
    except json.JSONDecodeError as exc:
        raise RecordParseError(
            f"not valid JSON: {exc.msg}", record_id=record_id, where=f"line {exc.lineno}"
        ) from None
    except ValueError as exc:
        raise RecordParseError(f"not valid JSON: {exc}", record_id=record_id) from None
    except RecursionError:
        raise UnsafeInputError(
            f"JSON nested deeper than {max_depth}", record_id=record_id
        ) from None


def _shallow(text: str, max_depth: int) -> bool:
    """True when brackets outside strings never nest deeper than ``max_depth``."""
    depth = 0
    in_string = escaped = False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            if depth > max_depth:
                return False
        elif char in "]}":
            depth -= 1
    return True


def _key(parts: list[str]) -> str:
    return ".".join(parts) if parts else "value"


def _escape_pointer(token: str) -> str:
    return token.replace("~", "~0").replace("/", "~1")


def _leaf_text(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _flatten(value: Any, pointer: str, key: list[str], out: list[Value]) -> None:
    if isinstance(value, dict):
        for name, child in value.items():
            _flatten(child, f"{pointer}/{_escape_pointer(name)}", [*key, name], out)
    elif isinstance(value, list):
        for index, child in enumerate(value):
            # Keys drop list indices (repeated keys render as lists); pointers keep them.
            _flatten(child, f"{pointer}/{index}", key, out)
    else:
        out.append(Value(key=_key(key), text=_leaf_text(value), pointer=pointer or "/"))


def _generic_record(value: Any, *, record_id: str) -> Record:
    record = Record(record_id=record_id, kind="json")
    if not isinstance(value, dict):
        items: list[Value] = []
        _flatten(value, "", [], items)
        record.sections.append(Section(title="record", values=items))
        return record
    top: list[Value] = []
    for name, child in value.items():
        pointer = f"/{_escape_pointer(name)}"
        if isinstance(child, dict):
            items = []
            _flatten(child, pointer, [], items)
            record.sections.append(Section(title=name, values=items))
        else:
            _flatten(child, pointer, [name], top)
    if top:
        record.sections.insert(0, Section(title="record", values=top))
    return record


def record_from_value(
    value: Any, *, record_id: str = "record", max_depth: int = MAX_DEPTH
) -> Record:
    """Build a :class:`Record` from an already-parsed JSON value (dict or list).

    Python numbers are rendered with ``repr``-exact text; FHIR resources and Bundles (a
    ``resourceType`` key) get the clinical reduction.
    """
    if not _depth_ok(value, max_depth):
        raise UnsafeInputError(f"record nested deeper than {max_depth}", record_id=record_id)
    if isinstance(value, dict) and isinstance(value.get("resourceType"), str):
        return fhir_record(value, record_id=record_id)
    return _generic_record(value, record_id=record_id)


def parse_json(
    source: str | bytes | os.PathLike[str] | dict[str, Any] | list[Any],
    *,
    record_id: str | None = None,
    max_bytes: int = MAX_BYTES,
    max_depth: int = MAX_DEPTH,
) -> Record:
    """Parse one JSON record from a dict/list, JSON text, bytes or a file path.

    Raises:
        RecordParseError: malformed JSON, NaN/Infinity, duplicate keys, unreadable file.
        UnsafeInputError: larger than ``max_bytes`` or nested deeper than ``max_depth``.
    """
    if isinstance(source, (dict, list)):
        return record_from_value(source, record_id=record_id or "record", max_depth=max_depth)
    read = read_source(source, record_id=record_id, default_id="json", max_bytes=max_bytes)
    text, rid = read.decoded(), read.record_id
    value = _loads(text, record_id=rid, max_depth=max_depth)
    return record_from_value(value, record_id=rid, max_depth=max_depth)


def iter_jsonl(
    path: str | os.PathLike[str],
    *,
    id_field: str | None = None,
    max_line_bytes: int = 10 * 1024 * 1024,
    max_depth: int = MAX_DEPTH,
) -> Iterator[tuple[str, Record | RecordParseError | UnsafeInputError]]:
    """Yield ``(record_id, Record or error)`` per line of a JSON Lines file, lazily.

    A malformed line yields its error and iteration goes on: no line is dropped. The id is
    ``id_field``'s value when given and present, else ``<file>:<line number>``. Blank lines are
    skipped.
    """
    name = Path(path).name
    with open(path, encoding="utf-8-sig") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            rid = f"{name}:{number}"
            try:
                if len(line) > max_line_bytes:
                    raise UnsafeInputError(
                        f"line is longer than {max_line_bytes} bytes", record_id=rid
                    )
                value = _loads(line, record_id=rid, max_depth=max_depth)
                if id_field and isinstance(value, dict) and id_field in value:
                    rid = _leaf_text(value[id_field])
                yield rid, record_from_value(value, record_id=rid, max_depth=max_depth)
            except (RecordParseError, UnsafeInputError) as exc:
                yield rid, exc
