"""Early-warning scores computed in code: NEWS2, qSOFA and SIRS, with inputs, pointers and the
inputs that were missing; and the rule-based red flags that follow from them.

NEWS2: Royal College of Physicians, "National Early Warning Score (NEWS) 2" (2017), chart 1
(thresholds and triggers) and chart 2 (SpO2 Scale 2, for patients with hypercapnic respiratory
failure and a prescribed target of 88-92 %, used only when the record says so). "New confusion"
scores 3 as any non-Alert ACVPU level does. A missing parameter scores nothing and is listed in
``missing``; the score is then a lower bound (``complete=False``), never an estimate.

qSOFA: Seymour et al., JAMA 2016 (Sepsis-3): RR >= 22/min, SBP <= 100 mm Hg, altered mentation.
SIRS: Bone et al., Chest 1992: T > 38 or < 36 °C, HR > 90/min, RR > 20/min, WBC > 12 or < 4 x10^9/L
(the PaCO2 < 32 mm Hg and band-form alternatives are not read).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

from pydantic import BaseModel, ConfigDict, Field

from .._errors import ConfigurationError
from ..adapters._record import Record
from .findings import Findings, Measurement

__all__ = [
    "RuleFlag",
    "Score",
    "ScoreInput",
    "VitalContext",
    "compute_scores",
    "news2",
    "news2_points",
    "news2_series",
    "qsofa",
    "read_context",
    "rule_red_flags",
    "sirs",
]


class ScoreInput(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str
    value: str
    points: int
    pointers: list[str] = Field(default_factory=list)


class Score(BaseModel):
    """One computed score; ``complete`` is False when inputs were missing (then a lower bound)."""

    model_config = ConfigDict(extra="forbid")

    name: str
    value: int
    band: str = ""
    inputs: list[ScoreInput] = Field(default_factory=list)
    missing: list[str] = Field(default_factory=list)
    complete: bool
    date: str = ""


class RuleFlag(BaseModel):
    """A red flag raised by a rule in code (NEWS2/qSOFA thresholds and critical values)."""

    model_config = ConfigDict(extra="forbid")

    flag: str
    rule: str
    pointers: list[str] = Field(default_factory=list)


@dataclass(frozen=True)
class VitalContext:
    """Non-numeric NEWS2 inputs: oxygen, consciousness, SpO2 scale (None: not recorded)."""

    on_oxygen: bool | None = None
    oxygen_pointer: str = ""
    alert: bool | None = None  # False = new confusion, or V, P or U on ACVPU, or GCS < 15
    alert_pointer: str = ""
    scale_2: bool = False  # only when the record prescribes it
    scale_pointer: str = ""


# --------------------------------------------------------------------------------- inputs


_Criterion = tuple[str, Callable[[float], bool], str]
"""(parameter, test on its value, the rule as written in the source paper)."""


class _Tally:
    """The inputs one score has read so far and, in order, the ones the record lacks.

    Every score lists an absent parameter in ``missing`` and scores it nothing, so the total is
    a lower bound rather than an estimate; this keeps that rule in one place.
    """

    def __init__(self) -> None:
        self.inputs: list[ScoreInput] = []
        self.missing: list[str] = []

    def measured(
        self,
        parameter: str,
        m: Measurement | None,
        *,
        name: str,
        points: Callable[[float], int | bool],
    ) -> None:
        """A measured input; ``points`` maps its value to points (a met criterion is True: 1)."""
        if m is None:
            self.missing.append(parameter)
            return
        self.inputs.append(
            ScoreInput(
                name=name,
                value=f"{m.value:g} {m.unit}",
                points=int(points(m.value)),
                pointers=m.pointers,
            )
        )

    def threshold(self, sources: dict[str, Measurement], criteria: tuple[_Criterion, ...]) -> None:
        """One point for each criterion the measured value meets."""
        for parameter, test, rule in criteria:
            self.measured(
                parameter, sources.get(parameter), name=f"{parameter} {rule}", points=test
            )

    def stated(
        self,
        name: str,
        state: bool | None,
        pointer: str,
        *,
        yes: tuple[str, int],
        no: tuple[str, int],
    ) -> None:
        """A yes/no input the record states; ``yes`` and ``no`` are (value shown, points)."""
        if state is None:
            self.missing.append(name)
            return
        value, points = yes if state else no
        self.inputs.append(ScoreInput(name=name, value=value, points=points, pointers=[pointer]))

    def score(self, name: str, *, band: str, date: str) -> Score:
        return Score(
            name=name,
            value=self.total,
            band=band,
            inputs=self.inputs,
            missing=self.missing,
            complete=not self.missing,
            date=date,
        )

    @property
    def total(self) -> int:
        return sum(i.points for i in self.inputs)


# --------------------------------------------------------------------------------- NEWS2


def news2_points(
    parameter: str, value: float, *, on_oxygen: bool = False, scale_2: bool = False
) -> int:
    """Points of one numeric NEWS2 parameter (RCP 2017 chart 1; chart 2 for SpO2 Scale 2).

    The chart's bands are whole numbers (temperature: one decimal), so a measured value is first
    rounded half up to that precision (110.6 mm Hg is read as 111).
    """
    precision = 10 if parameter == "temperature" else 1
    value = math.floor(value * precision + 0.5) / precision
    if parameter == "respiratory_rate":
        return (
            3 if value <= 8 else 1 if value <= 11 else 0 if value <= 20 else 2 if value <= 24 else 3
        )
    if parameter == "spo2" and not scale_2:
        return 3 if value <= 91 else 2 if value <= 93 else 1 if value <= 95 else 0
    if parameter == "spo2":
        if value <= 83:
            return 3
        if value <= 85:
            return 2
        if value <= 87:
            return 1
        if value <= 92 or not on_oxygen:
            return 0  # 88-92 %, or >= 93 % on air
        return 1 if value <= 94 else 2 if value <= 96 else 3
    if parameter == "systolic_bp":
        return (
            3
            if value <= 90
            else 2
            if value <= 100
            else 1
            if value <= 110
            else 0
            if value <= 219
            else 3
        )
    if parameter == "heart_rate":
        return (
            3
            if value <= 40
            else 1
            if value <= 50
            else 0
            if value <= 90
            else 1
            if value <= 110
            else 2
            if value <= 130
            else 3
        )
    if parameter == "temperature":
        return (
            3
            if value <= 35.0
            else 1
            if value <= 36.0
            else 0
            if value <= 38.0
            else 1
            if value <= 39.0
            else 2
        )
    raise ConfigurationError(f"not a numeric NEWS2 parameter: {parameter}")


_NEWS2_VITALS = ("respiratory_rate", "spo2", "systolic_bp", "heart_rate", "temperature")


def _vital_set(findings: Findings) -> tuple[dict[str, Measurement], str]:
    """The latest set of vital signs: values taken on the newest vitals date (or undated)."""
    vitals = [m for m in findings.measurements if m.measure in _NEWS2_VITALS]
    newest = max((m.date for m in vitals), default="")
    return {m.measure: m for m in vitals if m.date == newest}, newest


def news2_series(measurements: list[Measurement], context: VitalContext) -> list[Score]:
    """NEWS2 for every set of vital signs in the record (one per date), oldest first."""
    dates = sorted({m.date for m in measurements if m.measure in _NEWS2_VITALS})
    return [
        _news2(
            {m.measure: m for m in measurements if m.date == d and m.measure in _NEWS2_VITALS},
            d,
            context,
        )
        for d in dates
    ]


def news2(findings: Findings, context: VitalContext) -> Score:
    """NEWS2 of the latest set of vital signs."""
    vitals, date = _vital_set(findings)
    return _news2(vitals, date, context)


def _news2(vitals: dict[str, Measurement], date: str, context: VitalContext) -> Score:
    tally = _Tally()
    for parameter in _NEWS2_VITALS:
        tally.measured(
            parameter,
            vitals.get(parameter),
            name=f"{parameter} (scale 2)" if parameter == "spo2" and context.scale_2 else parameter,
            points=partial(
                news2_points,
                parameter,
                on_oxygen=bool(context.on_oxygen),
                scale_2=context.scale_2,
            ),
        )
    for parameter, stated, pointer, yes, no in (
        ("air_or_oxygen", context.on_oxygen, context.oxygen_pointer, ("oxygen", 2), ("air", 0)),
        ("consciousness", context.alert, context.alert_pointer, ("alert", 0), ("CVPU", 3)),
    ):
        tally.stated(parameter, stated, pointer, yes=yes, no=no)
    total = tally.total
    band = (
        "high"
        if total >= 7
        else "medium"
        if total >= 5
        else "low-medium"
        if any(i.points == 3 for i in tally.inputs)
        else "low"
    )
    return tally.score("NEWS2", band=band, date=date)


# --------------------------------------------------------------------------------- qSOFA, SIRS


_QSOFA: tuple[_Criterion, ...] = (
    ("respiratory_rate", lambda v: v >= 22, ">= 22/min"),
    ("systolic_bp", lambda v: v <= 100, "<= 100 mm Hg"),
)
_SIRS: tuple[_Criterion, ...] = (
    ("temperature", lambda v: v > 38.0 or v < 36.0, "> 38 or < 36 °C"),
    ("heart_rate", lambda v: v > 90, "> 90/min"),
    ("respiratory_rate", lambda v: v > 20, "> 20/min"),
    ("wbc", lambda v: v > 12.0 or v < 4.0, "> 12 or < 4 x10^9/L"),
)


def qsofa(findings: Findings, context: VitalContext) -> Score:
    """qSOFA of the latest set of vital signs; altered mentation is the context's ``alert``."""
    vitals, date = _vital_set(findings)
    tally = _Tally()
    tally.threshold(vitals, _QSOFA)
    altered = None if context.alert is None else not context.alert
    tally.stated(
        "altered_mentation",
        altered,
        context.alert_pointer,
        yes=("true", 1),
        no=("false", 0),
    )
    return tally.score("qSOFA", band="positive" if tally.total >= 2 else "negative", date=date)


def sirs(findings: Findings) -> Score:
    """SIRS of the latest set of vital signs and the latest white cell count."""
    vitals, date = _vital_set(findings)
    wbc = findings.latest("wbc")
    tally = _Tally()
    tally.threshold({**vitals, **({"wbc": wbc} if wbc else {})}, _SIRS)
    return tally.score("SIRS", band="met" if tally.total >= 2 else "not met", date=date)


# --------------------------------------------------------------------------------- context


_TRUE = {"true", "yes", "y", "1", "on"}
_FALSE = {"false", "no", "n", "0", "off", "room air", "air", "ra", "none"}


def read_context(record: Record) -> VitalContext:
    """Oxygen, consciousness and SpO2 scale where the record states them (flat keys or LOINC)."""
    on_oxygen = alert = None
    oxygen_pointer = alert_pointer = scale_pointer = ""
    scale_2 = False
    for value in record.values():
        key = value.key.lower().replace("_", " ")
        text = value.text.strip().lower()
        if re.search(
            r"\b(supplemental oxygen|on oxygen|oxygen therapy|o2 therapy|air or oxygen)\b", key
        ):
            if text in _TRUE or text in _FALSE or "oxygen" in text:
                on_oxygen = text in _TRUE or (text not in _FALSE and "oxygen" in text)
                oxygen_pointer = value.pointer
        elif re.search(r"\b(inhaled oxygen flow rate|o2 flow|oxygen flow)\b|loinc 3151-8", key):
            number = re.match(r"\s*(\d+(?:\.\d+)?)", text)
            if number:
                on_oxygen, oxygen_pointer = float(number.group(1)) > 0, value.pointer
        elif re.search(r"\b(acvpu|avpu|consciousness|level of consciousness)\b", key):
            alert, alert_pointer = text in ("a", "alert"), value.pointer
        elif re.search(r"\bnew confusion\b", key) and text in _TRUE | _FALSE:
            if text in _TRUE:
                alert, alert_pointer = False, value.pointer
            elif alert is None:
                alert, alert_pointer = True, value.pointer
        elif re.search(r"\b(gcs|glasgow coma score|glasgow coma scale)\b|loinc 9269-2", key):
            number = re.match(r"\s*(\d+)", text)
            if number:
                alert, alert_pointer = int(number.group(1)) >= 15, value.pointer
        elif re.search(r"\bspo2 scale\b|\bspo2 target\b", key):
            scale_2 = text in ("2", "scale 2", "88-92", "88-92%", "88 to 92")
            scale_pointer = value.pointer
    return VitalContext(on_oxygen, oxygen_pointer, alert, alert_pointer, scale_2, scale_pointer)


def compute_scores(findings: Findings, context: VitalContext) -> list[Score]:
    """NEWS2, qSOFA and SIRS when at least one of their inputs is in the record."""
    scores = [news2(findings, context), qsofa(findings, context), sirs(findings)]
    return [s for s in scores if s.inputs]


def rule_red_flags(findings: Findings, scores: list[Score]) -> list[RuleFlag]:
    """Critical values; NEWS2 >= 7 or any single NEWS2 parameter scoring 3; qSOFA >= 2."""
    flags = [
        RuleFlag(
            flag=f"critical {m.name.lower()}: {m.as_written}",
            rule=f"{m.flag.replace('_', ' ')} (critical limit of the shipped table)",
            pointers=m.pointers,
        )
        for m in findings.measurements
        if m.flag.startswith("critical")
    ]
    for score in scores:
        pointers = [p for i in score.inputs if i.points for p in i.pointers]
        if score.name == "NEWS2" and score.value >= 7:
            flags.append(
                RuleFlag(
                    flag=f"NEWS2 {score.value}: high clinical risk",
                    rule="NEWS2 >= 7",
                    pointers=pointers,
                )
            )
        if score.name == "NEWS2":
            for item in score.inputs:
                if item.points == 3:
                    flags.append(
                        RuleFlag(
                            flag=f"NEWS2 parameter {item.name} scores 3 ({item.value})",
                            rule="single NEWS2 parameter = 3",
                            pointers=item.pointers,
                        )
                    )
        if score.name == "qSOFA" and score.value >= 2:
            flags.append(
                RuleFlag(
                    flag=f"qSOFA {score.value}: sepsis risk", rule="qSOFA >= 2", pointers=pointers
                )
            )
    return flags
