"""How a run draws its answers: one frozen settings object, resolved once per task and model.

Every way in (the task functions, ``run_batch``, the CLI, ``structkit eval``, the tool server)
turns its options into :class:`Settings` here, so the option names, their defaults, their checks
and the rules that derive a run's mode, temperature, answer budget and prompt room are written
once. :class:`RunOptions` is the same set of names as keyword arguments (plus the engine and the
model, which choose what runs rather than how it samples).
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypedDict

from ._errors import ConfigurationError
from ._profiles import ModelProfile
from ._sampling import Sampling, answer_budget
from .adapters._render import FORMATS

if TYPE_CHECKING:
    from ._engine import Engine
    from ._task import Task

__all__ = [
    "CHAT_MARKUP_TOKENS",
    "Resolved",
    "RunOptions",
    "SettingOptions",
    "Settings",
    "prompt_room",
]

#: Tokens kept free for the chat template's own markup around the user turn.
CHAT_MARKUP_TOKENS = 64

ModelArg = str | os.PathLike[str] | None


class SettingOptions(TypedDict, total=False):
    """The options of :class:`Settings` as keyword arguments (see :class:`RunOptions`)."""

    format: str | None
    grounding: bool
    samples: int
    max_attempts: int
    max_tokens: int | None
    temperature: float | None
    thinking_budget: int | None
    seed: int
    mode: str | None


class RunOptions(SettingOptions, total=False):
    """Options every task function accepts (all keyword-only).

    Attributes:
        model: model name, folder or Hugging Face id; default: the packaged
            SmolLM2-135M-Instruct (or ``STRUCTKIT_MODEL``).
        engine: an engine to use instead (e.g. ``structkit.FakeEngine`` in tests), or the name
            of a built-in one: ``"llama.cpp"`` or ``"vllm"`` (default: ``STRUCTKIT_ENGINE``,
            else vLLM on GPU machines and llama.cpp for GGUF models on CPU-only ones).
        format: how records are rendered in prompts (``json``, ``markdown``, ``csv``, ``kv``,
            ``text``); default: the task's.
        grounding: constrain copied fields to values present in the record while decoding
            (default True); answers are verified after decoding either way.
        samples: samples per record; above 1, fields are voted on (self-consistency) and
            ``Outcome.agreement`` gives per-field agreement.
        max_attempts: rounds of resampling for records with no valid answer (default 2).
        max_tokens: total generation budget (reasoning models: thinking plus answer).
        temperature: sampling temperature; default from the model's profile.
        thinking_budget: reasoning models: tokens allowed before ``</think>`` is forced.
        seed: base seed, so runs are repeatable (default 0).
        mode: for tasks with modes (``structkit.get_task(name).modes``), which one to run,
            e.g. ``"baseline"`` (code only, no model); default: the task's first mode.
    """

    model: ModelArg
    engine: Engine | str | None


#: The options that choose what runs, not how: kept out of :class:`Settings`.
ENGINE_OPTIONS = ("engine", "model")


@dataclass(frozen=True, kw_only=True)
class Settings:
    """The options of :class:`RunOptions` that say how a run samples (all but engine and model),
    checked when made. See :class:`RunOptions` for what each means."""

    format: str | None = None
    grounding: bool = True
    samples: int = 1
    max_attempts: int = 2
    max_tokens: int | None = None
    temperature: float | None = None
    thinking_budget: int | None = None
    seed: int = 0
    mode: str | None = None

    def __post_init__(self) -> None:
        if self.max_attempts < 1 or self.samples < 1:
            raise ConfigurationError("max_attempts and samples must be at least 1")
        if self.format is not None and self.format not in FORMATS:
            raise ConfigurationError(f"unknown format {self.format!r}; one of {FORMATS}")

    @classmethod
    def names(cls) -> tuple[str, ...]:
        """The option names a settings object holds, in order."""
        return tuple(f.name for f in dataclasses.fields(cls))

    @classmethod
    def from_options(cls, options: Mapping[str, Any]) -> Settings:
        """Settings from keyword options (``engine`` and ``model`` are ignored here: the engine
        resolver takes them); an unknown name is a :class:`ConfigurationError`."""
        unknown = set(options) - set(cls.names()) - set(ENGINE_OPTIONS)
        if unknown:
            raise ConfigurationError(f"unknown option(s): {', '.join(sorted(unknown))}")
        return cls(**{k: v for k, v in options.items() if k not in ENGINE_OPTIONS})

    def with_changes(self, changes: Mapping[str, Any]) -> Settings:
        """These settings with some options replaced (checked as a new object is)."""
        unknown = set(changes) - set(self.names())
        if unknown:
            raise ConfigurationError(f"unknown option(s): {', '.join(sorted(unknown))}")
        return dataclasses.replace(self, **changes)

    def options(self) -> dict[str, Any]:
        """The settings as keyword options (every name, defaults included)."""
        return dataclasses.asdict(self)

    def resolve(self, task: Task[Any], profile: ModelProfile) -> Resolved:
        """What these settings come to for one task on one model: the mode (the task's first
        when none is given; an unknown one is a :class:`ConfigurationError`), the temperature
        (given, else the task's, else the model's), the answer budget and the format."""
        temperature = next(
            t for t in (self.temperature, task.temperature, profile.temperature) if t is not None
        )
        return Resolved(
            settings=self,
            profile=profile,
            mode=task.resolve_mode(self.mode),
            temperature=temperature,
            answer_tokens=answer_budget(
                profile, requested=self.max_tokens, task_budget=task.max_tokens
            ),
            format=self.format or task.format,
        )


@dataclass(frozen=True)
class Resolved:
    """:class:`Settings` resolved for one task and model (see :meth:`Settings.resolve`)."""

    settings: Settings
    profile: ModelProfile
    mode: str
    temperature: float
    answer_tokens: int  # what a classic-mode answer may generate
    format: str

    def record_room(self, task: Task[Any], engine: Engine) -> int:
        """Tokens left for the rendered record in one classic-mode prompt: the context minus
        the answer budget, the chat markup and the task's prompt around the record."""
        empty = task.prompt("", profile=self.profile)[0]["content"]
        return prompt_room(self.profile, self.answer_tokens, overhead=engine.count_tokens(empty))

    def draws(self) -> Sampling:
        """How the run's attempts draw (for ``draw_until_valid``)."""
        s = self.settings
        return Sampling(s.samples, s.max_attempts, self.temperature, s.thinking_budget, s.seed)

    def sampling(self) -> dict[str, Any]:
        """How the run samples, as its audit records it."""
        s = self.settings
        return {
            "temperature": self.temperature,
            "top_p": self.profile.top_p,
            "max_tokens": self.answer_tokens,
            "samples": s.samples,
            "max_attempts": s.max_attempts,
            "seed": s.seed,
            "grounding": s.grounding,
            "format": self.format,
            "thinking_budget": s.thinking_budget,
        }


def prompt_room(profile: ModelProfile, answer_tokens: int, *, overhead: int = 0) -> int:
    """Tokens a prompt may take on ``profile``'s context when ``answer_tokens`` are kept for the
    answer, the chat template's markup and ``overhead`` more (e.g. the template around a record)."""
    return profile.max_model_len - answer_tokens - CHAT_MARKUP_TOKENS - overhead


_BOOL = {"true": True, "on": True, "yes": True, "1": True}
_BOOL |= {"false": False, "off": False, "no": False, "0": False}


def _optional(convert: Callable[[str], Any]) -> Callable[[str], Any]:
    return lambda text: None if text.lower() in ("none", "null", "default") else convert(text)


def _boolean(text: str) -> bool:
    if text.lower() not in _BOOL:
        raise ValueError(f"not a boolean: {text!r}")
    return _BOOL[text.lower()]


#: How each setting is read from text (``structkit eval --setting key=value``).
PARSERS: dict[str, Callable[[str], Any]] = {
    "format": _optional(str),
    "grounding": _boolean,
    "samples": int,
    "max_attempts": int,
    "max_tokens": _optional(int),
    "temperature": _optional(float),
    "thinking_budget": _optional(int),
    "seed": int,
    "mode": _optional(str),
}
