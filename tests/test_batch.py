"""Batch jobs on the fake engine: sources, broken rows, resume, retries, exports, progress."""

from __future__ import annotations

import csv
import io
import json
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

import structkit
from structkit import BatchSummary, Completion, FakeEngine, GenerationRequest, _progress, run_batch
from structkit.adapters._ids import IdSet
from structkit.batch import neutralize_formulas, read_results
from structkit.cli import main
from structkit.testing import freeform_diagnosis  # noqa: F401  (registers the classic task the batch tests run)

from .conftest import ROOT, valid_diagnosis

SECRET = "Zebulon-Quartermaine"  # record content that must never reach progress output


def respond(request: GenerationRequest) -> str | Completion:
    """A valid diagnosis citing the record's first label; markers in the record steer it."""
    prompt = request.messages[0]["content"]
    if "BOOM" in prompt:
        raise RuntimeError(f"engine crashed on {prompt}")  # content in the message, on purpose
    if "INVALID" in prompt:
        return "not json"
    assert request.json_schema is not None
    evidence = request.json_schema["$defs"]["DifferentialItem"]["properties"]["evidence"]
    label = evidence["items"].get("enum", ["age"])[:1]
    summary = "=HYPERLINK(1)" if "FORMULA" in prompt else "Chest pain in an older adult."
    item = {"condition": "Angina", "evidence": label, "likelihood": 0.6, "rationale": "pain"}
    return json.dumps(valid_diagnosis(summary=summary, differential=[item]))


def lines_of(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def write_csv(path: Path, rows: list[list[str]]) -> Path:
    with open(path, "w", newline="") as handle:
        csv.writer(handle).writerows(rows)
    return path


def patients_csv(path: Path, n: int = 6) -> Path:
    rows = [["pid", "age", "complaint"]]
    rows += [[f"p{i}", str(40 + i), f"chest pain {SECRET}"] for i in range(n)]
    return write_csv(path, rows)


def run(source: Any, out: Path, engine: FakeEngine | None = None, **kw: Any) -> BatchSummary:
    kw.setdefault("progress", False)
    return run_batch("diagnosis_freeform", source, out, engine=engine or FakeEngine(respond), **kw)


# --------------------------------------------------------------------------- sources


def test_csv_with_broken_rows_completes_and_accounts_for_every_row(tmp_path):
    source = tmp_path / "in.csv"
    source.write_text(
        "pid,age,complaint\n"
        "p1,50,chest pain\n"
        "p2,61,INVALID\n"  # the fake model answers this one with invalid JSON
        "p3,70\n"  # ragged: too few fields
        "p1,44,again\n"  # duplicate id
        "p5,30,fine\n"
        "p6,1,2,3,4\n"  # ragged: too many fields
    )
    out = tmp_path / "out.jsonl"
    summary = run(source, out, id_column="pid", batch_size=2)
    lines = lines_of(out)
    ids = [line["id"] for line in lines]
    assert len(ids) == len(set(ids)) == 6 == summary.total  # one line per input row
    status = {line["id"]: line for line in lines}
    assert status["p1"]["status"] == "ok" and status["p5"]["status"] == "ok"
    assert status["p2"]["error"]["type"] == "OutputParseError"
    assert status["p1#dup2"]["error"]["type"] == "DuplicateIdError"
    broken = [
        line for line in lines if line["error"] and line["error"]["type"] == "RecordParseError"
    ]
    assert len(broken) == 2  # the two ragged rows, under content-hash ids
    assert (summary.ok, summary.failed, summary.skipped) == (2, 4, 0)
    assert all(line["result"] is None for line in lines if line["status"] == "error")
    assert status["p1"]["attempts"] == 1 and status["p2"]["attempts"] == 2


def test_jsonl_with_a_malformed_line(tmp_path):
    source = tmp_path / "p.jsonl"
    source.write_text('{"id": "a", "age": 50}\n{"id": "b", "age": \n\n{"id": "c", "age": 70}\n')
    out = tmp_path / "out.jsonl"
    summary = run(source, out, id_column="id")
    lines = lines_of(out)
    assert [line["id"] for line in lines] == ["a", "p.jsonl:2", "c"]
    assert [line["status"] for line in lines] == ["ok", "error", "ok"]
    assert lines[1]["error"]["type"] == "RecordParseError"
    assert (summary.ok, summary.failed) == (2, 1)


def test_a_source_that_breaks_off_keeps_what_was_read(tmp_path):
    source = tmp_path / "p.jsonl"
    good = b"".join(b'{"age": %d, "note": "%s"}\n' % (n, b"x" * 60) for n in range(300))
    source.write_bytes(good + b'{"age": "\xff"}\n{"age": 70}\n')  # undecodable line 301
    out = tmp_path / "out.jsonl"
    with pytest.raises(structkit.InputError, match="not UTF-8"):
        run(source, out, batch_size=64)
    lines = lines_of(out)  # what was decoded before the bad block is done, not dropped
    assert len(lines) >= 64 and {line["status"] for line in lines} == {"ok"}


def test_folder_source_ids_are_relative_paths(tmp_path):
    folder = tmp_path / "records"
    (folder / "sub").mkdir(parents=True)
    (folder / "b.json").write_text('{"age": 50, "complaint": "chest pain"}')
    (folder / "sub" / "a.xml").write_text("<patient><age>61</age></patient>")
    (folder / "sub" / "note.txt").write_text("Chest pain since this morning.\n\nNo fever.")
    (folder / "broken.json").write_text("{nope")
    (folder / "ignored.bin").write_text("x")
    (folder / ".hidden.json").write_text("{}")
    out = folder / "out.jsonl"  # inside the folder: never read as input
    summary = run(folder, out, export=folder / "table.csv")
    assert (folder / "table.csv").exists()
    assert [line["id"] for line in lines_of(out)] == [
        "b.json",
        "broken.json",
        "sub/a.xml",
        "sub/note.txt",
    ]
    assert (summary.ok, summary.failed) == (3, 1)
    again = run(folder, out, export=folder / "table.csv")  # nor is the export
    assert (again.skipped, again.total) == (4, 4)


def test_dataframe_source_with_and_without_id_column(tmp_path):
    frame = pd.DataFrame({"pid": ["x", "y", "x"], "age": [50, 61, 70]})
    out = tmp_path / "out.jsonl"
    run(frame, out, id_column="pid")
    lines = lines_of(out)
    assert [line["id"] for line in lines] == ["x", "y", "x#dup2"]
    pointers = lines[1]["result"]["differential"][0]["pointers"]
    assert pointers and all(p.startswith("row=2;") for p in pointers)  # the frame's own row
    ids = [line["id"] for line in lines_of(run(frame, tmp_path / "hashed.jsonl").output)]
    assert len(set(ids)) == 3 and all(len(i) == 16 for i in ids)
    assert ids == [line["id"] for line in lines_of(run(frame, tmp_path / "again.jsonl").output)]


def test_group_by_makes_one_record_per_entity(tmp_path):
    source = write_csv(
        tmp_path / "labs.csv",
        [["pid", "test", "value"], ["a", "hb", "12"], ["a", "crp", "40"], ["b", "hb", "9"]],
    )
    out = tmp_path / "out.jsonl"
    summary = run(source, out, group_by="pid")
    assert [line["id"] for line in lines_of(out)] == ["a", "b"] and summary.ok == 2


def test_bad_options_are_refused_before_anything_runs(tmp_path):
    source = patients_csv(tmp_path / "in.csv")
    engine = FakeEngine(respond)
    with pytest.raises(structkit.ConfigurationError, match="xlsx"):
        run(source, tmp_path / "o.jsonl", engine, export=tmp_path / "o.xlsx")
    with pytest.raises(structkit.ConfigurationError, match="batch_size"):
        run(source, tmp_path / "o.jsonl", engine, batch_size=0)
    with pytest.raises(structkit.ConfigurationError, match="not a column"):
        run(source, tmp_path / "o.jsonl", engine, id_column="nope")
    with pytest.raises(structkit.ConfigurationError, match="no such input"):
        run(tmp_path / "missing.csv", tmp_path / "o.jsonl", engine)
    with pytest.raises(structkit.ConfigurationError, match="group_by"):
        run(pd.DataFrame({"a": [1]}), tmp_path / "o.jsonl", engine, group_by="a")
    assert engine.calls == []


# --------------------------------------------------------------------------- failures, resume


def test_an_engine_exception_fails_its_chunk_only(tmp_path, caplog):
    rows = [["pid", "complaint"]] + [[f"p{i}", "BOOM" if i == 2 else "pain"] for i in range(6)]
    source = write_csv(tmp_path / "in.csv", rows)
    out = tmp_path / "out.jsonl"
    summary = run(source, out, id_column="pid", batch_size=2)
    lines = lines_of(out)
    assert [line["status"] for line in lines] == ["ok", "ok", "error", "error", "ok", "ok"]
    assert {lines[2]["error"]["type"], lines[3]["error"]["type"]} == {"EngineRequestError"}
    assert "BOOM" not in out.read_text() and "BOOM" not in caplog.text
    assert (summary.ok, summary.failed) == (4, 2)


def test_resume_after_a_crash_drops_the_partial_line_and_loses_nothing(tmp_path):
    source = patients_csv(tmp_path / "in.csv", n=10)
    full = tmp_path / "full.jsonl"
    run(source, full, id_column="pid")
    finished = full.read_text().splitlines(keepends=True)
    out = tmp_path / "out.jsonl"
    out.write_text("".join(finished[:4]) + finished[4][:25])  # a crash in the middle of line 5
    engine = FakeEngine(respond)
    summary = run(source, out, engine, id_column="pid", batch_size=4)
    assert (summary.skipped, summary.ok, summary.total) == (4, 6, 10)
    assert sum(len(call) for call in engine.calls) == 6  # only the unfinished records
    lines = lines_of(out)  # every line parses: the partial one is gone
    assert sorted(line["id"] for line in lines) == sorted(f"p{i}" for i in range(10))


_SLOW_JOB = """
import sys, time
from structkit import FakeEngine, run_batch
from tests.test_batch import respond

def slow(request):
    time.sleep(0.02)
    return respond(request)

run_batch("diagnosis_freeform", sys.argv[1], sys.argv[2], id_column="pid", batch_size=3,
          engine=FakeEngine(slow), progress=False)
"""


def test_sigkill_mid_job_then_rerun_loses_and_duplicates_nothing(tmp_path):
    source = patients_csv(tmp_path / "in.csv", n=300)
    out = tmp_path / "out.jsonl"
    command = [sys.executable, "-c", _SLOW_JOB, str(source), str(out)]
    job = subprocess.Popen(command, cwd=ROOT)
    try:
        deadline = time.monotonic() + 120
        while not out.exists() or out.read_bytes().count(b"\n") < 30:
            assert job.poll() is None and time.monotonic() < deadline
            time.sleep(0.01)
    finally:
        job.send_signal(signal.SIGKILL)
        job.wait(timeout=60)
    done_before = out.read_bytes().count(b"\n")
    assert 30 <= done_before < 300
    subprocess.run(command, cwd=ROOT, check=True, timeout=300)
    ids = [line["id"] for line in lines_of(out)]
    assert sorted(ids) == sorted(f"p{i}" for i in range(300))  # none lost, none twice


def test_rerunning_a_finished_job_does_nothing(tmp_path):
    source = patients_csv(tmp_path / "in.csv")
    out = tmp_path / "out.jsonl"
    run(source, out)
    before = out.read_bytes()
    engine = FakeEngine(respond)
    summary = run(source, out, engine)
    assert engine.calls == [] and out.read_bytes() == before
    assert (summary.skipped, summary.total, summary.ok, summary.failed) == (6, 6, 0, 0)


def test_retry_failed_redoes_errors_and_the_last_line_wins(tmp_path):
    source = write_csv(tmp_path / "in.csv", [["pid", "c"], ["a", "pain"], ["b", "INVALID"]])
    out = tmp_path / "out.jsonl"
    run(source, out, id_column="pid")
    again = run(source, out, id_column="pid")
    assert (again.skipped, again.failed_earlier) == (2, 1)
    fixed = FakeEngine(lambda r: respond(r) if "INVALID" not in str(r.messages) else "{}")
    run(source, out, fixed, id_column="pid", retry_failed=True)  # still invalid: "{}"
    healed = FakeEngine(
        lambda r: json.dumps(valid_diagnosis(differential=[], insufficient_information=True))
    )
    summary = run(source, out, healed, id_column="pid", retry_failed=True)
    assert (summary.ok, summary.skipped, summary.failed_earlier) == (1, 1, 0)
    assert [line["id"] for line in lines_of(out)] == ["a", "b", "b", "b"]
    assert {k: v["status"] for k, v in read_results(out).items()} == {"a": "ok", "b": "ok"}
    assert len(healed.calls) == 1 and len(fixed.calls[0]) == 1


def test_a_foreign_or_edited_output_is_refused(tmp_path):
    source = patients_csv(tmp_path / "in.csv")
    out = tmp_path / "out.jsonl"
    out.write_text("this is not json\n")
    with pytest.raises(structkit.ConfigurationError, match="line 1"):
        run(source, out)
    assert out.read_text() == "this is not json\n"


# --------------------------------------------------------------------------- exports


def test_neutralize_formulas_quotes_text_not_numbers():
    frame = pd.DataFrame(
        {
            "text": ["=1+1", "-x", "@SUM(A1)", "\tlead", "\rcr", "+cmd", "plain", "-5", None],
            "numbers": ["-5", "+3", "2.5e3", "-0.1", "7", "8", "9", "10", None],
            "ints": [-5, 2, 3, 4, 5, 6, 7, 8, None],
        },
        dtype=object,
    )
    safe = neutralize_formulas(frame)
    assert safe["text"].tolist()[:8] == [
        "'=1+1",
        "'-x",
        "'@SUM(A1)",
        "'\tlead",
        "'\rcr",
        "'+cmd",
        "plain",
        "'-5",
    ]
    assert safe["numbers"].tolist()[:8] == frame["numbers"].tolist()[:8]
    assert safe["ints"].tolist()[:8] == [-5, 2, 3, 4, 5, 6, 7, 8]


def test_csv_export_is_flat_neutralized_and_uses_the_last_line(tmp_path):
    source = write_csv(
        tmp_path / "in.csv", [["pid", "c"], ["=evil", "FORMULA"], ["ok", "pain"], ["x", "INVALID"]]
    )
    out, table = tmp_path / "out.jsonl", tmp_path / "results.csv"
    run(source, out, id_column="pid", export=table)
    rows = list(csv.DictReader(table.open(newline="")))
    assert [r["id"] for r in rows] == ["'=evil", "ok", "x"]
    assert rows[0]["result.summary"] == "'=HYPERLINK(1)"
    assert rows[1]["result.summary"] == "Chest pain in an older adult."
    assert rows[0]["attempts"] == "1" and rows[2]["error.type"] == "OutputParseError"
    assert json.loads(rows[1]["result.differential"])[0]["condition"] == "Angina"
    assert not list(tmp_path.glob(".results.csv.*"))  # no temp file left behind


def test_dataframe_export_and_missing_pyarrow(tmp_path, monkeypatch):
    source = patients_csv(tmp_path / "in.csv", n=3)
    summary = run(source, tmp_path / "out.jsonl", id_column="pid", export="dataframe")
    assert summary.dataframe is not None
    assert summary.dataframe["id"].tolist() == ["p0", "p1", "p2"]
    assert "result.summary" in summary.dataframe.columns
    import importlib.util

    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    with pytest.raises(structkit.ConfigurationError, match="pyarrow"):
        run(source, tmp_path / "o2.jsonl", export=tmp_path / "r.parquet")


def test_parquet_export_when_pyarrow_is_installed(tmp_path):
    pytest.importorskip("pyarrow")
    source = write_csv(tmp_path / "in.csv", [["pid", "c"], ["a", "pain"], ["b", "INVALID"]])
    run(source, tmp_path / "out.jsonl", id_column="pid", export=tmp_path / "r.parquet")
    table = pd.read_parquet(tmp_path / "r.parquet")
    assert table["id"].tolist() == ["a", "b"] and table["attempts"].tolist() == [1, 2]


# --------------------------------------------------------------------------- progress, dry run


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_shows_counts_never_content(tmp_path, monkeypatch):
    source = patients_csv(tmp_path / "in.csv", n=8)
    monkeypatch.setattr(_progress, "LOG_EVERY_SECONDS", 1e-9)
    monkeypatch.setattr(_progress, "_TTY_REFRESH", 0.0)
    log, bar = io.StringIO(), _Terminal()
    run(source, tmp_path / "a.jsonl", id_column="pid", batch_size=2, progress=log)
    run(source, tmp_path / "b.jsonl", id_column="pid", batch_size=2, progress=bar)
    assert "records/s" in log.getvalue() and "\r" not in log.getvalue()
    assert log.getvalue().count("\n") >= 4  # one line per chunk at this interval
    assert bar.getvalue().startswith("\r") and bar.getvalue().endswith("\n")
    assert "8/~8 records (100%)" in bar.getvalue()
    for text in (log.getvalue(), bar.getvalue()):
        assert SECRET not in text and "chest pain" not in text and "p3" not in text


def test_dry_run_counts_tokens_without_the_engine(tmp_path):
    source = patients_csv(tmp_path / "in.csv", n=4)
    engine = FakeEngine(respond)
    out = tmp_path / "dry.jsonl"
    summary = run(source, out, engine, dry_run=True, count_tokens=len, id_column="pid")
    lines = lines_of(out)
    assert engine.calls == [] and summary.ok == 4
    assert all(line["status"] == "dry-run" and line["prompt_tokens"] > 100 for line in lines)
    by_engine = run(source, out, engine, dry_run=True, id_column="pid")  # a dry run starts afresh
    counted = [line["prompt_tokens"] for line in lines_of(out)]
    assert by_engine.total == 4 and engine.calls == []
    assert all(0 < tokens < lines[0]["prompt_tokens"] for tokens in counted)  # ~4 chars/token
    real = tmp_path / "real.jsonl"
    run(source, real, id_column="pid")
    with pytest.raises(structkit.ConfigurationError, match="holds results"):
        run(source, real, dry_run=True, count_tokens=len)
    with pytest.raises(structkit.ConfigurationError, match="dry run"):
        run(source, out)


_MEASURE = """
import json, resource, sys, time
from structkit import run_batch
import structkit.testing.freeform_diagnosis  # registers the classic task
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
start = time.perf_counter()
summary = run_batch("diagnosis_freeform", sys.argv[1], sys.argv[2], id_column="pid", dry_run=True,
                    count_tokens=len, progress=False, batch_size=256)
seconds = time.perf_counter() - start
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"rows": summary.ok, "seconds": seconds, "growth_kib": peak - base}))
"""


def test_dry_run_streams_a_big_csv_in_bounded_memory(tmp_path):
    source = tmp_path / "big.csv"
    notes = ("lorem ipsum dolor sit amet, consectetur adipiscing elit " * 25)[:1200]
    with open(source, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["pid", "age", "complaint", "notes"])
        writer.writerows([f"p{i}", 20 + i % 70, "chest pain", notes] for i in range(100_000))
    size = source.stat().st_size
    # In a fresh process, so the peak RSS is this job's (tracemalloc slows it down ~5x).
    done = subprocess.run(
        [sys.executable, "-c", _MEASURE, str(source), str(tmp_path / "dry.jsonl")],
        capture_output=True,
        text=True,
        check=True,
        timeout=600,
    )
    measured = json.loads(done.stdout)
    growth = measured["growth_kib"] * 1024
    assert measured["rows"] == 100_000
    assert growth < size / 4, f"RSS grew {growth / 1e6:.0f} MB for a {size / 1e6:.0f} MB file"


def test_id_set_keeps_every_digest_across_merges(monkeypatch):
    monkeypatch.setattr(IdSet, "_FLUSH", 7)
    ids = IdSet()
    digests = [bytes([i % 251]) * 15 + b"\0" for i in range(40)] + [b"\0" * 16, b"\1" * 16]
    for digest in digests:
        ids.add(digest)
    assert all(d in ids for d in digests)
    assert b"\2" * 16 not in ids and b"\0" * 15 + b"\1" not in ids


# --------------------------------------------------------------------------- CLI


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """The CLI in this process (no engine starts in these cases): exit code, stdout, stderr."""
    try:
        code = main(list(args))
    except SystemExit as exc:  # argparse: usage errors and --help
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_batch_usage_errors_exit_2(tmp_path, capsys):
    source, out = str(patients_csv(tmp_path / "in.csv")), str(tmp_path / "o.jsonl")
    assert cli(capsys, "batch", "diagnosis_freeform", source)[0] == 2  # --out is required
    code, _, err = cli(
        capsys, "batch", "diagnosis_freeform", source, "--out", out, "--export", "x.xlsx"
    )
    assert code == 2 and "xlsx" in err and SECRET not in err
    code, _, err = cli(capsys, "batch", "nope", source, "--out", out)
    assert code == 2 and "no task named" in err
    assert (
        cli(capsys, "batch", "diagnosis_freeform", source, "--out", out, "--batch-size", "0")[0]
        == 2
    )
    code, text, _ = cli(capsys, "batch", "--help")
    assert code == 0 and "--retry-failed" in text and "last one wins" in text
    assert "structkit batch" in cli(capsys, "--help")[1]
    assert not Path(out).exists()


def test_cli_batch_on_a_finished_job_reports_and_exits_by_failures(tmp_path, capsys):
    source = write_csv(tmp_path / "in.csv", [["pid", "c"], ["a", "pain"], ["b", "INVALID"]])
    out = tmp_path / "out.jsonl"
    run(source, out, id_column="pid")
    code, text, err = cli(
        capsys, "batch", "diagnosis_freeform", str(source), "--out", str(out), "--id-column", "pid"
    )
    assert code == 1  # nothing left to do, but one record's line is an error
    assert "0 ok, 0 failed, 2 skipped (1 failed earlier), 2 total" in err
    assert text == ""
    before = out.read_bytes()
    code, _, err = cli(
        capsys,
        "batch",
        "diagnosis_freeform",
        str(source),
        "--out",
        str(out),
        "--id-column",
        "pid",
        "--dry-run",
    )
    assert code == 2 and "holds results" in err  # a dry run never overwrites results
    assert out.read_bytes() == before


def test_default_engine_is_chosen_with_the_records_left_to_run(tmp_path, monkeypatch):
    from structkit.engines import _select

    sizes: list[int | None] = []

    def engine_named(requested: Any, model: Any, *, records: int | None = None) -> FakeEngine:
        sizes.append(records)
        return FakeEngine(respond)

    monkeypatch.delenv("STRUCTKIT_SERVER_URL", raising=False)
    monkeypatch.setattr(_select, "engine_named", engine_named)
    first, out = patients_csv(tmp_path / "first.csv", n=2), tmp_path / "out.jsonl"
    run_batch("diagnosis_freeform", first, out, progress=False)
    run_batch("diagnosis_freeform", patients_csv(tmp_path / "all.csv", n=6), out, progress=False)
    assert sizes == [2, 4]  # resumed: the two finished rows are not counted
    structkit.run("diagnosis_freeform", [{"age": 1}, {"age": 2}, {"age": 3}])
    assert sizes[-1] == 3
