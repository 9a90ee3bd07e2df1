"""The llama.cpp engine: selection and grammar (fast), and end to end on the shipped GGUF."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from typing import Any

import pytest

import structkit
from structkit import (
    ConfigurationError,
    EngineUnavailableError,
    ModelNotFoundError,
    TruncatedOutputError,
)
from structkit.engines import GenerationRequest, LlamaCppEngine
from structkit.engines._llamacpp import json_grammar, resolve_gguf
from structkit.engines._select import choose_engine

from .conftest import EXAMPLES

SCHEMA = {
    "type": "object",
    "properties": {"choice": {"enum": ["yes", "no"]}},
    "required": ["choice"],
    "additionalProperties": False,
}


def test_grammar_asks_llguidance_for_compact_json_and_keeps_the_schema():
    grammar = json_grammar(SCHEMA)
    assert grammar.startswith("%llguidance {}\nstart: %json ")
    schema = json.loads(grammar.split("%json ", 1)[1])
    assert schema["x-guidance"] == {"whitespace_flexible": False, "lenient": True}
    assert {k: v for k, v in schema.items() if k != "x-guidance"} == SCHEMA


def test_reasoning_grammar_leaves_the_thinking_free_and_constrains_the_answer():
    grammar = json_grammar(SCHEMA, reasoning=True)
    assert "start: THINKING answer" in grammar
    assert r"<\/think>" in grammar and "answer: %json " in grammar


def test_a_file_that_is_not_gguf_is_a_typed_error(tmp_path):
    fake = tmp_path / "model.gguf"
    fake.write_bytes(b"not a gguf at all")
    with pytest.raises(ModelNotFoundError, match="not a GGUF"):
        resolve_gguf(fake)
    with pytest.raises(ModelNotFoundError, match="no model at"):
        resolve_gguf(tmp_path / "missing.gguf")
    (tmp_path / "hf").mkdir()
    (tmp_path / "hf" / "config.json").write_text("{}")
    with pytest.raises(ModelNotFoundError, match=r"0 \.gguf files"):
        structkit.diagnose({"a": 1}, engine="llama.cpp", model=str(tmp_path / "hf"))


def test_missing_xllamacpp_is_a_typed_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "xllamacpp", None)  # import fails as if not installed
    engine = LlamaCppEngine()
    with pytest.raises(EngineUnavailableError, match="pip install xllamacpp"):
        engine.count_tokens("x")


def test_engine_choice_explicit_then_environment_then_platform(monkeypatch, tmp_path):
    monkeypatch.delenv("STRUCTKIT_ENGINE", raising=False)
    monkeypatch.delenv("STRUCTKIT_MODEL", raising=False)
    monkeypatch.setattr("structkit.engines._select.has_gpu", lambda: False)
    assert choose_engine("vllm", None) == "vllm"
    assert choose_engine("LlamaCpp", None) == "llama.cpp"
    assert choose_engine(None, None) == "llama.cpp"  # the default model is a GGUF
    assert choose_engine(None, str(tmp_path)) == "vllm"  # a folder without GGUF: HF weights
    monkeypatch.setenv("STRUCTKIT_ENGINE", "vllm")
    assert choose_engine(None, None) == "vllm"
    assert choose_engine("llama.cpp", None) == "llama.cpp"  # explicit wins
    monkeypatch.delenv("STRUCTKIT_ENGINE")
    monkeypatch.setattr("structkit.engines._select.has_gpu", lambda: True)
    assert choose_engine(None, None) == "vllm"
    with pytest.raises(ConfigurationError, match="unknown engine"):
        choose_engine("tgi", None)


def test_cpu_default_follows_the_job_size_and_the_process_keeps_it(monkeypatch):
    from structkit.engines import _select

    monkeypatch.delenv("STRUCTKIT_ENGINE", raising=False)
    monkeypatch.delenv("STRUCTKIT_MODEL", raising=False)
    monkeypatch.delenv("STRUCTKIT_VLLM_FROM_RECORDS", raising=False)
    monkeypatch.setattr(_select, "has_gpu", lambda: False)
    monkeypatch.setattr(_select, "_PLATFORM_CHOICE", {})
    assert choose_engine(None, None, records=None) == "llama.cpp"  # size unknown: quick start
    assert choose_engine(None, None, records=99) == "llama.cpp"
    assert choose_engine(None, None, records=100) == "vllm"
    assert choose_engine("llama.cpp", None, records=10_000) == "llama.cpp"  # explicit wins
    monkeypatch.setenv("STRUCTKIT_VLLM_FROM_RECORDS", "5")
    assert choose_engine(None, None, records=5) == "vllm"
    for bad in ("0", "-3", "many"):
        monkeypatch.setenv("STRUCTKIT_VLLM_FROM_RECORDS", bad)
        with pytest.raises(ConfigurationError, match="STRUCTKIT_VLLM_FROM_RECORDS"):
            choose_engine(None, None, records=5)
    monkeypatch.setenv("STRUCTKIT_VLLM_FROM_RECORDS", "5")
    real_find_spec = _select.importlib.util.find_spec
    monkeypatch.setattr(  # without vLLM installed, a large job stays on llama.cpp
        _select.importlib.util,
        "find_spec",
        lambda name, *a: None if name == "vllm" else real_find_spec(name, *a),
    )
    assert choose_engine(None, None, records=500) == "llama.cpp"
    monkeypatch.setattr(_select.importlib.util, "find_spec", real_find_spec)
    # the first default chosen for a model is kept: one engine per process, not a second start
    monkeypatch.setattr("structkit.engines._llamacpp.get_llamacpp_engine", lambda model: "llama")
    assert _select.engine_named(None, None, records=1) == "llama"
    assert choose_engine(None, None, records=500) == "llama.cpp"
    assert choose_engine("vllm", None, records=1) == "vllm"  # explicit choices are not kept


def test_cli_accepts_engine_on_every_command():
    from structkit.cli import build_parser

    parser = build_parser()
    for argv in (
        ["diagnose", "x.json", "--engine", "llama.cpp"],
        ["run", "diagnosis", "x.json", "--engine", "vllm"],
        ["batch", "diagnosis", "x.jsonl", "--out", "o.jsonl", "--engine", "llama.cpp"],
        ["eval", "diagnosis", "d.jsonl", "--engine", "vllm"],
    ):
        assert parser.parse_args(argv).engine == argv[-1]


# -- end to end on the real engine -------------------------------------------------------------


@pytest.fixture(scope="module")
def llama() -> Iterator[Any]:
    from structkit.engines._llamacpp import get_llamacpp_engine

    engine = get_llamacpp_engine()
    _ = engine.server
    yield engine


@pytest.mark.engine
def test_answers_are_schema_valid_or_typed_failures_in_compact_json(llama, patient_record):
    from structkit._validate import strict_json_loads

    outcomes = structkit.diagnose_many(
        [dict(patient_record, visit=i) for i in range(8)],
        engine=llama,
        max_attempts=1,
        mode="model",
    )
    assert len(outcomes) == 8  # a batch of 8 -> 8 outcomes, in order
    assert [o.record_id for o in outcomes] == [f"#{i}" for i in range(8)]
    for outcome in outcomes:
        assert outcome.ok or isinstance(outcome.error, structkit.OutputError)
        assert outcome.completion_tokens > 0
    # The raw text: compact JSON (no layout whitespace between tokens).
    request = GenerationRequest(
        messages=[{"role": "user", "content": "Answer yes or no: is the sky blue?"}],
        json_schema=SCHEMA,
        max_tokens=32,
        temperature=0.0,
    )
    (completion,) = llama.generate([request])
    assert completion.finish_reason == "stop", completion
    assert completion.text == json.dumps(strict_json_loads(completion.text), separators=(",", ":"))
    assert completion.metrics["predicted_ms"] > 0 and completion.metrics["ttft_s"] > 0


@pytest.mark.engine
def test_tokens_are_counted_with_the_gguf_tokenizer(llama):
    assert llama.count_tokens("") == 0
    assert 0 < llama.count_tokens("Crushing substernal chest pain") < 10


@pytest.mark.engine
def test_tiny_budget_is_a_truncated_output(llama):
    record = json.loads((EXAMPLES / "patient_record.json").read_text())
    with pytest.raises(TruncatedOutputError) as info:
        structkit.diagnose(record, engine=llama, max_tokens=3, max_attempts=1, mode="model")
    assert info.value.finish_reason == "length"
    assert info.value.raw.startswith('{"')  # the constrained, compact prefix


@pytest.mark.engine
def test_engine_by_name_is_the_process_wide_instance(llama):
    from structkit.engines import resolve_engine

    assert resolve_engine(engine="llama.cpp") is llama
