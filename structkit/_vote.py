"""Self-consistency: combine several validated samples of one answer by per-field majority.

Each top-level field is voted on separately (values compared by their canonical JSON). The
winning values are re-validated as a whole; if the combination breaks a cross-field rule, the
sample that agrees most with the majority is returned instead. ``agreement`` maps each field to
the share of samples that gave the winning value: a confidence signal, not a probability.
"""

from __future__ import annotations

import json
from collections import Counter
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

__all__ = ["vote"]

M = TypeVar("M", bound=BaseModel)


def _canon(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False)


def vote(samples: list[M]) -> tuple[M, dict[str, float]]:
    """Return (combined answer, agreement per field) for one or more valid samples."""
    if not samples:
        raise ValueError("vote() needs at least one sample")
    dumps = [s.model_dump(mode="json") for s in samples]
    winners: dict[str, Any] = {}
    agreement: dict[str, float] = {}
    for name in dumps[0]:
        counts = Counter(_canon(d[name]) for d in dumps)
        best, count = counts.most_common(1)[0]  # ties: the earliest sample's value wins
        winners[name] = json.loads(best)
        agreement[name] = count / len(dumps)
    model = type(samples[0])
    try:
        return model.model_validate(winners), agreement
    except ValidationError:
        scores = [sum(_canon(d[k]) == _canon(winners[k]) for k in winners) for d in dumps]
        return samples[scores.index(max(scores))], agreement
