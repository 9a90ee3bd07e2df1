"""Calibrate and check the clauses baseline's threshold (no model).

    PYTHONPATH=. python scripts/calibrate_clauses.py [datasets/clauses.jsonl] [--k 3]

The CUAD contracts of the dataset are split by position: even positions calibrate (the threshold
maximizing micro span F1 over them), odd positions only report. Also printed: the recall the
question mode can reach at ``k`` (a gold span among the top-k candidates shown to the model) and
micro F1 of the baseline on every item, the CUAD items and the synthetic items.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from structkit.adapters import load
from structkit.evaluation import cuad
from structkit.tasks import _clause_modes as modes
from structkit.tasks.clauses import CLAUSE_TYPES, ClauseExtraction, postprocess


def _items(path: Path) -> list[tuple[str, Any, list[cuad.GoldSpan]]]:
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        record = load(path.parent / row["input"])
        gold = [
            cuad.GoldSpan(s["clause_type"], s["text"], s["start"], s["end"])
            for s in row["gold"]["spans"]
        ]
        out.append((row["id"], record, gold))
    return out


def _micro(items: list[tuple[str, Any, list[cuad.GoldSpan]]], threshold: float) -> cuad.Score:
    total = cuad.Score(0, 0, 0, 0)
    for _, record, gold in items:
        clauses = modes.baseline_clauses(record, threshold=threshold)
        value = postprocess(ClauseExtraction.model_validate({"clauses": clauses}), record)
        s = cuad.score(value.clauses, gold, types=CLAUSE_TYPES).micro
        total = cuad.Score(
            total.predicted + s.predicted,
            total.gold + s.gold,
            total.correct_predicted + s.correct_predicted,
            total.found_gold + s.found_gold,
        )
    return total


def _reachable(items: list[tuple[str, Any, list[cuad.GoldSpan]]], k: int) -> tuple[int, int]:
    """(categories with gold whose top-k shows a matching span, categories with gold)."""
    hit = total = 0
    for _, record, gold in items:
        analysis = modes.analyse(record)
        for clause_type in analysis.ranked:
            wanted = [g for g in gold if g.clause_type == clause_type]
            if not wanted:
                continue
            total += 1
            shown = modes.question_candidates(analysis, clause_type, k)
            hit += any(
                cuad.spans_match(cuad.GoldSpan(clause_type, c.text, c.start, c.end), g)
                for c in shown
                for g in wanted
            )
    return hit, total


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("dataset", nargs="?", default="datasets/clauses.jsonl")
    parser.add_argument("--k", type=int, default=modes.DEFAULT_K)
    args = parser.parse_args()
    items = _items(Path(args.dataset))
    real = [i for i in items if i[0].startswith("cuad_")]
    calibration, held_out = real[0::2], real[1::2]
    grid = [x / 2 for x in range(-4, 25)]
    best = max(grid, key=lambda t: (_micro(calibration, t).f1, -t))
    print(f"threshold calibrated on {len(calibration)} CUAD items: {best}")
    for name, subset in (
        ("calibration", calibration),
        ("held-out", held_out),
        ("cuad", real),
        ("synthetic", [i for i in items if not i[0].startswith("cuad_")]),
        ("all", items),
    ):
        s = _micro(subset, best)
        print(f"{name:12s} P {s.precision:.3f} R {s.recall:.3f} F1 {s.f1:.3f} (n={len(subset)})")
    hit, total = _reachable(items, args.k)
    print(f"categories with gold whose top-{args.k} holds a match: {hit}/{total}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
