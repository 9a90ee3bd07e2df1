"""The :class:`ServerEngine`: the engine protocol over HTTP, with health check and streaming.

One ``httpx.Client`` shared by a thread pool of ``max_concurrency`` workers sends the requests;
:meth:`ServerEngine.health_check` (run before the first batch) resolves the model and profile from
``/v1/models`` and sends a tiny structured request; :meth:`ServerEngine.stream` streams one
request as :class:`~._server_stream.StreamEvent` values. The wire format lives in
:mod:`._server_wire`, the retry policy in :mod:`._server_retry`.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import httpx

from .._config import env
from .._engine import Completion, GenerationRequest
from .._errors import ConfigurationError, EngineUnavailableError
from .._profiles import ModelProfile, profile_for
from ._server_retry import _Retry
from ._server_seeds import SeedPolicy
from ._server_stream import StreamEvent, _StreamState, stream_chunks
from ._server_wire import (
    ServerInfo,
    _classify,
    _Failure,
    _transport_failure,
    chat_body,
    completion_of,
    probe_answer_ok,
    probe_body,
    served_model,
)

__all__ = ["ServerEngine", "ServerInfo"]

log = logging.getLogger("structkit")

T = TypeVar("T")

_TOKEN_CACHE_SIZE = 512


class ServerEngine:
    """Runs requests on an OpenAI-compatible server (vLLM's ``/v1/chat/completions``).

    Args:
        base_url: the server, e.g. ``http://127.0.0.1:8000`` (a trailing ``/v1`` is accepted).
        model: the served model name; ``None``: the only model ``/v1/models`` lists.
        api_key: sent as ``Authorization: Bearer``; default ``STRUCTKIT_API_KEY``, else
            ``OPENAI_API_KEY``, else none.
        timeout: seconds allowed for one HTTP request (connecting: at most 10 s).
        max_concurrency: requests in flight at once; the server batches them.
        max_retries: retries of a request the server answered with 408/429 (busy).
        backoff: first retry delay in seconds; doubles per retry (jittered, capped at
            ``max_backoff``); a ``Retry-After`` header is obeyed instead.
        retry_window: outages (connection refused/reset, timeouts, 502/503/504, an aborted or
            dead engine) are retried until the server has been failing this many seconds, enough
            for a restart. A request never retries longer than this after its first failure;
            once the server has been down a whole window, new requests fail at once until it
            answers again.
        profile: model defaults; default ``structkit.profile_for(model)`` (then the served
            ``root`` path), with ``max_model_len`` lowered to the server's.
        seeds: send each request's seed: ``True``, ``False``, or ``None``: the
            ``STRUCTKIT_SERVER_SEEDS`` setting (auto, on, off; default auto: off for a vLLM
            server on this GPU-less host, whose CPU engine dies on seeded requests).
        transport: the ``httpx`` transport (default: TCP), e.g. ``httpx.MockTransport`` in tests.
    """

    def __init__(
        self,
        base_url: str,
        *,
        model: str | None = None,
        api_key: str | None = None,
        timeout: float = 120.0,
        max_concurrency: int = 8,
        max_retries: int = 4,
        backoff: float = 0.5,
        max_backoff: float = 10.0,
        retry_window: float = 120.0,
        profile: ModelProfile | None = None,
        seeds: bool | None = None,
        transport: httpx.BaseTransport | None = None,
    ):
        if max_concurrency < 1 or max_retries < 0 or timeout <= 0:
            raise ConfigurationError("need max_concurrency >= 1, max_retries >= 0, timeout > 0")
        root = base_url.strip().rstrip("/")
        self.url = root[: -len("/v1")] if root.endswith("/v1") else root
        key = api_key if api_key is not None else env("STRUCTKIT_API_KEY") or env("OPENAI_API_KEY")
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        self.max_concurrency = max_concurrency
        self.max_retries = max_retries
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.retry_window = retry_window
        self._client = httpx.Client(
            headers=headers,
            timeout=httpx.Timeout(timeout, connect=min(timeout, 10.0)),
            limits=httpx.Limits(
                max_connections=max_concurrency + 2, max_keepalive_connections=max_concurrency
            ),
            transport=transport,
        )
        self._seeds = SeedPolicy(seeds, url=self.url)
        self._model = model
        self._given_profile = profile
        self._profile: ModelProfile | None = profile
        self._info: ServerInfo | None = None
        self._ready = False
        self._thinking_ok: bool | None = None
        self._tokenize_ok = True
        self._tokens: OrderedDict[str, int] = OrderedDict()
        self._lock = threading.Lock()
        self._state_lock = threading.Lock()
        self._down_since: float | None = None
        self._pool: ThreadPoolExecutor | None = None
        self.retry_count = 0
        """Retries made so far (all requests), for monitoring."""

    # -- the Engine protocol ------------------------------------------------------------------

    @property
    def model_name(self) -> str:
        """The served model name (asks ``/v1/models`` when it was not given)."""
        return self._model if self._model is not None else self._resolve().model

    @property
    def profile(self) -> ModelProfile:
        """The model's defaults (first use asks the server for its models and context)."""
        if self._profile is None:
            self._resolve()
        assert self._profile is not None
        return self._profile

    def generate(self, requests: Sequence[GenerationRequest]) -> list[Completion]:
        """Send every request (at most ``max_concurrency`` at once); results in order.

        Raises only when the server is unusable (see :meth:`health_check`); a failed request
        is a ``Completion`` with ``error`` set.
        """
        if not requests:
            return []
        self._ensure_ready()
        pool = self._executor()
        return list(pool.map(self._complete, requests))

    def count_tokens(self, text: str) -> int:
        """Tokens in ``text`` by the server's ``/tokenize``; ``len(text) // 4`` without one."""
        if not text:
            return 0
        with self._state_lock:
            if text in self._tokens:
                self._tokens.move_to_end(text)
                return self._tokens[text]
        count = self._tokenize(text)
        with self._state_lock:
            self._tokens[text] = count
            if len(self._tokens) > _TOKEN_CACHE_SIZE:
                self._tokens.popitem(last=False)
        return count

    # -- health -------------------------------------------------------------------------------

    def health_check(self) -> ServerInfo:
        """Check that the server answers, serves the model and supports JSON-schema output.

        Raises:
            EngineUnavailableError: unreachable (after ``retry_window``), not OpenAI-compatible,
                refused the API key, or rejected ``response_format`` json_schema ("server
                lacks structured-output support").
            ModelNotFoundError: the model is not served (the message lists what is).
        """
        info = self._resolve(refresh=True)
        reasoning = self.profile.reasoning
        payload = probe_body(info.model, thinking=reasoning and self._thinking_ok is not False)
        try:
            body, _ = self._post_json("/v1/chat/completions", payload)
        except _Failure as failure:
            if failure.status in (400, 422):
                raise EngineUnavailableError(
                    f"server at {self.url} lacks structured-output support: it rejected "
                    f"response_format json_schema ({failure})"
                ) from None
            raise EngineUnavailableError(
                f"server at {self.url} failed a test request: {failure}"
            ) from None
        if reasoning:
            self._thinking_ok = "thinking_token_budget" in payload
        else:
            if not probe_answer_ok(body):
                raise EngineUnavailableError(
                    f"server at {self.url} lacks structured-output support: it ignored "
                    "response_format json_schema (the answer did not match the schema)"
                )
        self._info = ServerInfo(
            url=info.url,
            model=info.model,
            models=info.models,
            max_model_len=info.max_model_len,
            thinking_budget=self._thinking_ok if reasoning else None,
            seeds=self.sends_seeds,
            seeds_reason=self._seeds.decision(self._vllm_version)[1],
        )
        self._ready = True
        return self._info

    def _ensure_ready(self) -> None:
        with self._lock:
            if not self._ready:
                self.health_check()

    def _resolve(self, *, refresh: bool = False) -> ServerInfo:
        """Ask ``/v1/models`` once: pick or check the model, derive the profile."""
        if self._info is not None and not refresh:
            return self._info
        try:
            body, _ = self._request_json("GET", "/v1/models", None)
        except _Failure as failure:
            if failure.status in (401, 403):
                raise EngineUnavailableError(
                    f"server at {self.url} refused the API key ({failure}); set "
                    "STRUCTKIT_API_KEY or pass api_key="
                ) from None
            if failure.status is not None:
                raise EngineUnavailableError(
                    f"{self.url} is not an OpenAI-compatible server: GET /v1/models gave {failure}"
                ) from None
            raise EngineUnavailableError(
                f"no server answers at {self.url} ({failure}; retried for up to "
                f"{self.retry_window:.0f} s)"
            ) from None
        self._model, ids, card = served_model(body, url=self.url, wanted=self._model)
        limit = card.get("max_model_len")
        max_len = int(limit) if isinstance(limit, int) else None
        if self._given_profile is None:
            profile = profile_for(self._model)
            if profile.pattern == ".*" and card.get("root"):
                profile = profile_for(str(card["root"]))
            if max_len is not None and max_len < profile.max_model_len:
                profile = profile.with_overrides(max_model_len=max_len)
            self._profile = profile
        self._info = ServerInfo(self.url, self._model, ids, max_len, self._thinking_ok)
        return self._info

    # -- seeds --------------------------------------------------------------------------------

    @property
    def sends_seeds(self) -> bool:
        """Whether requests carry their seed (first use may ask the server's ``/version``)."""
        return self._seeds.decision(self._vllm_version)[0]

    def _vllm_version(self) -> str | None:
        """vLLM's ``GET /version`` answer, or ``None`` (no such endpoint: not vLLM)."""
        try:
            body, _ = self._request_json("GET", "/version", None)
        except _Failure as failure:
            if failure.status is None:
                raise EngineUnavailableError(
                    f"no server answers at {self.url} ({failure})"
                ) from None
            return None
        version = body.get("version")
        return str(version) if version is not None else None

    def _engine_died(self, failure: _Failure) -> None:
        """In ``auto``, stop sending seeds once the server's engine has died under them."""
        if failure.kind == "outage" and failure.status == 500 and self._seeds.engine_died(failure):
            log.warning(
                "structkit: server at %s: its engine died while requests carried seeds; sending "
                "none from now on (set STRUCTKIT_SERVER_SEEDS=on to keep them)",
                self.url,
            )

    # -- one request --------------------------------------------------------------------------

    def payload(self, request: GenerationRequest, *, stream: bool = False) -> dict[str, Any]:
        """The ``/v1/chat/completions`` body for one request (public for benchmarks)."""
        return chat_body(
            request,
            model=self.model_name,
            profile=self.profile,
            seed=self.sends_seeds,
            thinking=self._thinking_ok is not False,
            stream=stream,
        )

    def _complete(self, request: GenerationRequest) -> Completion:
        started = time.monotonic()
        try:
            body, retries = self._post_json("/v1/chat/completions", self.payload(request))
        except _Failure as failure:
            return Completion(text="", finish_reason=None, error=str(failure))
        except Exception as exc:  # never lose the other requests of the batch
            return Completion(text="", finish_reason=None, error=f"{type(exc).__name__}: {exc}")
        return completion_of(
            body,
            reasoning_model=self.profile.reasoning,
            latency_s=time.monotonic() - started,
            retries=retries,
        )

    def _post_json(self, path: str, payload: dict[str, Any]) -> tuple[dict[str, Any], int]:
        """POST a chat request with retries; drops ``thinking_token_budget`` if refused."""
        while True:
            try:
                body, retries = self._request_json("POST", path, payload)
            except _Failure as failure:
                if self._thinking_refused(failure, payload):
                    continue
                raise
            choices = body.get("choices")
            if not isinstance(choices, list) or not choices:
                raise _Failure("server answered without choices", kind="fatal")
            return body, retries

    def _thinking_refused(self, failure: _Failure, payload: dict[str, Any]) -> bool:
        """Drop a refused ``thinking_token_budget`` from ``payload`` (True: send again)."""
        refused = failure.status == 400 and "thinking_token_budget" in str(failure)
        if not refused or payload.pop("thinking_token_budget", None) is None:
            return False
        if self._thinking_ok is not False:
            log.warning(
                "structkit: server at %s does not accept thinking_token_budget (start it with "
                "--reasoning-parser); thinking is not budgeted",
                self.url,
            )
        self._thinking_ok = False
        return True

    def _request_json(
        self, method: str, path: str, payload: dict[str, Any] | None
    ) -> tuple[dict[str, Any], int]:
        """One JSON call with the retry policy; raises the last :class:`_Failure`."""

        def attempt() -> dict[str, Any]:
            if payload is not None and "seed" in payload and not self.sends_seeds:
                del payload["seed"]  # switched off after an engine death (auto)
            response = self._client.request(method, self.url + path, json=payload)
            if response.status_code != 200:
                raise _classify(response)
            try:
                body = response.json()
            except ValueError:
                raise _Failure("server answered with invalid JSON", kind="fatal") from None
            if not isinstance(body, dict):
                raise _Failure("server answered with a non-object", kind="fatal")
            for choice in body.get("choices") or []:
                reason = choice.get("finish_reason") if isinstance(choice, dict) else None
                if reason == "abort":
                    raise _Failure("request aborted (server shutting down)", kind="outage")
                if reason == "error":
                    raise _Failure("the engine failed the request", kind="busy")
            return body

        return self._with_retries(attempt)

    def _with_retries(self, attempt: Callable[[], T]) -> tuple[T, int]:
        retry = _Retry(self)
        while True:
            try:
                result = attempt()
            except httpx.TransportError as exc:
                failure = _transport_failure(exc)
            except _Failure as exc:
                failure = exc
                self._engine_died(failure)
            else:
                self._server_up()
                return result, retry.retries
            wait = retry.delay(failure)
            if wait is None:
                if retry.retries:
                    raise _Failure(
                        f"{failure} (gave up after {retry.retries} retries)",
                        kind=failure.kind,
                        status=failure.status,
                    ) from None
                raise failure
            log.warning(
                "structkit: server at %s: %s; retry %d in %.1f s",
                self.url,
                failure,
                retry.retries,
                wait,
            )
            time.sleep(wait)

    def _tokenize(self, text: str) -> int:
        """``/tokenize`` (vLLM); ``len(text) // 4`` when the server has no such endpoint (from
        then on) or cannot be reached (this call only)."""
        if self._tokenize_ok:
            payload = {"model": self.model_name, "prompt": text, "add_special_tokens": False}
            try:
                body, _ = self._request_json("POST", "/tokenize", payload)
                return int(body["count"])
            except (_Failure, KeyError, TypeError, ValueError) as exc:
                missing = not isinstance(exc, _Failure) or exc.status in (404, 405, 501)
                log.warning(
                    "structkit: server at %s cannot count tokens (%s); estimating len(text) // 4%s",
                    self.url,
                    exc,
                    " from now on" if missing else "",
                )
                if missing:
                    self._tokenize_ok = False
        return max(1, len(text) // 4)

    def close(self) -> None:
        """Close the connections and the worker threads (the engine cannot be used after)."""
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True)
        self._client.close()

    def __enter__(self) -> ServerEngine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"ServerEngine({self.url!r}, model={self._model!r})"

    # -- shared state -------------------------------------------------------------------------

    def _outage_started(self, now: float) -> float:
        with self._state_lock:
            if self._down_since is None:
                self._down_since = now
            return self._down_since

    def _server_up(self) -> None:
        with self._state_lock:
            self._down_since = None

    def _count_retry(self) -> None:
        with self._state_lock:
            self.retry_count += 1

    def _executor(self) -> ThreadPoolExecutor:
        with self._lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(
                    max_workers=self.max_concurrency, thread_name_prefix="structkit-server"
                )
            return self._pool

    # -- streaming ----------------------------------------------------------------------------

    def stream(self, request: GenerationRequest) -> Iterator[StreamEvent]:
        """Stream one request: ``reasoning`` and ``answer`` text deltas, then ``done``.

        The final ``("done", Completion)`` carries the whole text (assembled as by
        :meth:`generate`), the finish reason and token counts, or ``error``. Failures before
        the first delta are retried like :meth:`generate`; once text has been yielded a broken
        stream ends with an error ``Completion`` (the deltas cannot be taken back).
        """
        self._ensure_ready()
        payload = self.payload(request, stream=True)
        retry = _Retry(self)
        while True:
            state = _StreamState()
            try:
                yield from self._stream_once(payload, state)
                self._server_up()
                yield StreamEvent("done", state.completion(self.profile.reasoning))
                return
            except httpx.TransportError as exc:
                failure = _transport_failure(exc)
            except _Failure as exc:
                failure = exc
                self._engine_died(failure)
            if not state.emitted and self._thinking_refused(failure, payload):
                continue
            wait = None if state.emitted else retry.delay(failure)
            if wait is None:
                yield StreamEvent(
                    "done", Completion(text="", finish_reason=None, error=str(failure))
                )
                return
            log.warning("structkit: stream from %s: %s; retrying", self.url, failure)
            time.sleep(wait)

    def _stream_once(self, payload: dict[str, Any], state: _StreamState) -> Iterator[StreamEvent]:
        url = self.url + "/v1/chat/completions"
        if "seed" in payload and not self.sends_seeds:
            del payload["seed"]  # switched off after an engine death (auto)
        yield from stream_chunks(self._client, url, payload, state)
