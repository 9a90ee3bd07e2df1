"""Every error structkit raises, rooted in one class.

    StructkitError
    ├── ConfigurationError            bad settings: unknown option, bad template, bad schema
    │   │                             (also a ValueError: a bad argument value)
    │   ├── TemplateError             a template is missing or does not render
    │   ├── SchemaError               an output model's schema is unsafe (unbounded list/string)
    │   ├── DatasetError              an evaluation dataset file is malformed
    │   └── MissingExtraError         an optional extra (e.g. ``structkit[ray]``) is not installed
    ├── ModelError                    the model cannot be used
    │   ├── ModelNotFoundError        no such model path / id
    │   ├── ModelPreparationError     the packaged default model could not be prepared
    │   ├── AdapterError              a tuned adapter is missing, corrupt or for another model
    │   └── EngineUnavailableError    the engine package (vllm) is not installed / failed to start
    ├── InputError                    a record cannot be read  (carries ``record_id``)
    │   ├── RecordParseError          malformed JSON / XML / CSV / Markdown
    │   ├── UnsafeInputError          hostile input refused (DTD, entities, XInclude, too deep/big)
    │   ├── RecordTooLargeError       the rendered record is over the token budget (by ``over``)
    │   └── DuplicateIdError          a batch record has the id of an earlier one
    ├── ServiceBusyError              a tool server's queue is full or it is shutting down
    │                                 (``retry_after`` seconds; HTTP 429 / 503)
    ├── RemoteTaskError               a tool server answered a typed error (``type``: its name)
    └── OutputError                   the model's answer is not acceptable
        ├── TruncatedOutputError      finish_reason == "length": cut off before the answer closed
        │   └── ThinkingBudgetError   a reasoning model was still thinking when the budget ran out
        ├── OutputParseError          not a single JSON value
        ├── OutputValidationError     JSON, but violates the JSON Schema or the Pydantic model
        └── EngineRequestError        the engine failed this one request

``OutputError`` carries what a user needs to decide what to do: the raw text (``raw``), the
finish reason, the number of attempts and, for validation failures, the list of problems.
Messages never contain record values or raw model output: those may be patient data and error
messages end up in logs. They are available as attributes for code that asks for them.
"""

from __future__ import annotations

__all__ = [
    "AdapterError",
    "ConfigurationError",
    "DatasetError",
    "DuplicateIdError",
    "EngineRequestError",
    "EngineUnavailableError",
    "InputError",
    "MissingExtraError",
    "ModelError",
    "ModelNotFoundError",
    "ModelPreparationError",
    "NotAStatementError",
    "OutputError",
    "OutputParseError",
    "OutputValidationError",
    "RecordParseError",
    "RecordTooLargeError",
    "RemoteTaskError",
    "SchemaError",
    "ServiceBusyError",
    "StructkitError",
    "TemplateError",
    "ThinkingBudgetError",
    "TruncatedOutputError",
    "UnitError",
    "UnsafeInputError",
]


class StructkitError(Exception):
    """Root of every error raised by structkit."""


class ConfigurationError(StructkitError, ValueError):
    """A setting, template or output model cannot be used as given."""


class TemplateError(ConfigurationError):
    """A prompt template is missing or fails to render."""


class SchemaError(ConfigurationError):
    """An output model's JSON Schema is unsafe to decode against (e.g. an unbounded list)."""


class DatasetError(ConfigurationError):
    """An evaluation dataset is malformed (names the file and line, never the content)."""


class MissingExtraError(ConfigurationError):
    """A feature needs an optional extra that is not installed (the message names the extra)."""


class ModelError(StructkitError):
    """The model or the engine that runs it cannot be used."""


class ModelNotFoundError(ModelError):
    """No model at the given path or under the given name."""


class ModelPreparationError(ModelError):
    """The packaged default model could not be prepared for the engine."""


class AdapterError(ModelError):
    """A tuned adapter cannot be used: missing, corrupt (a file's hash differs from its
    manifest), for another task, or trained on another base model. Names the adapter's folder."""


class EngineUnavailableError(ModelError):
    """The engine package is not installed or the engine failed to start."""


class UnitError(ConfigurationError):
    """A unit pint does not know, or one that cannot be converted to the wanted unit (a
    ``ValueError`` too, through :class:`ConfigurationError`)."""


class InputError(StructkitError):
    """A record cannot be read. ``record_id`` names the record (never its content)."""

    def __init__(self, message: str, *, record_id: str | None = None, where: str | None = None):
        self.record_id = record_id
        self.where = where
        prefix = f"record {record_id!r}: " if record_id is not None else ""
        suffix = f" (at {where})" if where else ""
        super().__init__(f"{prefix}{message}{suffix}")


class NotAStatementError(InputError):
    """The table is not a financial statement (e.g. a time series); the message says what it is."""


class RecordParseError(InputError):
    """The record is malformed for its format."""


class UnsafeInputError(InputError):
    """The record was refused because parsing it could be abused (entities, DTD, depth, size)."""


class RecordTooLargeError(InputError):
    """The rendered record does not fit the token budget; ``over`` says by how many tokens."""

    def __init__(
        self,
        message: str,
        *,
        record_id: str | None = None,
        tokens: int,
        budget: int,
        where: str | None = None,
    ):
        self.tokens = tokens
        self.budget = budget
        self.over = tokens - budget
        super().__init__(
            f"{message}: {tokens} tokens, budget {budget} (over by {self.over})",
            record_id=record_id,
            where=where,
        )


class DuplicateIdError(InputError):
    """An earlier record of the same job has this id; the later one gets ``<id>#dup<n>``."""


class ServiceBusyError(StructkitError):
    """A tool server did not accept the request: its queue is full, or it is shutting down.

    Nothing was run; send it again after ``retry_after`` seconds (or to another server).
    """

    def __init__(self, message: str, *, retry_after: float, closing: bool = False):
        super().__init__(message)
        self.retry_after = retry_after
        self.closing = closing


class RemoteTaskError(StructkitError):
    """A ``structkit serve`` answered with a typed error; ``type`` is its class name there."""

    def __init__(self, type_name: str, message: str, *, record_id: str | None = None):
        super().__init__(f"{type_name}: {message}")
        self.type = type_name
        self.record_id = record_id


class OutputError(StructkitError):
    """The model's answer could not be accepted.

    Attributes:
        raw: the answer text the model produced on the last attempt (may hold record data).
        finish_reason: the engine's finish reason for that attempt ("stop", "length", ...).
        attempts: how many samples were drawn before giving up.
        problems: short descriptions of what was wrong (no values from the output).
        reasoning: text the model produced inside ``<think>`` on the last attempt, if any.
        record_id: which record this answer was for, when known.
    """

    def __init__(
        self,
        message: str,
        *,
        raw: str = "",
        finish_reason: str | None = None,
        attempts: int = 1,
        problems: list[str] | None = None,
        reasoning: str | None = None,
        record_id: str | None = None,
    ):
        self.raw = raw
        self.finish_reason = finish_reason
        self.attempts = attempts
        self.problems = list(problems or [])
        self.reasoning = reasoning
        self.record_id = record_id
        self.detail = message
        super().__init__(message)

    def __str__(self) -> str:
        who = f"record {self.record_id!r}: " if self.record_id is not None else ""
        tail = f" [finish_reason={self.finish_reason}, attempts={self.attempts}"
        tail += f", output {len(self.raw)} chars]"
        if self.problems:
            tail += " problems: " + "; ".join(self.problems[:5])
        return f"{who}{self.detail}{tail}"


class TruncatedOutputError(OutputError):
    """The engine stopped at the token limit before the answer was complete."""


class ThinkingBudgetError(TruncatedOutputError):
    """A reasoning model used the whole budget thinking and never reached its answer."""


class OutputParseError(OutputError):
    """The answer is not one JSON value."""


class OutputValidationError(OutputError):
    """The answer is JSON but breaks the JSON Schema or the Pydantic model."""


class EngineRequestError(OutputError):
    """The engine raised for this request (the others in the batch are unaffected)."""
