"""The process-wide server engine selected by ``STRUCTKIT_SERVER_URL``.

:func:`engine_from_env` creates one :class:`ServerEngine` per (url, model) and reuses it, so
:func:`structkit.run` and friends share its health check and connections across calls.
"""

from __future__ import annotations

import os

from .._config import env
from ._server_engine import ServerEngine
from ._shared import shared_engine

__all__ = ["engine_from_env", "server_engine_from_env"]

# -- selection --------------------------------------------------------------------------------


def engine_from_env(model: str | os.PathLike[str] | None = None) -> ServerEngine | None:
    """The process-wide :class:`ServerEngine` for ``STRUCTKIT_SERVER_URL``, or ``None``.

    The model is ``model`` if given, else ``STRUCTKIT_SERVER_MODEL``, else the server's only
    model. The engine is created once per (url, model) and reused, so its health check and
    connections are shared across calls.
    """
    url = env("STRUCTKIT_SERVER_URL") or ""
    if not url:
        return None
    name = str(model) if model is not None else env("STRUCTKIT_SERVER_MODEL")
    return shared_engine("server", (url, name), lambda: ServerEngine(url, model=name))


def server_engine_from_env(model: str | os.PathLike[str] | None = None) -> ServerEngine | None:
    """A new :class:`ServerEngine` for ``STRUCTKIT_SERVER_URL`` that the caller closes, or None."""
    url = env("STRUCTKIT_SERVER_URL") or ""
    if not url:
        return None
    return ServerEngine(
        url, model=str(model) if model is not None else env("STRUCTKIT_SERVER_MODEL")
    )
