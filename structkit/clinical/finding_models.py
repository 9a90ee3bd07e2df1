"""What :func:`~structkit.clinical.findings.extract_findings` returns: measurements with units,
ranges, flags and pointers, listed items, and the findings of one record."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["Findings", "Flag", "ListedItem", "Measurement"]

Flag = Literal["critical_low", "low", "normal", "high", "critical_high", "unknown"]


class Measurement(BaseModel):
    """One vital sign or lab value in its measure's canonical unit."""

    model_config = ConfigDict(extra="forbid")

    measure: str = Field(description="Measure id, e.g. 'heart_rate'.")
    name: str
    value: float = Field(
        description="In `unit` (converted with pint when the record used another)."
    )
    unit: str
    as_written: str = Field(description="The value and unit exactly as in the record.")
    date: str = ""
    flag: Flag
    range_low: float | None = None
    range_high: float | None = None
    range_source: Literal["record", "record interpretation", "shipped table", "none"]
    pointers: list[str] = Field(description="Where the value (and its range) sit in the record.")


class ListedItem(BaseModel):
    """A problem, medication or allergy as listed in the record."""

    model_config = ConfigDict(extra="forbid")

    text: str
    code: str = Field(default="", description="'SYSTEM code' when the record codes it.")
    status: str = ""
    pointer: str


class Findings(BaseModel):
    """Everything code could read exactly from the record."""

    model_config = ConfigDict(extra="forbid")

    age: float | None = None
    sex: str = ""
    measurements: list[Measurement] = Field(default_factory=list)
    problems: list[ListedItem] = Field(default_factory=list)
    medications: list[ListedItem] = Field(default_factory=list)
    allergies: list[ListedItem] = Field(default_factory=list)
    procedures: list[ListedItem] = Field(default_factory=list)
    notes: list[ListedItem] = Field(default_factory=list)
    unreadable: list[str] = Field(
        default_factory=list, description="Pointers of measure values code could not read."
    )

    def latest(self, measure_id: str) -> Measurement | None:
        found = [m for m in self.measurements if m.measure == measure_id]
        return found[-1] if found else None

    @property
    def abnormal(self) -> list[Measurement]:
        return [m for m in self.measurements if m.flag not in ("normal", "unknown")]
