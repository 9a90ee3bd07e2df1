"""The default model's hidden states for short texts: the features a tuned head reads.

A head (:mod:`structkit.tasks.clauses._head`) puts the model in the loop without decoding: one
forward pass per candidate span through the model's own weights (the folder structkit prepares for
vLLM from the shipped GGUF, so the same weights every engine serves), mean-pooled over the last
layer and L2-normalised. Training and answering use this one function, so what was trained is
what runs.

Measured on the development host (AMD EPYC, avx512_bf16, 2 cores): bfloat16 embeds ~890
tokens/s, float32 ~490, llama.cpp's embedding endpoint on the Q4 GGUF ~230; bfloat16 is chosen
where the CPU has avx512_bf16 or AMX (PyTorch emulates it, slowly, elsewhere), float32 otherwise.
Heavy imports (torch, transformers) happen inside, on first use.
"""

from __future__ import annotations

import functools
import hashlib
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ._host import cpu_dtype

__all__ = ["HiddenStates", "hidden_states", "preferred_dtype"]

#: Tokens of a text that are read (a candidate span is at most a few sentences).
MAX_TOKENS = 128
#: Texts per forward pass (8 was the fastest measured, against 32).
BATCH = 8


def preferred_dtype() -> str:
    """``"bfloat16"`` where the CPU computes it natively (avx512_bf16, AMX), else ``"float32"``."""
    return cpu_dtype()


class HiddenStates:
    """Mean-pooled last-layer states of a Hugging Face causal LM folder (one process-wide
    instance per folder and dtype, :func:`hidden_states`)."""

    def __init__(self, folder: Path, *, dtype: str):
        import torch
        from transformers import AutoModel, AutoTokenizer
        from transformers.utils import logging as hf_logging

        # Its "Loading weights" bar would interleave with structkit's own progress lines.
        hf_logging.disable_progress_bar()  # type: ignore[no-untyped-call]
        self.folder = folder
        self.dtype = dtype
        self._torch = torch
        self._tokenizer: Any = AutoTokenizer.from_pretrained(folder)
        if self._tokenizer.pad_token is None:
            self._tokenizer.pad_token = self._tokenizer.eos_token
        # Padding on the right: a text's tokens keep positions 0..n-1 and never attend to the
        # padding, so its states do not depend on which texts share its batch.
        self._tokenizer.padding_side = "right"
        self._model: Any = AutoModel.from_pretrained(folder, dtype=getattr(torch, dtype)).eval()
        self._lock = threading.Lock()
        self._memo: dict[str, np.ndarray] = {}

    @property
    def width(self) -> int:
        return int(self._model.config.hidden_size)

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """One L2-normalised row (float32) per text; repeated texts are computed once."""
        keys = [hashlib.sha256(t.encode("utf-8")).hexdigest() for t in texts]
        with self._lock:
            todo = sorted(
                {k: t for k, t in zip(keys, texts, strict=True) if k not in self._memo}.items()
            )
            for i in range(0, len(todo), BATCH):
                chunk = todo[i : i + BATCH]
                for (key, _), row in zip(chunk, self._forward([t for _, t in chunk]), strict=True):
                    self._memo[key] = row
            if not texts:
                return np.zeros((0, self.width), dtype=np.float32)
            return np.stack([self._memo[k] for k in keys])

    def _forward(self, texts: list[str]) -> np.ndarray:
        torch = self._torch
        enc = self._tokenizer(
            texts, return_tensors="pt", padding=True, truncation=True, max_length=MAX_TOKENS
        )
        with torch.inference_mode():
            states = self._model(**enc).last_hidden_state.float()
        mask = enc["attention_mask"].unsqueeze(-1).float()
        pooled = (states * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1.0)
        pooled = torch.nn.functional.normalize(pooled, dim=-1)
        return np.asarray(pooled.numpy(), dtype=np.float32)


@functools.lru_cache(maxsize=2)
def hidden_states(folder: str, dtype: str) -> HiddenStates:
    """The process-wide :class:`HiddenStates` of ``folder`` (loaded once; ~1 s)."""
    return HiddenStates(Path(folder), dtype=dtype)
