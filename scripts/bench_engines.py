"""Benchmark section ``engines``: structkit on llama.cpp and on vLLM, and raw xllamacpp calls.

Run through ``scripts/benchmark.py --sections engines [--engines llama.cpp,raw,vllm]``. The same
records, prompts, grounded schemas and seeds go through every path, one attempt each (the share
of records valid at the *first* attempt). Per path: cold start, time to the first answer, then
per round records/s at batch 8 (the whole batch in one call) and at batch 1 (one call per record),
valid share, completion tokens/s, and the peak RSS of the process and its children.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import threading
import time
from collections.abc import Callable
from typing import Any

PATHS = ("llama.cpp", "raw", "vllm")
_FLAGS = ("avx2", "avx512f", "avx512_bf16", "amx_bf16", "amx_tile")


def host_line() -> str:
    """CPU model, the flags that decide the engine settings, cores and memory of this host."""
    model, flags = platform.processor() or "unknown CPU", set()
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as handle:
            for line in handle:
                if line.startswith("model name"):
                    model = line.partition(":")[2].strip()
                elif line.startswith("flags"):
                    flags = set(line.partition(":")[2].split())
    except OSError:
        pass
    pages = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    present = ", ".join(f for f in _FLAGS if f in flags) or "none of " + ", ".join(_FLAGS)
    return (
        f"host: {model}; flags: {present}; {len(os.sched_getaffinity(0))} cores; "
        f"{pages / (1 << 30):.0f} GiB; load average {os.getloadavg()[0]:.1f}"
    )


def _fmt(values: list[float], digits: int = 3) -> str:
    if not values:
        return "-"
    mean = statistics.mean(values)
    std = statistics.stdev(values) if len(values) > 1 else 0.0
    return f"{mean:.{digits}f} ± {std:.{digits}f}"


def _raw_llamacpp(engine: Any, requests: list[Any]) -> tuple[int, int]:
    """What a user writes by hand on xllamacpp: the same bodies, threads, ``json.loads`` and a
    jsonschema check. Returns (valid answers, completion tokens)."""
    import jsonschema

    server = engine.server
    replies: list[Any] = [None] * len(requests)

    def one(index: int) -> None:
        replies[index] = server.handle_chat_completions(engine.request_body(requests[index]))

    threads = [threading.Thread(target=one, args=(i,)) for i in range(len(requests))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    valid = tokens = 0
    for request, reply in zip(requests, replies, strict=True):
        tokens += int(reply.get("usage", {}).get("completion_tokens", 0))
        try:
            jsonschema.validate(
                json.loads(reply["choices"][0]["message"]["content"]), request.json_schema
            )
            valid += 1
        except (ValueError, KeyError, jsonschema.ValidationError):
            pass
    return valid, tokens


def bench_engines(
    paths: list[str],
    *,
    rounds: int,
    n: int,
    singles: int,
    model: str | None,
    records: Callable[[int, int], list[dict[str, Any]]],
    requests: Callable[..., list[Any]],
) -> dict[str, dict[str, Any]]:
    """Figures per path (see the module docstring)."""
    import structkit
    from structkit._runner import run_task
    from structkit.evaluation._metrics import PeakMemory

    results: dict[str, dict[str, Any]] = {}
    llama: Any = None
    for path in paths:
        figures: dict[str, Any] = {"rps8": [], "rps1": [], "valid": [], "tps": []}
        shared = False
        with PeakMemory() as memory:
            started = time.perf_counter()
            if path in ("llama.cpp", "raw"):
                from structkit.engines import LlamaCppEngine

                shared = llama is not None
                engine = llama = llama or LlamaCppEngine(model)
                _ = engine.server
            else:
                if llama is not None:
                    llama.close()  # one model in memory at a time
                    llama = None
                from structkit.engines import VLLMEngine

                engine = VLLMEngine(model)
                _ = engine.llm
            figures["start"] = time.perf_counter() - started
            if path != "vllm" and shared:  # one llama.cpp server for both paths
                figures["start"] = engine.startup_seconds or 0.0
            first = time.perf_counter()
            run_task(structkit.DIAGNOSIS, records(1, 900), engine=engine, max_attempts=1)
            figures["first"] = time.perf_counter() - first
            for round_ in range(rounds):
                # Fresh records per path and round: no path finds its prompts in the slots' cache.
                fresh = 100 * round_ + 10_000 * paths.index(path)
                batch = records(n, fresh)
                begun = time.perf_counter()
                if path == "raw":
                    valid, tokens = _raw_llamacpp(engine, requests(engine, batch))
                else:
                    outcomes = run_task(structkit.DIAGNOSIS, batch, engine=engine, max_attempts=1)
                    valid = sum(o.ok for o in outcomes)
                    tokens = sum(o.completion_tokens for o in outcomes)
                seconds = time.perf_counter() - begun
                figures["rps8"].append(n / seconds)
                figures["valid"].append(valid / n)
                figures["tps"].append(tokens / seconds)
                begun = time.perf_counter()
                for record in records(singles, fresh + 50):
                    if path == "raw":
                        _raw_llamacpp(engine, requests(engine, [record]))
                    else:
                        run_task(structkit.DIAGNOSIS, [record], engine=engine, max_attempts=1)
                figures["rps1"].append(singles / (time.perf_counter() - begun))
                print(
                    f"  {path} round {round_ + 1}: {figures['rps8'][-1]:.3f} records/s, "
                    f"{valid}/{n} valid",
                    flush=True,
                )
            if path == "vllm":
                engine.close()
        figures["rss_gib"] = memory.peak_bytes / (1 << 30)
        results[path] = figures
    if llama is not None:
        llama.close()
    return results


def print_engines(results: dict[str, dict[str, Any]], *, n: int, rounds: int, singles: int) -> None:
    print(f"\n## engines: diagnosis, {n} records per batch, {singles} at batch 1, {rounds} rounds,")
    print("one attempt (valid = schema- and model-valid at the first attempt); " + host_line())
    print(
        "| path | records/s batch 8 | records/s batch 1 | valid | completion tokens/s "
        "| cold start s | first answer s | peak RSS GiB |"
    )
    print("|---|---|---|---|---|---|---|---|")
    names = {
        "llama.cpp": "structkit on llama.cpp",
        "raw": "raw xllamacpp",
        "vllm": "structkit on vLLM",
    }
    for path, f in results.items():
        print(
            f"| {names[path]} | {_fmt(f['rps8'])} | {_fmt(f['rps1'])} | {_fmt(f['valid'], 2)} "
            f"| {_fmt(f['tps'], 1)} | {f['start']:.1f} | {f['first']:.1f} | {f['rss_gib']:.2f} |"
        )
    if "raw" in results and "llama.cpp" in results:
        ratio = statistics.mean(results["llama.cpp"]["rps8"]) / statistics.mean(
            results["raw"]["rps8"]
        )
        print(f"structkit / raw xllamacpp (batch 8): {ratio:.2f}x")
