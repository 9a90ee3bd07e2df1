"""Records/s of the same job on the embedded engine and on a vLLM server, same model and machine.

    .venv/bin/python -u scripts/server_benchmark.py --records 16 --rounds 2

One process, one engine at a time (the machine has 2 cores): first the embedded ``vllm.LLM``
(one batch per round), then a loopback ``vllm.entrypoints.openai.api_server`` started with the
embedded engine's settings, driven by ``ServerEngine`` with ``--concurrency`` requests in flight.
Both run ``diagnose_many`` over the same records (variants of the example patient) with one
attempt each, so both do the same amount of work. Each engine is warmed up with one record
before the timed rounds; start-up time is printed separately.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # for tests/vllm_server.py, the launcher the integration tests use

from benchmark import _fmt, _records  # noqa: E402  (scripts/ is on sys.path: run as a script)


def _rounds(engine: Any, records: list[dict[str, Any]], rounds: int) -> dict[str, Any]:
    import structkit

    structkit.diagnose_many(records[:1], engine=engine, max_attempts=1)  # warm-up
    rates: list[float] = []
    valid = tokens = 0
    for _ in range(rounds):
        start = time.perf_counter()
        outcomes = structkit.diagnose_many(records, engine=engine, max_attempts=1)
        seconds = time.perf_counter() - start
        rates.append(len(records) / seconds)
        valid += sum(o.ok for o in outcomes)
        tokens += sum(o.completion_tokens for o in outcomes)
    return {"rates": rates, "valid": valid, "total": len(records) * rounds, "tokens": tokens}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--records", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--concurrency", type=int, default=16)
    args = parser.parse_args()

    import structkit
    from structkit.engines import VLLMEngine
    from structkit.engines._server import ServerEngine
    from tests.vllm_server import VLLMServer

    records = _records(args.records)
    results: dict[str, dict[str, Any]] = {}

    started = time.perf_counter()
    embedded = VLLMEngine()
    _ = embedded.llm
    embedded_start = time.perf_counter() - started
    results["embedded (vllm.LLM, one batch)"] = _rounds(embedded, records, args.rounds)
    embedded.close()

    log = Path(tempfile.mkdtemp(prefix="structkit-bench-")) / "server.log"
    server = VLLMServer(structkit.prepare_default_model(), name="smollm2", log=log)
    started = time.perf_counter()
    server.start()
    server_start = time.perf_counter() - started
    try:
        with ServerEngine(server.url, max_concurrency=args.concurrency, timeout=900.0) as client:
            label = f"server (HTTP, {args.concurrency} in flight)"
            results[label] = _rounds(client, records, args.rounds)
    finally:
        server.stop()

    print(f"\n{args.records} records x {args.rounds} rounds, diagnosis, one attempt each\n")
    print("| engine | records/s | valid | completion tokens/s |")
    print("|---|---|---|---|")
    for name, r in results.items():
        seconds = sum(args.records / rate for rate in r["rates"])
        print(
            f"| {name} | {_fmt(r['rates'])} | {r['valid']}/{r['total']} | "
            f"{r['tokens'] / seconds:.1f} |"
        )
    (embedded_rates, server_rates) = (r["rates"] for r in results.values())
    ratio = statistics.mean(server_rates) / statistics.mean(embedded_rates)
    print(f"\nserver / embedded records/s: {ratio:.2f}")
    print(f"start-up: embedded {embedded_start:.0f} s, server {server_start:.0f} s (until ready)")


if __name__ == "__main__":
    main()
