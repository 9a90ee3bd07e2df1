"""The tool servers' HTTP API, security and queue, over the fake engine (fast).

The code-only ``baseline`` modes answer without a model, so these tests see real answers from
real adapters; the fake engine stands in only where the subject is the queue (a slow engine).
The same servers on the real default engine, with the SDK's real MCP client: test_toolserver_e2e.
"""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

import structkit
from structkit import ConfigurationError, GenerationRequest, ServiceBusyError
from structkit.toolserver import Exposure, ToolOptions, ToolService, create_app, run_via

from .conftest import EXAMPLES, ROOT

KEY = "k" * 24
SECRET = "Zebulon-Quartermaine-4471"  # a record value that must never reach a log


def _service(root: Path | None = EXAMPLES, **kwargs: Any) -> ToolService:
    return ToolService(engine=structkit.FakeEngine(lambda r: "{}"), root=root, **kwargs).start()


@pytest.fixture
def client() -> Iterator[TestClient]:
    service = _service()
    with TestClient(create_app(service, Exposure.checked(host="127.0.0.1", port=0))) as c:
        yield c


def _content(name: str) -> str:
    return (EXAMPLES / name).read_text(encoding="utf-8")


# -- answers ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("task", "name", "model"),
    [
        ("diagnosis", "fhir_bundle.json", structkit.Diagnosis),
        ("financials", "income_statement.csv", structkit.Financials),
        ("clauses", "contract.txt", structkit.ClauseExtraction),
        ("diagnosis", "ccda_discharge.xml", structkit.Diagnosis),
    ],
)
def test_each_task_endpoint_answers_content_with_its_output_model(
    client: TestClient, task: str, name: str, model: type[Any]
) -> None:
    body = {"content": _content(name), "id": "r1", "mode": "baseline"}
    response = client.post(f"/v1/tasks/{task}", json=body)
    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["record_id"] == "r1" and answer["attempts"] >= 0
    model.model_validate(answer["result"])
    assert answer["audit"]["task"] == task and answer["audit"]["mode"] == "baseline"


def test_a_path_under_the_root_is_read(client: TestClient) -> None:
    response = client.post(
        "/v1/tasks/diagnosis", json={"path": "patient_record.json", "mode": "baseline"}
    )
    assert response.status_code == 200, response.text
    assert response.json()["record_id"] == "patient_record.json"


def test_one_line_of_text_is_content_never_a_path(client: TestClient) -> None:
    # "patient_record.json" as *content* is one line of prose, not the file of that name
    response = client.post(
        "/v1/tasks/clauses", json={"content": "patient_record.json", "mode": "baseline"}
    )
    assert response.status_code == 200, response.text
    assert response.json()["result"]["clauses"] == []


def test_the_batch_endpoint_answers_every_record_once_in_order(client: TestClient) -> None:
    records = [
        {"path": "income_statement.csv"},
        {"content": "{not json", "id": "broken"},
        {"content": _content("balance_sheet.csv"), "kind": "csv", "id": "bs"},
        {"path": "../pyproject.toml", "id": "escape"},
    ]
    body = {"task": "financials", "records": records, "options": {"mode": "baseline"}}
    response = client.post("/v1/batch", json=body)
    assert response.status_code == 200, response.text
    lines = response.json()["results"]
    assert [line["id"] for line in lines] == ["income_statement.csv", "broken", "bs", "escape"]
    assert [line["status"] for line in lines] == ["ok", "error", "ok", "error"]
    assert lines[1]["error"]["type"] == "RecordParseError"
    assert lines[3]["error"]["type"] == "UnsafeInputError"
    structkit.Financials.model_validate(lines[0]["result"]["result"])


def test_tasks_health_and_settings_errors(client: TestClient) -> None:
    tasks = client.get("/v1/tasks").json()
    assert {t["tool"] for t in tasks} >= {"diagnose", "analyze_financials", "extract_clauses"}
    assert client.get("/health").json() == {"status": "ok", "queue": 0}
    bad_mode = client.post("/v1/tasks/diagnosis", json={"path": "patient_record.json", "mode": "x"})
    assert bad_mode.status_code == 400 and bad_mode.json()["error"]["type"] == "ConfigurationError"
    both = client.post("/v1/tasks/diagnosis", json={"path": "a.json", "content": "{}"})
    assert both.status_code == 422
    unknown_field = client.post("/v1/tasks/diagnosis", json={"content": "{}", "model": "big"})
    assert unknown_field.status_code == 422  # the model and engine are the server's
    assert (
        client.post("/v1/batch", json={"task": "nope", "records": [{"content": "{}"}]}).status_code
        == 400
    )


def test_the_openapi_document_validates_and_names_each_tool(client: TestClient) -> None:
    from openapi_spec_validator import validate

    document = client.get("/openapi.json").json()
    validate(document)
    operations = {
        op["operationId"]: path for path, item in document["paths"].items() for op in item.values()
    }
    assert operations["diagnose"] == "/v1/tasks/diagnosis"
    assert operations["analyze_financials"] == "/v1/tasks/financials"
    assert operations["extract_clauses"] == "/v1/tasks/clauses"
    assert operations["run_batch"] == "/v1/batch"
    schemas = document["components"]["schemas"]
    assert "DiagnosisAnswer" in schemas and "Diagnosis" in schemas
    # every answer validates against the schema its operation advertises (code's fields too)
    import jsonschema

    for task, name in [("diagnosis", "fhir_bundle.json"), ("financials", "income_statement.csv"),
                       ("clauses", "contract.txt")]:  # fmt: skip
        answer = client.post(
            f"/v1/tasks/{task}", json={"content": _content(name), "mode": "baseline"}
        )
        ok = document["paths"][f"/v1/tasks/{task}"]["post"]["responses"]["200"]
        root = {**ok["content"]["application/json"]["schema"], "components": document["components"]}
        jsonschema.Draft202012Validator(root).validate(answer.json())
        assert "findings" not in answer.json()["result"] or "findings" in json.dumps(
            root["components"]
        )


def test_two_tasks_whose_answer_models_share_a_name_get_distinct_schemas() -> None:
    from openapi_spec_validator import validate

    # registers diagnosis_freeform, whose output model is a "Diagnosis" too
    from structkit.testing import freeform_diagnosis as legacy_diagnosis

    service = _service()
    with TestClient(create_app(service, Exposure.checked(host="127.0.0.1", port=0))) as c:
        document = c.get("/openapi.json").json()
    validate(document)

    def target(task: str) -> str:
        ok = document["paths"][f"/v1/tasks/{task}"]["post"]["responses"]["200"]
        ref: str = ok["content"]["application/json"]["schema"]["$ref"]
        return ref.rsplit("/", 1)[-1]

    mine, theirs = target("diagnosis"), target(legacy_diagnosis.DIAGNOSIS.name)
    assert mine != theirs
    assert (mine, theirs) == ("DiagnosisAnswer", "DiagnosisFreeformDiagnosisAnswer")
    schemas = document["components"]["schemas"]
    # each answer's result points at its own task's Diagnosis
    assert "DiagnosisFreeformDiagnosis" in json.dumps(schemas[theirs])
    assert "DiagnosisFreeformDiagnosis" not in json.dumps(schemas[mine])
    assert "differential" in schemas["Diagnosis"]["properties"]
    assert "summary" in schemas["DiagnosisFreeformDiagnosis"]["properties"]


# -- refusals -----------------------------------------------------------------------------


def test_hostile_records_are_typed_errors_and_the_server_keeps_serving(
    client: TestClient, tmp_path: Path
) -> None:
    entity = '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e "boom">]><x>&e;</x>'
    hostile = [
        ({"content": entity}, "UnsafeInputError"),
        ({"path": "../README.md"}, "UnsafeInputError"),
        ({"path": str(ROOT / "README.md")}, "UnsafeInputError"),  # absolute, outside the root
        ({"path": "missing.json"}, "RecordParseError"),
        ({"content": "   "}, "RecordParseError"),
    ]
    for body, error in hostile:
        response = client.post("/v1/tasks/diagnosis", json=body)
        assert response.status_code == 422, (body, response.text)
        assert response.json()["error"]["type"] == error, body
        assert "Traceback" not in response.text
    assert (
        client.post(
            "/v1/tasks/diagnosis", json={"path": "patient_record.json", "mode": "baseline"}
        ).status_code
        == 200
    )


def test_paths_are_refused_without_a_root_and_symlinks_out_of_it(tmp_path: Path) -> None:
    no_root = _service(root=None)
    with TestClient(create_app(no_root, Exposure.checked(host="127.0.0.1", port=0))) as c:
        response = c.post(
            "/v1/tasks/diagnosis", json={"path": "patient_record.json", "mode": "baseline"}
        )
        assert response.status_code == 422 and "content only" in response.json()["error"]["message"]
    root = tmp_path / "root"
    root.mkdir()
    (root / "inside.json").write_text(_content("patient_record.json"))
    (root / "out.json").symlink_to(EXAMPLES / "patient_record.json")
    (root / "in-link.json").symlink_to(root / "inside.json")
    service = _service(root=root)
    with TestClient(create_app(service, Exposure.checked(host="127.0.0.1", port=0))) as c:
        assert (
            c.post(
                "/v1/tasks/diagnosis", json={"path": "inside.json", "mode": "baseline"}
            ).status_code
            == 200
        )
        assert (
            c.post(
                "/v1/tasks/diagnosis", json={"path": "in-link.json", "mode": "baseline"}
            ).status_code
            == 200
        )
        absolute = c.post(
            "/v1/tasks/diagnosis", json={"path": str(root / "inside.json"), "mode": "baseline"}
        )
        assert absolute.status_code == 200  # absolute, but inside the root
        out = c.post("/v1/tasks/diagnosis", json={"path": "out.json"})
        assert out.status_code == 422 and "outside" in out.json()["error"]["message"]


def test_a_body_over_the_limit_is_refused_with_413(client: TestClient) -> None:
    from structkit.toolserver._http import MAX_BODY_BYTES

    response = client.post(
        "/v1/tasks/clauses",
        content=b'{"content": "' + b"a" * (MAX_BODY_BYTES + 1) + b'"}',
        headers={"content-type": "application/json"},
    )
    assert response.status_code == 413 and response.json()["error"]["type"] == "UnsafeInputError"


def test_with_a_key_every_task_route_requires_it() -> None:
    service = _service()
    app = create_app(service, Exposure.checked(host="127.0.0.1", port=0, api_key=KEY))
    with TestClient(app) as c:
        body = {"path": "patient_record.json", "mode": "baseline"}
        assert c.post("/v1/tasks/diagnosis", json=body).status_code == 401
        wrong = {"Authorization": "Bearer " + "x" * 24}
        assert c.post("/v1/tasks/diagnosis", json=body, headers=wrong).status_code == 401
        assert c.get("/v1/tasks").status_code == 401
        ok = {"Authorization": f"Bearer {KEY}"}
        assert c.post("/v1/tasks/diagnosis", json=body, headers=ok).status_code == 200
        document = c.get("/openapi.json").json()
        assert document["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"


def test_exposure_refuses_a_network_address_without_a_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("STRUCTKIT_API_KEY", raising=False)
    for host in ("0.0.0.0", "192.168.1.10", "example.org", "::"):
        with pytest.raises(ConfigurationError, match="without an API key"):
            Exposure.checked(host=host, port=8765)
    with pytest.raises(ConfigurationError, match="at least 16"):
        Exposure.checked(host="0.0.0.0", port=8765, api_key="short")
    assert Exposure.checked(host="0.0.0.0", port=8765, api_key=KEY).api_key == KEY
    for host in ("127.0.0.1", "::1", "localhost", "127.0.0.2"):
        assert Exposure.checked(host=host, port=8765).api_key is None


@pytest.mark.parametrize("command", ["serve", "mcp"])
def test_the_servers_refuse_to_start_on_a_network_address_without_a_key(command: str) -> None:
    env = {k: v for k, v in __import__("os").environ.items() if k != "STRUCTKIT_API_KEY"}
    done = subprocess.run(
        [sys.executable, "-m", "structkit.cli", command, "--host", "0.0.0.0", "--port", "0"],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    assert done.returncode == 2, done.stderr
    assert "refusing to listen on '0.0.0.0' without an API key" in done.stderr


def test_cors_is_closed_by_default_and_opens_to_named_origins() -> None:
    preflight = {
        "Origin": "http://evil.example",
        "Access-Control-Request-Method": "POST",
    }
    closed = create_app(_service(), Exposure.checked(host="127.0.0.1", port=0))
    with TestClient(closed) as c:
        response = c.options("/v1/tasks/diagnosis", headers=preflight)
        assert "access-control-allow-origin" not in response.headers
    opened = create_app(
        _service(),
        Exposure.checked(host="127.0.0.1", port=0),
        cors_origins=["http://localhost:3000"],
    )
    with TestClient(opened) as c:
        allowed = {**preflight, "Origin": "http://localhost:3000"}
        response = c.options("/v1/tasks/diagnosis", headers=allowed)
        assert response.headers["access-control-allow-origin"] == "http://localhost:3000"
        response = c.options("/v1/tasks/diagnosis", headers=preflight)
        assert "access-control-allow-origin" not in response.headers


def test_no_record_content_reaches_the_logs(
    client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    record = json.loads(_content("patient_record.json"))
    record["patient"] = {**record.get("patient", {}), "name": SECRET}
    for body in ({"content": json.dumps(record)}, {"content": "<x>" + SECRET, "kind": "xml"}):
        client.post("/v1/tasks/diagnosis", json=body)
    assert SECRET not in caplog.text


# -- the queue ----------------------------------------------------------------------------


class GatedEngine(structkit.FakeEngine):
    """Answers only when the test opens the gate, so requests pile up in the queue."""

    def __init__(self) -> None:
        super().__init__(lambda r: '{"answer": "x"}')
        self.gate = threading.Event()

    def generate(self, requests: Sequence[GenerationRequest]) -> list[structkit.Completion]:
        self.gate.wait(60)
        return super().generate(requests)


def _question_task() -> Any:
    """A one-question task, so each record is one engine request."""
    from pydantic import BaseModel, Field

    from structkit import Question, Task

    class Answer(BaseModel):
        answer: str = Field(max_length=8)

    def questions(record: Any, context: Any) -> list[Question]:
        schema = {"type": "object", "properties": {"answer": {"type": "string", "maxLength": 8}}}
        schema |= {"required": ["answer"], "additionalProperties": False}
        return [
            Question(key="q", messages=[{"role": "user", "content": "say x"}], json_schema=schema)
        ]

    return Task(
        name="queue_probe",
        output_model=Answer,
        questions=questions,
        assemble=lambda record, answers: {"answer": str(answers.values["q"]["answer"])},
    )


@pytest.fixture
def probe_task() -> Iterator[str]:
    from structkit._task import _REGISTRY

    structkit.register_task(_question_task(), replace=True)
    yield "queue_probe"
    _REGISTRY.pop("queue_probe", None)


def test_requests_that_arrive_together_share_one_engine_call(probe_task: str) -> None:
    engine = GatedEngine()
    service = ToolService(engine=engine, max_batch=8, batch_window_s=0.5).start()
    records = [
        service.load(structkit.toolserver.RecordInput(content=f"text {i}"), default_id=f"#{i}")
        for i in range(6)
    ]
    futures = [service.submit(probe_task, [r], [r.record_id], ToolOptions()) for r in records]
    engine.gate.set()
    outcomes = [f.result(30)[0] for f in futures]
    assert all(o.ok for o in outcomes) and [o.record_id for o in outcomes] == [
        f"#{i}" for i in range(6)
    ]
    assert len(engine.calls) == 1 and len(engine.calls[0]) == 6
    service.close()


def test_a_full_queue_refuses_with_retry_after_and_loses_no_accepted_request(
    probe_task: str,
) -> None:
    engine = GatedEngine()
    service = ToolService(engine=engine, max_queue=3, max_batch=1, batch_window_s=0.0).start()
    app = create_app(service, Exposure.checked(host="127.0.0.1", port=0))
    with TestClient(app) as c:

        def post(i: int) -> httpx.Response:
            return c.post(f"/v1/tasks/{probe_task}", json={"content": f"text {i}", "id": str(i)})

        with ThreadPoolExecutor(12) as pool:
            pending = [pool.submit(post, i) for i in range(12)]
            deadline = time.monotonic() + 30
            while (
                service.stats.accepted + service.stats.refused < 12 and time.monotonic() < deadline
            ):
                time.sleep(0.05)
            engine.gate.set()
            responses = [p.result(60) for p in pending]
    codes = sorted(r.status_code for r in responses)
    accepted = [r for r in responses if r.status_code == 200]
    refused = [r for r in responses if r.status_code == 429]
    assert len(accepted) + len(refused) == 12, codes
    assert 1 <= len(accepted) <= 4  # the one in the engine and the three the queue holds
    assert all(int(r.headers["retry-after"]) >= 1 for r in refused)
    assert all(r.json()["error"]["type"] == "ServiceBusyError" for r in refused)
    ids = sorted(r.json()["record_id"] for r in accepted)
    assert len(ids) == len(set(ids)) == service.stats.answered


def test_close_finishes_accepted_work_then_refuses(probe_task: str) -> None:
    engine = GatedEngine()
    service = ToolService(engine=engine, max_batch=1, batch_window_s=0.0).start()
    record = service.load(structkit.toolserver.RecordInput(content="text"), default_id="a")
    futures = [service.submit(probe_task, [record], [f"{i}"], ToolOptions()) for i in range(3)]
    closer = threading.Thread(target=service.close)
    closer.start()
    time.sleep(0.2)
    with pytest.raises(ServiceBusyError) as refused:
        service.submit(probe_task, [record], ["late"], ToolOptions())
    assert refused.value.closing
    engine.gate.set()
    closer.join(30)
    assert [f.result(1)[0].record_id for f in futures] == ["0", "1", "2"]


# -- --via --------------------------------------------------------------------------------


@pytest.fixture
def live_server() -> Iterator[str]:
    """The app on a real loopback socket (uvicorn in a thread)."""
    import uvicorn

    from structkit.testing import free_port

    port = free_port()
    app = create_app(_service(), Exposure.checked(host="127.0.0.1", port=port))
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/health").status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.05)
    yield url
    server.should_exit = True
    thread.join(30)


def test_the_cli_sends_its_record_via_a_running_server(
    live_server: str, capsys: pytest.CaptureFixture[str]
) -> None:
    from structkit.cli import main

    path = str(EXAMPLES / "patient_record.json")
    assert main(["diagnose", path, "--mode", "baseline", "--via", live_server]) == 0
    via = json.loads(capsys.readouterr().out)
    local = structkit.diagnose(path, mode="baseline").model_dump(mode="json")
    assert via == local  # the same answer as the in-process path
    assert main(["diagnose", path, "--mode", "nope", "--via", live_server]) == 1
    assert "ConfigurationError" in capsys.readouterr().err
    answer = run_via(live_server, "financials", EXAMPLES / "income_statement.csv",
                     options={"mode": "baseline"})  # fmt: skip
    structkit.Financials.model_validate(answer["result"])
