"""Records/s of the same job on the embedded vLLM engine and on a vLLM server, side by side.

    flock /tmp/structkit-engine.lock .venv/bin/python -u scripts/server_benchmark.py \\
        --records 12 --rounds 3

One engine at a time (the machine may have 2 cores): the embedded ``vllm.LLM``, then a loopback
``vllm.entrypoints.openai.api_server`` started with the embedded engine's settings (same model,
dtype, context, KV cache size class, structured-output backend, CPU threads), driven by
``ServerEngine`` with ``--concurrency`` requests in flight. Both run ``structkit.run`` of the
``diagnosis`` task over the same records (variants of the example patient, each prompt
different) with one attempt each, so both do the same work. Each engine is warmed up with one
record before the timed rounds; start-up time is printed separately; the host CPU is printed
with the figures.

``--engine embedded`` / ``--engine server`` runs one side only, so each fits in one hold of the
engine lock; results are kept in ``--results`` (JSON) and the table shows every side measured
there with the same records and rounds.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent

from bench_engines import fmt_mean_std, host_line  # noqa: E402  (scripts/ is on the path)

EMBEDDED = "embedded vllm.LLM (one call per round)"


def records(n: int) -> list[dict[str, Any]]:
    base = json.loads((ROOT / "examples" / "patient_record.json").read_text())
    out = []
    for i in range(n):
        record = json.loads(json.dumps(base))
        record["patient"]["age"] = 40 + (i * 7) % 45
        record["vitals"]["heart_rate_bpm"] = 70 + (i * 5) % 60
        out.append(record)
    return out


def timed_rounds(engine: Any, batch: list[dict[str, Any]], rounds: int) -> dict[str, Any]:
    import structkit

    structkit.run("diagnosis", batch[:1], engine=engine, max_attempts=1, mode="model")  # warm-up
    rates: list[float] = []
    valid = tokens = 0
    seconds = 0.0
    for _ in range(rounds):
        start = time.perf_counter()
        outcomes = structkit.run("diagnosis", batch, engine=engine, max_attempts=1, mode="model")
        elapsed = time.perf_counter() - start
        seconds += elapsed
        rates.append(len(batch) / elapsed)
        valid += sum(o.ok for o in outcomes)
        tokens += sum(o.completion_tokens for o in outcomes)
    return {
        "rates": rates,
        "valid": valid,
        "total": len(batch) * rounds,
        "tokens_per_s": tokens / seconds,
    }


def run_embedded(batch: list[dict[str, Any]], rounds: int) -> dict[str, Any]:
    from structkit.engines import VLLMEngine

    started = time.perf_counter()
    engine = VLLMEngine()
    _ = engine.llm
    start_s = time.perf_counter() - started
    try:
        return {**timed_rounds(engine, batch, rounds), "start_s": start_s}
    finally:
        engine.close()


def run_server(batch: list[dict[str, Any]], rounds: int, concurrency: int) -> dict[str, Any]:
    import structkit
    from structkit.engines._server import ServerEngine
    from structkit.testing import VLLMServer

    log = Path(tempfile.mkdtemp(prefix="structkit-bench-")) / "server.log"
    server = VLLMServer(structkit.prepare_default_model(), name="smollm2", log=log)
    started = time.perf_counter()
    server.start()
    start_s = time.perf_counter() - started
    try:
        with ServerEngine(server.url, max_concurrency=concurrency, timeout=900.0) as client:
            seeds = client.health_check().seeds
            return {**timed_rounds(client, batch, rounds), "start_s": start_s, "seeds": seeds}
    finally:
        server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--records", type=int, default=12)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--engine", choices=("both", "embedded", "server"), default="both")
    parser.add_argument("--results", type=Path, default=None, help="JSON file to keep results")
    args = parser.parse_args()
    if args.rounds < 3:
        parser.error("--rounds must be at least 3 (mean ± std)")

    batch = records(args.records)
    setup = {"records": args.records, "rounds": args.rounds, "host": host_line()}
    results: dict[str, Any] = {}
    if args.results is not None and args.results.exists():
        kept = json.loads(args.results.read_text())
        if kept.get("setup") == setup:
            results = kept["results"]
    if args.engine in ("both", "embedded"):
        results[EMBEDDED] = run_embedded(batch, args.rounds)
    if args.engine in ("both", "server"):
        label = f"vLLM api_server + ServerEngine ({args.concurrency} in flight)"
        results[label] = run_server(batch, args.rounds, args.concurrency)
    if args.results is not None:
        args.results.write_text(json.dumps({"setup": setup, "results": results}, indent=1))

    print(f"\nhost: {setup['host']}")
    print(f"diagnosis, {args.records} records x {args.rounds} rounds, one attempt each\n")
    print("| engine | records/s (mean ± std) | valid | completion tokens/s | start s |")
    print("|---|---|---|---|---|")
    for name, r in results.items():
        seeds = "" if "seeds" not in r else f" (per-request seeds: {'on' if r['seeds'] else 'off'})"
        print(
            f"| {name}{seeds} | {fmt_mean_std(r['rates'])} | {r['valid']}/{r['total']} | "
            f"{r['tokens_per_s']:.1f} | {r['start_s']:.0f} |"
        )
    means = {name: statistics.mean(r["rates"]) for name, r in results.items()}
    if EMBEDDED in means and len(means) > 1:
        for name, mean in means.items():
            if name != EMBEDDED:
                print(f"\n{name} / embedded records/s: {mean / means[EMBEDDED]:.2f}")


if __name__ == "__main__":
    main()
