"""FHIR R4 resources and Bundles -> a compact clinical :class:`Record`.

What a clinician would read is kept: demographics that matter clinically (gender, birth date,
deceased), conditions, observations with values and units, medications, allergies, procedures,
immunizations, encounters, reports. Codes are kept as ``display (SYSTEM code)``.

Dropped on purpose: resource ids, ``meta``, the generated narrative (``text.div`` HTML), references
between resources, billing resources (Claim, ExplanationOfBenefit, Coverage), organizations and
practitioners, and direct identifiers of the patient (name, address, telecom, identifier):
they cost tokens, carry no clinical signal and are PHI. ``Record.meta["dropped"]`` counts what
was left out, so nothing disappears silently.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any

from ._record import Record, Section, Value

__all__ = ["fhir_record"]

_SYSTEMS = {
    "http://loinc.org": "LOINC",
    "http://snomed.info/sct": "SNOMED",
    "http://www.nlm.nih.gov/research/umls/rxnorm": "RxNorm",
    "http://hl7.org/fhir/sid/cvx": "CVX",
    "http://hl7.org/fhir/sid/icd-10-cm": "ICD-10-CM",
    "http://hl7.org/fhir/sid/icd-10": "ICD-10",
    "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation": (
        "HL7 ObservationInterpretation"
    ),
}
_DROPPED_TYPES = {
    "Claim",
    "ExplanationOfBenefit",
    "Coverage",
    "Organization",
    "Practitioner",
    "PractitionerRole",
    "Location",
    "Provenance",
    "Device",
    "CareTeam",
    "ImagingStudy",
}
_SECTION_OF = {
    "Patient": "Patient",
    "Condition": "Conditions",
    "Observation": "Observations",
    "MedicationRequest": "Medications",
    "MedicationStatement": "Medications",
    "AllergyIntolerance": "Allergies",
    "Procedure": "Procedures",
    "Immunization": "Immunizations",
    "Encounter": "Encounters",
    "DiagnosticReport": "Reports",
    "CarePlan": "Care plans",
}
_NOISE_KEYS = {
    "id",
    "meta",
    "text",
    "identifier",
    "subject",
    "patient",
    "encounter",
    "fullUrl",
    "request",
    "reference",
    "extension",
    "contained",
    "issued",
}


def _concept(cc: Any) -> str:
    """A CodeableConcept or Coding as 'display (SYSTEM code)'."""
    if not isinstance(cc, dict):
        return ""
    codings = cc.get("coding") if "coding" in cc else [cc]
    first = codings[0] if isinstance(codings, list) and codings else {}
    display = cc.get("text") or first.get("display") or first.get("code") or ""
    code = first.get("code")
    system = _SYSTEMS.get(first.get("system", ""), "")
    if code and system:
        return f"{display} ({system} {code})"
    return str(display)


def _date(resource: dict[str, Any], *names: str) -> str:
    for name in names:
        value = resource.get(name)
        if isinstance(value, str):
            return value[:10]  # the date is what matters clinically; times add tokens
        if isinstance(value, dict) and isinstance(value.get("start"), str):
            return str(value["start"])[:10]
    return ""


def _quantity(q: dict[str, Any]) -> str:
    unit = q.get("unit") or q.get("code") or ""
    return f"{q.get('value', '')} {unit}".strip()


def _value_x(resource: dict[str, Any], base: str) -> tuple[str, str] | None:
    """The value[x] of an observation or component, with its pointer."""
    for name, value in resource.items():
        if not name.startswith("value"):
            continue
        pointer = f"{base}/{name}"
        if name == "valueQuantity" and isinstance(value, dict):
            return _quantity(value), pointer
        if name == "valueCodeableConcept":
            return _concept(value), pointer
        if isinstance(value, (str, int, float, bool)):
            return str(value).lower() if isinstance(value, bool) else str(value), pointer
    return None


def _with_date(label: str, date: str) -> str:
    return f"{label} ({date})" if date else label


def _patient(r: dict[str, Any], p: str) -> list[Value]:
    out = []
    for name in ("gender", "birthDate", "deceasedDateTime", "deceasedBoolean"):
        if name in r:
            out.append(
                Value(
                    key=name,
                    text=str(r[name]).lower() if isinstance(r[name], bool) else str(r[name]),
                    pointer=f"{p}/{name}",
                )
            )
    if isinstance(r.get("maritalStatus"), dict):
        out.append(Value("maritalStatus", _concept(r["maritalStatus"]), f"{p}/maritalStatus"))
    for i, ext in enumerate(r.get("extension", [])):
        url = str(ext.get("url", ""))
        for kind in ("race", "ethnicity"):
            if url.endswith(f"us-core-{kind}"):
                for j, sub in enumerate(ext.get("extension", [])):
                    if sub.get("url") == "text" and "valueString" in sub:
                        out.append(
                            Value(
                                kind,
                                str(sub["valueString"]),
                                f"{p}/extension/{i}/extension/{j}/valueString",
                            )
                        )
    return out


def _range_and_interpretation(r: dict[str, Any], p: str, label: str) -> list[Value]:
    """The observation's own reference range and interpretation: how a clinician reads a value."""
    out = []
    ranges = r.get("referenceRange")
    if isinstance(ranges, list) and ranges and isinstance(ranges[0], dict):
        ends = [
            f"{word} {_quantity(ranges[0][name])}"
            for word, name in (("from", "low"), ("to", "high"))
            if isinstance(ranges[0].get(name), dict) and "value" in ranges[0][name]
        ]
        if ends:
            out.append(Value(f"{label} reference range", " ".join(ends), f"{p}/referenceRange/0"))
    interpretations = r.get("interpretation")
    if isinstance(interpretations, list) and interpretations:
        text = _concept(interpretations[0])
        if text:
            out.append(Value(f"{label} interpretation", text, f"{p}/interpretation/0"))
    return out


def _observation(r: dict[str, Any], p: str) -> list[Value]:
    label = _with_date(_concept(r.get("code")), _date(r, "effectiveDateTime", "effectivePeriod"))
    value = _value_x(r, p)
    out = [Value(label, value[0], value[1])] if value else []
    out += _range_and_interpretation(r, p, label)
    for i, comp in enumerate(r.get("component", [])):
        comp_value = _value_x(comp, f"{p}/component/{i}")
        if comp_value:
            key = _with_date(_concept(comp.get("code")), _date(r, "effectiveDateTime"))
            out.append(Value(key, comp_value[0], comp_value[1]))
            out += _range_and_interpretation(comp, f"{p}/component/{i}", key)
    return out


def _coded(
    code_field: str, *date_fields: str, status: str | None = None
) -> Callable[[dict[str, Any], str], list[Value]]:
    """Handler for resources that are 'a coded thing at a date', optionally with a status."""

    def handle(r: dict[str, Any], p: str) -> list[Value]:
        label = _concept(r.get(code_field))
        if not label:
            return []
        key = _with_date(r["resourceType"], _date(r, *date_fields))
        out = [Value(key, label, f"{p}/{code_field}")]
        if status and isinstance(r.get(status), (dict, str)):
            text = _concept(r[status]) if isinstance(r[status], dict) else str(r[status])
            out.append(Value(f"{key} {status}", text.split(" (")[0], f"{p}/{status}"))
        return out

    return handle


def _medication(r: dict[str, Any], p: str) -> list[Value]:
    out = _coded("medicationCodeableConcept", "authoredOn", "effectiveDateTime", status="status")(
        r, p
    )
    for i, dose in enumerate(r.get("dosageInstruction", [])):
        if isinstance(dose, dict) and dose.get("text"):
            out.append(Value("dosage", str(dose["text"]), f"{p}/dosageInstruction/{i}/text"))
    return out


def _allergy(r: dict[str, Any], p: str) -> list[Value]:
    out = _coded("code", "recordedDate", "onsetDateTime", status="criticality")(r, p)
    for i, reaction in enumerate(r.get("reaction", [])):
        for j, manifestation in enumerate(reaction.get("manifestation", [])):
            out.append(
                Value("reaction", _concept(manifestation), f"{p}/reaction/{i}/manifestation/{j}")
            )
    return out


def _encounter(r: dict[str, Any], p: str) -> list[Value]:
    types = r.get("type") or [{}]
    key = _with_date("Encounter", _date(r, "period"))
    out = [Value(key, _concept(types[0]), f"{p}/type/0")] if _concept(types[0]) else []
    for i, reason in enumerate(r.get("reasonCode", [])):
        out.append(Value(f"{key} reason", _concept(reason), f"{p}/reasonCode/{i}"))
    return out


def _generic(r: dict[str, Any], p: str) -> list[Value]:
    out: list[Value] = []

    def walk(node: Any, pointer: str, key: str) -> None:
        if isinstance(node, dict):
            if "coding" in node or ("system" in node and "code" in node):
                out.append(Value(key, _concept(node), pointer))
                return
            for name, child in node.items():
                if name not in _NOISE_KEYS and name != "resourceType":
                    walk(child, f"{pointer}/{name}", f"{key}.{name}" if key else name)
        elif isinstance(node, list):
            for i, child in enumerate(node):
                walk(child, f"{pointer}/{i}", key)
        else:
            out.append(Value(key or "value", str(node), pointer))

    walk(r, p, "")
    return out


_HANDLERS: dict[str, Callable[[dict[str, Any], str], list[Value]]] = {
    "Patient": _patient,
    "Observation": _observation,
    "Condition": _coded("code", "onsetDateTime", "recordedDate", status="clinicalStatus"),
    "MedicationRequest": _medication,
    "MedicationStatement": _medication,
    "AllergyIntolerance": _allergy,
    "Procedure": _coded("code", "performedDateTime", "performedPeriod"),
    "Immunization": _coded("vaccineCode", "occurrenceDateTime"),
    "DiagnosticReport": _coded("code", "effectiveDateTime", "effectivePeriod"),
    "Encounter": _encounter,
}


def _resources(value: dict[str, Any]) -> list[tuple[dict[str, Any], str]]:
    if value.get("resourceType") != "Bundle":
        return [(value, "")]
    out = []
    for i, entry in enumerate(value.get("entry", [])):
        resource = entry.get("resource") if isinstance(entry, dict) else None
        if isinstance(resource, dict) and isinstance(resource.get("resourceType"), str):
            out.append((resource, f"/entry/{i}/resource"))
    return out


def fhir_record(value: dict[str, Any], *, record_id: str) -> Record:
    """Reduce a FHIR resource or Bundle to its clinical content, with JSON Pointers."""
    record = Record(record_id=record_id, kind="fhir")
    sections: dict[str, Section] = {}
    dropped: Counter[str] = Counter()
    for resource, pointer in _resources(value):
        kind = resource["resourceType"]
        if kind in _DROPPED_TYPES:
            dropped[kind] += 1
            continue
        values = _HANDLERS.get(kind, _generic)(resource, pointer)
        title = _SECTION_OF.get(kind, kind)
        sections.setdefault(title, Section(title=title)).values.extend(values)
    record.sections = [s for s in sections.values() if s.values]
    if dropped:
        record.meta["dropped"] = ", ".join(f"{k} x{n}" for k, n in sorted(dropped.items()))
    return record
