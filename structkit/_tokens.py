"""Token counting with a model's own tokenizer, without starting an engine.

Adapters take a ``count_tokens`` callable rather than importing an engine (layering); this module
builds that callable from a model name or folder.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable

__all__ = ["token_counter"]


@functools.lru_cache(maxsize=4)
def _tokenizer(source: str) -> object:
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(source)


def token_counter(model: str | os.PathLike[str] | None = None) -> Callable[[str], int]:
    """A function counting tokens of text for ``model`` (default: the packaged default model)."""
    from .engines._vllm import resolve_model  # light: vLLM itself is imported lazily there

    _, source = resolve_model(model)
    tokenizer = _tokenizer(source)

    def count(text: str) -> int:
        return len(tokenizer.encode(text, add_special_tokens=False))  # type: ignore[attr-defined]

    return count
