"""A Task is a template + a way to render records + a Pydantic output model + decoding settings.

A task runs in one of two ways:

- **classic**: the whole (rendered) record goes into one prompt and the model writes the whole
  answer, constrained to the output model's schema (users' own tasks, strong models);
- **question mode** (``questions`` + ``assemble``): code does what it can exactly and splits what
  is left into small questions with few constrained options (pick one of these candidates, or
  "none"); the runner sends every question of every record in one batched call and code
  assembles the validated answers into the output model. A record with no questions left never
  reaches the model.

Tasks are registered by name so the CLI and batch jobs can find them; users define their own
with a template file and a model, without touching structkit::

    class Triage(BaseModel): ...
    register_task(Task(name="triage", template="triage.jinja", output_model=Triage,
                       template_dirs=("my_templates",)))
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Generic, Literal, TypeVar

from pydantic import BaseModel

from ._engine import LoraAdapter, Message
from ._errors import ConfigurationError, OutputError
from ._profiles import ModelProfile
from ._prompt import fence, render_template
from ._schema import output_schema
from .adapters._record import Record
from .adapters._render import FORMATS

__all__ = [
    "Answers",
    "Question",
    "QuestionContext",
    "Task",
    "TaskCommand",
    "get_task",
    "register_task",
    "task_commands",
    "task_names",
]

M = TypeVar("M", bound=BaseModel)


@dataclass(frozen=True)
class Question:
    """One small question about a record, with a constrained answer."""

    key: str
    """Unique within one record (e.g. ``"cat:Governing Law"``); answers are returned by key."""
    messages: list[Message]
    """The conversation; usually one user turn built with ``render_template`` and ``fence``."""
    json_schema: dict[str, Any]
    """The answer's JSON Schema: decoding is constrained to it and the answer validated with it."""
    max_tokens: int = 64
    """Answer budget (reasoning models get the profile's thinking reserve on top)."""
    adapter: LoraAdapter | None = None
    """The LoRA adapter the question is answered with (a task tuned with ``--kinds lora``)."""


@dataclass(frozen=True)
class QuestionContext:
    """What a task needs to know about the run when it builds its questions."""

    mode: str
    grounding: bool
    count_tokens: Callable[[str], int]
    profile: ModelProfile
    max_prompt_tokens: int
    """Context length minus the answer budget: each question's prompt must stay under it."""


@dataclass(frozen=True)
class Answers:
    """The validated answers to one record's questions, for ``Task.assemble``."""

    values: dict[str, Any]
    """Question key -> parsed JSON answer (per-key majority when several samples were drawn)."""
    failures: dict[str, OutputError]
    """Question key -> typed failure after all attempts (a key is in ``values`` or here)."""
    asked: int
    """Questions sent to the engine; 0 means the model was not called for this record."""
    mode: str


@dataclass(frozen=True)
class Task(Generic[M]):
    """What to ask, about what, and what shape the answer must have."""

    name: str
    template: str = ""
    """Template file name, looked up in ``template_dirs`` then structkit's ``templates/``
    (the classic one-prompt path; a question-mode task needs none)."""
    output_model: type[M] = field(kw_only=True)
    format: str = "json"
    """How records are rendered inside the fence: one of ``json``, ``markdown``, ``csv``, ``kv``
    (overridable per call)."""
    overflow: Literal["error", "split"] = "error"
    """A record over the token budget: ``error`` (RecordTooLargeError) or ``split`` into parts
    answered separately (only for tasks whose answers can be merged)."""
    max_tokens: int | None = None
    """Answer budget; ``None`` uses the model profile's."""
    temperature: float | None = None
    """``None`` uses the model profile's (e.g. 0.6 for DeepSeek-R1 distills)."""
    template_dirs: tuple[str, ...] = ()
    template_vars: dict[str, Any] = field(default_factory=dict)
    merge: Callable[[list[M]], M] | None = None
    """Combines the answers for the parts of a split record (required with ``overflow="split"``)."""
    grounded_schema: Callable[[Record, dict[str, Any]], dict[str, Any]] | None = None
    """Narrows the schema to one record (enums of its keys, values, sentences) so decoding can
    only produce values present in the input. Used when grounding is on (the default)."""
    postprocess: Callable[[M, Record], M] | None = None
    """Runs after validation (and merging) with the whole record: verify grounding, compute
    derived values in code, attach provenance."""
    modes: tuple[str, ...] = ()
    """Named ways to run the task (e.g. ``("model", "baseline")``); the first is the default,
    ``RunOptions["mode"]`` chooses. Passed to ``questions`` in :class:`QuestionContext`."""
    questions: Callable[[Record, QuestionContext], list[Question]] | None = None
    """Question mode: code's exact work done, the small questions left for the model (maybe
    none). The template/format/merge fields are then unused."""
    assemble: Callable[[Record, Answers], M | dict[str, Any]] | None = None
    """Question mode: builds the answer from the record and the validated answers; the result
    is validated against ``output_model``."""
    adapter: Callable[[str], dict[str, Any] | None] | None = None
    """The tuned adapter a mode uses (``mode -> {"kind", "path", "sha256"}`` or ``None``), named
    in every answer's audit record."""

    def __post_init__(self) -> None:
        if (self.questions is None) != (self.assemble is None):
            raise ConfigurationError(f"task {self.name!r}: questions and assemble go together")
        if self.questions is None and not self.template:
            raise ConfigurationError(
                f"task {self.name!r}: needs a template (one prompt) or questions and assemble"
            )
        if self.format not in FORMATS:
            raise ConfigurationError(f"task {self.name!r}: unknown format {self.format!r}")
        if self.overflow == "split" and self.merge is None:
            raise ConfigurationError(f"task {self.name!r}: overflow='split' needs a merge function")

    def resolve_mode(self, mode: str | None) -> str:
        """The mode to run in: ``mode`` if this task has it, else the default (first) one."""
        if mode is None:
            return self.modes[0] if self.modes else ""
        if mode not in self.modes:
            known = ", ".join(self.modes) or "none"
            raise ConfigurationError(f"task {self.name!r} has no mode {mode!r}; modes: {known}")
        return mode

    @property
    def schema(self) -> dict[str, Any]:
        """The JSON Schema the answer is constrained to and validated against."""
        return output_schema(self.output_model)

    def schema_for(self, record: Record, *, grounding: bool) -> dict[str, Any]:
        """The schema for one record: grounded when the task supports it and grounding is on."""
        if grounding and self.grounded_schema is not None:
            return self.grounded_schema(record, self.schema)
        return self.schema

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


@dataclass(frozen=True)
class TaskCommand:
    """How a registered task appears on the command line (``structkit <command> FILE``)."""

    command: str
    summary: str
    input_help: str = "record file"


_REGISTRY: dict[str, Task[Any]] = {}
_COMMANDS: dict[str, TaskCommand] = {}


def register_task(
    task: Task[Any], *, replace: bool = False, command: TaskCommand | None = None
) -> None:
    """Make ``task`` available by name (``run``, batch jobs, ``structkit eval``); with ``command``
    also as its own CLI command. Its schema is checked now."""
    if task.name in _REGISTRY and not replace:
        raise ConfigurationError(f"a task named {task.name!r} is already registered")
    output_schema(task.output_model)  # fail at registration, not at the first record
    _REGISTRY[task.name] = task
    if command is not None:
        _COMMANDS[task.name] = command


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


def task_commands() -> dict[str, TaskCommand]:
    """Registered tasks that have a CLI command, by task name."""
    return dict(_COMMANDS)
