"""Turn reviewed answers into gold that ``structkit eval`` scores against.

A reviewed answer is the model's answer with each decision applied: a rejected list item is
dropped, a corrected one replaced, a rejected single field set to ``null``. The built-in tasks'
scorers (:mod:`structkit.evaluation._metrics`) read their own gold shapes, built here from the
reviewed answer; any other task's gold is the reviewed answer itself.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["GOLD_BUILDERS", "apply_decisions", "build_gold"]

_NUMBER = re.compile(r"[-+]?\d+(?:\.\d+)?")


def _tokens(pointer: str) -> list[str]:
    return [t.replace("~1", "/").replace("~0", "~") for t in pointer.split("/")[1:]]


def apply_decisions(result: Any, decisions: Mapping[str, Mapping[str, Any]]) -> Any:
    """The answer with ``decisions`` (item pointer -> decision) applied."""
    reviewed = copy.deepcopy(result)
    if not isinstance(reviewed, dict):
        only = decisions.get("")
        if only is None:
            return reviewed
        return only.get("value") if only["action"] == "correct" else reviewed
    removed: dict[str, set[int]] = {}
    for pointer, decision in decisions.items():
        tokens = _tokens(pointer)
        if not tokens or tokens[0] not in reviewed:
            continue
        action = decision.get("action")
        container = reviewed[tokens[0]]
        if len(tokens) == 2 and isinstance(container, list) and tokens[1].isdigit():
            index = int(tokens[1])
            if index >= len(container):
                continue
            if action == "reject":
                removed.setdefault(tokens[0], set()).add(index)
            elif action == "correct":
                container[index] = decision.get("value")
        elif len(tokens) == 1:
            if action == "reject":
                reviewed[tokens[0]] = None
            elif action == "correct":
                reviewed[tokens[0]] = decision.get("value")
    for name, indices in removed.items():
        reviewed[name] = [v for i, v in enumerate(reviewed[name]) if i not in indices]
    return reviewed


def _amount(text: Any) -> float | None:
    """A cell's number: ``(1,234)`` -> -1234.0, ``$5.5`` -> 5.5; None when it has none."""
    if isinstance(text, (int, float)) and not isinstance(text, bool):
        return float(text)
    if not isinstance(text, str):
        return None
    cleaned = text.replace(",", "").replace("$", "").replace("€", "").replace("£", "").strip()
    cleaned = cleaned.replace("\u2212", "-")  # a typographic minus sign
    negative = (cleaned.startswith("(") and cleaned.endswith(")")) or cleaned.startswith("-")
    match = _NUMBER.search(cleaned)
    if match is None:
        return None
    number = abs(float(match.group()))
    return -number if negative else number


def _clauses(answer: dict[str, Any]) -> dict[str, Any]:
    spans: list[dict[str, Any]] = []
    values: dict[str, list[str]] = {}
    for clause in answer.get("clauses") or []:
        if not isinstance(clause, dict) or not clause.get("clause_type"):
            continue
        spans.append(
            {
                "clause_type": clause["clause_type"],
                "text": clause.get("text", ""),
                "start": clause.get("start", -1),
                "end": clause.get("end", -1),
            }
        )
        normalized = clause.get("normalized")
        if isinstance(normalized, str) and normalized.strip():
            values.setdefault(clause["clause_type"], []).append(normalized)
    return {"spans": spans, "values": values}


def _financials(answer: dict[str, Any], corrected: set[int]) -> dict[str, Any]:
    values: dict[str, dict[str, float]] = {}
    periods: list[str] = []
    for index, item in enumerate(answer.get("line_items") or []):
        if not isinstance(item, dict) or not item.get("metric") or not item.get("period"):
            continue
        # A corrected cell text wins over the amount code computed from the old text.
        amount = _amount(item.get("value")) if index in corrected else None
        if amount is None:
            amount = _amount(item.get("amount"))
        if amount is None:
            amount = _amount(item.get("value"))
        if amount is None:
            continue
        values.setdefault(item["metric"], {})[item["period"]] = amount
        if item["period"] not in periods:
            periods.append(item["period"])
    flags = [f for f in answer.get("flags") or [] if isinstance(f, dict)]
    return {
        "statement": answer.get("statement"),
        "scale": answer.get("scale"),
        "periods": periods,
        "values": values,
        "identity_break": any(f.get("kind") in ("identity", "subtotal") for f in flags),
    }


def _diagnosis(answer: dict[str, Any]) -> dict[str, Any]:
    conditions = [
        d.get("condition") for d in answer.get("differential") or [] if isinstance(d, dict)
    ]
    conditions = [c for c in conditions if isinstance(c, str) and c]
    return {
        "condition": conditions[0] if conditions else None,
        "synonyms": [],
        "red_flags": [[f] for f in answer.get("red_flags") or [] if isinstance(f, str)],
        "recommended_tests": [
            [t] for t in answer.get("recommended_tests") or [] if isinstance(t, str)
        ],
        "insufficient_information": bool(answer.get("insufficient_information")),
    }


GOLD_BUILDERS: dict[str, Callable[[dict[str, Any], set[int]], dict[str, Any]]] = {
    "clauses": lambda answer, _corrected: _clauses(answer),
    "financials": _financials,
    "diagnosis": lambda answer, _corrected: _diagnosis(answer),
}


def build_gold(
    task: str | None, reviewed: Any, decisions: Mapping[str, Mapping[str, Any]]
) -> dict[str, Any]:
    """Gold for ``task`` from a reviewed answer (see the module docs)."""
    if not isinstance(reviewed, dict):
        return {"answer": reviewed}
    builder = GOLD_BUILDERS.get(task or "")
    if builder is None:
        return reviewed
    # Line items whose cell text the reviewer corrected, by index after rejections are dropped.
    corrected = {
        _position(pointer, decisions)
        for pointer, decision in decisions.items()
        if pointer.startswith("/line_items/")
        and pointer.rpartition("/")[2].isdigit()
        and decision.get("action") == "correct"
    }
    return builder(reviewed, corrected)


def _position(pointer: str, decisions: Mapping[str, Mapping[str, Any]]) -> int:
    """Index of a list item after the rejected items before it are dropped."""
    head, _, tail = pointer.rpartition("/")
    original = int(tail)
    dropped = sum(
        1
        for other, decision in decisions.items()
        if decision.get("action") == "reject"
        and other.rpartition("/")[0] == head
        and other.rpartition("/")[2].isdigit()
        and int(other.rpartition("/")[2]) < original
    )
    return original - dropped
