"""``structkit tune TASK DATA --out DIR``: train a task's adapters from gold."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

__all__ = ["add_tune_parser", "run_tune"]

_DESCRIPTION = """\
Train adapters for a task from gold, and write one folder per kind under --out, each with its
weights (safetensors) and a manifest (base model and data sha256, settings, validation figures).

clauses: DATA is a CUAD folder (full_contract_txt/ and master_clauses.csv) or a dataset in the
evaluation format (.jsonl). Two kinds: `learned` (code's ranking features and the span's words,
no model) and `tuned` (the same plus the default model's hidden states of each span). Contracts
are split by document (seeded); settings are chosen on the validation contracts. From a CUAD
folder, these are never used: contracts whose text or dataset name (cuad_<slug>.txt) equals a
file under --exclude (pass datasets/clauses), the four CUAD
contracts of issue #12, and those whose file name's sha256 starts with 0 or 1.

Use an adapter with `structkit clauses FILE --adapter DIR/clauses-tuned` (or --mode tuned for
the shipped one).
"""


def add_tune_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    tune = sub.add_parser(
        "tune",
        help="train a task's adapters from gold (clauses)",
        description=_DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    tune.add_argument("task", help="the task to tune: clauses")
    tune.add_argument("data", help="a CUAD folder or an evaluation-format .jsonl")
    tune.add_argument("--out", required=True, metavar="DIR", help="folder for the adapters")
    tune.add_argument(
        "--kinds", default="learned,tuned", help="comma-separated: learned, tuned (both)"
    )
    tune.add_argument("--seed", type=int, default=0, help="split and fitting seed (0)")
    tune.add_argument("--train", type=int, default=236, help="CUAD: training contracts (236)")
    tune.add_argument("--validation", type=int, default=48, help="CUAD: validation contracts (48)")
    tune.add_argument(
        "--exclude",
        action="append",
        default=[],
        metavar="FOLDER",
        help="never train on a contract whose text or dataset name is a .txt here (repeatable)",
    )
    tune.add_argument(
        "--cache", default=None, metavar="DIR", help="keep hidden states here between runs"
    )


def run_tune(args: argparse.Namespace) -> int:
    from . import tune

    exclude = [p for folder in args.exclude for p in sorted(Path(folder).glob("*.txt"))]
    report = tune(
        args.task,
        args.data,
        out=args.out,
        kinds=[k.strip() for k in args.kinds.split(",") if k.strip()],
        seed=args.seed,
        train=args.train,
        validation=args.validation,
        exclude_texts=exclude,
        cache=args.cache,
    )
    print(report.summary())
    for kind, folder in report.kinds.items():
        print(f"{kind}: {folder}", file=sys.stderr)
    return 0
