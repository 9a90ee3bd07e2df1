"""The process-wide engines: one cache, one lock, one engine per kind.

Starting an engine costs seconds to minutes, so the resolver keeps one of each kind (llama.cpp,
vLLM, the ``STRUCTKIT_SERVER_URL`` server) and reuses it. Asking a kind for another model
replaces (and closes) the one it holds: one embedded model per kind and process.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

__all__ = ["shared_engine"]

E = TypeVar("E")

_ENGINES: dict[str, tuple[Hashable, Any]] = {}
_LOCK = threading.Lock()


def shared_engine(kind: str, key: Hashable, make: Callable[[], E]) -> E:
    """The process-wide engine of ``kind`` for ``key`` (e.g. the resolved model), made with
    ``make`` on first use or when ``key`` changes (the old engine is closed first)."""
    with _LOCK:
        held = _ENGINES.get(kind)
        if held is not None and held[0] == key:
            engine: E = held[1]
            return engine
        if held is not None:
            close = getattr(held[1], "close", None)
            if callable(close):
                close()
        engine = make()
        _ENGINES[kind] = (key, engine)
        return engine
