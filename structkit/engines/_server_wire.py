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
from dataclasses import dataclass
from typing import Any, Literal

import httpx

from .._engine import Completion, GenerationRequest, ToolCall
from .._errors import EngineUnavailableError, ModelNotFoundError
from .._profiles import ModelProfile

__all__ = [
    "PROBE_SCHEMA_NAME",
    "assemble_text",
    "chat_body",
    "completion_of",
    "probe_body",
    "served_model",
]

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


def chat_body(
    request: GenerationRequest,
    *,
    model: str,
    profile: ModelProfile,
    seed: bool,
    thinking: bool,
    stream: bool = False,
) -> dict[str, Any]:
    """The ``/v1/chat/completions`` body for one request: with its seed when ``seed``, the
    thinking budget when the server takes one (``thinking``), streaming when ``stream``."""
    body: dict[str, Any] = {
        # A LoRA is its own model on an OpenAI-compatible server (vllm serve --lora-modules).
        "model": model if request.adapter is None else request.adapter.name,
        "messages": [dict(m) for m in request.messages],
        "max_tokens": request.max_tokens,
        "temperature": request.temperature,
        "top_p": request.top_p,
    }
    if request.seed is not None and seed:
        body["seed"] = request.seed
    # The model's sampling defaults, as the embedded engines apply them (vLLM takes
    # ``repetition_penalty`` as an extra sampling parameter).
    if profile.repetition_penalty != 1.0:
        body["repetition_penalty"] = profile.repetition_penalty
    if profile.frequency_penalty:
        body["frequency_penalty"] = profile.frequency_penalty
    if request.tools:
        body["tools"] = request.tools
        if request.tool_choice is not None:
            body["tool_choice"] = request.tool_choice
    if request.json_schema is not None:
        body["response_format"] = {
            "type": "json_schema",
            "json_schema": {
                "name": _schema_name(request.json_schema),
                "schema": request.json_schema,
                "strict": True,
            },
        }
    if request.thinking_budget is not None and profile.reasoning and thinking:
        body["thinking_token_budget"] = request.thinking_budget
    if stream:
        body["stream"] = True
        body["stream_options"] = {"include_usage": True}
    return body


def completion_of(
    body: dict[str, Any], *, reasoning_model: bool, latency_s: float, retries: int
) -> Completion:
    """The :class:`Completion` of a ``/v1/chat/completions`` answer."""
    choice = body["choices"][0]
    message = choice.get("message") or {}
    reasoning = message.get("reasoning")
    if reasoning is None:
        reasoning = message.get("reasoning_content")
    usage = body.get("usage") or {}
    return Completion(
        text=assemble_text(reasoning, message.get("content"), reasoning_model=reasoning_model),
        finish_reason=choice.get("finish_reason"),
        prompt_tokens=int(usage.get("prompt_tokens") or 0),
        completion_tokens=int(usage.get("completion_tokens") or 0),
        metrics={"latency_s": latency_s, "retries": float(retries)},
        tool_calls=_tool_calls(message),
    )


def _tool_calls(message: dict[str, Any]) -> list[ToolCall]:
    """The OpenAI ``tool_calls`` of an answer (functions only), as :class:`ToolCall`."""
    calls = []
    for call in message.get("tool_calls") or []:
        function = call.get("function") or {}
        if call.get("type", "function") == "function" and function.get("name"):
            arguments = function.get("arguments")
            if not isinstance(arguments, str):
                arguments = json.dumps(arguments)
            calls.append(ToolCall(str(call.get("id", "")), str(function["name"]), arguments))
    return calls


def probe_body(model: str, *, thinking: bool) -> dict[str, Any]:
    """The health check's tiny structured request (with a thinking budget when ``thinking``)."""
    payload: dict[str, Any] = {
        "model": model,
        "messages": [{"role": "user", "content": 'Answer with {"ok": true}.'}],
        "response_format": {
            "type": "json_schema",
            "json_schema": {"name": PROBE_SCHEMA_NAME, "schema": _PROBE_SCHEMA},
        },
        "max_tokens": 16,
        "temperature": 0.0,
    }
    if thinking:
        payload["thinking_token_budget"] = 4
    return payload


def served_model(
    body: dict[str, Any], *, url: str, wanted: str | None
) -> tuple[str, tuple[str, ...], dict[str, Any]]:
    """From a ``/v1/models`` answer: the model to use (``wanted``, else the only one served),
    every served id, and the model's card.

    Raises:
        EngineUnavailableError: no model is listed.
        ModelNotFoundError: ``wanted`` is not served, or several are and none was chosen.
    """
    cards = [c for c in body.get("data") or [] if isinstance(c, dict) and "id" in c]
    ids = tuple(str(c["id"]) for c in cards)
    if wanted is None:
        if not ids:
            raise EngineUnavailableError(f"server at {url} lists no models")
        if len(ids) > 1:
            raise ModelNotFoundError(
                f"server at {url} serves several models ({', '.join(ids)}); choose "
                "one with model= or STRUCTKIT_SERVER_MODEL"
            )
        wanted = ids[0]
    if wanted not in ids:
        raise ModelNotFoundError(
            f"model {wanted!r} is not served at {url}; it serves: {', '.join(ids) or 'nothing'}"
        )
    return wanted, ids, cards[ids.index(wanted)]


@dataclass(frozen=True)
class ServerInfo:
    """What :meth:`ServerEngine.health_check` found out about the server."""

    url: str
    model: str
    models: tuple[str, ...]
    max_model_len: int | None
    thinking_budget: bool | None
    """Whether ``thinking_token_budget`` is accepted (``None``: not a reasoning model)."""
    seeds: bool = True
    """Whether requests carry their own seed (see :mod:`structkit.engines._server_seeds`)."""
    seeds_reason: str = ""
