"""Quality of the three built-in tasks over repeated runs, with and without grounded decoding.

    .venv/bin/python scripts/task_quality.py --runs 3          # Markdown table on stdout

Per task and setting, over ``--runs`` runs (seed = run index), mean ± std of:
  valid      share of records with a schema-valid answer
  grounded   share of copied values verified in the input (citations, cells, spans)
  accuracy   financials: share of gold (metric, period) values extracted exactly;
             clauses: CUAD span F1 (micro) against the expert annotations; diagnosis: no gold
"""

from __future__ import annotations

import argparse
import json
import statistics
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
FIX = ROOT / "tests" / "fixtures"


def _mean_std(values: list[float]) -> str:
    if not values:
        return "n/a"
    std = statistics.stdev(values) if len(values) > 1 else 0.0
    return f"{statistics.mean(values):.2f} ± {std:.2f}"


def diagnosis_scores(outcomes: list[Any]) -> tuple[float, float | None, float | None]:
    valid = [o for o in outcomes if o.ok]
    cited = [e for o in valid for item in o.value.differential for e in item.evidence]
    bad = [e for o in valid for item in o.value.differential for e in item.ungrounded_evidence]
    grounded = 1 - len(bad) / len(cited) if cited else None
    return len(valid) / len(outcomes), grounded, None


def financial_scores(outcomes: list[Any]) -> tuple[float, float | None, float | None]:
    from structkit.tasks.financials import parse_amount

    gold = json.loads((FIX / "finance" / "apple_gold.json").read_text())["files"]
    valid = [o for o in outcomes if o.ok]
    items = [i for o in valid for i in o.value.line_items]
    grounded = sum(i.grounded for i in items) / len(items) if items else None
    hits = total = 0
    for outcome in outcomes:
        for expected in gold.get(outcome.record_id, {}).get("items", []):
            total += 1
            got = (
                outcome.value.value_of(expected["metric"], expected["period"])
                if outcome.ok
                else None
            )
            want = parse_amount(expected["value"])
            hits += got is not None and want is not None and float(got) == float(want)
    return len(valid) / len(outcomes), grounded, (hits / total if total else None)


def clause_scores(outcomes: list[Any]) -> tuple[float, float | None, float | None]:
    from structkit.evaluation import cuad
    from structkit.tasks.clauses import CLAUSE_TYPES

    valid = [o for o in outcomes if o.ok]
    clauses = [c for o in valid for c in o.value.clauses]
    grounded = sum(c.verified for c in clauses) / len(clauses) if clauses else None
    f1s = []
    csv_path = FIX / "contracts" / "cuad_clauses_for_samples.csv"
    for outcome in outcomes:
        source = (FIX / "contracts" / outcome.record_id).read_text(encoding="utf-8")
        gold = cuad.load_gold(csv_path, outcome.record_id.split("_")[1].upper(), source_text=source)
        predicted = outcome.value.clauses if outcome.ok else []
        # Score the types we extract that the experts marked, plus any we predicted.
        types = ({s.clause_type for s in gold.spans} & set(CLAUSE_TYPES)) | {
            c.clause_type for c in predicted
        }
        f1s.append(cuad.score(predicted, gold.spans, types=sorted(types)).micro.f1)
    return len(valid) / len(outcomes), grounded, statistics.mean(f1s)


Scorer = Callable[[list[Any]], tuple[float, float | None, float | None]]
TASKS: dict[str, tuple[list[Path], Scorer]] = {
    "diagnosis": (
        [
            ROOT / "examples" / "patient_record.json",
            FIX / "fhir_bundle_chest_pain.json",
            FIX / "ccda_discharge_small.xml",
        ],
        diagnosis_scores,
    ),
    "financials": (
        [FIX / "apple_fy2021_2023_income_statement.csv", FIX / "apple_fy2023_balance_sheet.csv"],
        financial_scores,
    ),
    "clauses": (
        [
            FIX / "contracts" / "cuad_netzee_maintenance_agreement.txt",
            FIX / "contracts" / "cuad_agape_supply_agreement.txt",
        ],
        clause_scores,
    ),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--tasks", default=",".join(TASKS))
    parser.add_argument("--model", default=None)
    args = parser.parse_args()

    import structkit
    from structkit.engines import get_engine

    engine = get_engine(args.model)
    print(f"model: {engine.model_name}; runs: {args.runs}\n")
    print("| task | grounding | valid | grounded | accuracy |")
    print("|---|---|---|---|---|")
    for name in args.tasks.split(","):
        paths, scorer = TASKS[name]
        for grounding in (True, False):
            scores: list[tuple[float, float | None, float | None]] = []
            for run in range(args.runs):
                outcomes = structkit.run(
                    name, paths, engine=engine, grounding=grounding, seed=run, max_attempts=2
                )
                scores.append(scorer(outcomes))
            cols = [_mean_std([s[k] for s in scores if s[k] is not None]) for k in range(3)]
            print(
                f"| {name} | {'on' if grounding else 'off'} | " + " | ".join(cols) + " |",
                flush=True,
            )


if __name__ == "__main__":
    main()
