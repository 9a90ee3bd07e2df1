"""Calibrate and check the clauses baseline's threshold, and the questions mode's band.

    PYTHONPATH=. python scripts/calibrate_clauses.py [datasets/clauses.jsonl] [--k 3]
    flock /tmp/structkit-engine.lock env PYTHONPATH=. python scripts/calibrate_clauses.py \
        --ask answers.json            # the default model answers every category's question
    PYTHONPATH=. python scripts/calibrate_clauses.py --answers answers.json   # the band

With ``--ask FILE`` the default model answers the question of every category with candidates
(band ``(-inf, inf)``) on the calibration half only, and the answers are saved to FILE. With
``--answers FILE`` those answers are replayed: the band of ranking scores where the model is
asked (code keeps the best span above it, nothing below) is chosen to maximize micro span F1 on
the calibration half. The held-out half is never used to choose anything.

The CUAD contracts of the dataset are split by position: even positions calibrate (the threshold
maximizing micro span F1 over them), odd positions only report. Also printed: the recall the
question mode can reach at ``k`` (a gold span among the top-k candidates shown to the model) and
micro F1 of the baseline on every item, the CUAD items and the synthetic items.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path
from typing import Any

from structkit.adapters import load
from structkit.evaluation import cuad
from structkit.tasks.clauses import CLAUSE_TYPES, ClauseExtraction, postprocess
from structkit.tasks.clauses import _modes as modes


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
    """The baseline's micro score: a question band of width 0 asks nothing, and keeps a
    category's best span when it scores ``threshold`` or more."""
    return _band_micro(items, {}, (threshold, threshold), modes.DEFAULT_K)


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


Answers = dict[str, dict[str, Any]]  # item id -> question key -> the model's answer
_ANALYSES: dict[str, modes.Analysis] = {}


def _band_micro(
    items: list[tuple[str, Any, list[cuad.GoldSpan]]],
    answers: Answers,
    band: tuple[float, float],
    k: int,
) -> cuad.Score:
    total = cuad.Score(0, 0, 0, 0)
    for item_id, record, gold in items:
        if item_id not in _ANALYSES:
            _ANALYSES[item_id] = modes.analyse(record)
        clauses = modes.assemble_clauses(
            record, answers.get(item_id, {}), k=k, band=band, analysis=_ANALYSES[item_id]
        )
        value = postprocess(ClauseExtraction.model_validate({"clauses": clauses}), record)
        s = cuad.score(value.clauses, gold, types=CLAUSE_TYPES).micro
        total = cuad.Score(
            total.predicted + s.predicted,
            total.gold + s.gold,
            total.correct_predicted + s.correct_predicted,
            total.found_gold + s.found_gold,
        )
    return total


def _ask(items: list[tuple[str, Any, list[cuad.GoldSpan]]], k: int, path: Path) -> None:
    """The default model's answer to every category's question; saved to ``path``."""
    from pydantic import BaseModel

    from structkit._runner import run_task
    from structkit._task import Task
    from structkit.engines import resolve_engine
    from structkit.tasks.clauses import clauses_task

    class Raw(BaseModel):
        answers: dict[str, Any]

    asking = clauses_task(k=k, band=(-math.inf, math.inf))
    assert asking.questions is not None
    raw = Task(
        name="clauses-answers",
        template="clauses.jinja",
        output_model=Raw,
        format="text",
        modes=("model",),
        questions=asking.questions,
        assemble=lambda record, answers: {"answers": answers.values},
    )
    outcomes = run_task(raw, [r for _, r, _ in items], engine=resolve_engine())
    saved = {
        i: o.value.answers
        for (i, _, _), o in zip(items, outcomes, strict=True)
        if o.value is not None
    }
    path.write_text(json.dumps(saved, indent=1), encoding="utf-8")
    print(f"answers of {len(saved)}/{len(items)} contracts saved to {path}")


def _calibrate_band(
    calibration: list[tuple[str, Any, list[cuad.GoldSpan]]], answers: Answers, k: int
) -> tuple[float, float]:
    grid = [x / 2 for x in range(-4, 29)]
    scored = {
        (low, high): _band_micro(calibration, answers, (low, high), k).f1
        for low in grid
        for high in grid
        if low <= high
    }
    # Ties: the narrowest band (fewest questions), then the lowest.
    return max(scored, key=lambda b: (round(scored[b], 6), -(b[1] - b[0]), -b[0]))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("dataset", nargs="?", default="datasets/clauses.jsonl")
    parser.add_argument("--k", type=int, default=modes.DEFAULT_K)
    parser.add_argument("--ask", type=Path, help="run the default model; save its answers here")
    parser.add_argument("--answers", type=Path, help="calibrate the band from these answers")
    args = parser.parse_args()
    items = _items(Path(args.dataset))
    real = [i for i in items if i[0].startswith("cuad_")]
    calibration, held_out = real[0::2], real[1::2]
    if args.ask:
        _ask(calibration, args.k, args.ask)
        return 0
    if args.answers:
        answers: Answers = json.loads(args.answers.read_text(encoding="utf-8"))
        band = _calibrate_band(calibration, answers, args.k)
        asked = _band_micro(calibration, answers, band, args.k)
        always = _band_micro(calibration, answers, (-math.inf, math.inf), args.k)
        print(f"band calibrated on {len(calibration)} CUAD items: {band}")
        print(f"calibration  band F1 {asked.f1:.3f}; asking every category F1 {always.f1:.3f}")
        return 0
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
