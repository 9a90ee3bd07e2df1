"""Patient record -> differential diagnosis (decision support, not a diagnosis of record)."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

__all__ = ["Diagnosis", "DifferentialItem"]

ShortText = Annotated[str, StringConstraints(min_length=1, max_length=120)]


class DifferentialItem(BaseModel):
    """One candidate condition."""

    model_config = ConfigDict(extra="forbid")

    condition: Annotated[str, StringConstraints(min_length=1, max_length=100)] = Field(
        description="Name of the candidate condition."
    )
    likelihood: float = Field(ge=0.0, le=1.0, description="Estimated probability, 0 to 1.")
    rationale: Annotated[str, StringConstraints(max_length=240)] = Field(
        description="Which findings in the record support or argue against it."
    )


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
