"""How each attempt samples: the answer budget, the temperature and the seed of every request.

One place for these rules, so that every way of running a task (classic, question mode, the
server's streaming path) draws the same samples for the same options.
"""

from __future__ import annotations

from dataclasses import dataclass

from ._profiles import ModelProfile

__all__ = [
    "MIN_RETRY_TEMPERATURE",
    "Sampling",
    "answer_budget",
    "attempt_temperature",
    "request_seed",
]


@dataclass(frozen=True)
class Sampling:
    """How the attempts of one run draw: samples per attempt, attempts, the base temperature,
    the thinking budget and the base seed (from ``Settings.resolve``)."""

    samples: int
    max_attempts: int
    temperature: float
    thinking_budget: int | None
    seed: int


#: Resampling at temperature 0 would redraw the same answer; retries use at least this.
MIN_RETRY_TEMPERATURE = 0.3


def answer_budget(profile: ModelProfile, *, requested: int | None, task_budget: int | None) -> int:
    """Tokens the engine may generate: an explicit ``max_tokens`` wins; otherwise the task's (or
    the model's) answer budget, plus the thinking reserve of a reasoning model, so a task's answer
    budget never eats the thinking budget."""
    if requested is not None:
        return requested
    return (task_budget or profile.max_tokens) + profile.thinking_tokens


def attempt_temperature(base: float, *, attempt: int, samples: int) -> float:
    """The temperature of an attempt: retries and self-consistency samples never run greedy."""
    temperature = base if attempt == 1 else max(base, MIN_RETRY_TEMPERATURE)
    if samples > 1 and attempt == 1 and temperature == 0.0:
        temperature = MIN_RETRY_TEMPERATURE  # identical greedy samples would make voting moot
    return temperature


def request_seed(seed: int, *, index: int, attempt: int, sample: int) -> int:
    """A distinct, repeatable seed per request, attempt and sample."""
    return seed + 7919 * index + 104729 * (attempt - 1) + 15485863 * sample
