"""``structkit mcp``: every registered task as a Model Context Protocol tool (official SDK 2.x).

A tool takes the record as ``content`` (or a ``path`` under ``--root``) and the run settings, and
returns the task's output model as structured content, with its output schema advertised in
``tools/list``. A record without a valid answer is a tool error (``isError``) whose text is the
typed error's name and its PHI-free message; never a traceback. Over stdio for desktop clients
(Claude Desktop, IDE agents), over Streamable HTTP for the rest (Open WebUI, agent SDKs).
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Annotated, Any

from pydantic import Field, ValidationError

from .._errors import StructkitError
from .._task import get_task
from ..adapters._source import MAX_BYTES
from . import _answers as answers
from ._security import Exposure, is_loopback
from ._service import RecordInput, RecordKind, ToolOptions, ToolService

__all__ = ["create_mcp_server", "mcp_http_app"]

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]

# Plain ``str`` with "" for "not given": the SDK JSON-parses string arguments of any other type,
# which would turn a JSON record sent as content into an object. Lengths are checked by
# RecordInput (the SDK's own validation message would quote the argument).
_RECORD_PARAMETERS = (
    ("content", str, "",
     "the record itself: JSON (a FHIR Bundle, an object), XML (C-CDA, XBRL), CSV, a Markdown "
     "table, or plain text"),
    ("path", str, "", "a file under the server's --root, instead of content"),
    ("kind", RecordKind | None, None, "the record's format, when the content does not show it"),
    ("record_id", str, "", "an id for the record in the answer"),
    ("mode", str, "", "the task's mode (default: its first)"),
    ("seed", int, 0, "random seed"),
)  # fmt: skip


def _tool_function(service: ToolService, task: str) -> Callable[..., Awaitable[Any]]:
    from mcp.server.mcpserver.exceptions import ToolError

    async def call(**arguments: Any) -> Any:
        try:
            item = RecordInput(
                content=arguments.get("content") or None,
                path=arguments.get("path") or None,
                kind=arguments.get("kind"),
                id=arguments.get("record_id") or None,
            )
            options = ToolOptions(mode=arguments.get("mode") or None, seed=arguments.get("seed", 0))
        except ValidationError as exc:  # its text quotes the input: list the fields only
            fields = sorted({".".join(map(str, e["loc"])) or "request" for e in exc.errors()})
            raise ToolError(f"InvalidRequest: check {', '.join(fields)}") from None
        try:
            record = service.load(item, default_id=item.id or "#0")
            (outcome,) = await service.run(task, [record], [record.record_id], options)
        except StructkitError as exc:
            raise ToolError(_error_text(exc)) from None
        if outcome.error is not None:
            raise ToolError(_error_text(outcome.error))
        return answers.answer_of(task, outcome)

    call.__name__ = answers.tool_name(task)
    call.__doc__ = answers.task_description(get_task(task))
    parameters = [
        inspect.Parameter(
            name,
            inspect.Parameter.KEYWORD_ONLY,
            default=default,
            annotation=Annotated[kind, Field(description=description)],
        )
        for name, kind, default, description in _RECORD_PARAMETERS
    ]
    call.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
        parameters, return_annotation=answers.answer_model(task)
    )
    return call


def _error_text(exc: BaseException) -> str:
    body = answers.error_body(exc)  # the message names the record already
    return f"{body.type}: {body.message}"


def create_mcp_server(service: ToolService) -> Any:
    """An ``mcp.server.MCPServer`` with one tool per registered task, over a started service."""
    from mcp.server import MCPServer
    from mcp.server.mcpserver.tools.base import Tool
    from mcp.types import ToolAnnotations

    from .._version import __version__

    tools = []
    for task in service.tasks():
        tool = Tool.from_function(
            _tool_function(service, task),
            name=answers.tool_name(task),
            description=answers.task_description(get_task(task)),
            annotations=ToolAnnotations(read_only_hint=True, open_world_hint=False),
            structured_output=True,
        )
        # Advertise every field a client gets (the derived schema leaves out code's fields).
        tool.fn_metadata.output_schema = answers.answer_schema(task)
        tools.append(tool)
    return MCPServer(
        "structkit",
        version=__version__,
        instructions="Validated answers about structured records. Send the record's content; "
        "every answer is the task's model, or a tool error naming the typed failure.",
        log_level="WARNING",
        tools=tools,
    )


class _RequireKey:
    def __init__(self, app: Any, exposure: Exposure) -> None:
        self.app, self.exposure = app, exposure

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            headers = {
                k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]
            }
            if not self.exposure.authorized(headers.get("authorization")):
                await send(
                    {
                        "type": "http.response.start",
                        "status": 401,
                        "headers": [
                            (b"content-type", b"application/json"),
                            (b"www-authenticate", b"Bearer"),
                        ],
                    }
                )
                await send({"type": "http.response.body", "body": b'{"error": "unauthorized"}'})
                return
        await self.app(scope, receive, send)


def mcp_http_app(server: Any, exposure: Exposure) -> Any:
    """The Streamable HTTP app (at ``/mcp``), behind the API key when the server has one."""
    from mcp.server.transport_security import TransportSecuritySettings

    # On loopback the SDK's DNS-rebinding guard checks Host/Origin; elsewhere the key guards.
    security = None if is_loopback(exposure.host) else TransportSecuritySettings(
        enable_dns_rebinding_protection=False
    )  # fmt: skip
    app = server.streamable_http_app(
        max_request_body_size=MAX_BYTES + 64 * 1024,
        transport_security=security,
        host=exposure.host,
    )
    return _RequireKey(app, exposure) if exposure.api_key else app
