"""Batch jobs on Ray Data, on a Ray head this module starts on 127.0.0.1 (2 CPUs).

The executor's own behaviour (same lines and ids as the local executor, every input type,
resume, the typed errors) runs on the code-only baseline mode: no model. The fault test runs
real engine calls: 2 actors each holding the default llama.cpp engine on the packaged model, one
actor's process killed mid-job; every id must come out exactly once.
"""

from __future__ import annotations

import json
import os
import re
import signal
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from structkit import ConfigurationError, MissingExtraError
from structkit.batch import run_batch
from structkit.testing import PROBE, write_probe_records

from .conftest import ROOT

ray = pytest.importorskip("ray")  # the `ray` extra; scripts/setup.sh --test installs it
psutil = pytest.importorskip("psutil")  # a dependency of ray


@pytest.fixture(scope="module")
def cluster() -> Iterator[Any]:
    """A Ray head on 127.0.0.1 with this machine's 2 cores; workers import this checkout."""
    path = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p)
    ray.init(
        num_cpus=2,
        include_dashboard=False,
        _node_ip_address="127.0.0.1",
        log_to_driver=False,
        logging_level="WARNING",
        runtime_env={"env_vars": {"PYTHONPATH": path}},
    )
    yield ray
    ray.shutdown()


def _lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(raw) for raw in path.read_text().splitlines()]


def _without_audit(line: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in line.items() if k != "audit"}


def test_ray_lines_match_local_and_resume_skips_done_ids(cluster: Any, tmp_path: Path) -> None:
    source = tmp_path / "patients.jsonl"
    write_probe_records(source, 30, broken=True)
    local, remote = tmp_path / "local.jsonl", tmp_path / "ray.jsonl"
    options: dict[str, Any] = {"id_column": "id", "batch_size": 4, "progress": False}
    options["mode"] = "baseline"  # the code-only mode: this test is about the executor
    run_batch(PROBE, source, local, **options)
    summary = run_batch(PROBE, source, remote, executor="ray", ray_actors=2, **options)
    expected = {line["id"]: _without_audit(line) for line in _lines(local)}
    got = [_without_audit(line) for line in _lines(remote)]
    assert {line["id"]: line for line in got} == expected  # same ids, statuses, results, errors
    assert len(got) == len(expected) == 32
    assert (summary.ok, summary.failed, summary.skipped) == (30, 2, 0)
    assert {
        expected["patients.jsonl:31"]["error"]["type"],
        expected["pt-000#dup2"]["error"]["type"],
    } == {
        "RecordParseError",
        "DuplicateIdError",
    }

    kept = remote.read_text().splitlines(keepends=True)[:13]  # a job stopped after 13 lines
    remote.write_text("".join(kept) + '{"id": "pt-0')  # ... mid-way through the 14th
    summary = run_batch(PROBE, source, remote, executor="ray", ray_actors=1, **options)
    assert (summary.skipped, summary.ok + summary.failed) == (13, 19)
    ids = [line["id"] for line in _lines(remote)]
    assert sorted(ids) == sorted(expected) and len(ids) == len(set(ids))

    again = run_batch(PROBE, source, remote, executor="ray", **options)
    assert (again.ok, again.failed, again.skipped) == (0, 0, 32)
    assert len(_lines(remote)) == 32


def test_ray_reads_csv_parquet_and_folders_like_local(cluster: Any, tmp_path: Path) -> None:
    pd = pytest.importorskip("pandas")
    rows = [
        {"id": f"r{n}", "age": 40 + n, "sex": "female", "complaint": "headache"} for n in range(6)
    ]
    frame = pd.DataFrame(rows)
    frame.to_csv(tmp_path / "rows.csv", index=False)
    frame.astype(str).to_parquet(tmp_path / "rows.parquet")
    folder = tmp_path / "notes"
    (folder / "sub").mkdir(parents=True)
    for n, row in enumerate(rows[:3]):
        (folder / ("sub" if n else "") / f"p{n}.json").write_text(json.dumps(row))
    options: dict[str, Any] = {"batch_size": 2, "progress": False, "mode": "baseline"}
    for source, id_column in [("rows.csv", "id"), ("rows.parquet", None), ("notes", None)]:
        local, remote = tmp_path / f"{source}.local.jsonl", tmp_path / f"{source}.ray.jsonl"
        run_batch(PROBE, tmp_path / source, local, id_column=id_column, **options)
        run_batch(
            PROBE,
            tmp_path / source,
            remote,
            id_column=id_column,
            executor="ray",
            ray_actors=2,
            **options,
        )
        expected = sorted((_without_audit(line) for line in _lines(local)), key=str)
        assert sorted((_without_audit(line) for line in _lines(remote)), key=str) == expected
        assert all(line["status"] == "ok" for line in expected), source
    assert {line["id"] for line in _lines(tmp_path / "notes.ray.jsonl")} == {
        "p0.json",
        "sub/p1.json",
        "sub/p2.json",
    }


def test_ray_refuses_what_it_cannot_run(tmp_path: Path) -> None:
    source = tmp_path / "p.jsonl"
    write_probe_records(source, 2)
    out = tmp_path / "out.jsonl"
    with pytest.raises(ConfigurationError, match="unknown executor"):
        run_batch(PROBE, source, out, executor="spark")
    with pytest.raises(ConfigurationError, match="dry run"):
        run_batch(PROBE, source, out, executor="ray", dry_run=True)
    with pytest.raises(ConfigurationError, match="by name"):
        run_batch(PROBE, source, out, executor="ray", engine=object())  # type: ignore[typeddict-item]
    with pytest.raises(ConfigurationError, match="executor='ray'"):
        run_batch(PROBE, source, out, ray_address="127.0.0.1:6379")
    assert not out.exists()


def _engine_actor_pids() -> list[int]:
    """The engine actors' processes among this test process's own descendants (its Ray head)."""
    found = []
    for child in psutil.Process(os.getpid()).children(recursive=True):
        try:
            title = " ".join(child.cmdline())
        except psutil.Error:
            continue
        if "MapWorker(MapBatches(_EngineWorker))" in title:
            found.append(child.pid)
    return found


@pytest.mark.engine
def test_ray_job_with_an_actor_killed_midway_loses_and_repeats_nothing(
    cluster: Any, tmp_path: Path
) -> None:
    source = tmp_path / "patients.jsonl"
    ids = write_probe_records(source, 200)
    out = tmp_path / "out.jsonl"
    result: dict[str, Any] = {}

    def job() -> None:
        try:
            result["summary"] = run_batch(
                PROBE,
                source,
                out,
                id_column="id",
                batch_size=10,
                progress=False,
                executor="ray",
                ray_actors=2,
                ray_cpus_per_actor=1,
            )
        except BaseException as exc:  # re-raised below, in the test's thread
            result["error"] = exc

    worker = threading.Thread(target=job)
    worker.start()
    killed = None
    deadline = time.monotonic() + 240
    while worker.is_alive() and time.monotonic() < deadline:
        written = len(out.read_text().splitlines()) if out.exists() else 0
        pids = _engine_actor_pids()
        if killed is None and 30 <= written <= 150 and len(pids) == 2:
            killed = pids[0]
            os.kill(killed, signal.SIGKILL)  # the actor dies mid-job, engine and all
        time.sleep(0.2)
    worker.join(timeout=120)
    assert not worker.is_alive(), "the job did not finish"
    if "error" in result:
        raise result["error"]
    assert killed is not None, "the job ended before an actor could be killed mid-way"
    lines = _lines(out)
    got = [line["id"] for line in lines]
    assert len(lines) == 200
    assert len(set(got)) == 200  # 0 duplicates
    assert set(got) == set(ids)  # 0 lost
    assert result["summary"].ok + result["summary"].failed == 200
    # Every line is the engine's answer or a typed failure; the model was really asked.
    assert all(line["status"] in ("ok", "error") for line in lines)
    assert any(line["status"] == "ok" and line["result"]["painful"] for line in lines)


def test_ray_is_imported_only_when_a_job_runs_on_it() -> None:
    import subprocess
    import sys

    code = "import sys, structkit, structkit.batch, structkit.cli; print('ray' in sys.modules)"
    shown = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert shown.stdout.strip() == "False", shown.stderr


def test_a_missing_ray_is_a_typed_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    source = tmp_path / "p.jsonl"
    write_probe_records(source, 2)
    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` now raises ImportError
    with pytest.raises(MissingExtraError, match=r"structkit\[ray\]"):
        run_batch(PROBE, source, tmp_path / "out.jsonl", executor="ray")
    assert not (tmp_path / "out.jsonl").exists()


def test_one_module_imports_ray() -> None:
    importing = re.compile(r"^\s*(import ray\b|from ray\b)", re.M)
    modules = [
        path.relative_to(ROOT).as_posix()
        for path in (ROOT / "structkit").rglob("*.py")
        if importing.search(path.read_text())
    ]
    assert modules == ["structkit/batch/_ray.py"]
