"""What the in-process engines share: a model, its profile, and one backend started on first use.

llama.cpp and vLLM each run one backend object (an ``xllamacpp.Server``, a ``vllm.LLM``) that is
costly to start, so it starts when first needed, once, under a lock, and ``close`` frees it (a
later use starts it again).
"""

from __future__ import annotations

import threading
from typing import Any

from .._profiles import ModelProfile, profile_for

__all__ = ["EmbeddedEngine", "NamedEngine"]


class NamedEngine:
    """An engine's ``model_name`` and ``profile`` (looked up from the name when not given)."""

    def __init__(self, name: str, profile: ModelProfile | None) -> None:
        self._name = name
        self._profile = profile or profile_for(name)

    @property
    def model_name(self) -> str:
        return self._name

    @property
    def profile(self) -> ModelProfile:
        return self._profile


class EmbeddedEngine(NamedEngine):
    """Base of the embedded engines: a named engine whose backend starts on first use.

    Subclasses implement ``_start`` (return the running backend).
    """

    def __init__(self, name: str, profile: ModelProfile | None) -> None:
        super().__init__(name, profile)
        self._running: Any = None
        self._lock = threading.Lock()
        self.startup_seconds: float | None = None

    def _started(self) -> Any:
        """The backend, started now if it is not running."""
        with self._lock:
            if self._running is None:
                self._running = self._start()
            return self._running

    def _start(self) -> Any:
        raise NotImplementedError

    def _take_backend(self) -> Any:
        """Detach the running backend (None when none runs), for ``close`` to free."""
        with self._lock:
            backend, self._running = self._running, None
        return backend
