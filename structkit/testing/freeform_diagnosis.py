"""The classic (whole-record, free-text) diagnosis task structkit had before question mode.

Kept for tests and benchmarks of the generic runner, batch, validation and evaluation (structkit's
own and yours; importing this module registers it as ``diagnosis_freeform``): it exercises the
classic path (one prompt per record, the whole answer constrained to a Pydantic model, grounding
by enum of the record's labels). It is *not* a shipped task: a free-text condition can be a field
name, which is why ``structkit.diagnose`` ranks verified ICD-10-CM codes instead.

Every differential item cites the record fields it rests on (``evidence``). With grounding on,
decoding can only produce citations that exist in the record (an enum of its field labels);
after decoding, citations are resolved to provenance pointers (JSON Pointer / XPath / row-col)
and any that do not resolve are listed in ``ungrounded_evidence``.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator
from pydantic.json_schema import SkipJsonSchema

from .._api import run
from .._runner import Outcome
from .._task import Task, register_task
from ..adapters import Record
from ..evaluation import ACCURACY_METRICS, SCORERS, score_diagnosis

__all__ = [
    "DIAGNOSIS",
    "Diagnosis",
    "DifferentialItem",
    "diagnose",
    "diagnose_many",
    "evidence_labels",
]

ShortText = Annotated[str, StringConstraints(min_length=1, max_length=120)]
EvidenceLabel = Annotated[str, StringConstraints(min_length=1, max_length=160)]
#: Above this many distinct labels the enum is dropped (citations are still verified after).
_MAX_ENUM = 400


class DifferentialItem(BaseModel):
    """One candidate condition."""

    model_config = ConfigDict(extra="forbid")

    condition: Annotated[str, StringConstraints(min_length=1, max_length=100)] = Field(
        description="Name of the candidate condition."
    )
    evidence: list[EvidenceLabel] = Field(
        max_length=4,
        description="Labels of the record fields this rests on, as written in the record.",
    )
    likelihood: float = Field(ge=0.0, le=1.0, description="Estimated probability, 0 to 1.")
    rationale: Annotated[str, StringConstraints(max_length=240)] = Field(
        description="Why the cited findings support or argue against it."
    )
    # Filled in code after decoding, never by the model (kept out of the decoding schema).
    pointers: SkipJsonSchema[list[str]] = Field(default_factory=list)
    ungrounded_evidence: SkipJsonSchema[list[str]] = Field(default_factory=list)


class Diagnosis(BaseModel):
    """Decision-support answer for one patient record.

    Field order is deliberate: the model writes its summary of the record before committing to a
    differential (reasoning before answer helps small models under constrained decoding).
    """

    model_config = ConfigDict(extra="forbid")

    summary: Annotated[str, StringConstraints(min_length=1, max_length=400)] = Field(
        description="Short clinical summary of the relevant findings in the record."
    )
    differential: list[DifferentialItem] = Field(
        max_length=5, description="Candidate conditions, most likely first."
    )
    recommended_tests: list[ShortText] = Field(
        max_length=5, description="Next tests or examinations that would narrow the differential."
    )
    red_flags: list[ShortText] = Field(
        max_length=5, description="Findings that need urgent attention."
    )
    insufficient_information: bool = Field(
        description="True when the record is too thin to support any differential."
    )
    missing_information: list[ShortText] = Field(
        max_length=5, description="What would be needed to answer with more confidence."
    )

    @model_validator(mode="after")
    def _differential_or_explicitly_insufficient(self) -> Diagnosis:
        # An empty differential is only an answer when the model says why: insufficient data.
        if not self.differential and not self.insufficient_information:
            raise ValueError("empty differential requires insufficient_information=true")
        return self


def _label(section_title: str, key: str) -> str:
    return key if section_title in ("record", "") else f"{section_title}.{key}"


def evidence_labels(record: Record) -> dict[str, list[str]]:
    """Citable labels of a record (``section.key``) mapped to the pointers they stand for."""
    labels: dict[str, list[str]] = {}
    for section in record.sections:
        for value in section.all_values():
            label = _label(section.title, value.key)[:160]
            labels.setdefault(label, []).append(value.pointer)
    return labels


def _grounded_schema(record: Record, base: dict[str, Any]) -> dict[str, Any]:
    labels = sorted(evidence_labels(record))
    if not labels or len(labels) > _MAX_ENUM:
        return base
    schema = copy.deepcopy(base)
    schema["$defs"]["DifferentialItem"]["properties"]["evidence"]["items"] = {"enum": labels}
    return schema


def _resolve_evidence(value: Diagnosis, record: Record) -> Diagnosis:
    labels = evidence_labels(record)
    for item in value.differential:
        item.pointers = [p for label in item.evidence for p in labels.get(label, [])]
        item.ungrounded_evidence = [label for label in item.evidence if label not in labels]
    return value


DIAGNOSIS: Task[Diagnosis] = Task(
    name="diagnosis_freeform",
    template="diagnosis_freeform.jinja",
    template_dirs=(str(Path(__file__).parent / "templates"),),
    output_model=Diagnosis,
    grounded_schema=_grounded_schema,
    postprocess=_resolve_evidence,
)

register_task(DIAGNOSIS)
# The evaluation harness scores it like the shipped task's synthetic-pattern dataset.
SCORERS.setdefault(DIAGNOSIS.name, score_diagnosis)
ACCURACY_METRICS.setdefault(
    DIAGNOSIS.name, ("condition_top1", "condition_top3", "red_flags_f1", "insufficient_acc")
)


def diagnose(record: Any, **options: Any) -> Diagnosis:
    """Like the old ``structkit.diagnose``: the answer, or the record's typed error raised."""
    (outcome,) = run(DIAGNOSIS, [record], **options)
    value: Diagnosis = outcome.unwrap()
    return value


def diagnose_many(
    records: Any, *, record_ids: Any = None, **options: Any
) -> list[Outcome[Diagnosis]]:
    """One outcome per record, in order: an answer or the record's typed error, never raised."""
    return run(DIAGNOSIS, list(records), record_ids=record_ids, **options)
