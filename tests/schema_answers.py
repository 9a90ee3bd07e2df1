"""A FakeEngine responder that writes a valid answer for any request's JSON Schema.

It knows nothing about the tasks, so tests built on it keep working when a task's output model
gains fields: enums pick varied non-"none" options, arrays get two items, numbers are small.
"""

from __future__ import annotations

import json
from typing import Any

from structkit import GenerationRequest


def _resolve(schema: dict[str, Any], root: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        schema = root.get("$defs", {}).get(name) or root.get("definitions", {})[name]
    return schema


def instance(schema: dict[str, Any], root: dict[str, Any], index: int = 0) -> Any:
    schema = _resolve(schema, root)
    for key in ("anyOf", "oneOf"):
        if key in schema:
            options = [s for s in schema[key] if _resolve(s, root).get("type") != "null"]
            return instance((options or schema[key])[0], root, index)
    if "const" in schema:
        return schema["const"]
    if "enum" in schema:
        options = [v for v in schema["enum"] if str(v).lower() not in ("none", "")] or schema[
            "enum"
        ]
        return options[index % len(options)]
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if kind == "object":
        props = schema.get("properties", {})
        return {k: instance(props[k], root, index) for k in schema.get("required", list(props))}
    if kind == "array":
        count = max(schema.get("minItems", 0), min(2, schema.get("maxItems", 2)))
        return [instance(schema.get("items", {}), root, index + i) for i in range(count)]
    if kind == "string":
        return "x" * max(1, schema.get("minLength", 1))
    if kind in ("integer", "number"):
        return max(0, schema.get("minimum", 0))
    if kind == "boolean":
        return False
    return None


def respond(request: GenerationRequest) -> str:
    """A valid answer to ``request``'s schema."""
    schema = request.json_schema or {}
    return json.dumps(instance(schema, schema))
