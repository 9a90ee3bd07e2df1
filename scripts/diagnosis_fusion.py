"""Does the tuned model add anything to the learned head? Fuse the two, choose on validation.

    python scripts/diagnosis_fusion.py DATA --adapter LORA_FOLDER [--engine vllm] [--runs 3]

DATA: the dataset the LoRA and the head were tuned on (``structkit tune diagnosis DATA``). The
LoRA's validation records (its manifest) are the records the fusion weight is chosen on; the
benchmark, ``datasets/diagnosis_real.jsonl``, is only scored. For each record, each candidate's
score is the shipped head's logit plus ``w / (1 + its position in the LoRA's answer)`` (0 when
the LoRA did not place it); ``w = 0`` is the head alone, a large ``w`` the LoRA's order with the
head breaking ties. ``w`` is chosen by validation MRR, then recall@1, then the smaller ``w``.
Prints code's order, the head, the LoRA and the fused order on both sets (mean ± std over
``--runs`` seeds of the LoRA's sampling), with the host.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import structkit
from structkit._host import host
from structkit.adapters import load
from structkit.evaluation import load_dataset
from structkit.tasks.diagnosis import _head as head_mod
from structkit.tasks.diagnosis import analyse, diagnosis_task
from structkit.tuning._diagnosis import _scores, load_records, record_of

ROOT = Path(__file__).resolve().parents[1]
BENCHMARK = ROOT / "datasets" / "diagnosis_real.jsonl"
WEIGHTS = (0.0, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0)
METRICS = ("recall_at1", "mrr", "recall_at5")


def _benchmark() -> tuple[list[Any], dict[str, Any]]:
    items = load_dataset(BENCHMARK)
    scored = [
        record_of(
            i.id, [str(c) for c in i.gold.get("icd10", [])], analyse(load(i.input, record_id=i.id))
        )
        for i in items
    ]
    return scored, {i.id: i.input for i in items}


def _lora_orders(
    adapter: str, inputs: dict[str, Any], ids: Sequence[str], *, engine: str, seed: int
) -> dict[str, list[str]]:
    """The LoRA's order per record (only records the model answered: ``ranked_by == model``)."""
    outcomes = structkit.run(
        diagnosis_task(adapter=adapter),
        [inputs[i] for i in ids],
        record_ids=list(ids),
        engine=engine,
        mode="lora",
        seed=seed,
    )
    return {
        o.record_id: [d.code for d in o.value.differential]
        for o in outcomes
        if o.value is not None and o.value.ranked_by == "model"
    }


def _fused(
    head: head_mod.DiagnosisHead, records: Sequence[Any], lora: dict[str, list[str]], w: float
) -> list[list[str]]:
    orders = []
    for r in records:
        if not r.candidates:
            orders.append([])
            continue
        logits = head.logits(r.features, r.texts)
        position = {code: i for i, code in enumerate(lora.get(r.id, []))}
        score = [
            float(z) + (w / (1 + position[c.code]) if c.code in position else 0.0)
            for z, c in zip(logits, r.candidates, strict=True)
        ]
        ranks = sorted(range(len(score)), key=lambda i: (-score[i], i))
        orders.append([r.candidates[i].code for i in ranks])
    return orders


def _lora_alone(records: Sequence[Any]) -> Callable[[dict[str, list[str]]], dict[str, float]]:
    """The LoRA's own order; a record it was not asked (under two candidates) in code's."""
    return lambda lora: _scores(
        [lora.get(r.id, [c.code for c in r.candidates]) for r in records], list(records)
    )


def _over_runs(
    figures: Callable[[dict[str, list[str]]], dict[str, float]], runs: list[dict[str, list[str]]]
) -> dict[str, tuple[float, float]]:
    got = [figures(run) for run in runs]
    return {
        m: (statistics.mean(g[m] for g in got), statistics.pstdev(g[m] for g in got))
        for m in METRICS
    }


def _row(name: str, figures: dict[str, tuple[float, float]]) -> str:
    return f"| {name} | " + " | ".join(f"{m:.3f} ± {s:.3f}" for m, s in figures.values()) + " |"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data", type=Path)
    parser.add_argument("--adapter", required=True, help="a LoRA folder (tune --kinds lora)")
    parser.add_argument("--engine", default="vllm")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args(argv)

    manifest = json.loads((Path(args.adapter) / "manifest.json").read_text(encoding="utf-8"))
    held = set(manifest["training_data"]["validation_records"])
    head = head_mod.DiagnosisHead.load(head_mod.shipped_head_dir())
    if set(head.manifest["training_data"]["validation_records"]) != held:
        raise SystemExit("the shipped head and the LoRA were not validated on the same records")
    records, _ = load_records(args.data, exclude=[BENCHMARK])
    val = [r for r in records if r.id in held]
    bench, bench_inputs = _benchmark()
    val_inputs = {i.id: i.input for i in load_dataset(args.data)}
    sets: dict[str, tuple[Sequence[Any], list[dict[str, list[str]]]]] = {}
    for name, scored, inputs in (
        ("validation", val, val_inputs),
        ("benchmark", bench, bench_inputs),
    ):
        runs = []
        for seed in range(args.runs):
            started = time.perf_counter()
            ids = [r.id for r in scored]
            runs.append(_lora_orders(args.adapter, inputs, ids, engine=args.engine, seed=seed))
            print(f"{name} run {seed + 1}: {time.perf_counter() - started:.1f} s", flush=True)
        sets[name] = (scored, runs)

    def score(
        records: Sequence[Any], w: float
    ) -> Callable[[dict[str, list[str]]], dict[str, float]]:
        return lambda lora: _scores(_fused(head, records, lora, w), list(records))

    val_records, val_runs = sets["validation"]
    on_validation = {w: _over_runs(score(val_records, w), val_runs) for w in WEIGHTS}
    chosen = max(
        WEIGHTS,
        key=lambda w: (
            round(on_validation[w]["mrr"][0], 6),
            on_validation[w]["recall_at1"][0],
            -w,
        ),
    )
    print(f"host: {host()}; engine {args.engine}; LoRA {manifest['files']['adapter.gguf'][:12]}")
    for w, got in on_validation.items():
        print(f"validation w={w:g}: " + ", ".join(f"{m} {v[0]:.3f}" for m, v in got.items()))
    print(f"chosen on validation: w = {chosen:g}")
    for name, (scored, runs) in sets.items():
        print(f"\n{name} ({len(scored)} records, {args.runs} runs)\n")
        print("| order | recall@1 | MRR | recall@5 |\n|---|---|---|---|")
        code = _scores([[c.code for c in r.candidates] for r in scored], list(scored))
        print(_row("code", {m: (code[m], 0.0) for m in METRICS}))
        print(_row("learned head (no model)", _over_runs(score(scored, 0.0), runs)))
        print(_row("LoRA (model mode's order)", _over_runs(_lora_alone(scored), runs)))
        print(_row(f"head + LoRA (w = {chosen:g})", _over_runs(score(scored, chosen), runs)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
