"""A batch job killed with SIGKILL mid-run and run again loses nothing and duplicates nothing.

Runs the real CLI on the real default model in a subprocess (its own engine start, 1-3 min).
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from .conftest import ROOT

pytestmark = pytest.mark.engine

RECORDS = 12  # enough to be killed mid-job at --batch-size 4; each engine start costs ~1 min
FIRST_LINE_TIMEOUT = 900  # the engine's cold start is 1-3 minutes on 2 CPU cores
RUN_TIMEOUT = 1800


def _patients(path: Path) -> list[str]:
    complaints = ["chest pain", "shortness of breath", "fever and cough", "headache"]
    ids = [f"pt-{n:03d}" for n in range(RECORDS)]
    with open(path, "w") as handle:
        for n, pid in enumerate(ids):
            record = {
                "id": pid,
                "age": 30 + n * 2,
                "sex": "female" if n % 2 else "male",
                "complaint": complaints[n % len(complaints)],
                "vitals": {"heart_rate": 70 + n, "temperature_c": 36.8 + (n % 3) / 2},
            }
            handle.write(json.dumps(record) + "\n")
    return [f"{path.name}:{n + 1}" for n in range(RECORDS)]  # ids are FILE:LINE by default


def _command(source: Path, out: Path) -> list[str]:
    return [
        sys.executable,
        "-m",
        "structkit.cli",
        "batch",
        "diagnosis",
        str(source),
        "--out",
        str(out),
        "--batch-size",
        "4",
        "--mode",
        "model",  # asks the engine: slow enough to be killed mid-job
        "--quiet",
    ]


def _complete_lines(path: Path) -> int:
    if not path.exists():
        return 0
    return path.read_bytes().count(b"\n")


def test_sigkill_mid_job_then_rerun_loses_and_duplicates_nothing(tmp_path):
    source, out = tmp_path / "patients.jsonl", tmp_path / "out.jsonl"
    expected = _patients(source)
    first = subprocess.Popen(
        _command(source, out),
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # its own process group: the engine's workers die with it
    )
    try:
        deadline = time.monotonic() + FIRST_LINE_TIMEOUT
        while _complete_lines(out) < 1:
            assert first.poll() is None, "the job ended before writing anything"
            assert time.monotonic() < deadline, "no output line within the timeout"
            time.sleep(0.5)
        time.sleep(random.uniform(0.0, 20.0))  # land anywhere: between chunks or inside one
    finally:
        if first.poll() is None:
            os.killpg(first.pid, signal.SIGKILL)
        first.wait(timeout=60)
    written_before = _complete_lines(out)

    second = subprocess.run(
        _command(source, out), cwd=ROOT, capture_output=True, text=True, timeout=RUN_TIMEOUT
    )
    assert second.returncode in (0, 1), second.stderr[-2000:]
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    ids = [line["id"] for line in lines]
    assert len(ids) == len(set(ids)), "duplicate ids after the rerun"
    assert sorted(ids) == sorted(expected) and len(lines) == RECORDS
    assert all(line["status"] in ("ok", "error") for line in lines)
    assert f", {min(written_before, RECORDS)} skipped" in second.stderr  # the finished lines
