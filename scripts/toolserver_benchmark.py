"""Benchmark the tool server: warm against cold, and a bounded load run (loopback only).

    .venv/bin/python scripts/toolserver_benchmark.py [--requests 200 --clients 20]

Three parts, in one run on one host (printed first):

1. **Warm vs cold, one record.** ``structkit diagnose examples/patient_record.json`` as a fresh
   process (engine start included: the cold CLI path), then the same command with ``--via`` a
   running ``structkit serve`` on the same engine (llama.cpp: the default for one record).
2. **Warm vLLM server vs the cold llama.cpp CLI**, on the engines benchmark's records (distinct
   real records of datasets/diagnosis_real that each reach the model): records/s of one
   ``structkit diagnose FILE`` process per record, against the same records sent at once to a
   ``structkit serve --engine vllm`` whose engine is already up.
3. **Load**: ``--requests`` requests from ``--clients`` concurrent clients (each sends its share
   one after another, never retrying) against that vLLM server started with ``--max-queue``
   small enough that the bound bites: every accepted request must be answered exactly once and
   the rest refused with 429; the peak RSS of the server's process tree is printed. Beside it the
   same records through ``structkit batch`` on the same engine.

Every figure is wall-clock seconds on this host; mean ± std where a step repeats.
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))

from bench_engines import host_line  # noqa: E402
from benchmark import _asking_files  # noqa: E402

PATIENT = ROOT / "examples" / "patient_record.json"
CLI = [sys.executable, "-m", "structkit.cli"]


class Serve:
    """One ``structkit serve`` process on a free loopback port."""

    def __init__(self, *args: str, log: Path) -> None:
        from structkit.testing import free_port

        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.argv = [*CLI, "serve", "--port", str(self.port), "--root", str(ROOT), *args]
        self.log = log
        self.process: subprocess.Popen[bytes] | None = None
        self.start_seconds = 0.0

    def __enter__(self) -> Serve:
        started = time.monotonic()
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(self.argv, stdout=out, stderr=out, cwd=ROOT)
        deadline = started + 900
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise SystemExit(f"structkit serve exited; see {self.log}")
            try:
                if httpx.get(f"{self.url}/health", timeout=2).status_code == 200:
                    self.start_seconds = time.monotonic() - started
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.25)
        raise SystemExit(f"structkit serve did not come up; see {self.log}")

    def __exit__(self, *exc: object) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)  # graceful: finishes accepted work
            try:
                self.process.wait(180)
            except subprocess.TimeoutExpired:
                self.process.kill()

    def peak_rss_mib(self) -> float:
        """VmHWM summed over the server and its descendants (vLLM's engine core is a child)."""
        assert self.process is not None
        children: dict[int, list[int]] = {}
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
                except (OSError, IndexError, ValueError):
                    continue
                children.setdefault(ppid, []).append(int(entry.name))
        total, todo = 0.0, [self.process.pid]
        while todo:
            pid = todo.pop()
            todo += children.get(pid, [])
            try:
                for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                    if line.startswith("VmHWM:"):
                        total += int(line.split()[1]) / 1024
            except OSError:
                pass
        return total


def _timed_command(argv: list[str], env: dict[str, str] | None = None) -> tuple[float, int]:
    started = time.monotonic()
    done = subprocess.run(argv, capture_output=True, cwd=ROOT, env=env, timeout=1800)
    return time.monotonic() - started, done.returncode


def _fmt(values: list[float]) -> str:
    if len(values) == 1:
        return f"{values[0]:.2f}"
    return f"{statistics.mean(values):.2f} ± {statistics.stdev(values):.2f}"


def _post(url: str, body: dict[str, Any]) -> httpx.Response:
    with httpx.Client(timeout=1800) as client:
        return client.post(f"{url}/v1/tasks/diagnosis", json=body)


def _relative(path: str) -> str:
    return str(Path(path).resolve().relative_to(ROOT))


def warm_vs_cold(repeats: int, log: Path) -> None:
    cold = [
        _timed_command([*CLI, "diagnose", str(PATIENT), "--mode", "model"]) for _ in range(repeats)
    ]
    with Serve("--engine", "llama.cpp", log=log) as serve:
        warm = [
            _timed_command([*CLI, "diagnose", str(PATIENT), "--mode", "model", "--via", serve.url])
            for _ in range(repeats)
        ]
    print("\n## 1. One record: warm server vs cold CLI (structkit diagnose README record)\n")
    print("| path | seconds | exit codes |\n|---|---|---|")
    print(f"| cold CLI (llama.cpp, engine start included) | {_fmt([s for s, _ in cold])} | "
          f"{[c for _, c in cold]} |")  # fmt: skip
    print(f"| --via warm structkit serve (llama.cpp; server start {serve.start_seconds:.1f} s, "
          f"once) | {_fmt([s for s, _ in warm])} | {[c for _, c in warm]} |")  # fmt: skip
    print(f"\nwarm calls, each: {', '.join(f'{s:.2f}' for s, _ in warm)} s")
    speedup = statistics.mean(s for s, _ in cold) / statistics.mean(s for s, _ in warm)
    print(f"\nwarm/cold speed-up: {speedup:.1f}x")


def warm_vllm_vs_cold_cli(files: list[str], serve: Serve) -> None:
    started = time.monotonic()
    codes = [_timed_command([*CLI, "diagnose", f, "--mode", "model"])[1] for f in files]
    cold = len(files) / (time.monotonic() - started)
    started = time.monotonic()
    responses: list[httpx.Response] = [None] * len(files)  # type: ignore[list-item]

    def send(i: int) -> None:
        responses[i] = _post(serve.url, {"path": _relative(files[i]), "id": f"r{i}"})

    threads = [threading.Thread(target=send, args=(i,)) for i in range(len(files))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    warm = len(files) / (time.monotonic() - started)
    print(f"\n## 2. {len(files)} engines-benchmark records: warm vLLM server vs cold CLI\n")
    print("| path | records/s | answers |\n|---|---|---|")
    print(f"| cold CLI, one `structkit diagnose FILE` per record (llama.cpp) | {cold:.3f} | "
          f"exit codes {dict(Counter(codes))} |")  # fmt: skip
    print(f"| warm `structkit serve --engine vllm`, all at once | {warm:.3f} | "
          f"HTTP {dict(Counter(r.status_code for r in responses))} |")  # fmt: skip
    print(f"\nwarm vLLM server / cold llama.cpp CLI: {warm / cold:.1f}x")


def load(files: list[str], serve: Serve, *, requests: int, clients: int, log: Path) -> None:
    bodies = [
        {"path": _relative(files[i % len(files)]), "id": f"load-{i:03d}"} for i in range(requests)
    ]
    results: list[tuple[int, str | None]] = []
    lock = threading.Lock()

    def client(share: list[dict[str, Any]]) -> None:
        for body in share:
            response = _post(serve.url, body)
            answered = response.json().get("record_id") if response.status_code == 200 else None
            with lock:
                results.append((response.status_code, answered))

    started = time.monotonic()
    threads = [threading.Thread(target=client, args=(bodies[i::clients],)) for i in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    seconds = time.monotonic() - started
    peak = serve.peak_rss_mib()
    codes = Counter(code for code, _ in results)
    answered = [rid for code, rid in results if code == 200]
    health = httpx.get(f"{serve.url}/health").json()
    print(f"\n## 3. Load: {requests} requests from {clients} clients, one warm vLLM server\n")
    print(f"- responses: {dict(codes)}; {len(results)} of {requests} came back (none lost)")
    print(f"- answered exactly once: {len(answered) == len(set(answered))} "
          f"({len(answered)} distinct ids); queue after the run: {health['queue']}")  # fmt: skip
    print(f"- {seconds:.1f} s, {codes.get(200, 0) / seconds:.3f} answered records/s; "
          f"peak RSS of the server's process tree {peak:.0f} MiB")  # fmt: skip
    # the same records (those answered), through structkit batch on the same engine
    with tempfile.TemporaryDirectory() as folder:
        jobdir = Path(folder) / "records"
        jobdir.mkdir()
        for rid in sorted(answered):
            source = Path(files[int(rid.split("-")[1]) % len(files)])
            (jobdir / f"{rid}{source.suffix}").symlink_to(source)
        out = Path(folder) / "out.jsonl"
        started = time.monotonic()
        done = subprocess.run(
            [*CLI, "batch", "diagnosis", str(jobdir), "--out", str(out), "--engine", "vllm",
             "--mode", "model", "--quiet"],
            capture_output=True, text=True, cwd=ROOT, timeout=3600,
        )  # fmt: skip
        wall = time.monotonic() - started
    # structkit's own summary line, not the engine's shutdown logs
    ours = [line for line in done.stderr.splitlines() if line.startswith("structkit")]
    summary = ours[-1] if ours else f"(exit code {done.returncode})"
    print(f"- the same {len(answered)} records through `structkit batch --engine vllm`: "
          f"{len(answered) / wall:.3f} records/s over {wall:.1f} s including its engine start; "
          f"its own summary: {summary}")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--max-queue", type=int, default=8)
    parser.add_argument("--records", type=int, default=8, help="records in part 2")
    parser.add_argument("--repeats", type=int, default=3, help="runs of each part-1 command")
    args = parser.parse_args()
    os.environ.pop("STRUCTKIT_SERVER_URL", None)
    log = Path(tempfile.gettempdir()) / "structkit-toolserver-benchmark.log"
    print(f"host: {host_line()}\nlog: {log}")
    files = list(_asking_files())
    part2 = [files[i % len(files)] for i in range(args.records)]
    warm_vs_cold(args.repeats, log)
    with Serve("--engine", "vllm", "--max-queue", str(args.max_queue), log=log) as serve:
        print(f"\n(vLLM structkit serve up in {serve.start_seconds:.1f} s)")
        warm_vllm_vs_cold_cli(part2, serve)
        load(files, serve, requests=args.requests, clients=args.clients, log=log)
    print(f"\ncommand: {' '.join(sys.argv)}")


if __name__ == "__main__":
    main()
