"""The clauses heads on the CUAD contracts kept for an independent check (never trained on).

    PYTHONPATH=. .venv/bin/python scripts/eval_clauses_independent.py CUAD_FOLDER \\
        [--runs 3] [--max-bytes 100000] [--out reports/clauses-independent]

CUAD_FOLDER holds ``full_contract_txt/`` and ``master_clauses.csv`` (CUAD v1, CC BY 4.0). The
contracts are those whose file name without ``.txt`` has a sha256 starting with 0 or 1
(:func:`structkit.tuning.independent_contracts`), that have a gold row and are not in
``datasets/clauses/``; each becomes an evaluation item (expert spans located in the text, as
``scripts/dataset_clauses.py`` does), and ``structkit eval`` compares code's baseline, the learned
head (no model) and the tuned head (model hidden states) on them.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

from structkit.evaluation import evaluate, load_dataset, to_markdown, write_report
from structkit.tuning import independent_contracts

sys.path.insert(0, str(Path(__file__).resolve().parent))
from dataset_clauses import cuad_gold


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("cuad", type=Path)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--max-bytes", type=int, default=100_000)
    parser.add_argument("--modes", default="baseline,learned,tuned")
    parser.add_argument("--out", default="reports/clauses-independent")
    args = parser.parse_args()
    csv_path = args.cuad / "master_clauses.csv"
    work = Path(tempfile.mkdtemp(prefix="structkit-independent-"))
    lines = []
    paths = independent_contracts(
        args.cuad,
        exclude_texts=sorted(Path("datasets/clauses").glob("*.txt")),
        max_bytes=args.max_bytes,
    )
    for path in paths:
        name = f"c{len(lines):03d}.txt"
        (work / name).write_bytes(path.read_bytes())
        gold = cuad_gold(work / name, csv_path, path.stem + ".pdf")
        lines.append(json.dumps({"id": path.stem[:60], "input": name, "gold": gold}))
    dataset = work / "independent.jsonl"
    dataset.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"{len(lines)} independent-check contracts in {dataset}", file=sys.stderr)
    evaluation = evaluate(
        "clauses",
        load_dataset(dataset),
        settings=[{"mode": m} for m in args.modes.split(",")],
        runs=args.runs,
        name="CUAD independent check",
        on_progress=lambda line: print(line, file=sys.stderr, flush=True),
    )
    write_report(evaluation, args.out)
    print(to_markdown(evaluation))
    return 0


if __name__ == "__main__":
    sys.exit(main())
