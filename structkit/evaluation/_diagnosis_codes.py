"""Scoring a coded differential against ICD-10-CM gold (the real-record diagnosis benchmark).

A predicted code matches a gold code when they are equal or one is the other's ancestor in
ICD-10-CM (E11 matches E11.9; E11.9 does not match E11.40). recall@k is, per record, the share of
gold codes matched by the first k predictions, averaged over records (a record with more than
k gold codes cannot reach 1); recall@1 and MRR (the mean over records of 1 / the rank of the
first correct prediction, 0 when none is) measure the order. Precision is micro-averaged over
all predicted items. A failed record counts as an empty differential.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ..clinical.icd10cm import related, title_of

__all__ = ["score_coded_differential"]


def _match(predicted: str, gold: str) -> bool:
    return predicted == gold or related(predicted, gold)


def score_coded_differential(
    values: Sequence[Any], golds: Sequence[Mapping[str, Any]]
) -> dict[str, float | None]:
    recalls: list[float] = []
    firsts: list[float] = []
    reciprocal: list[float] = []
    predicted_total = predicted_correct = invalid = 0
    for value, gold in zip(values, golds, strict=True):
        wanted = [str(c) for c in gold.get("icd10", [])]
        if not wanted:
            continue
        codes = [d.code for d in value.differential] if value is not None else []
        top = codes[:5]
        recalls.append(sum(any(_match(p, g) for p in top) for g in wanted) / len(wanted))
        firsts.append(sum(any(_match(p, g) for p in top[:1]) for g in wanted) / len(wanted))
        hits = [rank for rank, p in enumerate(codes, 1) if any(_match(p, g) for g in wanted)]
        reciprocal.append(1.0 / hits[0] if hits else 0.0)
        predicted_total += len(codes)
        predicted_correct += sum(any(_match(p, g) for g in wanted) for p in codes)
        invalid += sum(title_of(p) is None for p in codes)
    if not recalls:
        return {}
    return {
        "recall_at5": sum(recalls) / len(recalls),
        "recall_at1": sum(firsts) / len(firsts),
        "mrr": sum(reciprocal) / len(reciprocal),
        "code_precision": predicted_correct / predicted_total if predicted_total else None,
        "invalid_codes": float(invalid),
    }
