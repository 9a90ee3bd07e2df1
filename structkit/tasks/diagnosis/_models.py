"""The output of the diagnosis task: what code computed, and the coded differential."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator
from pydantic.json_schema import SkipJsonSchema

from ...clinical.candidates import Candidate
from ...clinical.findings import Findings
from ...clinical.scores import RuleFlag, Score

__all__ = ["Analysis", "Diagnosis", "DifferentialItem"]

ShortText = Annotated[str, StringConstraints(min_length=1, max_length=160)]
# Fields filled by code, never decoded, are kept out of the JSON Schema (SkipJsonSchema): the
# schema describes only what a model could be asked to write.


class DifferentialItem(BaseModel):
    """One candidate condition: an ICD-10-CM code and its official title, never free text."""

    model_config = ConfigDict(extra="forbid")

    code: str = Field(
        max_length=8, description="ICD-10-CM code, from the candidates retrieved for this record."
    )
    condition: str = Field(max_length=240, description="The official ICD-10-CM title of `code`.")
    likelihood: float = Field(
        ge=0.0,
        le=1.0,
        description="Evidence weight w / (w + 2) of what retrieved the code, capped so it never"
        " increases down the list: a ranking score, not a calibrated probability.",
    )
    verified: SkipJsonSchema[bool] = Field(
        description="The code is in the ICD-10-CM code list (simple-icd-10-cm)."
    )
    evidence: SkipJsonSchema[list[str]] = Field(
        description="The record facts this candidate was retrieved for."
    )
    pointers: SkipJsonSchema[list[str]] = Field(description="Where those facts are in the record.")
    ungrounded_evidence: SkipJsonSchema[list[str]] = Field(default_factory=list)


class Diagnosis(BaseModel):
    """Decision support for one patient record (not a diagnosis of record).

    ``findings``, ``scores`` and ``rule_red_flags`` are computed in code; ``differential`` is a
    ranking of ICD-10-CM candidates (by the model, or by code in the ``baseline`` mode) and
    ``red_flags`` the abnormal findings that need attention first, by rule (critical values and
    early-warning-score inputs scoring 2 or 3 points).
    """

    model_config = ConfigDict(extra="forbid")

    # Only the differential's order is the model's (question mode): every other field is code's.
    summary: SkipJsonSchema[str] = Field(max_length=600)
    findings: SkipJsonSchema[Findings]
    scores: SkipJsonSchema[list[Score]]
    rule_red_flags: SkipJsonSchema[list[RuleFlag]]
    differential: list[DifferentialItem] = Field(max_length=5)
    red_flags: SkipJsonSchema[list[ShortText]] = Field(
        default_factory=list,
        max_length=5,
        description="Abnormal findings needing attention first (critical, or NEWS2 points >= 2).",
    )
    insufficient_information: SkipJsonSchema[bool]
    missing_information: SkipJsonSchema[list[ShortText]] = Field(
        default_factory=list, max_length=10
    )
    unverified: SkipJsonSchema[list[str]] = Field(
        default_factory=list, description="Codes the answer named that could not be verified."
    )
    consistency: SkipJsonSchema[list[str]] = Field(
        default_factory=list, description="What code changed to make the answer coherent."
    )
    ranked_by: SkipJsonSchema[Literal["model", "baseline", "adapter"]]

    @model_validator(mode="after")
    def _coherent(self) -> Diagnosis:
        if self.insufficient_information and self.differential:
            raise ValueError("insufficient_information=true excludes a differential")
        if not self.differential and not self.insufficient_information:
            raise ValueError("empty differential requires insufficient_information=true")
        codes = [d.code for d in self.differential]
        if len(set(codes)) != len(codes):
            raise ValueError("duplicate conditions in the differential")
        likelihoods = [d.likelihood for d in self.differential]
        if any(a < b for a, b in itertools.pairwise(likelihoods)):
            raise ValueError("likelihoods must not increase down the differential")
        return self


@dataclass(frozen=True)
class Analysis:
    """Everything code computes for one record before (or instead of) asking the model."""

    findings: Findings
    scores: list[Score]
    rule_flags: list[RuleFlag]
    candidates: list[Candidate]

    @property
    def asks(self) -> bool:
        """Whether the model is asked: ordering needs two or more candidates (none means
        insufficient information, one is its own order; code decides both)."""
        return len(self.candidates) >= 2
