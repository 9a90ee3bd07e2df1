"""Benchmark section ``engines``: structkit on llama.cpp and on vLLM, and raw xllamacpp calls.

Run through ``scripts/benchmark.py --sections engines [--engines llama.cpp,raw,vllm]
[--workload questions,whole]``. The same records, prompts, schemas and seeds go through every
path, one attempt each (the share of records valid at the *first* attempt). Per path: cold start,
time to the first answer, then per round records/s at batch 8 (the whole batch in one call) and
at batch 1 (one call per record), valid share, completion tokens/s, and the peak RSS of the
process and its children.

Two workloads: ``questions`` is ``structkit.diagnose`` as shipped (code finds the candidates, the
model answers one small question per record) on distinct real records; ``whole`` is issue #16's
workload (the old whole-record prompt and grounded schema on the example record).

structkit on llama.cpp and raw xllamacpp share one server and run the *same* batch in each round,
the order alternating between rounds; their ratio is taken per round. llama.cpp's prompt cache is
off for both (``cache_prompt: false`` in every body): the second path of a round would otherwise
skip the prefill the first one did (measured: 0.15 vs 0.40 records/s on one batch, order alone).
"""

from __future__ import annotations

import json
import os
import platform
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

# "vllm" runs in the dtype structkit picks for the host; the suffixed paths force one, to measure
# float32 against bfloat16 on the same host.
PATHS = ("llama.cpp", "raw", "vllm", "vllm-float32", "vllm-bfloat16")
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


def _host_dtype() -> str:
    from structkit._host import cpu_dtype

    return cpu_dtype()


def fmt_mean_std(values: list[float], digits: int = 3) -> str:
    """``mean ± std`` of ``values`` (the benchmark scripts' one format; "-" for none)."""
    from structkit.evaluation._metrics import mean_std

    if not values:
        return "-"
    mean, std = mean_std(values)
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


@dataclass(frozen=True)
class Workload:
    """What every path runs: the task structkit runs, and the same requests built by hand."""

    name: str
    title: str
    task: Any
    records: Callable[[int, int], list[Any]]
    """``records(n, offset)``: n records; the same arguments give the same records."""
    requests: Callable[[Any, list[Any]], list[Any]]
    """``requests(engine, records)``: exactly the requests structkit sends for them."""


def _structkit(engine: Any, workload: Workload, batch: list[Any]) -> tuple[int, int]:
    from structkit._runner import run_task

    # The model's mode: the subject is the engine (diagnosis's default mode asks no model).
    mode = "model" if "model" in workload.task.modes else None
    outcomes = run_task(workload.task, batch, engine=engine, max_attempts=1, mode=mode)
    return sum(o.ok for o in outcomes), sum(o.completion_tokens for o in outcomes)


def _run(path: str, engine: Any, workload: Workload, batch: list[Any]) -> tuple[int, int]:
    if path == "raw":
        return _raw_llamacpp(engine, workload.requests(engine, batch))
    return _structkit(engine, workload, batch)


def _start(path: str, model: str | None, llama: Any) -> tuple[Any, float]:
    started = time.perf_counter()
    if _is_vllm(path):
        from structkit.engines import VLLMEngine

        dtype = path.partition("-")[2]
        engine: Any = VLLMEngine(model, **({"dtype": dtype} if dtype else {}))
        _ = engine.llm
        return engine, time.perf_counter() - started
    if llama is not None:  # one llama.cpp server for both paths
        return llama, llama.startup_seconds or 0.0
    engine = _uncached_llamacpp(model)
    _ = engine.server
    return engine, time.perf_counter() - started


def _is_vllm(path: str) -> bool:
    return path.startswith("vllm")


def _uncached_llamacpp(model: str | None) -> Any:
    """structkit's llama.cpp engine with the prompt cache off in every request body (both paths
    take their bodies from ``request_body``, so they stay alike)."""
    from structkit.engines import GenerationRequest, LlamaCppEngine

    class Uncached(LlamaCppEngine):
        def request_body(self, request: GenerationRequest) -> dict[str, Any]:
            return {**super().request_body(request), "cache_prompt": False}

    return Uncached(model)


def bench_engines(
    paths: list[str], *, rounds: int, n: int, singles: int, model: str | None, workload: Workload
) -> dict[str, dict[str, Any]]:
    """Figures per path (see the module docstring)."""
    from structkit.evaluation._metrics import PeakMemory

    results: dict[str, dict[str, Any]] = {
        p: {"rps8": [], "rps1": [], "valid": [], "tps": []} for p in paths
    }
    # llama.cpp and raw share a server; each vLLM path starts (and closes) an engine of its own
    groups = [[p for p in paths if not _is_vllm(p)], *([p] for p in paths if _is_vllm(p))]
    for group in (g for g in groups if g):
        llama: Any = None
        with PeakMemory() as memory:
            for path in group:
                engine, results[path]["start"] = _start(path, model, llama)
                llama = None if _is_vllm(path) else engine
                first = time.perf_counter()
                _run(path, engine, workload, workload.records(1, 900 + paths.index(path)))
                results[path]["first"] = time.perf_counter() - first
            for round_ in range(rounds):
                batch = workload.records(n, n * round_)
                order = group if round_ % 2 == 0 else group[::-1]
                for path in order:
                    figures = results[path]
                    begun = time.perf_counter()
                    valid, tokens = _run(path, engine, workload, batch)
                    seconds = time.perf_counter() - begun
                    figures["rps8"].append(n / seconds)
                    figures["valid"].append(valid / n)
                    figures["tps"].append(tokens / seconds)
                    print(
                        f"  {workload.name} {path} round {round_ + 1}: {n / seconds:.3f} "
                        f"records/s, {valid}/{n} valid",
                        flush=True,
                    )
                for path in order:
                    begun = time.perf_counter()
                    for record in workload.records(singles, 500 + singles * round_):
                        _run(path, engine, workload, [record])
                    results[path]["rps1"].append(singles / (time.perf_counter() - begun))
            engine.close()
        for path in group:
            results[path]["rss_gib"] = memory.peak_bytes / (1 << 30)
    return results


def print_engines(
    results: dict[str, dict[str, Any]], *, workload: Workload, n: int, rounds: int, singles: int
) -> None:
    print(f"\n## engines, workload {workload.name!r}: {workload.title}")
    print(f"{n} records per batch, {singles} at batch 1, {rounds} rounds,")
    print("one attempt (valid = schema- and model-valid at the first attempt); " + host_line())
    print(
        "| path | records/s batch 8 | records/s batch 1 | valid | completion tokens/s "
        "| cold start s | first answer s | peak RSS GiB |"
    )
    print("|---|---|---|---|---|---|---|---|")
    names = {
        "llama.cpp": "structkit on llama.cpp",
        "raw": "raw xllamacpp",
        "vllm": f"structkit on vLLM ({_host_dtype()})",
        "vllm-float32": "structkit on vLLM, float32",
        "vllm-bfloat16": "structkit on vLLM, bfloat16",
    }
    for path, f in results.items():
        print(
            f"| {names[path]} | {fmt_mean_std(f['rps8'])} | {fmt_mean_std(f['rps1'])} "
            f"| {fmt_mean_std(f['valid'], 2)} | {fmt_mean_std(f['tps'], 1)} "
            f"| {f['start']:.1f} | {f['first']:.1f} | {f['rss_gib']:.2f} |"
        )
    if "raw" in results and "llama.cpp" in results:
        pairs = zip(results["llama.cpp"]["rps8"], results["raw"]["rps8"], strict=True)
        ratios = [a / b for a, b in pairs]
        print(
            f"structkit / raw xllamacpp (batch 8, same batch per round): {fmt_mean_std(ratios, 2)}x"
        )
