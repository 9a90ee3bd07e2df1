"""The server engine's wire format: what goes into a chat-completions request and comes back.

Builds the parts of the ``/v1/chat/completions`` body that do not depend on the engine (the
health-check probe schema, the ``json_schema.name`` of a request), rebuilds the completion text in
the embedded engine's ``thinking</think>answer`` shape (:func:`assemble_text`), and turns an HTTP
error response or a transport error into a :class:`_Failure` whose ``kind`` (outage, busy, fatal)
the retry policy in :mod:`._server_retry` acts on.
"""

from __future__ import annotations

import email.utils
import json
import re
import time
from typing import Any, Literal

import httpx

__all__ = ["PROBE_SCHEMA_NAME", "assemble_text"]

#: ``json_schema.name`` of the tiny structured request sent by :meth:`ServerEngine.health_check`.
PROBE_SCHEMA_NAME = "structkit_health_check"
_PROBE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"ok": {"type": "boolean"}},
    "required": ["ok"],
    "additionalProperties": False,
}
_THINK_CLOSE = "</think>"
_ERROR_CHARS = 300  # server messages are cut: they could echo parts of a request


class _Failure(Exception):
    """One failed attempt. ``kind``: ``outage`` (retry within the window), ``busy`` (retry
    ``max_retries`` times) or ``fatal`` (no retry)."""

    def __init__(
        self,
        message: str,
        *,
        kind: Literal["outage", "busy", "fatal"],
        status: int | None = None,
        retry_after: float | None = None,
    ):
        super().__init__(message)
        self.kind = kind
        self.status = status
        self.retry_after = retry_after


def assemble_text(reasoning: str | None, content: str | None, *, reasoning_model: bool) -> str:
    """The completion text in the embedded engine's shape (``thinking</think>answer``).

    Non-reasoning models get the content alone. For reasoning models: thinking plus an answer
    gives ``reasoning</think>content``; thinking with no answer gives the thinking alone (no
    ``</think>``: out of budget); no separate thinking (a server without a reasoning parser, or
    thinking switched off) gives the content as is if it already holds ``</think>``, else
    ``</think>content`` (an answer with empty thinking).
    """
    answer = content or ""
    if not reasoning_model:
        return answer
    if reasoning is None:
        return answer if _THINK_CLOSE in answer else _THINK_CLOSE + answer
    return reasoning + _THINK_CLOSE + answer if answer else reasoning


def probe_answer_ok(body: dict[str, Any]) -> bool:
    """Whether the health-check answer obeys its schema (a cut-short answer says nothing)."""
    choice = (body.get("choices") or [{}])[0]
    if choice.get("finish_reason") != "stop":
        return True
    content = (choice.get("message") or {}).get("content") or ""
    try:
        value = json.loads(content)
    except ValueError:
        return False
    return isinstance(value, dict) and isinstance(value.get("ok"), bool)


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def _error_message(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:_ERROR_CHARS]
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict):
        return str(error.get("message", error))[:_ERROR_CHARS]
    if isinstance(body, dict) and "detail" in body:
        return str(body["detail"])[:_ERROR_CHARS]
    return str(body)[:_ERROR_CHARS]


def _classify(response: httpx.Response) -> _Failure:
    status = response.status_code
    message = f"HTTP {status}: {_error_message(response)}"
    if status in (408, 429):
        return _Failure(message, kind="busy", status=status, retry_after=_retry_after(response))
    if status in (502, 503, 504):
        return _Failure(message, kind="outage", status=status, retry_after=_retry_after(response))
    if status == 500 and ("EngineCore" in message or "EngineDead" in message):
        return _Failure(message, kind="outage", status=status)  # engine died: a restart comes
    return _Failure(message, kind="fatal", status=status)


def _transport_failure(exc: httpx.TransportError) -> _Failure:
    return _Failure(f"{type(exc).__name__}: {exc}"[:_ERROR_CHARS], kind="outage")


def _schema_name(schema: dict[str, Any]) -> str:
    title = str(schema.get("title") or "answer")
    return re.sub(r"[^A-Za-z0-9_-]", "_", title)[:64] or "answer"
