"""Starting the servers: the engine once, then uvicorn (HTTP) or the MCP transport.

uvicorn's shutdown on SIGINT/SIGTERM is graceful: it stops accepting connections and waits for
the requests in flight, then the app's lifespan closes the service, which answers every job it
accepted before its worker stops.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
from collections.abc import Iterator, Sequence
from typing import Any, Literal

from ._http import create_app
from ._mcp import create_mcp_server, mcp_http_app
from ._security import Exposure
from ._service import ToolService

__all__ = ["serve_http", "serve_mcp"]

log = logging.getLogger("structkit.toolserver")


@contextlib.contextmanager
def _stdout_to_stderr() -> Iterator[None]:
    """Native libraries may print while the engine starts; on stdio stdout is the protocol."""
    sys.stdout.flush()
    saved = os.dup(1)
    try:
        os.dup2(2, 1)
        yield
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)


def _uvicorn(app: Any, exposure: Exposure, *, verbose: bool) -> None:
    import uvicorn

    config = uvicorn.Config(
        app,
        host=exposure.host,
        port=exposure.port,
        log_level="info" if verbose else "warning",
        access_log=verbose,  # method, path and status only: bodies are never logged
        server_header=False,
        timeout_graceful_shutdown=None,  # finish what was accepted, however long it takes
    )
    server = uvicorn.Server(config)
    print(
        f"structkit: serving on http://{exposure.host}:{server.config.port}"
        + (" (API key required)" if exposure.api_key else ""),
        file=sys.stderr,
        flush=True,
    )
    server.run()


def serve_http(
    service: ToolService,
    exposure: Exposure,
    *,
    cors_origins: Sequence[str] = (),
    verbose: bool = False,
) -> None:
    """Start the engine, then serve the HTTP API until SIGINT/SIGTERM."""
    service.start()
    _uvicorn(create_app(service, exposure, cors_origins=cors_origins), exposure, verbose=verbose)


def serve_mcp(
    service: ToolService,
    exposure: Exposure,
    *,
    transport: Literal["stdio", "http"] = "stdio",
    verbose: bool = False,
) -> None:
    """Start the engine, then serve MCP over stdio or Streamable HTTP (at ``/mcp``)."""
    import anyio

    with _stdout_to_stderr():
        service.start()
    server = create_mcp_server(service)
    try:
        if transport == "stdio":
            anyio.run(server.run_stdio_async)
        else:
            _uvicorn(mcp_http_app(server, exposure), exposure, verbose=verbose)
    finally:
        service.close()
