"""Findings a clinician can check, computed from a :class:`Record`: measurements with units,
ranges and flags, and the listed problems, medications and allergies, each with its pointer.

Works on the records of three adapters:

- ``fhir``: observation keys ``Display (LOINC code) (date)``; ``reference range`` /
  ``interpretation`` items; conditions, medication requests and allergies with their statuses;
- ``ccda``: entries ``Result: name`` / ``Vital sign: name`` with ``, code`` (LOINC),
  ``, reference range``, ``, interpretation`` details; ``Problem``, ``Medication``, ``Allergy``;
- ``json`` (flat records): keys naming the measure and its unit (``heart_rate_bpm``,
  ``glucose_mg_dl``, ``blood_pressure_mmhg: "158/94"``), ``{"value", "unit"}`` objects,
  ``*_reference_upper_*`` fields, and lists named history / problems / medications / allergies.

A number is never guessed: a value that does not parse, or a unit pint cannot convert, is
reported in ``unreadable`` rather than flagged.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from ..adapters._record import Record, Value
from .finding_models import Findings, Flag, ListedItem, Measurement
from .ranges import Measure, by_id, by_loinc, by_name
from .units import UnitError, convert

__all__ = ["Findings", "ListedItem", "Measurement", "extract_findings", "measurements_of"]


@dataclass
class _Raw:
    measure: Measure
    number: float
    unit: str
    as_written: str
    pointer: str
    date: str = ""
    range_low: float | None = None
    range_high: float | None = None
    range_pointer: str = ""
    interpretation: str = ""
    interpretation_pointer: str = ""
    extra: list[str] = field(default_factory=list)


_NUMBER = re.compile(r"^\s*([<>]=?\s*)?(-?\d+(?:\.\d+)?)\s*(.*?)\s*$")
_LOINC_IN_KEY = re.compile(r"\(LOINC ([0-9]+-[0-9])\)")
_DATE_IN_KEY = re.compile(r"\((\d{4}-\d{2}-\d{2})\)\s*$")
_CODE = re.compile(r"\((SNOMED(?:[ -]CT)?|ICD-10-CM|ICD-10|RxNorm|LOINC) ([^)]+)\)\s*$")
_RANGE = re.compile(r"from\s+(-?\d+(?:\.\d+)?)|to\s+(-?\d+(?:\.\d+)?)")
_INTERPRETATION = {
    "LL": "critical_low",
    "L": "low",
    "N": "normal",
    "H": "high",
    "HH": "critical_high",
    "<": "low",
    ">": "high",
}


def _number(text: str) -> tuple[float, str] | None:
    match = _NUMBER.match(text)
    if not match or match.group(1):  # "<5" is a censored value: not a number to flag
        return None
    return float(match.group(2)), match.group(3)


def _code_of(text: str) -> tuple[str, str]:
    match = _CODE.search(text)
    if not match:
        return text.strip(), ""
    system = match.group(1).replace("-CT", "").replace(" CT", "")
    return text[: match.start()].strip(), f"{system} {match.group(2)}"


def _iso(date: str) -> str:
    digits = re.sub(r"\D", "", date)
    return f"{digits[:4]}-{digits[4:6]}-{digits[6:8]}" if len(digits) >= 8 else ""


def _in_canonical(raw: _Raw, number: float) -> float:
    """``number`` (the value or a range limit, in the record's unit) in the measure's unit,
    rounded to 3 decimals."""
    m = raw.measure
    unit = raw.unit or m.unit  # a flat record without a unit: the measure's usual unit
    return round(convert(number, unit, m.unit, molar_mass_g_per_mol=m.molar_mass), 3)


def _flag(value: float, low: float | None, high: float | None, m: Measure) -> Flag:
    if m.critical_low is not None and value <= m.critical_low:
        return "critical_low"
    if m.critical_high is not None and value >= m.critical_high:
        return "critical_high"
    if low is not None and value < low:
        return "low"
    if high is not None and value > high:
        return "high"
    return "normal" if (low is not None or high is not None) else "unknown"


def _finish(raw: _Raw, unreadable: list[str]) -> Measurement | None:
    m = raw.measure
    try:
        value = _in_canonical(raw, raw.number)
        low = None if raw.range_low is None else _in_canonical(raw, raw.range_low)
        high = None if raw.range_high is None else _in_canonical(raw, raw.range_high)
    except UnitError:
        unreadable.append(raw.pointer)
        return None
    pointers = [raw.pointer, *([raw.range_pointer] if raw.range_pointer else [])]
    code = raw.interpretation.split("ObservationInterpretation ")[-1].rstrip(")").strip()
    if low is not None or high is not None:
        source: str = "record"
    elif code in _INTERPRETATION:
        source = "record interpretation"
    elif m.low is not None or m.high is not None:
        source, low, high = "shipped table", m.low, m.high
    else:
        source = "none"
    flag = _flag(value, low, high, m)
    if source == "record interpretation":
        flag = _INTERPRETATION[code]  # type: ignore[assignment]
        pointers.append(raw.interpretation_pointer)
    return Measurement(
        measure=m.id,
        name=m.name,
        value=value,
        unit=m.unit,
        as_written=raw.as_written,
        date=raw.date,
        flag=flag,
        range_low=low,
        range_high=high,
        range_source=source,  # type: ignore[arg-type]
        pointers=pointers,
    )


def _range_numbers(text: str) -> tuple[float | None, float | None]:
    low = high = None
    for match in _RANGE.finditer(text):
        if match.group(1) is not None:
            low = float(match.group(1))
        if match.group(2) is not None:
            high = float(match.group(2))
    return low, high


# ----------------------------------------------------------------------------- coded records


def _coded_measurements(record: Record) -> list[_Raw]:
    """FHIR and C-CDA: measures named by LOINC code, ranges and interpretations beside them."""
    raws: dict[str, _Raw] = {}  # by the value's key, so details can find their value
    code_of_entry: dict[str, str] = {}
    panel_date = ""
    for value in record.values():
        key = value.key
        if key.endswith(", time") and "panel" in key.lower():
            panel_date = _iso(value.text)
        base, _, detail = key.rpartition(", ") if ", " in key else (key, "", "")
        if record.kind == "ccda" and detail == "code":
            code_of_entry[base] = value.text.replace("LOINC ", "").strip()
            _attach_ccda_code(raws, base, code_of_entry[base])
            continue
        if detail in ("reference range", "interpretation") or key.endswith(
            (" reference range", " interpretation")
        ):
            owner = (
                base
                if detail
                else key.removesuffix(" reference range").removesuffix(" interpretation")
            )
            _attach_detail(raws.get(owner), value, "range" if "range" in key else "interp")
            continue
        if record.kind == "ccda" and detail:
            continue  # ", time", ", status", ...: details of an entry, not its value
        parsed = _number(value.text)
        if parsed is None:
            continue
        loinc = _LOINC_IN_KEY.search(key)
        measure = by_loinc(loinc.group(1)) if loinc else None
        if (
            measure is None
            and record.kind == "ccda"
            and key.startswith(("Result: ", "Vital sign: "))
        ):
            measure = by_name(key.split(": ", 1)[1])  # until its ", code" detail names it exactly
        if measure is None:
            continue
        date_match = _DATE_IN_KEY.search(key)
        raws[key] = _Raw(
            measure,
            parsed[0],
            parsed[1],
            value.text,
            value.pointer,
            date=date_match.group(1) if date_match else panel_date,
        )
    return list(raws.values())


def _attach_ccda_code(raws: dict[str, _Raw], base: str, code: str) -> None:
    raw = raws.get(base)
    measure = by_loinc(code)
    if raw is not None and measure is not None:
        raw.measure = measure  # the LOINC code beats the display name
    elif raw is not None and measure is None:
        del raws[base]  # coded as something structkit does not know: do not guess from the name


def _attach_detail(raw: _Raw | None, value: Value, kind: str) -> None:
    if raw is None:
        return
    if kind == "range":
        raw.range_low, raw.range_high = _range_numbers(value.text)
        raw.range_pointer = value.pointer
    else:
        raw.interpretation, raw.interpretation_pointer = value.text, value.pointer


# ----------------------------------------------------------------------------- flat records

_UNIT_WORDS = {
    "bpm": "/min",
    "mmhg": "mm[Hg]",
    "percent": "%",
    "pct": "%",
    "c": "Cel",
    "celsius": "Cel",
    "f": "[degF]",
    "fahrenheit": "[degF]",
    "kg": "kg",
    "lb": "[lb_av]",
    "lbs": "[lb_av]",
    "cm": "cm",
    "in": "[in_i]",
}
_REFERENCE = re.compile(r"(?:^|_)(?:reference|ref)(?:_|$)")


def _flat_unit(key_words: list[str], measure: Measure) -> str:
    name_words = set(" ".join(measure.names).split())
    ignored = {
        "i",
        "t",
        "serum",
        "blood",
        "reference",
        "ref",
        "upper",
        "lower",
        "low",
        "high",
        "value",
        "level",
        "limit",
    }
    rest = [w for w in key_words if w and w not in name_words and w not in ignored]
    if not rest:
        return ""
    if len(rest) == 1:
        return _UNIT_WORDS.get(rest[0], rest[0])
    if "per" in rest:
        i = rest.index("per")
        return f"{''.join(rest[:i])}/{''.join(rest[i + 1 :])}"
    return f"{rest[-2]}/{rest[-1]}"


def _flat_measurements(record: Record) -> list[_Raw]:
    raws: list[_Raw] = []
    references: dict[str, tuple[str, float, str, str]] = {}
    units: dict[str, str] = {}
    for value in record.values():
        if value.key.endswith(".unit"):
            units[value.key[: -len(".unit")]] = value.text
    for value in record.values():
        key = value.key.removesuffix(".value")
        words = re.split(r"[\s_.\-]+", key.lower())
        if key.endswith(".unit"):
            continue
        if "blood" in words and "pressure" in words and "/" in value.text:
            raws += _blood_pressure(value)
            continue
        measure = by_name(" ".join(w for w in words if w))
        parsed = _number(value.text)
        if measure is None or parsed is None:
            continue
        unit = units.get(key) or parsed[1] or _flat_unit(words, measure)
        if _REFERENCE.search(key.lower()):
            side = "low" if ("lower" in words or "low" in words) else "high"
            references[measure.id + side] = (side, parsed[0], unit, value.pointer)
            continue
        raws.append(_Raw(measure, parsed[0], unit, value.text, value.pointer))
    for raw in raws:
        for side in ("low", "high"):
            ref = references.get(raw.measure.id + side)
            if ref and (ref[2] or raw.unit).lower() == raw.unit.lower():
                setattr(raw, f"range_{side}", ref[1])
                raw.range_pointer = ref[3]
    return raws


def _blood_pressure(value: Value) -> list[_Raw]:
    match = re.match(
        r"^\s*(\d+(?:\.\d+)?)\s*/\s*(\d+(?:\.\d+)?)\s*(?:mm\s*hg)?\s*$", value.text, re.I
    )
    if not match:
        return []
    return [
        _Raw(by_id("systolic_bp"), float(match.group(1)), "mm[Hg]", value.text, value.pointer),
        _Raw(by_id("diastolic_bp"), float(match.group(2)), "mm[Hg]", value.text, value.pointer),
    ]


# ----------------------------------------------------------------------------- lists

_LIST_KINDS = (
    ("problems", ("condition", "problem", "history", "diagnos", "pmh", "comorbid")),
    ("medications", ("medication", "meds", "drug", "prescription")),
    ("allergies", ("allerg", "intoleran")),
    ("procedures", ("procedure", "surger", "operation")),
    (
        "notes",
        (
            "complaint",
            "exam",
            "ecg",
            "ekg",
            "symptom",
            "note",
            "presenting",
            "finding",
            "imaging",
            "xray",
            "x-ray",
        ),
    ),
)
_CODED_KINDS = {
    "Condition": "problems",
    "Problem": "problems",
    "MedicationRequest": "medications",
    "MedicationStatement": "medications",
    "Medication": "medications",
    "AllergyIntolerance": "allergies",
    "Allergy": "allergies",
    "Procedure": "procedures",
}
_INACTIVE = ("resolved", "inactive", "completed", "stopped", "entered-in-error", "cancelled")


def _lists(record: Record, findings: Findings) -> None:
    last: dict[str, ListedItem] = {}
    for section in record.sections:
        for value in section.all_values():
            if record.kind in ("fhir", "ccda"):
                _coded_item(value, findings, last)
            else:
                _flat_item(section.title, value, findings)


def _coded_item(value: Value, findings: Findings, last: dict[str, ListedItem]) -> None:
    head = re.sub(r"\s*\(\d{4}-\d{2}-\d{2}\)", "", value.key)
    kind = _CODED_KINDS.get(head)
    if kind is not None:
        text, code = _code_of(value.text)
        item = ListedItem(text=text, code=code, pointer=value.pointer)
        getattr(findings, kind).append(item)
        last[kind] = item
        return
    for word, kind in _CODED_KINDS.items():
        status = head.endswith((" clinicalStatus", " status", "concern status")) and (
            head.startswith(word + " ") or head.startswith(word + ":")
        )
        if status and kind in last and not last[kind].status.startswith("active"):
            last[kind].status = value.text.strip().lower()
            return


def _flat_item(section: str, value: Value, findings: Findings) -> None:
    words = f"{section} {value.key}".lower()
    if value.key.lower() in ("age", "age_years") and _number(value.text):
        findings.age = _number(value.text)[0]  # type: ignore[index]
        return
    if value.key.lower() in ("sex", "gender"):
        findings.sex = value.text.strip().lower()
        return
    for kind, stems in _LIST_KINDS:
        if any(stem in words for stem in stems) and _number(value.text) is None:
            getattr(findings, kind).append(
                ListedItem(text=value.text.strip(), pointer=value.pointer)
            )
            return


def _demographics(record: Record, findings: Findings, newest: str) -> None:
    """Sex, and the age at the newest date in the record (a birth date alone gives no age)."""
    for value in record.values():
        key = value.key.lower()
        if key == "gender":
            findings.sex = re.sub(r"\s*\(.*\)\s*$", "", value.text).strip().lower()
        elif key in ("birthdate", "birth time") and _iso(value.text) and newest:
            born, then = _iso(value.text), newest
            years = int(then[:4]) - int(born[:4]) - ((then[5:10]) < (born[5:10]))
            findings.age = float(years)


# ----------------------------------------------------------------------------- entry points


def measurements_of(record: Record) -> tuple[list[Measurement], list[str]]:
    """Every measurement in the record (all dates), in document order, and unreadable pointers."""
    raws = (
        _coded_measurements(record)
        if record.kind in ("fhir", "ccda")
        else _flat_measurements(record)
    )
    unreadable: list[str] = []
    out = [m for raw in raws if (m := _finish(raw, unreadable)) is not None]
    return out, unreadable


def _latest(measurements: Iterable[Measurement]) -> list[Measurement]:
    latest: dict[str, tuple[str, int, Measurement]] = {}
    for index, m in enumerate(measurements):
        if m.measure not in latest or (m.date, index) >= latest[m.measure][:2]:
            latest[m.measure] = (m.date, index, m)
    return [entry[2] for entry in sorted(latest.values(), key=lambda e: e[1])]


def extract_findings(record: Record) -> Findings:
    """The latest value of each measure, flagged, and the record's lists, all with pointers."""
    all_measurements, unreadable = measurements_of(record)
    findings = Findings(measurements=_latest(all_measurements), unreadable=unreadable)
    if record.kind in ("fhir", "ccda"):
        _demographics(record, findings, max((m.date for m in all_measurements), default=""))
    _lists(record, findings)
    findings.problems = [p for p in findings.problems if not p.status.startswith(_INACTIVE)]
    findings.medications = [m for m in findings.medications if not m.status.startswith(_INACTIVE)]
    return findings
