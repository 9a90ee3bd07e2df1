"""Shared fixtures. ``engine`` tests use the real default engine on the default model.

The real engine starts once per test session (llama.cpp: seconds; vLLM: about a minute on a
2-core CPU) and is shared.
Run only the fast tests with ``-m "not engine"``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
FIXTURES = Path(__file__).resolve().parent / "fixtures"


def valid_diagnosis(**changes: Any) -> dict[str, Any]:
    answer: dict[str, Any] = {
        "summary": "67-year-old man with chest pain and ST elevation.",
        "differential": [
            {
                "condition": "Inferior STEMI",
                "evidence": ["ecg", "labs.troponin_i_ng_per_l"],
                "likelihood": 0.8,
                "rationale": "ST elevation II, III, aVF",
            }
        ],
        "recommended_tests": ["Coronary angiography"],
        "red_flags": ["Raised troponin"],
        "insufficient_information": False,
        "missing_information": [],
    }
    answer.update(changes)
    return answer


def answer_text(**changes: Any) -> str:
    return json.dumps(valid_diagnosis(**changes))


@pytest.fixture
def patient_record() -> dict[str, Any]:
    data: dict[str, Any] = json.loads((EXAMPLES / "patient_record.json").read_text())
    return data


@pytest.fixture(scope="session")
def real_engine() -> Iterator[Any]:
    """The process-wide default engine on the packaged default model, started once.

    The platform's default (llama.cpp on CPU-only machines, vLLM on GPU ones), or the one
    ``STRUCTKIT_ENGINE`` names: CI runs the end-to-end tests once per engine.
    """
    from structkit.engines._select import engine_named

    engine: Any = engine_named(None, None)
    # Start now, so the first test does not carry the whole cold start alone.
    _ = engine.server if hasattr(engine, "server") else engine.llm
    yield engine
    engine.close()  # shut down while pytest's streams are still open (quiet teardown)
