"""Whether ServerEngine sends per-request seeds: the setting, the auto decision, the fallback.

The server is faked with ``httpx.MockTransport`` (no socket, no model): it answers
``/v1/models``, ``/version`` (a vLLM server) or 404 (another server), and chat requests, and
records every chat body so the tests can see whether a seed was sent.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from structkit import ConfigurationError, GenerationRequest
from structkit.engines import ServerEngine, _server_seeds
from structkit.engines._server_seeds import decide_seeds, host_has_gpu, is_loopback, seed_setting

LOCAL = "http://127.0.0.1:8000"
REMOTE = "http://vllm.example.org:8000"


@dataclass
class Fake:
    """The scripted server behind a MockTransport."""

    vllm: bool = True
    engine_deaths: int = 0
    """Chat requests carrying a seed answered with vLLM's engine-dead 500 (then normal)."""
    chats: list[dict[str, Any]] = field(default_factory=list)
    paths: list[str] = field(default_factory=list)

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.paths.append(request.url.path)
        if request.url.path == "/v1/models":
            card = {"id": "smollm2", "object": "model", "max_model_len": 4096}
            return httpx.Response(200, json={"object": "list", "data": [card]})
        if request.url.path == "/version" and self.vllm:
            return httpx.Response(200, json={"version": "0.32.0"})
        if request.url.path == "/v1/chat/completions":
            body = json.loads(request.content)
            schema = (body.get("response_format") or {}).get("json_schema") or {}
            probe = schema.get("name") == "structkit_health_check"
            if not probe:
                self.chats.append(body)
                if "seed" in body and self.engine_deaths:
                    self.engine_deaths -= 1
                    message = "EngineCore encountered an issue. See stack trace for the root cause."
                    return httpx.Response(500, json={"error": {"message": message}})
            message = {"role": "assistant", "content": '{"ok":true}' if probe else "answer"}
            choice = {"index": 0, "message": message, "finish_reason": "stop"}
            return httpx.Response(200, json={"choices": [choice], "usage": {}})
        return httpx.Response(404, json={"detail": "Not Found"})


def engine_on(fake: Fake, url: str = LOCAL, **options: Any) -> ServerEngine:
    options = {"backoff": 0.0, "retry_window": 5.0, **options}
    return ServerEngine(url, transport=httpx.MockTransport(fake.handle), **options)


def seeded(n: int) -> list[GenerationRequest]:
    messages = [{"role": "user", "content": "hi"}]
    return [
        GenerationRequest(
            messages=messages, json_schema=None, max_tokens=8, temperature=0.0, seed=s
        )
        for s in range(n)
    ]


@pytest.fixture(autouse=True)
def _no_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("STRUCTKIT_SERVER_SEEDS", raising=False)


@pytest.fixture
def gpu(monkeypatch: pytest.MonkeyPatch) -> Any:
    """``gpu(True/False)`` decides what ``host_has_gpu`` says for this test."""

    def set_gpu(present: bool) -> None:
        monkeypatch.setattr(_server_seeds, "host_has_gpu", lambda: present)

    return set_gpu


@pytest.mark.parametrize(
    ("url", "vllm", "has_gpu", "sends"),
    [
        (LOCAL, True, False, False),  # vLLM on this CPU-only host: its engine dies on seeds
        (LOCAL, True, True, True),
        (LOCAL, False, False, True),  # not vLLM (e.g. llama.cpp's server): seeds are fine
        (REMOTE, True, False, True),  # a remote server's device is unknown: assumed GPU
        ("http://localhost:9000/v1", True, False, False),
    ],
)
def test_auto_decides_from_version_address_and_gpu(gpu, url, vllm, has_gpu, sends):
    gpu(has_gpu)
    fake = Fake(vllm=vllm)
    with engine_on(fake, url) as engine:
        info = engine.health_check()
        completions = engine.generate(seeded(3))
    assert [c.text for c in completions] == ["answer"] * 3
    assert info.seeds is sends and info.seeds_reason
    assert ["seed" in body for body in fake.chats] == [sends] * 3
    assert fake.paths.count("/version") == 1  # asked once


@pytest.mark.parametrize(("seeds", "sends"), [(True, True), (False, False)])
def test_the_argument_wins_and_version_is_not_asked(gpu, seeds, sends):
    gpu(False)
    fake = Fake()
    with engine_on(fake, seeds=seeds) as engine:
        engine.generate(seeded(2))
    assert [body.get("seed") for body in fake.chats] == ([0, 1] if sends else [None, None])
    assert "/version" not in fake.paths


@pytest.mark.parametrize(("value", "sends"), [("off", False), ("ON", True), ("no", False)])
def test_the_environment_setting(monkeypatch, gpu, value, sends):
    gpu(False)
    monkeypatch.setenv("STRUCTKIT_SERVER_SEEDS", value)
    fake = Fake()
    with engine_on(fake, REMOTE) as engine:
        assert engine.sends_seeds is sends
        engine.generate(seeded(1))
    assert ("seed" in fake.chats[0]) is sends


def test_a_bad_setting_is_a_configuration_error(monkeypatch):
    monkeypatch.setenv("STRUCTKIT_SERVER_SEEDS", "sometimes")
    with pytest.raises(ConfigurationError, match="STRUCTKIT_SERVER_SEEDS"):
        ServerEngine(LOCAL)


def test_auto_stops_seeding_when_the_engine_dies_under_seeds(gpu, caplog):
    """The remote CPU server case auto cannot recognise: the retry goes without the seed."""
    gpu(False)
    fake = Fake(engine_deaths=1)
    with caplog.at_level(logging.WARNING, "structkit"), engine_on(fake, REMOTE) as engine:
        first = engine.generate(seeded(1))
        assert engine.sends_seeds is False
        later = engine.generate(seeded(2))
    assert [c.text for c in first + later] == ["answer"] * 3 and first[0].error is None
    assert ["seed" in body for body in fake.chats] == [True, False, False, False]
    assert "sending none from now on" in caplog.text


def test_an_explicit_on_keeps_seeds_after_an_engine_death(gpu):
    gpu(False)
    fake = Fake(engine_deaths=1)
    with engine_on(fake, seeds=True) as engine:
        (completion,) = engine.generate(seeded(1))
    assert completion.text == "answer" and engine.sends_seeds is True
    assert ["seed" in body for body in fake.chats] == [True, True]


def test_decide_seeds_explains_itself():
    sends, why = decide_seeds("auto", url=LOCAL, vllm_version="0.32.0", has_gpu=False)
    assert not sends and "--seed" in why and "0.32.0" in why
    assert decide_seeds("off", url=REMOTE, vllm_version=None, has_gpu=True)[0] is False
    assert decide_seeds("on", url=LOCAL, vllm_version="0.32.0", has_gpu=False)[0] is True


def test_seed_setting_words(monkeypatch):
    assert seed_setting(True) == "on" and seed_setting(False) == "off"
    assert seed_setting(None) == "auto"
    monkeypatch.setenv("STRUCTKIT_SERVER_SEEDS", "1")
    assert seed_setting(None) == "on" and seed_setting(False) == "off"


def test_loopback_and_gpu_detection(tmp_path: Path):
    assert is_loopback("http://127.0.0.1:1") and is_loopback("http://[::1]:8000")
    assert is_loopback("http://localhost:8000/v1") and not is_loopback(REMOTE)
    assert not is_loopback("http://10.0.0.5:8000")
    assert not host_has_gpu(tmp_path)
    (tmp_path / "nvidia0").touch()
    assert host_has_gpu(tmp_path)
