"""The process-wide server engine selected by ``STRUCTKIT_SERVER_URL``.

:func:`engine_from_env` creates one :class:`ServerEngine` per (url, model) and reuses it, so
:func:`structkit.run` and friends share its health check and connections across calls.
"""

from __future__ import annotations

import os
import threading

from .._config import env
from ._server_engine import ServerEngine

__all__ = ["engine_from_env", "server_engine_from_env"]

# -- selection --------------------------------------------------------------------------------

_ENV_ENGINE: ServerEngine | None = None
_ENV_KEY: tuple[str, str | None] | None = None
_ENV_LOCK = threading.Lock()


def engine_from_env(model: str | os.PathLike[str] | None = None) -> ServerEngine | None:
    """The process-wide :class:`ServerEngine` for ``STRUCTKIT_SERVER_URL``, or ``None``.

    The model is ``model`` if given, else ``STRUCTKIT_SERVER_MODEL``, else the server's only
    model. The engine is created once per (url, model) and reused, so its health check and
    connections are shared across calls.
    """
    global _ENV_ENGINE, _ENV_KEY
    url = env("STRUCTKIT_SERVER_URL") or ""
    if not url:
        return None
    name = str(model) if model is not None else env("STRUCTKIT_SERVER_MODEL")
    key = (url, name)
    with _ENV_LOCK:
        if _ENV_ENGINE is None or key != _ENV_KEY:
            if _ENV_ENGINE is not None:
                _ENV_ENGINE.close()
            _ENV_ENGINE = ServerEngine(url, model=name)
            _ENV_KEY = key
        return _ENV_ENGINE


def server_engine_from_env(model: str | os.PathLike[str] | None = None) -> ServerEngine | None:
    """A new :class:`ServerEngine` for ``STRUCTKIT_SERVER_URL`` that the caller closes, or None."""
    url = env("STRUCTKIT_SERVER_URL") or ""
    if not url:
        return None
    return ServerEngine(
        url, model=str(model) if model is not None else env("STRUCTKIT_SERVER_MODEL")
    )
