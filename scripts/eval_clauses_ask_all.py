"""The clauses model pipeline with every category asked, on the held-out CUAD half, and its speed.

    flock /tmp/structkit-engine.lock env PYTHONPATH=. python scripts/eval_clauses_ask_all.py \\
        [datasets/clauses.jsonl] [--runs 3] [--folder DIR_OF_CONTRACTS]

The calibrated questions band of the default model is empty (it asks nothing), so
``structkit eval clauses`` cannot show what the model's answers are worth. This evaluates
``clauses_task(band=(-inf, inf))`` (every category with a candidate asked) beside the baseline on
the CUAD contracts at odd positions (the half ``scripts/calibrate_clauses.py`` never calibrates
on), prints the report, then times one batch of the contracts in ``--folder`` on a warm engine.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

from structkit._runner import run_task
from structkit.engines import resolve_engine
from structkit.evaluation import evaluate, load_dataset
from structkit.evaluation._report import to_markdown
from structkit.tasks.clauses import clauses_task


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("dataset", nargs="?", default="datasets/clauses.jsonl")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--folder", type=Path, help="contracts (.txt) to time one batch of")
    args = parser.parse_args()
    task = clauses_task(band=(-math.inf, math.inf))
    held_out = [i for i in load_dataset(args.dataset) if i.id.startswith("cuad_")][1::2]
    evaluation = evaluate(
        task,
        held_out,
        settings=[{"mode": "model"}, {"mode": "baseline"}],
        runs=args.runs,
        on_progress=print,
    )
    print(to_markdown(evaluation))
    if args.folder:
        files = sorted(str(p) for p in args.folder.glob("*.txt"))
        engine = resolve_engine()
        run_task(task, files[:1], engine=engine, mode="model", max_attempts=1)  # warm-up
        started = time.perf_counter()
        outcomes = run_task(task, files, engine=engine, mode="model")
        seconds = time.perf_counter() - started
        print(
            f"every category asked, {len(files)} contracts: {sum(o.ok for o in outcomes)} ok, "
            f"{seconds:.1f} s, {60 * len(files) / seconds:.2f} contracts/min, "
            f"{sum(o.questions for o in outcomes)} questions"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
