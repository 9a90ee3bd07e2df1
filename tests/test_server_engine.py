"""ServerEngine against a fake OpenAI-compatible server on a real loopback socket (no model).

The fake speaks just enough of vLLM's API: ``GET /v1/models``, ``POST /tokenize``,
``POST /v1/chat/completions`` (JSON and server-sent events). Each test scripts its answers.
Every test is bounded: short timeouts, short retry windows, loopback only.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

import structkit
from structkit import (
    Completion,
    EngineUnavailableError,
    GenerationRequest,
    ModelNotFoundError,
    OutputParseError,
    ThinkingBudgetError,
    TruncatedOutputError,
    stream_task,
)
from structkit.engines import Engine, LoraAdapter, ServerEngine, StreamEvent, engine_from_env
from structkit.engines._server import PROBE_SCHEMA_NAME, assemble_text
from structkit.testing import freeform_diagnosis as legacy

from .conftest import answer_text

R1 = "deepseek-r1-distill-qwen-1.5b"  # a name that selects the reasoning profile


@dataclass
class Reply:
    """What the fake answers to one chat request."""

    status: int = 200
    body: dict[str, Any] | None = None
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    chunks: list[dict[str, Any]] | None = None
    """Server-sent events (streaming answer)."""
    drop: bool = False
    """Close the connection without answering (a crash or restart mid-request)."""


def chat(
    content: str | None,
    *,
    finish: str = "stop",
    reasoning: str | None = None,
    reasoning_key: str = "reasoning",
) -> Reply:
    message: dict[str, Any] = {"role": "assistant", "content": content}
    if reasoning is not None:
        message[reasoning_key] = reasoning
    return Reply(
        body={
            "id": "chatcmpl-1",
            "object": "chat.completion",
            "choices": [{"index": 0, "message": message, "finish_reason": finish}],
            "usage": {"prompt_tokens": 11, "completion_tokens": 7, "total_tokens": 18},
        }
    )


def error(status: int, message: str, **headers: str) -> Reply:
    body = {"error": {"message": message, "type": "BadRequestError", "code": status}}
    return Reply(status=status, body=body, headers=headers)


def probe_ok(body: dict[str, Any]) -> Reply:
    return chat('{"ok":true}')


class FakeServer:
    """A scripted OpenAI-compatible server on 127.0.0.1 (a thread per connection)."""

    def __init__(
        self,
        responder: Callable[[dict[str, Any]], Reply] | None = None,
        *,
        models: tuple[str, ...] = ("smollm2",),
        max_model_len: int = 4096,
        tokenize: bool = True,
        probe: Callable[[dict[str, Any]], Reply] = probe_ok,
    ):
        self.responder = responder or (lambda body: chat(answer_text()))
        self.models = models
        self.max_model_len = max_model_len
        self.tokenize = tokenize
        self.probe = probe
        self.chats: list[dict[str, Any]] = []
        """Chat bodies received (health probes excluded), in arrival order."""
        self.probes: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []
        self.tokenize_calls = 0
        self.active = 0
        self.max_active = 0
        self.lock = threading.Lock()
        self.port = 0
        self._httpd: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, port: int | None = None) -> FakeServer:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def send_json(self, status: int, body: Any, headers: dict[str, str] | None = None):
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                if self.path == "/v1/models":
                    data = [
                        {"id": m, "object": "model", "root": f"/models/{m}"}
                        | {"max_model_len": server.max_model_len}
                        for m in server.models
                    ]
                    self.send_json(200, {"object": "list", "data": data})
                else:
                    self.send_json(404, {"detail": "Not Found"})

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                if self.path == "/tokenize" and server.tokenize:
                    with server.lock:
                        server.tokenize_calls += 1
                    count = max(1, len(body["prompt"]) // 4)
                    self.send_json(200, {"count": count, "max_model_len": 4096, "tokens": []})
                    return
                if self.path != "/v1/chat/completions":
                    self.send_json(404, {"detail": "Not Found"})
                    return
                schema = (body.get("response_format") or {}).get("json_schema") or {}
                with server.lock:
                    server.headers.append(dict(self.headers))
                    if schema.get("name") == PROBE_SCHEMA_NAME:
                        server.probes.append(body)
                        reply = server.probe(body)
                    else:
                        server.chats.append(body)
                        reply = server.responder(body)
                    server.active += 1
                    server.max_active = max(server.max_active, server.active)
                try:
                    time.sleep(reply.delay)
                    self.answer(reply)
                finally:
                    with server.lock:
                        server.active -= 1

            def answer(self, reply: Reply) -> None:
                if reply.drop:
                    self.close_connection = True
                    return
                if reply.chunks is None:
                    self.send_json(reply.status, reply.body, reply.headers)
                    return
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.end_headers()
                for chunk in reply.chunks:
                    self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
                    self.wfile.flush()
                self.wfile.write(b"data: [DONE]\n\n")

        chosen = self.port if port is None else port
        self._httpd = ThreadingHTTPServer(("127.0.0.1", chosen), Handler)
        self._httpd.daemon_threads = True
        self.port = self._httpd.server_address[1]
        threading.Thread(target=self._httpd.serve_forever, args=(0.05,), daemon=True).start()
        return self

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None


@pytest.fixture
def serve() -> Iterator[Callable[..., FakeServer]]:
    servers: list[FakeServer] = []

    def start(*args: Any, **kwargs: Any) -> FakeServer:
        server = FakeServer(*args, **kwargs).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


_ENGINES: list[ServerEngine] = []


@pytest.fixture(autouse=True)
def _close_engines() -> Iterator[None]:
    yield
    while _ENGINES:
        _ENGINES.pop().close()


def fast_engine(url: str, **options: Any) -> ServerEngine:
    settings: dict[str, Any] = {"timeout": 10.0, "backoff": 0.01, "retry_window": 10.0}
    settings.update(options)
    engine = ServerEngine(url, **settings)
    _ENGINES.append(engine)
    return engine


def request(seed: int = 0, **changes: Any) -> GenerationRequest:
    fields: dict[str, Any] = {
        "messages": [{"role": "user", "content": "hi"}],
        "json_schema": None,
        "max_tokens": 32,
        "temperature": 0.2,
        "seed": seed,
    }
    fields.update(changes)
    return GenerationRequest(**fields)


# -- request shape and results ---------------------------------------------------------------


def test_request_payload_shape(serve, patient_record):
    server = serve()
    engine = fast_engine(server.url, api_key="sekrit")
    assert isinstance(engine, Engine)
    result = legacy.diagnose(patient_record, engine=engine, seed=5)
    assert isinstance(result, legacy.Diagnosis)
    (body,) = server.chats
    record = structkit.adapters.load(patient_record)
    schema = json.loads(json.dumps(legacy.DIAGNOSIS.schema_for(record, grounding=True)))
    assert body["model"] == "smollm2"
    assert [m["role"] for m in body["messages"]] == ["user"]  # no system message
    assert body["response_format"]["type"] == "json_schema"
    assert body["response_format"]["json_schema"]["schema"] == schema
    assert body["response_format"]["json_schema"]["strict"] is True
    assert body["seed"] == 5 and body["max_tokens"] == 512
    assert body["temperature"] == 0.2 and body["top_p"] == 1.0
    assert body["repetition_penalty"] == 1.1  # the model's default, as on the embedded engines
    assert "thinking_token_budget" not in body and "stream" not in body
    assert server.tokenize_calls > 0  # token budget counted by the server's tokenizer
    assert all(h.get("Authorization") == "Bearer sekrit" for h in server.headers)
    assert len(server.probes) == 1  # health checked once, before the first batch
    # the profile is the model's, with the server's context length
    assert engine.profile.pattern == "smollm2" and engine.profile.max_model_len == 4096


def test_a_lora_request_names_the_served_lora_as_its_model(serve, tmp_path):
    server = serve()
    engine = fast_engine(server.url)
    adapter = LoraAdapter(
        name="diagnosis-lora-0123456789ab", peft=tmp_path, gguf=None, sha256="0" * 64, rank=8
    )
    engine.generate([request(adapter=adapter), request()])
    assert sorted(body["model"] for body in server.chats) == [
        "diagnosis-lora-0123456789ab",
        "smollm2",
    ]


TOOL = {
    "type": "function",
    "function": {
        "name": "diagnose",
        "strict": True,
        "parameters": {"type": "object", "properties": {"path": {"type": "string"}}},
    },
}


def test_tools_pass_through_and_tool_calls_come_back(serve):
    def answer(body: dict[str, Any]) -> Reply:
        reply = chat("", finish="tool_calls")
        assert reply.body is not None
        reply.body["choices"][0]["message"]["tool_calls"] = [
            {"id": "c1", "type": "function",
             "function": {"name": "diagnose", "arguments": '{"path": "a.json"}'}},
            {"id": "c2", "type": "function", "function": {"name": "diagnose",
                                                          "arguments": {"path": "b.xml"}}},
            {"id": "c3", "type": "custom", "custom": {"name": "x", "input": "y"}},
        ]  # fmt: skip
        return reply

    server = serve(answer)
    engine = fast_engine(server.url)
    choice = {"type": "function", "function": {"name": "diagnose"}}
    (completion,) = engine.generate([request(tools=[TOOL], tool_choice=choice)])
    (body,) = server.chats
    assert body["tools"] == [TOOL] and body["tool_choice"] == choice
    assert "response_format" not in body
    # functions only, in order; arguments always as JSON text
    assert [(c.id, c.name, json.loads(c.arguments)) for c in completion.tool_calls] == [
        ("c1", "diagnose", {"path": "a.json"}),
        ("c2", "diagnose", {"path": "b.xml"}),
    ]
    engine.generate([request()])
    assert "tools" not in server.chats[-1] and "tool_choice" not in server.chats[-1]


@pytest.mark.parametrize("name", ["LlamaCppEngine", "VLLMEngine"])
def test_the_embedded_engines_refuse_tools(name):
    # refused before the engine is touched: no model is loaded here
    from structkit import engines

    engine = object.__new__(getattr(engines, name))
    with pytest.raises(structkit.ConfigurationError, match="does not take tools"):
        engine.generate([request(tools=[TOOL])])


def test_batch_runs_concurrently_and_keeps_order(serve):
    def respond(body: dict[str, Any]) -> Reply:
        reply = chat(f"seed={body['seed']}")
        reply.delay = 0.25 + (body["seed"] % 3) * 0.1  # overlap even on a loaded CPU
        return reply

    server = serve(respond)
    engine = fast_engine(server.url, max_concurrency=4)
    completions = engine.generate([request(seed) for seed in range(12)])
    assert [c.text for c in completions] == [f"seed={s}" for s in range(12)]
    assert 2 <= server.max_active <= 4
    assert all(c.prompt_tokens == 11 and c.completion_tokens == 7 for c in completions)


@pytest.mark.parametrize("key", ["reasoning", "reasoning_content"])
def test_reasoning_is_reassembled_for_the_validator(serve, patient_record, key):
    server = serve(
        lambda body: chat(answer_text(), reasoning="ST elevation first.", reasoning_key=key),
        models=(R1,),
        max_model_len=8192,
    )
    engine = fast_engine(server.url)
    (outcome,) = legacy.diagnose_many([patient_record], engine=engine, thinking_budget=40)
    assert outcome.ok, outcome.error
    assert outcome.reasoning == "ST elevation first."
    assert server.chats[0]["thinking_token_budget"] == 40
    assert server.probes[0]["thinking_token_budget"] == 4  # accepted: budgets are sent
    completion = engine.generate([request()])[0]
    assert completion.text == "ST elevation first.</think>" + answer_text()


def test_thinking_that_never_ends_is_a_thinking_budget_error(serve, patient_record):
    server = serve(
        lambda body: chat(None, finish="length", reasoning="Hmm, and then"),
        models=(R1,),
        max_model_len=8192,
    )
    with pytest.raises(ThinkingBudgetError) as info:
        legacy.diagnose(patient_record, engine=fast_engine(server.url), max_attempts=1)
    assert info.value.reasoning == "Hmm, and then"


def test_finish_reason_length_is_a_truncated_output(serve, patient_record):
    server = serve(lambda body: chat('{"summary": "cut', finish="length"))
    engine = fast_engine(server.url)
    (outcome,) = structkit.run(
        "diagnosis_freeform", [patient_record], engine=engine, max_attempts=1
    )
    assert isinstance(outcome.error, TruncatedOutputError)
    assert outcome.error.finish_reason == "length"
    with pytest.raises(TruncatedOutputError):
        legacy.diagnose(patient_record, engine=engine, max_attempts=1)


def test_thinking_budget_is_dropped_when_the_server_refuses_it(serve):
    def probe(body: dict[str, Any]) -> Reply:
        if "thinking_token_budget" in body:
            return error(400, "thinking_token_budget is set but reasoning_config is not set")
        return chat("{}")

    server = serve(lambda body: chat("{}", reasoning="r"), models=(R1,), probe=probe)
    engine = fast_engine(server.url)
    assert engine.health_check().thinking_budget is False
    (completion,) = engine.generate([request(thinking_budget=30)])
    assert completion.error is None
    assert "thinking_token_budget" not in server.chats[0]


# -- retries ---------------------------------------------------------------------------------


def scripted(*replies: Reply, then: Reply | None = None) -> Callable[[dict[str, Any]], Reply]:
    queue = list(replies)
    return lambda body: queue.pop(0) if queue else (then or chat("ok"))


def test_503_and_429_are_retried_and_retry_after_is_obeyed(serve):
    server = serve(scripted(error(503, "busy"), error(429, "slow down", **{"Retry-After": "1"})))
    engine = fast_engine(server.url)
    engine.health_check()
    started = time.monotonic()
    (completion,) = engine.generate([request()])
    assert completion.error is None and completion.text == "ok"
    assert time.monotonic() - started >= 0.95  # waited as Retry-After said
    assert len(server.chats) == 3 and completion.metrics["retries"] == 2
    assert engine.retry_count == 2


def test_busy_server_gives_up_after_max_retries(serve):
    server = serve(lambda body: error(429, "slow down", **{"Retry-After": "0"}))
    engine = fast_engine(server.url, max_retries=2)
    (completion,) = engine.generate([request()])
    assert completion.error is not None and "HTTP 429" in completion.error
    assert "gave up after 2 retries" in completion.error
    assert len(server.chats) == 3


def test_non_transient_400_fails_only_that_request(serve):
    def respond(body: dict[str, Any]) -> Reply:
        return error(400, "bad request") if body["seed"] == 1 else chat(f"seed={body['seed']}")

    server = serve(respond)
    completions = fast_engine(server.url).generate([request(0), request(1), request(2)])
    assert [c.text for c in completions] == ["seed=0", "", "seed=2"]
    assert completions[1].error == "HTTP 400: bad request"
    assert [b["seed"] for b in server.chats].count(1) == 1  # not retried


def test_connection_dropped_mid_request_is_retried(serve):
    server = serve(scripted(Reply(drop=True), Reply(drop=True)))
    engine = fast_engine(server.url)
    (completion,) = engine.generate([request()])
    assert completion.error is None and completion.text == "ok"
    assert len(server.chats) == 3


def test_a_server_restart_mid_batch_is_survived(serve):
    server = serve(lambda body: chat(f"seed={body['seed']}"))
    engine = fast_engine(server.url, max_backoff=0.2, retry_window=20.0)
    engine.health_check()
    port = server.port
    server.stop()  # down: connections are refused
    results: list[list[Completion]] = []
    batch = threading.Thread(target=lambda: results.append(engine.generate(map_requests(6))))
    batch.start()
    time.sleep(1.0)
    assert batch.is_alive()  # still retrying
    server.start(port=port)  # back on the same port
    batch.join(timeout=20)
    assert not batch.is_alive()
    (completions,) = results
    assert [c.text for c in completions] == [f"seed={s}" for s in range(6)]
    assert engine.retry_count >= 6


def map_requests(n: int) -> list[GenerationRequest]:
    return [request(seed) for seed in range(n)]


def test_a_long_outage_gives_up_and_later_requests_fail_fast(serve):
    server = serve()
    engine = fast_engine(server.url, retry_window=0.5, max_backoff=0.1)
    engine.health_check()
    server.stop()
    started = time.monotonic()
    (completion,) = engine.generate([request()])
    assert completion.error is not None and "ConnectError" in completion.error
    assert 0.4 <= time.monotonic() - started < 5
    retries = engine.retry_count
    (completion,) = engine.generate([request()])  # the server has been down a whole window
    assert completion.error is not None and engine.retry_count == retries  # no retry


# -- health check ----------------------------------------------------------------------------


def test_wrong_model_name_lists_the_served_models(serve, patient_record):
    server = serve(models=("smollm2", "other"))
    with pytest.raises(ModelNotFoundError, match="smollm2, other"):
        fast_engine(server.url, model="gpt-4").health_check()
    with pytest.raises(ModelNotFoundError, match="several models"):
        legacy.diagnose(patient_record, engine=fast_engine(server.url))
    assert fast_engine(server.url, model="other").health_check().model == "other"


def test_a_server_rejecting_json_schema_is_unavailable(serve):
    server = serve(probe=lambda body: error(400, "response_format json_schema not supported"))
    with pytest.raises(EngineUnavailableError, match="lacks structured-output support"):
        fast_engine(server.url).generate([request()])
    assert not server.chats


def test_a_server_ignoring_json_schema_is_unavailable(serve):
    server = serve(probe=lambda body: chat("Sure! Here you go."))
    with pytest.raises(EngineUnavailableError, match="ignored response_format"):
        fast_engine(server.url).health_check()


def test_no_server_is_a_clear_error(serve):
    server = serve()
    server.stop()
    with pytest.raises(EngineUnavailableError, match="no server answers"):
        fast_engine(server.url, retry_window=0.3).health_check()


def test_count_tokens_falls_back_without_tokenize(serve):
    server = serve(tokenize=False)
    engine = fast_engine(server.url)
    assert engine.count_tokens("abcdefghijkl") == 3
    assert engine.count_tokens("") == 0


# -- streaming -------------------------------------------------------------------------------


def sse(reasoning: list[str], answer: str, *, finish: str = "stop") -> Reply:
    def delta(**fields: Any) -> dict[str, Any]:
        return {"choices": [{"index": 0, "delta": fields, "finish_reason": None}]}

    pieces = [answer[i : i + 40] for i in range(0, len(answer), 40)]
    chunks = [delta(role="assistant", content="")]
    chunks += [delta(reasoning=r) for r in reasoning]
    chunks += [delta(content=p) for p in pieces]
    chunks.append({"choices": [{"index": 0, "delta": {}, "finish_reason": finish}]})
    chunks.append({"choices": [], "usage": {"prompt_tokens": 9, "completion_tokens": 21}})
    return Reply(chunks=chunks)


def test_stream_task_yields_reasoning_then_answer_then_the_validated_result(serve, patient_record):
    server = serve(
        lambda body: sse(["Chest pain", " and ST."], answer_text()),
        models=(R1,),
        max_model_len=8192,
    )
    engine = fast_engine(server.url)
    events = list(
        stream_task("diagnosis_freeform", patient_record, engine=engine, thinking_budget=40)
    )
    kinds = [e.kind for e in events]
    assert kinds[:2] == ["reasoning", "reasoning"] and kinds[-1] == "result"
    assert set(kinds[2:-1]) == {"answer"}
    assert "".join(str(e.data) for e in events if e.kind == "answer") == answer_text()
    assert isinstance(events[-1].data, legacy.Diagnosis)
    body = server.chats[0]
    assert body["stream"] is True and body["stream_options"] == {"include_usage": True}
    assert body["thinking_token_budget"] == 40


def test_stream_done_event_carries_the_assembled_completion(serve):
    server = serve(lambda body: sse(["think"], '{"a":1}'), models=(R1,))
    events = list(fast_engine(server.url).stream(request()))
    done = events[-1]
    assert done.kind == "done" and isinstance(done.data, Completion)
    assert done.data.text == 'think</think>{"a":1}' and done.data.finish_reason == "stop"
    assert (done.data.prompt_tokens, done.data.completion_tokens) == (9, 21)
    assert events[0] == StreamEvent("reasoning", "think")


def test_stream_retries_before_the_first_delta(serve):
    server = serve(scripted(error(503, "loading"), then=sse([], '{"a":1}')))
    events = list(fast_engine(server.url).stream(request()))
    assert [e.kind for e in events] == ["answer", "done"]
    assert isinstance(events[-1].data, Completion) and events[-1].data.error is None


def test_stream_task_raises_the_typed_error(serve, patient_record):
    server = serve(lambda body: sse([], "not json"))
    with pytest.raises(OutputParseError):
        list(stream_task("diagnosis_freeform", patient_record, engine=fast_engine(server.url)))


# -- selection and helpers -------------------------------------------------------------------


def test_engine_from_env(monkeypatch):
    monkeypatch.delenv("STRUCTKIT_SERVER_URL", raising=False)
    assert engine_from_env() is None
    monkeypatch.setenv("STRUCTKIT_SERVER_URL", "http://127.0.0.1:9/v1")
    monkeypatch.setenv("STRUCTKIT_SERVER_MODEL", "smollm2")
    engine = engine_from_env()
    assert isinstance(engine, ServerEngine) and engine is engine_from_env()
    assert engine.url == "http://127.0.0.1:9" and engine.model_name == "smollm2"
    assert engine_from_env(model="other") is not engine


def test_assemble_text():
    assert assemble_text("r", "{}", reasoning_model=True) == "r</think>{}"
    assert assemble_text("r", None, reasoning_model=True) == "r"  # still thinking
    assert assemble_text(None, "{}", reasoning_model=True) == "</think>{}"
    assert assemble_text(None, "r</think>{}", reasoning_model=True) == "r</think>{}"
    assert assemble_text("r", "{}", reasoning_model=False) == "{}"


def test_a_stream_broken_after_text_ends_with_an_error(serve, patient_record):
    broken = sse([], '{"summary": "cut')
    assert broken.chunks is not None
    broken.chunks = broken.chunks[:-2]  # no finish_reason: the server went away mid-answer
    server = serve(lambda body: broken)
    engine = fast_engine(server.url)
    events = list(engine.stream(request()))
    assert [e.kind for e in events] == ["answer", "done"]
    assert isinstance(events[-1].data, Completion) and events[-1].data.error is not None
    assert len(server.chats) == 1  # text was shown: not retried
    with pytest.raises(structkit.EngineRequestError):
        list(stream_task("diagnosis_freeform", patient_record, engine=engine))
