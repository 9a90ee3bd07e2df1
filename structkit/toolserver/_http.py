"""``structkit serve``: an HTTP API with one endpoint per task and a batch endpoint.

Its OpenAPI document (``/openapi.json``) is what Open WebUI registers as a tool server: each
task is one operation whose ``operationId`` is the tool's name (``diagnose``, ...), whose body
is the record plus the run settings and whose response is the task's own output model.

Status codes: 200 an answer; 422 the record has no valid answer (the body names the typed
error) or the request is malformed; 400 a bad setting (an unknown mode); 401 no or a wrong key;
413 a body over the size limit; 429 the queue is full and 503 the server is shutting down, both
with ``Retry-After``. Nothing a client sent, and nothing the model wrote, is logged.
"""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping, Sequence
from contextlib import asynccontextmanager
from typing import Annotated, Any

from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, ConfigDict, Field

from .._errors import ConfigurationError, ServiceBusyError, StructkitError
from .._task import get_task
from ..adapters._source import MAX_BYTES
from ._answers import (
    ErrorBody,
    answer_model,
    answer_of,
    answer_schema,
    error_body,
    task_description,
    tool_name,
)
from ._security import Exposure
from ._service import MAX_RECORDS_PER_REQUEST, RecordInput, ToolOptions, ToolService

__all__ = ["create_app"]

log = logging.getLogger("structkit.toolserver")

# A request carries one record's content (the adapters' limit) and a little JSON around it.
MAX_BODY_BYTES = MAX_BYTES + 64 * 1024

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


# Declared for the OpenAPI document (clients see the scheme); the check is Exposure.authorized.
_BEARER = HTTPBearer(auto_error=False, description="the server's API key")
BearerCredentials = Annotated[HTTPAuthorizationCredentials | None, Depends(_BEARER)]


class TaskRequest(RecordInput, ToolOptions):
    """One record (``content`` or ``path``) and, optionally, the run settings."""

    model_config = ConfigDict(extra="forbid")


class BatchRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    task: str = Field(description="a task name from GET /v1/tasks")
    records: list[RecordInput] = Field(min_length=1, max_length=MAX_RECORDS_PER_REQUEST)
    options: ToolOptions = Field(default_factory=ToolOptions)


class BatchLine(BaseModel):
    """One record's line, as ``structkit batch`` writes it."""

    id: str
    status: str = Field(description="ok or error")
    result: dict[str, Any] | None = None
    error: ErrorBody | None = None
    attempts: int = 0


class BatchAnswer(BaseModel):
    results: list[BatchLine]


class TaskInfo(BaseModel):
    name: str
    tool: str
    modes: list[str]
    description: str
    output_schema: dict[str, Any]


class _BodyLimit:
    """Refuses a body over ``limit`` bytes with 413, by its header or while it streams in."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app, self.limit = app, limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.limit:
            await _too_large(send, self.limit)
            return
        seen = 0

        async def limited() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.limit:
                    raise _BodyTooLarge
            return message

        try:
            await self.app(scope, limited, send)
        except _BodyTooLarge:
            await _too_large(send, self.limit)


class _BodyTooLarge(Exception):
    pass


async def _too_large(send: Send, limit: int) -> None:
    body = ErrorBody(type="UnsafeInputError", message=f"the request is over {limit} bytes")
    payload = ('{"error": ' + body.model_dump_json() + "}").encode()
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [(b"content-type", b"application/json")],
        }
    )
    await send({"type": "http.response.body", "body": payload})


def _error_response(status: int, body: ErrorBody, headers: dict[str, str] | None = None) -> Any:
    return JSONResponse({"error": body.model_dump()}, status_code=status, headers=headers)


def create_app(
    service: ToolService,
    exposure: Exposure,
    *,
    cors_origins: Sequence[str] = (),
    close_service: bool = True,
) -> Any:
    """The ASGI app over a started :class:`ToolService` (closed with the app's lifespan)."""
    from .._version import __version__

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        if close_service:  # after the server stopped taking connections: finish the queue
            service.close()

    app = FastAPI(
        title="structkit",
        version=__version__,
        description="Validated answers about structured records (patient records, financial "
        "statements, contracts) from a local model. Every answer is the task's Pydantic model; "
        "a record without a valid answer is a typed error.",
        lifespan=lifespan,
    )

    def authorize(
        request: Request,
        credentials: BearerCredentials,
    ) -> None:
        if not exposure.authorized(request.headers.get("authorization")):
            raise HTTPException(401, "a valid API key is required", {"WWW-Authenticate": "Bearer"})

    guarded = [Depends(authorize)]

    @app.exception_handler(ServiceBusyError)
    async def busy(_: Request, exc: ServiceBusyError) -> Any:
        headers = {"Retry-After": str(int(exc.retry_after))}
        return _error_response(503 if exc.closing else 429, error_body(exc), headers)

    @app.exception_handler(ConfigurationError)
    async def bad_setting(_: Request, exc: ConfigurationError) -> Any:
        return _error_response(400, error_body(exc))

    @app.exception_handler(StructkitError)
    async def refused(_: Request, exc: StructkitError) -> Any:
        return _error_response(422, error_body(exc))

    @app.exception_handler(Exception)
    async def internal(_: Request, exc: Exception) -> Any:
        log.error("internal error: %s", type(exc).__name__)  # never the message: it may quote
        return _error_response(500, error_body(exc))

    @app.get("/health", tags=["server"], operation_id="health")
    async def health() -> dict[str, Any]:
        return {"status": "closing" if service.closing else "ok", "queue": service.queued}

    @app.get("/v1/tasks", tags=["server"], operation_id="list_tasks", dependencies=guarded)
    async def tasks() -> list[TaskInfo]:
        return [_task_info(name) for name in service.tasks()]

    for name in service.tasks():
        _add_task_route(app, service, name, guarded)

    @app.post(
        "/v1/batch",
        tags=["tasks"],
        operation_id="run_batch",
        dependencies=guarded,
        summary="Run a task over many records in one engine call",
    )
    async def batch(body: BatchRequest) -> BatchAnswer:
        get_task(body.task)
        lines: list[BatchLine | None] = [None] * len(body.records)
        loaded, ids, where = [], [], []
        for index, item in enumerate(body.records):
            rid = item.id or f"#{index}"
            try:
                record = service.load(item, default_id=rid)
            except StructkitError as exc:
                lines[index] = BatchLine(id=rid, status="error", error=error_body(exc))
                continue
            loaded.append(record)
            ids.append(record.record_id)
            where.append(index)
        if loaded:
            outcomes = await service.run(body.task, loaded, ids, body.options)
            for index, outcome in zip(where, outcomes, strict=True):
                lines[index] = _line(body.task, outcome)
        return BatchAnswer(results=[line for line in lines if line is not None])

    if cors_origins:  # closed by default: browsers may not call it from other origins
        from fastapi.middleware.cors import CORSMiddleware

        app.add_middleware(
            CORSMiddleware,
            allow_origins=list(cors_origins),
            allow_methods=["GET", "POST"],
            allow_headers=["Authorization", "Content-Type"],
        )
    app.add_middleware(_BodyLimit, limit=MAX_BODY_BYTES)
    app.openapi = lambda: _openapi(app, service.tasks())  # type: ignore[method-assign]
    return app


def _openapi(app: FastAPI, tasks: Sequence[str]) -> dict[str, Any]:
    """FastAPI's document, with each task's answer schema as clients receive it (FastAPI would
    take the output model's decoding schema, which leaves out the fields code fills)."""
    if app.openapi_schema:
        return app.openapi_schema
    from fastapi.openapi.utils import get_openapi

    document = get_openapi(
        title=app.title, version=app.version, description=app.description, routes=app.routes
    )
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    for name in tasks:
        schema = answer_schema(name, ref_template=_REF + "{model}")
        title = answer_model(name).__name__
        definitions = {**schema.pop("$defs", {}), title: schema}
        # Users' tasks may reuse a model name (two tasks each with a "Diagnosis"): a name
        # already taken by another definition gets the task's name in front of it, and so,
        # until none is left, does one that differs only by pointing at a renamed one.
        renamed: dict[str, str] = {}
        while clashes := {
            key: f"{_camel(name)}{key}"
            for key, definition in definitions.items()
            if key not in renamed
            and key in schemas
            and schemas[key] != _renamed_refs(definition, renamed)
        }:
            renamed |= clashes
        for key, definition in definitions.items():
            schemas[renamed.get(key, key)] = _renamed_refs(definition, renamed)
        ok = document["paths"][f"/v1/tasks/{name}"]["post"]["responses"]["200"]
        target = _REF + renamed.get(title, title)
        ok["content"] = {"application/json": {"schema": {"$ref": target}}}
    app.openapi_schema = document
    return document


_REF = "#/components/schemas/"


def _camel(task: str) -> str:
    return "".join(part.capitalize() for part in re.split(r"[^0-9A-Za-z]+", task) if part)


def _renamed_refs(node: Any, renamed: dict[str, str]) -> Any:
    """A copy of a JSON schema whose ``$ref`` to a renamed definition points at its new name."""
    if isinstance(node, dict):
        return {
            key: (
                _REF + renamed.get(value.removeprefix(_REF), value.removeprefix(_REF))
                if key == "$ref" and isinstance(value, str) and value.startswith(_REF)
                else _renamed_refs(value, renamed)
            )
            for key, value in node.items()
        }
    if isinstance(node, list):
        return [_renamed_refs(item, renamed) for item in node]
    return node


def _task_info(name: str) -> TaskInfo:
    task = get_task(name)
    return TaskInfo(
        name=name,
        tool=tool_name(name),
        modes=list(task.modes),
        description=task_description(task),
        output_schema=task.output_model.model_json_schema(),
    )


def _line(task: str, outcome: Any) -> BatchLine:
    if outcome.ok:
        answer = answer_of(task, outcome).model_dump(mode="json")
        return BatchLine(
            id=outcome.record_id, status="ok", result=answer, attempts=outcome.attempts
        )
    return BatchLine(
        id=outcome.record_id,
        status="error",
        error=error_body(outcome.error, record_id=outcome.record_id),
        attempts=outcome.attempts,
    )


def _add_task_route(app: FastAPI, service: ToolService, name: str, guarded: list[Any]) -> None:
    task = get_task(name)

    async def endpoint(body: TaskRequest) -> Any:
        record = service.load(body, default_id=body.id or "#0")
        options = ToolOptions.model_validate(body.model_dump(include=set(ToolOptions.model_fields)))
        (outcome,) = await service.run(name, [record], [record.record_id], options)
        if outcome.error is not None:
            return _error_response(422, error_body(outcome.error, record_id=outcome.record_id))
        return answer_of(name, outcome)

    app.post(
        f"/v1/tasks/{name}",
        response_model=None,  # documented by _openapi: the whole answer, code's fields too
        tags=["tasks"],
        operation_id=tool_name(name),
        summary=task_description(task).split(". ")[0],
        description=task_description(task),
        dependencies=guarded,
        responses={422: {"description": "the record has no valid answer (a typed error)"}},
    )(endpoint)
