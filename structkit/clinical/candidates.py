"""Candidate conditions for one record, each an ICD-10-CM code verified against the code list.

Retrieved from the record's own facts only: coded problems (ICD-10-CM as is, SNOMED CT through
:mod:`.snomed_map`), problem text and notes matched against the shipped index of common
conditions (:mod:`.condition_index`) and, failing that, against ICD-10-CM titles; medications,
procedures and flagged measurements through the index. Every candidate carries the reasons and
pointers it was retrieved for, and a code-only evidence weight that the no-model baseline ranks by.
"""

from __future__ import annotations

import re

from pydantic import BaseModel, ConfigDict, Field

from .condition_index import RULES, Rule
from .findings import Findings, ListedItem, Measurement
from .icd10cm import search_titles, title_of
from .scores import Score
from .snomed_map import SNOMED_TO_ICD10CM

__all__ = ["Candidate", "candidates_for"]

# Evidence weights of the code-only baseline: a listed problem outweighs a drug, which outweighs
# one abnormal value or a phrase in a note.
_WEIGHT = {
    "problem": 3.0,
    "medication": 2.0,
    "procedure": 2.0,
    "critical": 1.5,
    "finding": 1.0,
    "note": 1.0,
    "score": 1.5,
}


class Candidate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: str
    title: str = Field(description="The official ICD-10-CM title of `code`.")
    weight: float = Field(description="Code-only evidence weight (the baseline ranks by it).")
    reasons: list[str]
    pointers: list[str]


def _finding_matches(trigger: str, m: Measurement) -> bool:
    measure, _, flag = trigger.partition(":")
    if m.measure != measure:
        return False
    if flag == "obese":
        return m.value >= 30
    if flag == "overweight":
        return 25 <= m.value < 30
    if flag == "diabetic":
        return m.value >= 6.5
    if flag == "prediabetic":
        return 5.7 <= m.value < 6.5
    return m.flag in (flag, f"critical_{flag}")


class _Pool:
    def __init__(self) -> None:
        self.by_code: dict[str, Candidate] = {}

    def add(self, code: str, kind: str, reason: str, pointers: list[str]) -> None:
        title = title_of(code)
        if title is None:
            return  # not in the code list: never offered
        c = self.by_code.setdefault(
            code, Candidate(code=code, title=title, weight=0.0, reasons=[], pointers=[])
        )
        if reason not in c.reasons:
            c.weight += _WEIGHT[kind]
            c.reasons.append(reason)
        c.pointers += [p for p in pointers if p not in c.pointers]


def _text_rules(text: str) -> list[Rule]:
    low = text.lower()
    return [r for r in RULES if any(re.search(p, low) for p in r.text)]


def _problem(pool: _Pool, item: ListedItem) -> None:
    system, _, code = item.code.partition(" ")
    reason = f"problem list: {item.text[:80]}"
    if system in ("ICD-10-CM", "ICD-10") and title_of(code):
        pool.add(code, "problem", reason, [item.pointer])
        return
    if system == "SNOMED" and code in SNOMED_TO_ICD10CM:
        pool.add(SNOMED_TO_ICD10CM[code], "problem", reason, [item.pointer])
        return
    rules = _text_rules(item.text)
    for rule in rules:
        pool.add(rule.code, "problem", reason, [item.pointer])
    if not rules:
        for found, _score in search_titles(item.text, limit=1, min_score=0.6):
            pool.add(found, "problem", f"{reason} (matched to the ICD-10-CM title)", [item.pointer])


def candidates_for(findings: Findings, scores: list[Score], *, limit: int = 12) -> list[Candidate]:
    """Up to ``limit`` verified candidates, by code-only evidence weight (ties: code order)."""
    pool = _Pool()
    for item in findings.problems:
        _problem(pool, item)
    for kind, items, field in (
        ("medication", findings.medications, "medications"),
        ("procedure", findings.procedures, "procedures"),
    ):
        for item in items:
            low = item.text.lower()
            for rule in RULES:
                if any(re.search(p, low) for p in getattr(rule, field)):
                    pool.add(rule.code, kind, f"{kind}: {item.text[:80]}", [item.pointer])
    for note in findings.notes:
        for rule in _text_rules(note.text):
            pool.add(rule.code, "note", f"note: {note.text[:80]}", [note.pointer])
    for m in findings.measurements:
        for rule in RULES:
            if any(_finding_matches(t, m) for t in rule.findings):
                kind = "critical" if m.flag.startswith("critical") else "finding"
                pool.add(rule.code, kind, f"{m.name} {m.value:g} {m.unit} ({m.flag})", m.pointers)
    _from_scores(pool, findings, scores)
    ranked = sorted(pool.by_code.values(), key=lambda c: (-c.weight, c.code))
    return ranked[:limit]


def _from_scores(pool: _Pool, findings: Findings, scores: list[Score]) -> None:
    """SIRS with fever or abnormal white cells suggests sepsis (A41.9) or SIRS of non-infectious
    origin (R65.10); with qSOFA >= 2 as well, severe sepsis (R65.20)."""
    by_name = {s.name: s for s in scores}
    sirs = by_name.get("SIRS")
    if sirs is None or sirs.value < 2:
        return
    met = [i for i in sirs.inputs if i.points]
    if not any(i.name.startswith(("temperature", "wbc")) for i in met):
        return  # tachycardia and tachypnoea alone do not suggest an infection
    pointers = [p for i in met for p in i.pointers]
    reason = f"SIRS {sirs.value}/4 criteria met"
    for code in ("A41.9", "R65.10"):
        pool.add(code, "score", reason, pointers)
    qsofa = by_name.get("qSOFA")
    if qsofa is not None and qsofa.value >= 2:
        pool.add("R65.20", "score", f"{reason} and qSOFA {qsofa.value}", pointers)
