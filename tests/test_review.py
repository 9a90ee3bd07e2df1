"""The review session and server without a browser: items and what they cite, decisions saved
durably and turned into gold that the eval harness scores, and the server's refusals."""

from __future__ import annotations

import http.client
import json
from pathlib import Path
from typing import Any

import pytest

from structkit import ConfigurationError, FakeEngine, run_batch
from structkit.cli import main
from structkit.evaluation import evaluate, load_dataset
from structkit.review import ReviewServer, ReviewSession, split_items
from structkit.review._server import safe_json

from .review_fixtures import ROOT, SCRIPT, contract_results, statement_results
from .schema_answers import respond


def request(
    server: ReviewServer,
    method: str,
    path: str,
    body: Any = None,
    headers: dict[str, str] | None = None,
) -> tuple[int, bytes]:
    port = int(server.url.rsplit(":", 1)[1].strip("/"))
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    data = None if body is None else json.dumps(body).encode()
    sent = {"Content-Type": "application/json"} if body is not None else {}
    connection.request(method, path, body=data, headers={**sent, **(headers or {})})
    response = connection.getresponse()
    return response.status, response.read()


def test_items_cite_by_the_provenance_conventions() -> None:
    result = {
        "clauses": [{"clause_type": "Parties", "text": "A", "start": 4, "end": 9}],
        "line_items": [
            {"metric": "revenue", "pointer": "row=3;col=2023", "value": "1"},
            {"metric": "net_income", "pointer": "row=9;col=2023", "mapped_by": "lexicon"},
        ],
        "differential": [{"condition": "x", "evidence_pointers": ["/entry/0/resource", "/a/@v"]}],
        "flags": [{"kind": "identity", "source": "table", "pointers": ["row=1;col=2022"]}],
        "summary": "chars=0-5 is a reference, /not/a/pointer is text",
        "ratios": [{"period": "2023", "net_margin": 0.1}],
    }
    items = {i.path: i for i in split_items(result, decoded=frozenset(result) - {"ratios"})}
    assert items["/clauses/0"].cites == ["chars=4-9"]
    assert items["/line_items/0"].cites == ["row=3;col=2023"]
    assert items["/differential/0"].cites == ["/entry/0/resource", "/a/@v"]
    assert items["/summary"].cites == []  # free text is not a citation
    assert items["/flags/0"].origin == "code"  # says it came from the table
    assert items["/ratios/0"].origin == "code"  # not in the decoding schema
    assert items["/line_items/0"].origin == "model"
    assert items["/line_items/1"].origin == "code"  # mapped by code, not the model


def test_statement_items_mark_code_computed_fields(tmp_path: Path) -> None:
    session = ReviewSession(statement_results(tmp_path))
    record = session.record(0)
    origins = {i["path"].split("/")[1]: i["origin"] for i in record["items"]}
    # The financials task places these statements' rows in code (mapped_by="lexicon").
    assert origins["line_items"] == "code"
    assert all(origins[name] == "code" for name in ("periods", "scale") if name in origins)
    cells = {p for row in record["source"]["sections"][0]["rows"] for p in (c["p"] for c in row)}
    cited = {c for i in record["items"] for c in i["cites"]}
    assert cited and cited <= cells  # every cited cell is a cell of the shown table


def test_items_say_who_decided_them_adapter_model_or_code(tmp_path: Path) -> None:
    """The default (learned) clauses mode badges the head's picks ``adapter`` and structure
    ``code``; a record is done when the adapter's items are decided (#25)."""
    source = tmp_path / "contracts"
    source.mkdir()
    text = (ROOT / "datasets" / "clauses" / "contract-01.txt").read_text(encoding="utf-8")
    (source / "contract-01.txt").write_text(text, encoding="utf-8")
    out = tmp_path / "clauses.jsonl"
    run_batch("clauses", source, out, engine=FakeEngine(respond), progress=False)
    session = ReviewSession(out)
    record = session.record(0)
    origins = {i["path"]: i["origin"] for i in record["items"]}
    assert set(origins.values()) == {"code", "adapter"}
    assert all(
        origins[i["path"]] == "code"
        for i in record["items"]
        if i["value"]["clause_type"] in ("Document Name", "Parties", "Agreement Date")
    )
    for path, origin in origins.items():
        if origin == "adapter":
            assert session.record(0)["review"] != "done"
            session.decide(record_id=record["id"], item=path, action="accept")
    assert session.record(0)["review"] == "done"
    (item,) = load_dataset(session.gold_path)  # code's items count as they are
    assert len(item.gold["spans"]) == len(origins)


def test_a_record_code_decided_alone_is_reviewed_item_by_item(tmp_path: Path) -> None:
    source = tmp_path / "contracts"
    source.mkdir()
    text = (ROOT / "datasets" / "clauses" / "contract-02.txt").read_text(encoding="utf-8")
    (source / "contract-02.txt").write_text(text, encoding="utf-8")
    out = tmp_path / "clauses.jsonl"
    run_batch("clauses", source, out, engine=FakeEngine(respond), progress=False, mode="baseline")
    session = ReviewSession(out)
    record = session.record(0)
    assert {i["origin"] for i in record["items"]} == {"code"}
    *first, last = (i["path"] for i in record["items"])
    for path in first:
        session.decide(record_id=record["id"], item=path, action="accept")
    assert session.record(0)["review"] == "partial"
    assert not session.gold_path.exists() or not session.gold_path.read_text().strip()
    session.decide(record_id=record["id"], item=last, action="accept")
    (item,) = load_dataset(session.gold_path)
    assert len(item.gold["spans"]) == len(record["items"])


def test_decisions_are_durable_and_become_gold_the_harness_scores(tmp_path: Path) -> None:
    results = contract_results(tmp_path, hostile=False)
    session = ReviewSession(results)
    record = session.record(0)
    first, second = (i["path"] for i in record["items"][:2])
    session.decide(record_id=record["id"], item=first, action="accept")
    assert not session.gold_path.exists() or not session.gold_path.read_text().strip()
    corrected = dict(record["items"][1]["value"], clause_type="Governing Law")
    session.decide(record_id=record["id"], item=second, action="correct", value=corrected)

    log = [json.loads(x) for x in session.decisions_path.read_text().splitlines()]
    assert [d["action"] for d in log] == ["accept", "correct"]
    reopened = ReviewSession(results)  # a new server process finds the decisions
    assert reopened.record(0)["review"] == "done"
    assert reopened.listing(review="done")["total"] == 1

    (item,) = load_dataset(session.gold_path)
    assert item.id == record["id"] and isinstance(item.input, Path) and item.input.is_file()
    spans = item.gold["spans"]
    assert [s["clause_type"] for s in spans] == ["Document Name", "Governing Law"]
    evaluation = evaluate("clauses", session.gold_path, engines=[FakeEngine(respond)], warmup=False)
    stat = evaluation.configs[0].stat("clauses_f1")
    assert stat is not None and 0.0 < stat.mean < 1.0  # one of two reviewed spans matches


def test_rejected_items_leave_the_gold(tmp_path: Path) -> None:
    session = ReviewSession(contract_results(tmp_path, hostile=False))
    record = session.record(1)
    for index, item in enumerate(record["items"]):
        action = "reject" if index == 0 else "accept"
        session.decide(record_id=record["id"], item=item["path"], action=action)
    (item,) = load_dataset(session.gold_path)
    assert len(item.gold["spans"]) == len(record["items"]) - 1


def test_bad_decisions_are_refused(tmp_path: Path) -> None:
    session = ReviewSession(contract_results(tmp_path, hostile=False))
    rid = session.record(0)["id"]
    with pytest.raises(ConfigurationError, match="no such item"):
        session.decide(record_id=rid, item="/nope/0", action="accept")
    with pytest.raises(ConfigurationError, match="no such record"):
        session.decide(record_id="no-such-id", item="/clauses/0", action="accept")
    with pytest.raises(ConfigurationError, match="action must be one of"):
        session.decide(record_id=rid, item="/clauses/0", action="delete")


def test_server_refuses_paths_outside_hosts_and_forms(tmp_path: Path) -> None:
    (tmp_path / "secret.txt").write_text("not for the reviewer")
    work = tmp_path / "work"
    work.mkdir()
    server = ReviewServer(ReviewSession(contract_results(work)), port=0).start()
    try:
        assert server.url.startswith("http://127.0.0.1:")  # loopback only, never 0.0.0.0
        assert request(server, "GET", "/file/contracts/contract-01.txt")[0] == 200
        for path in (
            "/file/../secret.txt",
            "/file/%2e%2e/secret.txt",
            "/file/" + str(tmp_path / "secret.txt"),
            "/file//etc/passwd",
            "/file/contracts/../../secret.txt",
        ):
            status, body = request(server, "GET", path)
            assert status == 403 and b"not for the reviewer" not in body, path
        assert request(server, "GET", "/", headers={"Host": "evil.example:80"})[0] == 403
        status, _ = request(server, "GET", "/api/record/0")
        assert status == 200
        form = {"Content-Type": "application/x-www-form-urlencoded"}
        decision = {"id": "contract-01.txt", "item": "/clauses/0", "action": "accept"}
        status, _ = request(server, "POST", "/api/decision", decision, headers=form)
        assert status == 415
        assert request(server, "POST", "/api/decision", decision)[0] == 200
        _, page = request(server, "GET", "/")
        assert b'<script src="/app.js"></script>' in page
    finally:
        server.close()


def test_a_record_id_cannot_reach_outside_its_source_folder(tmp_path: Path) -> None:
    results = contract_results(tmp_path, hostile=False)
    (tmp_path / "outside.txt").write_text("outside")
    line = json.loads(results.read_text().splitlines()[0])
    line["id"] = "../outside.txt"
    with results.open("a") as handle:
        handle.write(json.dumps(line) + "\n")
    session = ReviewSession(results)
    shown = session.record(session.index["../outside.txt"])
    assert shown["source"]["kind"] == "missing" and "outside" not in json.dumps(shown["source"])


def test_static_page_embeds_record_text_as_inert_json(tmp_path: Path) -> None:
    results = contract_results(tmp_path)
    out = tmp_path / "review.html"
    assert main(["review", "--static", str(results), "--out", str(out)]) == 0
    page = out.read_text(encoding="utf-8")
    assert SCRIPT not in page and "document.title='pwned'" in page  # there, but escaped
    assert page.count("<script") == 2  # the data block and the app, nothing from the records
    assert "Content-Security-Policy" in page
    assert "</script>" not in safe_json({"x": "</script><!--"})


def many(results: Path, count: int) -> Path:
    """A results file of ``count`` lines made from one real line: alternate errors, ids unique."""
    line = json.loads(results.read_text().splitlines()[0])
    out = results.with_name("many.jsonl")
    with out.open("w") as handle:
        for n in range(count):
            copy = dict(line, id=f"r{n:05d}")
            if n % 3 == 0:
                copy.update(
                    status="error",
                    result=None,
                    error={"type": "OutputError", "message": "no valid answer"},
                )
            handle.write(json.dumps(copy) + "\n")
    return out


def test_thousands_of_records_page_and_filter(tmp_path: Path) -> None:
    session = ReviewSession(many(contract_results(tmp_path, hostile=False), 3000))
    page = session.listing(offset=2950, limit=50)
    assert page["total"] == 3000 and len(page["rows"]) == 50
    assert page["rows"][-1]["id"] == "r02999"
    errors = session.listing(status="error", limit=10)
    assert errors["total"] == 1000 and all(r["status"] == "error" for r in errors["rows"])
    assert session.listing(flag="OutputError")["total"] == 1000
    assert session.listing(task="clauses")["total"] == 3000
    assert session.listing(review="todo")["total"] == 3000
    assert session.facets()["status"] == ["error", "ok"]


def test_fhir_and_ccda_citations_resolve_to_shown_fields(tmp_path: Path) -> None:
    from structkit import run_batch

    source = tmp_path / "records"
    source.mkdir()
    for name in ("fhir_bundle.json", "ccda_discharge.xml", "patient_record.json"):
        (source / name).write_bytes((ROOT / "examples" / name).read_bytes())
    out = tmp_path / "dx.jsonl"
    run_batch("diagnosis", source, out, engine=FakeEngine(respond), progress=False)
    session = ReviewSession(out)
    cited = 0
    for number in range(len(session.entries)):
        record = session.record(number)
        shown = [v["p"] for s in record["source"]["sections"] for v in s["values"]]
        shown += [c["p"] for s in record["source"]["sections"] for row in s["rows"] for c in row]
        for item in record["items"]:
            for cite in item["cites"]:
                cited += 1
                covers = [p for p in shown if p == cite or p.startswith((cite + "/", cite + "@"))]
                assert covers, (record["id"], cite)
    assert cited >= 3


def test_a_reviewed_statement_scores_as_financials_gold(tmp_path: Path) -> None:
    session = ReviewSession(statement_results(tmp_path))
    record = session.record(0)
    model_items = list(record["items"])  # code-placed items are reviewed like the model's
    line_items = [i for i in model_items if i["path"].startswith("/line_items/")]
    assert line_items
    fixed = dict(line_items[0]["value"], value="(1,234)")  # the reviewer reads another number
    for item in model_items:
        if item is line_items[0]:
            session.decide(record_id=record["id"], item=item["path"], action="correct", value=fixed)
        else:
            session.decide(record_id=record["id"], item=item["path"], action="accept")
    (gold,) = load_dataset(session.gold_path)
    metric, period = fixed["metric"], fixed["period"]
    assert gold.gold["values"][metric][period] == -1234.0
    evaluation = evaluate("financials", [gold], engines=[FakeEngine(respond)], warmup=False)
    value_acc = evaluation.configs[0].stat("value_acc")
    assert value_acc is not None and 0.0 <= value_acc.mean < 1.0  # the fake misses the fix
