"""A Task is a template + a way to render records + a Pydantic output model + decoding settings.

Tasks are registered by name so the CLI and batch jobs can find them; users define their own
with a template file and a model, without touching structkit::

    class Triage(BaseModel): ...
    register_task(Task(name="triage", template="triage.jinja", output_model=Triage,
                       template_dirs=("my_templates",)))
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from pydantic import BaseModel

from ._errors import ConfigurationError
from ._profiles import ModelProfile
from ._prompt import fence, render_template
from ._schema import output_schema
from .engines._base import Message

__all__ = ["Task", "get_task", "register_task", "task_names"]

M = TypeVar("M", bound=BaseModel)


def compact_json(record: Any) -> str:
    """Default rendering: compact JSON, non-ASCII kept as is (fewer tokens than escapes)."""
    return json.dumps(record, ensure_ascii=False, separators=(",", ":"), allow_nan=False)


@dataclass(frozen=True)
class Task(Generic[M]):
    """What to ask, about what, and what shape the answer must have."""

    name: str
    template: str
    """Template file name, looked up in ``template_dirs`` then structkit's ``templates/``."""
    output_model: type[M]
    render: Callable[[Any], str] = compact_json
    """Turns a loaded record into the text placed inside the fence."""
    max_tokens: int | None = None
    """Answer budget; ``None`` uses the model profile's."""
    temperature: float | None = None
    """``None`` uses the model profile's (e.g. 0.6 for DeepSeek-R1 distills)."""
    template_dirs: tuple[str, ...] = ()
    template_vars: dict[str, Any] = field(default_factory=dict)

    @property
    def schema(self) -> dict[str, Any]:
        """The JSON Schema the answer is constrained to and validated against."""
        return output_schema(self.output_model)

    def prompt(self, record_text: str, *, profile: ModelProfile) -> list[Message]:
        """Build the conversation for one rendered record.

        No system turn: instructions go in the user turn, as the reference reasoning model asks
        and as works for small instruct models too.
        """
        fenced, tag = fence(record_text)
        content = render_template(
            self.template,
            template_dirs=self.template_dirs,
            record=fenced,
            tag=tag,
            boxed=profile.boxed_numeric_answers,
            **self.template_vars,
        )
        return [{"role": "user", "content": content}]


_REGISTRY: dict[str, Task[Any]] = {}


def register_task(task: Task[Any], *, replace: bool = False) -> None:
    """Make ``task`` available by name (CLI, batch jobs). Its schema is checked now."""
    if task.name in _REGISTRY and not replace:
        raise ConfigurationError(f"a task named {task.name!r} is already registered")
    output_schema(task.output_model)  # fail at registration, not at the first record
    _REGISTRY[task.name] = task


def get_task(name: str) -> Task[Any]:
    """Look up a registered task."""
    try:
        return _REGISTRY[name]
    except KeyError:
        raise ConfigurationError(
            f"no task named {name!r}; known: {', '.join(sorted(_REGISTRY))}"
        ) from None


def task_names() -> list[str]:
    """Names of all registered tasks."""
    return sorted(_REGISTRY)
