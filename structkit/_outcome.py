"""The result for one record: a validated value or a typed error, never both."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generic, TypeVar

from pydantic import BaseModel

from ._errors import InputError, StructkitError
from .adapters._load import is_inline_text, load
from .adapters._record import Record

__all__ = ["Outcome", "default_record_id", "load_outcomes"]

M = TypeVar("M", bound=BaseModel)


@dataclass
class Outcome(Generic[M]):
    """The result for one record: a validated ``value`` or a typed ``error``, never both."""

    record_id: str
    value: M | None = None
    error: StructkitError | None = None
    attempts: int = 0
    reasoning: str | None = None
    prompt_tokens: int = 0
    completion_tokens: int = 0
    parts: int = 1
    samples: int = 0
    """Valid samples the answer was voted from (1 without self-consistency)."""
    agreement: dict[str, float] = field(default_factory=dict)
    """Per top-level field, the share of valid samples that agree with the answer."""
    questions: int = 0
    """Question-mode tasks: questions sent to the model for this record (0: not called)."""
    record: Record | None = field(default=None, repr=False)
    """The parsed input, for provenance and grounding checks."""
    audit: dict[str, Any] | None = field(default=None, repr=False)
    """What produced this answer: model and weights hash, engine, template and schema hashes,
    sampling, timestamps (see :mod:`structkit._audit`). Set by ``structkit.run`` and batch jobs."""

    @property
    def ok(self) -> bool:
        return self.error is None

    def unwrap(self) -> M:
        """The validated value, or raise the error."""
        if self.error is not None:
            raise self.error
        assert self.value is not None
        return self.value


def default_record_id(source: Any, index: int) -> str:
    """A file's name, else ``#<index>`` (inline text never becomes an id: it may hold PHI)."""
    if isinstance(source, os.PathLike) or (isinstance(source, str) and not is_inline_text(source)):
        return Path(source).name
    return f"#{index}"


def load_outcomes(records: Sequence[Any], record_ids: Sequence[str] | None) -> list[Outcome[Any]]:
    """One outcome per record, in order, each with its loaded record or the typed
    :class:`~structkit.InputError` that says why it cannot be read (the others go on)."""
    outcomes: list[Outcome[Any]] = []
    for index, source in enumerate(records):
        rid = record_ids[index] if record_ids is not None else default_record_id(source, index)
        outcome: Outcome[Any] = Outcome(record_id=rid)
        outcomes.append(outcome)
        try:
            outcome.record = load(source, record_id=rid)
        except InputError as exc:
            outcome.error = exc
    return outcomes
