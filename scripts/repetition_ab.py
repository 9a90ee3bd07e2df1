"""First-attempt valid share of diagnosis on llama.cpp by repetition setting (measurement).

    PYTHONPATH=. .venv/bin/python scripts/repetition_ab.py [ROUNDS]

Runs 8 example records per round in one batch, one attempt, for: no penalty, repetition
penalty 1.1, frequency penalty 0.3 (the SmolLM2 profile's other fields unchanged).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from benchmark import _records

import structkit
from structkit._profiles import DEFAULT_MODEL, profile_for
from structkit._runner import run_task
from structkit.engines import LlamaCppEngine

SETTINGS = (
    ("none", {"repetition_penalty": 1.0}),
    ("repetition 1.1", {"repetition_penalty": 1.1}),
    ("frequency 0.3", {"repetition_penalty": 1.0, "frequency_penalty": 0.3}),
)


def main() -> None:
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 1
    base = profile_for(DEFAULT_MODEL)
    for label, change in SETTINGS:
        engine = LlamaCppEngine(profile=base.with_overrides(**change))
        for round_ in range(rounds):
            started = time.perf_counter()
            outcomes = run_task(
                structkit.DIAGNOSIS, _records(8, 100 * round_), engine=engine, max_attempts=1
            )
            seconds = time.perf_counter() - started
            tokens = sum(o.completion_tokens for o in outcomes)
            print(
                f"{label} round {round_ + 1}: {sum(o.ok for o in outcomes)}/8 valid, "
                f"{8 / seconds:.3f} records/s, {tokens / seconds:.1f} tokens/s",
                flush=True,
            )
        engine.close()


if __name__ == "__main__":
    main()
