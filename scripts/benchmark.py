"""Benchmark: figures measured side by side in one process on one engine (not timed tests).

    .venv/bin/python scripts/benchmark.py                          # all sections, default model
    .venv/bin/python scripts/benchmark.py --sections overhead --rounds 3
    .venv/bin/python scripts/benchmark.py --fake --rounds 1        # smoke test, no model
    .venv/bin/python scripts/benchmark.py --sections engines --engines llama.cpp,raw,vllm

Sections (``--sections``, comma-separated; printed as Markdown tables, in this order):
  overhead     structkit.diagnose_many vs raw vllm.LLM.chat on the same prompts, constraints and
               seeds (records/s; ratio structkit/raw, target >= 0.95). Rounds alternate the order.
  batching     the same records in one run_task call vs one call per record (records/s).
  batchsize    structkit.run_batch over the same 32 records (JSONL) with --batch-size 1, 8, 32
               (records/s, one round each, fresh output each time).
  constrained  the same prompts with the JSON Schema enforced vs unconstrained (completion
               tokens/s, and the share of answers that parse as JSON).
  tokens       prompt tokens per record per rendering format (full prompt: template + record),
               for token_report.py's realistic fixtures and the mean over datasets/*.jsonl.
  prefix       prefix caching on vs off for prompts sharing the task template: fresh records
               every round (only the template is shared), short answers so prefill dominates.
               Needs two engines: the main one (caching on) is closed first, then an engine
               with caching off is started.
  engines      structkit on llama.cpp, raw xllamacpp calls and structkit on vLLM on the same
               records, prompts and schemas (scripts/bench_engines.py): records/s at batch 8 and
               1, valid share at the first attempt, completion tokens/s, cold start, time to the
               first answer, peak RSS, and the host's CPU. ``--engines`` picks the paths (split a
               long run by engine); ``--workload`` picks ``questions`` (structkit.diagnose as
               shipped, real records) and/or ``whole`` (issue #16's whole-record prompt).
               Starts its own engines; runs last.

``--fake`` runs every section on structkit.FakeEngine: numbers are meaningless, the code paths
are exercised (the real run is the lead's, on the default model).
"""

from __future__ import annotations

import argparse
import functools
import json
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def _classic_task() -> Any:
    """The overhead sections measure the classic path (one whole-record prompt per record, the
    answer constrained to a Pydantic model): structkit.diagnose now asks a small question instead,
    so they run the old free-text diagnosis task, kept in ``structkit.testing``."""
    from structkit.testing import freeform_diagnosis

    return freeform_diagnosis.DIAGNOSIS


SECTIONS = ("overhead", "batching", "batchsize", "constrained", "tokens", "prefix", "engines")
FORMATS = ("json", "markdown", "csv", "kv", "text")


def _records(n: int, offset: int = 0) -> list[dict[str, Any]]:
    base = json.loads((ROOT / "examples" / "patient_record.json").read_text())
    return [dict(base, visit=offset + i) for i in range(n)]


def _requests(engine: Any, records: list[dict[str, Any]], **changes: Any) -> list[Any]:
    """Diagnosis requests as a user would write them by hand: exactly the prompt, the grounded
    schema and the seeds structkit sends for these records (so the comparison is like for like).
    """
    from structkit.adapters import load, render
    from structkit.engines import GenerationRequest

    task, profile = _classic_task(), engine.profile
    requests = []
    for i, raw in enumerate(records):
        record = load(raw, record_id=f"#{i}")
        settings: dict[str, Any] = {
            "json_schema": task.schema_for(record, grounding=True),
            "max_tokens": task.max_tokens or profile.max_tokens,
            "temperature": profile.temperature,
            "top_p": profile.top_p,
        }
        settings.update(changes)
        messages = task.prompt(render(record, format=task.format), profile=profile)
        requests.append(GenerationRequest(messages=messages, seed=7919 * i, **settings))
    return requests


def _timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    started = time.perf_counter()
    result = fn()
    return time.perf_counter() - started, result


def _valid_json(text: str) -> bool:
    try:
        json.loads(text)
    except ValueError:
        return False
    return True


def bench_overhead(engine: Any, rounds: int, n: int) -> dict[str, Any]:
    from structkit._runner import run_task

    task = _classic_task()
    records = _records(n)

    def raw() -> tuple[float, int]:
        # What a user would write by hand: same prompt, schema, seeds; parse with json.loads.
        started = time.perf_counter()
        requests = _requests(engine, records)
        if hasattr(engine, "llm"):
            params = [engine.sampling_params(r) for r in requests]
            outputs = engine.llm.chat([r.messages for r in requests], params, use_tqdm=False)
            texts = [out.outputs[0].text for out in outputs]
        else:  # --fake: the engine's own generate stands in for vllm.LLM.chat
            texts = [c.text for c in engine.generate(requests)]
        valid = sum(_valid_json(t) for t in texts)
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


def bench_batching(engine: Any, rounds: int, n: int) -> dict[str, list[float]]:
    """Records/s for one batched run_task call vs one call per record, rounds alternating."""
    from structkit._runner import run_task

    records = _records(n)

    def batched() -> None:
        run_task(_classic_task(), records, engine=engine, max_attempts=1)

    def one_by_one() -> None:
        for record in records:
            run_task(_classic_task(), [record], engine=engine, max_attempts=1)

    batched()  # warm-up
    rps: dict[str, list[float]] = {"batched": [], "one by one": []}
    for round_ in range(rounds):
        order = [("batched", batched), ("one by one", one_by_one)]
        for name, fn in order if round_ % 2 == 0 else reversed(order):
            seconds, _ = _timed(fn)
            rps[name].append(n / seconds)
    return rps


def bench_batchsize(engine: Any, sizes: tuple[int, ...] = (1, 8, 32)) -> dict[int, float]:
    """Records/s of a real batch job (durable JSONL output) at several engine batch sizes."""
    import tempfile

    import structkit

    records = _records(max(sizes), offset=1000)
    results: dict[int, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / "records.jsonl"
        source.write_text("".join(json.dumps(r) + "\n" for r in records))
        structkit.run_batch(
            _classic_task().name,
            source,
            Path(tmp) / "warm.jsonl",
            engine=engine,
            batch_size=max(sizes),
            progress=False,
            max_attempts=1,
        )
        for size in sizes:
            out = Path(tmp) / f"out-{size}.jsonl"
            started = time.perf_counter()
            summary = structkit.run_batch(
                _classic_task().name,
                source,
                out,
                engine=engine,
                batch_size=size,
                progress=False,
                max_attempts=1,
            )
            seconds = time.perf_counter() - started
            results[size] = summary.total / seconds
    return results


def bench_constrained(engine: Any, rounds: int, n: int) -> dict[str, dict[str, list[float]]]:
    """Completion tokens/s and JSON share with and without the schema enforced."""
    records = _records(n)
    variants = {
        "constrained": _requests(engine, records),
        "unconstrained": _requests(engine, records, json_schema=None),
    }
    engine.generate(variants["constrained"])  # warm-up (grammar compilation)
    out: dict[str, dict[str, list[float]]] = {k: {"tokens_per_s": [], "json": []} for k in variants}
    for round_ in range(rounds):
        names = list(variants) if round_ % 2 == 0 else list(reversed(variants))
        for name in names:
            seconds, completions = _timed(lambda name=name: engine.generate(variants[name]))
            tokens = sum(c.completion_tokens for c in completions)
            out[name]["tokens_per_s"].append(tokens / seconds)
            out[name]["json"].append(sum(_valid_json(c.text) for c in completions) / n)
    return out


def _token_sources() -> list[tuple[str, str, list[Any]]]:
    """(task, label, records): token_report's fixtures one by one, then each dataset."""
    sys.path.insert(0, str(ROOT / "scripts"))
    import token_report

    from structkit.evaluation import load_dataset

    tasks = {"clinical": "diagnosis", "finance": "financials"}
    sources = [
        (tasks[domain], label, [path])
        for domain, label, path in token_report.CASES
        if path.exists() and domain in tasks
    ]
    for task in ("diagnosis", "financials", "clauses"):
        dataset = ROOT / "datasets" / f"{task}.jsonl"
        if dataset.exists():
            items = load_dataset(dataset)
            sources.append((task, f"datasets/{task}.jsonl (mean of {len(items)})", items))
    return sources


def bench_tokens(engine: Any) -> list[tuple[str, str, dict[str, float | None]]]:
    """Mean full-prompt tokens per record for each format (None: the format does not apply)."""
    from structkit import get_task
    from structkit.adapters import load, render
    from structkit.evaluation import DatasetItem

    rows = []
    for task_name, label, sources in _token_sources():
        task = get_task(task_name)
        records = [load(s.input if isinstance(s, DatasetItem) else s) for s in sources]
        means: dict[str, float | None] = {}
        for fmt in FORMATS:
            if (fmt == "text") != (task.format == "text"):
                means[fmt] = None  # documents render as text; tables and JSON records not
                continue
            try:
                counts = [
                    engine.count_tokens(
                        task.prompt(render(r, format=fmt), profile=engine.profile)[0]["content"]
                    )
                    for r in records
                ]
            except Exception:  # a format that cannot render this record kind
                means[fmt] = None
                continue
            means[fmt] = statistics.mean(counts)
        rows.append((task_name, label, means))
    return rows


def bench_prefix(
    make_engine: Callable[[bool], Any], first: Any, rounds: int, n: int, answer_tokens: int
) -> dict[str, dict[str, list[float]]]:
    """Prompt tokens/s with prefix caching on (``first``, then closed) and off (a new engine)."""
    out: dict[str, dict[str, list[float]]] = {}
    for name, caching in (("on", True), ("off", False)):
        engine = first if caching else make_engine(False)
        figures: dict[str, list[float]] = {"prompt_tokens_per_s": [], "requests_per_s": []}
        for round_ in range(rounds + 1):  # round 0 warms up; fresh records every round
            requests = _requests(
                engine, _records(n, offset=1000 * (round_ + 1)), json_schema=None,
                max_tokens=answer_tokens, temperature=0.0,
            )  # fmt: skip
            seconds, completions = _timed(lambda e=engine, r=requests: e.generate(r))
            if round_:
                prompt = sum(c.prompt_tokens for c in completions)
                figures["prompt_tokens_per_s"].append(prompt / seconds)
                figures["requests_per_s"].append(n / seconds)
        out[name] = figures
        close = getattr(engine, "close", None)
        if callable(close):
            close()  # one engine alive at a time
    return out


def _fmt(values: list[float]) -> str:
    from bench_engines import fmt_mean_std

    return fmt_mean_std(values, 1 if abs(statistics.mean(values)) >= 100 else 3)


def _fake_engine(*_: Any) -> Any:
    """A FakeEngine answering diagnosis requests validly (evidence from the schema's enum)."""
    import structkit

    def respond(request: Any) -> str:
        if request.json_schema is None:
            return "Free text: the patient probably has an acute coronary syndrome."
        evidence = request.json_schema["$defs"]["DifferentialItem"]["properties"]["evidence"]
        labels = evidence["items"].get("enum", ["ecg"])
        return json.dumps(
            {
                "summary": "Chest pain with ST elevation.",
                "differential": [
                    {"condition": "STEMI", "evidence": labels[:2], "likelihood": 0.8,
                     "rationale": "ST elevation and raised troponin."}
                ],
                "recommended_tests": ["Coronary angiography"],
                "red_flags": ["ST elevation"],
                "insufficient_information": False,
                "missing_information": [],
            }
        )  # fmt: skip

    return structkit.FakeEngine(respond, model_name="fake")


def _print_overhead(result: dict[str, Any]) -> None:
    print(f"\n## overhead: batch of {result['records']} records, {result['rounds']} rounds")
    print("| path | records/s (mean ± std) | valid per round |")
    print("|---|---|---|")
    for name in ("raw", "structkit"):
        print(f"| {name} | {_fmt(result['records_per_s'][name])} | {result['valid'][name]} |")
    print(f"structkit / raw records/s ratio: {result['overhead_ratio']:.3f} (target >= 0.95)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    # "engines" starts engines of its own and takes long: only when asked for.
    parser.add_argument("--sections", default=",".join(s for s in SECTIONS if s != "engines"))
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--records", type=int, default=8)
    parser.add_argument("--model", default=None)
    parser.add_argument("--prefix-answer-tokens", type=int, default=8)
    parser.add_argument("--fake", action="store_true", help="FakeEngine: smoke test only")
    parser.add_argument("--engines", default="llama.cpp,raw,vllm", help="paths of 'engines'")
    parser.add_argument("--singles", type=int, default=2, help="'engines': records at batch 1")
    parser.add_argument(
        "--workload", default="questions,whole", help="'engines': questions and/or whole"
    )
    args = parser.parse_args()
    sections = [s for s in SECTIONS if s in set(args.sections.split(","))]
    unknown = set(args.sections.split(",")) - set(SECTIONS)
    if unknown:
        parser.error(f"unknown sections {sorted(unknown)}; choose from {', '.join(SECTIONS)}")

    def make_engine(caching: bool) -> Any:
        if args.fake:
            return _fake_engine()
        from structkit.engines import VLLMEngine

        engine = VLLMEngine(args.model, enable_prefix_caching=caching)
        _ = engine.llm  # start now, outside the timings
        return engine

    if args.fake and "engines" in sections:
        # The engines section compares real engines; the fake engine has nothing to say there.
        sections.remove("engines")
        print("engines section skipped with --fake (it compares real engines)")
    if sections == ["engines"]:
        _run_engines(args)
        return
    started = time.perf_counter()
    engine = make_engine(True)
    print(f"engine: {engine.model_name}; cold start {time.perf_counter() - started:.1f} s")
    n, rounds = args.records, args.rounds
    if "overhead" in sections:
        _print_overhead(bench_overhead(engine, rounds, n))
    if "batching" in sections:
        rps = bench_batching(engine, rounds, n)
        print(f"\n## batching: {n} records, {rounds} rounds")
        print("| mode | records/s (mean ± std) |\n|---|---|")
        for name, values in rps.items():
            print(f"| {name} | {_fmt(values)} |")
        ratio = statistics.mean(rps["batched"]) / statistics.mean(rps["one by one"])
        print(f"batched / one-by-one: {ratio:.2f}x")
    if "batchsize" in sections:
        sizes = bench_batchsize(engine)
        print("\n## batch jobs: 32 records through structkit.run_batch, by --batch-size")
        print("| batch size | records/s |\n|---|---|")
        for size, value in sizes.items():
            print(f"| {size} | {value:.3f} |")
    if "constrained" in sections:
        figures = bench_constrained(engine, rounds, n)
        print(f"\n## constrained vs unconstrained decoding: {n} prompts, {rounds} rounds")
        print("| decoding | completion tokens/s (mean ± std) | answers that parse as JSON |")
        print("|---|---|---|")
        for name, values in figures.items():
            print(f"| {name} | {_fmt(values['tokens_per_s'])} | {_fmt(values['json'])} |")
    if "tokens" in sections:
        print("\n## prompt tokens per record per format (template + record)")
        print("| task | records | " + " | ".join(FORMATS) + " | best |")
        print("|---|---|" + "---|" * (len(FORMATS) + 1))
        for task_name, label, means in bench_tokens(engine):
            known = {k: v for k, v in means.items() if v is not None}
            best = min(known, key=lambda k: known[k]) if known else "-"
            cells = " | ".join("-" if v is None else f"{v:.0f}" for v in means.values())
            print(f"| {task_name} | {label} | {cells} | {best} |")
    if "prefix" in sections:
        answer = args.prefix_answer_tokens
        figures = bench_prefix(make_engine, engine, rounds, n, answer)
        print(f"\n## prefix caching: {n} fresh records per round, {answer}-token answers")
        print("| prefix caching | prompt tokens/s (mean ± std) | requests/s (mean ± std) |")
        print("|---|---|---|")
        for name, values in figures.items():
            print(
                f"| {name} | {_fmt(values['prompt_tokens_per_s'])} | "
                f"{_fmt(values['requests_per_s'])} |"
            )
    if "engines" in sections:
        close = getattr(engine, "close", None)
        if callable(close):  # free the cores before the engines section starts its own
            close()
        _run_engines(args)


@functools.cache
def _asking_files() -> tuple[str, ...]:
    """The real records that reach the model: code answers a record with fewer than two
    candidates alone (no question), which would make records/s faster for free."""
    from structkit.adapters import load
    from structkit.tasks.diagnosis import analyse

    lines = (ROOT / "datasets" / "diagnosis_real.jsonl").read_text().splitlines()
    files = [str(ROOT / "datasets" / json.loads(line)["input"]) for line in lines if line.strip()]
    return tuple(f for f in files if analyse(load(f)).asks)


def _real_records(n: int, offset: int = 0) -> list[Any]:
    """Distinct real patient records (datasets/diagnosis_real: FHIR JSON and C-CDA XML files,
    given by path as a user would) that each get a question, cycling when more are asked."""
    files = _asking_files()
    return [files[(offset + i) % len(files)] for i in range(n)]


def _question_requests(engine: Any, records: list[Any]) -> list[Any]:
    """The question-mode requests structkit sends for ``records`` at the first attempt."""
    import structkit
    from structkit._ask import question_context
    from structkit._sampling import request_seed
    from structkit.adapters import load
    from structkit.engines import GenerationRequest

    profile, requests = engine.profile, []
    context = question_context(engine, mode="model", grounding=True)
    task = structkit.DIAGNOSIS
    assert task.questions is not None
    for i, raw in enumerate(records):
        for question in task.questions(load(raw, record_id=f"#{i}"), context):
            requests.append(
                GenerationRequest(
                    messages=question.messages,
                    json_schema=question.json_schema,
                    max_tokens=question.max_tokens + profile.thinking_tokens,
                    temperature=profile.temperature,
                    top_p=profile.top_p,
                    seed=request_seed(0, index=len(requests), attempt=1, sample=0),
                )
            )
    return requests


def _workloads() -> dict[str, Any]:
    from bench_engines import Workload

    import structkit

    return {
        "questions": Workload(
            "questions",
            "structkit.diagnose as shipped (one small question per record), real records",
            structkit.DIAGNOSIS,
            _real_records,
            _question_requests,
        ),
        "whole": Workload(
            "whole",
            "issue #16's workload: the whole-record prompt and grounded schema, example record",
            _classic_task(),
            _records,
            _requests,
        ),
    }


def _run_engines(args: argparse.Namespace) -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from bench_engines import PATHS, bench_engines, host_line, print_engines

    paths = [p for p in args.engines.split(",") if p]
    if set(paths) - set(PATHS):
        raise SystemExit(f"--engines: choose from {', '.join(PATHS)}")
    workloads = _workloads()
    chosen = [w for w in args.workload.split(",") if w]
    if set(chosen) - set(workloads):
        raise SystemExit(f"--workload: choose from {', '.join(workloads)}")
    print(host_line(), flush=True)
    for name in chosen:
        results = bench_engines(
            paths,
            rounds=args.rounds,
            n=args.records,
            singles=args.singles,
            model=args.model,
            workload=workloads[name],
        )
        print_engines(
            results,
            workload=workloads[name],
            n=args.records,
            rounds=args.rounds,
            singles=args.singles,
        )


if __name__ == "__main__":
    main()
