"""Benchmark: figures measured side by side in one process on one engine (not timed tests).

    .venv/bin/python scripts/benchmark.py                 # all sections
    .venv/bin/python scripts/benchmark.py --sections overhead --rounds 3

Sections:
  overhead  structkit.diagnose_many vs raw vllm.LLM.chat on the same prompts, constraints and
            seeds (records/s; ratio structkit/raw, target >= 0.95). Rounds alternate the order.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def _records(n: int) -> list[dict[str, Any]]:
    base = json.loads((ROOT / "examples" / "patient_record.json").read_text())
    return [dict(base, visit=i) for i in range(n)]


def bench_overhead(engine: Any, rounds: int, n: int) -> dict[str, Any]:
    import structkit
    from structkit._runner import run_task
    from structkit.engines import GenerationRequest

    task = structkit.DIAGNOSIS
    records = _records(n)
    profile = engine.profile

    def raw() -> tuple[float, int]:
        # What a user would write by hand: same prompt, schema, seeds; parse with json.loads.
        started = time.perf_counter()
        requests = [
            GenerationRequest(
                messages=task.prompt(json.dumps(r, separators=(",", ":")), profile=profile),
                json_schema=task.schema,
                max_tokens=profile.max_tokens,
                temperature=profile.temperature,
                top_p=profile.top_p,
                seed=7919 * i,
            )
            for i, r in enumerate(records)
        ]
        params = [engine.sampling_params(r) for r in requests]
        outputs = engine.llm.chat([r.messages for r in requests], params, use_tqdm=False)
        valid = 0
        for out in outputs:
            try:
                json.loads(out.outputs[0].text)
                valid += 1
            except ValueError:
                pass
        return time.perf_counter() - started, valid

    def ours() -> tuple[float, int]:
        started = time.perf_counter()
        outcomes = run_task(task, records, engine=engine, max_attempts=1)
        return time.perf_counter() - started, sum(o.ok for o in outcomes)

    raw()  # warm-up: grammar compilation and prefix cache are shared by both paths afterwards
    times: dict[str, list[float]] = {"raw": [], "structkit": []}
    valid: dict[str, list[int]] = {"raw": [], "structkit": []}
    for round_ in range(rounds):
        order = [("raw", raw), ("structkit", ours)]
        for name, fn in order if round_ % 2 == 0 else reversed(order):
            seconds, ok = fn()
            times[name].append(seconds)
            valid[name].append(ok)
    rps = {k: [n / t for t in v] for k, v in times.items()}
    ratio = statistics.mean(rps["structkit"]) / statistics.mean(rps["raw"])
    return {
        "records": n,
        "rounds": rounds,
        "records_per_s": rps,
        "valid": valid,
        "overhead_ratio": ratio,
    }


def _fmt(values: list[float]) -> str:
    mean = statistics.mean(values)
    std = statistics.stdev(values) if len(values) > 1 else 0.0
    return f"{mean:.3f} ± {std:.3f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sections", default="overhead")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--records", type=int, default=8)
    parser.add_argument("--model", default=None)
    args = parser.parse_args()

    from structkit.engines import get_engine

    started = time.perf_counter()
    engine = get_engine(args.model)
    _ = engine.llm
    print(f"engine: {engine.model_name}; cold start {time.perf_counter() - started:.1f} s")
    sections = set(args.sections.split(","))
    if "overhead" in sections:
        result = bench_overhead(engine, args.rounds, args.records)
        print(f"\n## overhead: batch of {result['records']} records, {result['rounds']} rounds")
        print("| path | records/s (mean ± std) | valid per round |")
        print("|---|---|---|")
        for name in ("raw", "structkit"):
            print(f"| {name} | {_fmt(result['records_per_s'][name])} | {result['valid'][name]} |")
        print(f"structkit / raw records/s ratio: {result['overhead_ratio']:.3f} (target >= 0.95)")


if __name__ == "__main__":
    main()
