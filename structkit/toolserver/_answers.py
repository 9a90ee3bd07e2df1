"""What the tool servers send back: one answer model per task, and PHI-free errors.

The answer is the task's own Pydantic model (the contract) with the record's id, the attempts and
the audit record; an error is its type's name and its message, which by structkit's rule never
holds record values or model output. Tracebacks never leave the process.
"""

from __future__ import annotations

import copy
import functools
from typing import Any

from pydantic import BaseModel, Field, create_model
from pydantic.json_schema import GenerateJsonSchema, SkipJsonSchema

from .._errors import StructkitError
from .._runner import Outcome
from .._task import Task, get_task

__all__ = [
    "ErrorBody",
    "answer_model",
    "answer_of",
    "answer_schema",
    "error_body",
    "task_description",
    "tool_name",
]

# Built-in tasks keep the names of the public functions (structkit.diagnose, ...).
_TOOL_NAMES = {
    "diagnosis": "diagnose",
    "financials": "analyze_financials",
    "clauses": "extract_clauses",
}
_DESCRIPTIONS = {
    "diagnosis": "Decision-support differential diagnosis for one patient record (FHIR R4 "
    "Bundle or resource, C-CDA XML, a JSON object, a CSV row): abnormal findings and "
    "NEWS2/qSOFA/SIRS computed in code, and a ranked differential of verified ICD-10-CM codes, "
    "each with the record facts it rests on. Not a diagnosis: support for a clinician.",
    "financials": "Key line items per period from a financial statement (CSV, a Markdown "
    "table, XBRL or inline XBRL), each grounded to its table cell, with ratios, growth and "
    "accounting identity checks computed in code.",
    "clauses": "CUAD-style clauses from a contract's text: each clause with its verbatim span "
    "and character offsets verified against the source, plus dates and parties.",
}


def tool_name(task: str) -> str:
    """The tool (and OpenAPI operation) name of a registered task."""
    return _TOOL_NAMES.get(task, task)


def task_description(task: Task[Any]) -> str:
    modes = f" Modes: {', '.join(task.modes)} (default {task.modes[0]})." if task.modes else ""
    base = (
        _DESCRIPTIONS.get(task.name)
        or (task.output_model.__doc__ or f"Run the {task.name!r} task").strip().split("\n\n")[0]
    )
    return base + modes


class ErrorBody(BaseModel):
    """A record that has no valid answer, or a request that was refused."""

    type: str = Field(description="the structkit error's class, e.g. UnsafeInputError")
    message: str = Field(description="what went wrong; never holds record content")
    record_id: str | None = None


def error_body(exc: BaseException, *, record_id: str | None = None) -> ErrorBody:
    if isinstance(exc, StructkitError):
        rid = getattr(exc, "record_id", None) or record_id
        return ErrorBody(type=type(exc).__name__, message=str(exc), record_id=rid)
    # Anything else may quote its input (pydantic, lxml): name the type only.
    return ErrorBody(type=type(exc).__name__, message="internal error", record_id=record_id)


@functools.cache
def answer_model(task: str) -> type[BaseModel]:
    """``{record_id, result: <the task's output model>, attempts, audit}``."""
    output = get_task(task).output_model
    model: type[BaseModel] = create_model(
        f"{output.__name__}Answer",
        __doc__=f"The validated answer of the {task!r} task for one record.",
        record_id=(str, Field(description="the record's id")),
        result=(output, Field(description="the validated answer")),
        attempts=(int, Field(description="samples drawn until the answer was valid")),
        audit=(
            dict[str, Any],
            Field(description="what produced the answer: model, weights, template, settings"),
        ),
    )
    return model


def answer_of(task: str, outcome: Outcome[Any]) -> BaseModel:
    """The answer model for an outcome that has a value."""
    assert outcome.value is not None
    return answer_model(task)(
        record_id=outcome.record_id,
        result=outcome.value,
        attempts=outcome.attempts,
        audit=outcome.audit or {},
    )


def answer_schema(task: str, *, ref_template: str = "#/$defs/{model}") -> dict[str, Any]:
    """The JSON Schema of everything an answer holds, as a client receives it.

    An output model's own schema is the *decoding* contract: fields that code fills are marked
    ``SkipJsonSchema`` so the model is never asked for them. A client gets those fields too, so
    its schema is generated from the model's core schema with those markers taken out.
    """
    core = copy.deepcopy(answer_model(task).__pydantic_core_schema__)
    _show_skipped(core)
    generator = GenerateJsonSchema(ref_template=ref_template)
    return generator.generate(core, mode="serialization")


_SKIP = f"{SkipJsonSchema.__name__}."  # its hook, SkipJsonSchema.__get_pydantic_json_schema__


def _show_skipped(node: Any) -> None:
    if isinstance(node, dict):
        metadata = node.get("metadata")
        if isinstance(metadata, dict):
            for key in ("pydantic_js_annotation_functions", "pydantic_js_functions"):
                if metadata.get(key):
                    metadata[key] = [
                        f
                        for f in metadata[key]
                        if not getattr(f, "__qualname__", "").startswith(_SKIP)
                    ]
        for value in node.values():
            _show_skipped(value)
    elif isinstance(node, list):
        for value in node:
            _show_skipped(value)
