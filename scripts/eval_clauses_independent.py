"""The clauses heads on the CUAD contracts kept for an independent check (never trained on).

    PYTHONPATH=. .venv/bin/python scripts/eval_clauses_independent.py CUAD_FOLDER \\
        [--runs 3] [--max-bytes 100000] [--out reports/clauses-independent]

CUAD_FOLDER holds ``full_contract_txt/`` and ``master_clauses.csv`` (CUAD v1, CC BY 4.0). The
contracts are those whose file name without ``.txt`` has a sha256 starting with 0 or 1
(:func:`structkit.tuning.independent_check`), that have a gold row and are not in
``datasets/clauses/``; each becomes an evaluation item (expert spans located in the text, as
``scripts/dataset_clauses.py`` does), and ``structkit eval`` compares code's baseline, the learned
head (no model) and the tuned head (model hidden states) on them.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import tempfile
from pathlib import Path

from structkit.evaluation import evaluate, load_dataset, to_markdown, write_report
from structkit.tuning import independent_check

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
    from structkit.evaluation import cuad

    csv_path = args.cuad / "master_clauses.csv"
    rows = {Path(r["Filename"]).stem.casefold() for r in cuad.read_master_clauses(csv_path)}
    ours = {
        hashlib.sha256(p.read_bytes()).hexdigest() for p in Path("datasets/clauses").glob("*.txt")
    }
    our_names = {p.stem for p in Path("datasets/clauses").glob("*.txt")}
    work = Path(tempfile.mkdtemp(prefix="structkit-independent-"))
    lines = []
    for path in sorted((args.cuad / "full_contract_txt").glob("*.txt")):
        data = path.read_bytes()
        if not independent_check(path.stem) or path.stem.casefold() not in rows:
            continue
        if len(data) > args.max_bytes or hashlib.sha256(data).hexdigest() in ours:
            continue
        if cuad.dataset_name(path.name) in our_names:
            continue
        name = f"c{len(lines):03d}.txt"
        (work / name).write_bytes(data)
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
