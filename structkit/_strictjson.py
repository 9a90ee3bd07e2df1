"""Strict JSON parsing hooks shared by answer validation and the JSON adapter.

CPython's ``json`` accepts NaN/Infinity and silently keeps the last of duplicate keys; both are
wrong for records and for answers, so both are refused here (messages name keys, never values).
"""

from __future__ import annotations

from typing import Any

__all__ = ["no_duplicate_keys", "reject_constant"]


def reject_constant(name: str) -> Any:
    """``parse_constant`` hook: refuse ``NaN``, ``Infinity`` and ``-Infinity``."""
    raise ValueError(f"{name} is not valid JSON")


def no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """``object_pairs_hook``: refuse an object that repeats a key."""
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise ValueError(f"duplicate key {key!r}")
        result[key] = value
    return result
