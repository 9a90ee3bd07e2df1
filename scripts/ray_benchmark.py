"""Records/s of one batch job: the local executor, Ray with 1 actor and Ray with 2 actors.

Same records, same task, same model (the packaged default on llama.cpp), same cores: the local
executor's engine uses every core; Ray's single actor reserves them all; two actors one each.
Each job is timed whole, engine starts included (a fresh engine per local job, fresh actors per
Ray job), on a fresh output file. Prints mean ± std over the rounds and the host's CPU.

Run under the engine lock (it starts real engines)::

    flock /tmp/structkit-engine.lock .venv/bin/python scripts/ray_benchmark.py --rounds 3
    ... --configs local,ray-1,ray-2,server,ray-2-server      # plus a loopback vLLM server

``server`` runs the local executor with a :class:`ServerEngine` on a real vLLM server on
loopback (started once, outside the timings, same model); ``ray-2-server`` runs Ray's two
actors as clients of that server (``STRUCTKIT_SERVER_URL`` reaches the actors).
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent

from bench_engines import fmt_mean_std, host_line  # noqa: E402  (scripts/ is on the path)

from structkit.batch import run_batch  # noqa: E402
from structkit.engines._llamacpp import LlamaCppEngine  # noqa: E402
from structkit.testing import PROBE, write_probe_records  # noqa: E402


def one_job(
    config: str, source: Path, out: Path, cores: int, batch_size: int, server: str | None
) -> float:
    out.unlink(missing_ok=True)
    options: dict[str, Any] = {"id_column": "id", "batch_size": batch_size, "progress": False}
    started = time.monotonic()
    if config == "server":
        from structkit import ServerEngine

        assert server is not None
        summary = run_batch(PROBE, source, out, engine=ServerEngine(server), **options)
    elif config == "local":
        engine = LlamaCppEngine(None, threads=cores)
        try:
            summary = run_batch(PROBE, source, out, engine=engine, **options)
        finally:
            engine.close()
    else:
        actors = int(config.split("-")[1])
        if config.endswith("-server"):
            assert server is not None
            os.environ["STRUCTKIT_SERVER_URL"] = server  # passed on to the actors
        summary = run_batch(
            PROBE,
            source,
            out,
            executor="ray",
            ray_actors=actors,
            ray_cpus_per_actor=cores // actors,
            **options,
        )
        os.environ.pop("STRUCTKIT_SERVER_URL", None)
    seconds = time.monotonic() - started
    done = summary.ok + summary.failed
    if done != summary.total or summary.skipped:
        raise SystemExit(f"{config}: {done} of {summary.total} records done")
    return done / seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--records", type=int, default=60)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=10)
    parser.add_argument("--configs", default="local,ray-1,ray-2")
    args = parser.parse_args()
    import ray

    cores = os.cpu_count() or 1
    pythonpath = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p)
    ray.init(
        num_cpus=cores,
        include_dashboard=False,
        _node_ip_address="127.0.0.1",
        log_to_driver=False,
        logging_level="WARNING",
        runtime_env={"env_vars": {"PYTHONPATH": pythonpath}},
    )
    configs = args.configs.split(",")
    server = None
    if any("server" in c for c in configs):
        import structkit
        from structkit.testing import VLLMServer

        server = VLLMServer(
            Path(structkit.prepare_default_model()),
            name="smollm2",
            log=Path(tempfile.gettempdir()) / "ray_benchmark_server.log",
        )
        server.start()
    rates: dict[str, list[float]] = {config: [] for config in configs}
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / "patients.jsonl"
        write_probe_records(source, args.records)
        for round_ in range(args.rounds):
            for config in configs:
                rate = one_job(
                    config,
                    source,
                    Path(tmp) / "out.jsonl",
                    cores,
                    args.batch_size,
                    server.url if server is not None else None,
                )
                rates[config].append(rate)
                print(f"round {round_ + 1} {config}: {rate:.2f} records/s", flush=True)
    ray.shutdown()
    if server is not None:
        server.stop()
    print(
        f"\n{host_line()}; {args.records} records of the ray-probe task, batch size "
        f"{args.batch_size}, packaged default model (llama.cpp; 'server': vLLM float32 on "
        "loopback, started once before the jobs); whole jobs, engine and actor starts included"
    )
    for config in configs:
        values = rates[config]
        print(
            f"{config:>6}: {fmt_mean_std(values, 2)} records/s "
            f"(n={len(values)}: {', '.join(f'{v:.2f}' for v in values)})"
        )


if __name__ == "__main__":
    main()
