"""JSON Schemas for decoding, derived from Pydantic output models, and checked for safety.

Constrained decoding only guarantees the *shape* of an answer. An unbounded list or string lets a
small model loop until ``max_tokens`` (0/8 valid answers in our CPU notes without bounds, 8/8 with
``maxItems``/``maxLength``), so every schema structkit sends to an engine is checked here first.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterator
from typing import Any

from jsonschema import Draft202012Validator
from pydantic import BaseModel

from ._errors import SchemaError

__all__ = ["output_schema", "unbounded_paths"]

_STRING_BOUNDED_BY = ("maxLength", "enum", "const", "format")


def _walk(node: Any, path: str) -> Iterator[tuple[str, dict[str, Any]]]:
    if isinstance(node, dict):
        yield path, node
        for key, value in node.items():
            yield from _walk(value, f"{path}/{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _walk(value, f"{path}/{index}")


def _types(node: dict[str, Any]) -> set[str]:
    kind = node.get("type")
    if isinstance(kind, list):
        return {str(k) for k in kind}
    # A property *named* "type" holds a dict here, not a type name.
    return {kind} if isinstance(kind, str) else set()


def unbounded_paths(schema: dict[str, Any]) -> list[str]:
    """List the schema locations where an answer could grow without limit.

    Arrays need ``maxItems``; strings need ``maxLength`` (or ``enum``/``const``/``format``);
    objects with ``additionalProperties`` other than ``false`` allow unlimited keys.
    """
    problems: list[str] = []
    for path, node in _walk(schema, "#"):
        kinds = _types(node)
        if "array" in kinds and "maxItems" not in node and "prefixItems" not in node:
            problems.append(f"{path}: array without maxItems")
        if "string" in kinds and not any(k in node for k in _STRING_BOUNDED_BY):
            problems.append(f"{path}: string without maxLength")
        if "object" in kinds and node.get("additionalProperties", False) not in (False, None):
            problems.append(f"{path}: object with open additionalProperties")
    return problems


@functools.lru_cache(maxsize=128)
def _cached_schema(model: type[BaseModel]) -> str:
    schema = model.model_json_schema(mode="validation")
    problems = unbounded_paths(schema)
    if problems:
        raise SchemaError(
            f"{model.__name__} cannot be decoded safely; bound these fields "
            f"(e.g. Field(max_length=...)): " + "; ".join(problems)
        )
    Draft202012Validator.check_schema(schema)
    # Key order is meaningful: engines generate properties in schema order, and output models
    # put reasoning-like fields (summary) before answer fields on purpose. Never sort.
    return json.dumps(schema)


def output_schema(model: type[BaseModel]) -> dict[str, Any]:
    """Return the JSON Schema used to constrain and re-validate answers for ``model``.

    Raises:
        SchemaError: the model has an unbounded list, string or mapping.
    """
    result: dict[str, Any] = json.loads(_cached_schema(model))
    return result
