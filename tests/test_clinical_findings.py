"""Findings from flat, FHIR and C-CDA records: units, ranges (record first), flags, pointers."""

from __future__ import annotations

from pathlib import Path

import pytest

from structkit import ConfigurationError
from structkit.adapters import load
from structkit.clinical.findings import extract_findings
from structkit.clinical.units import UnitError, convert

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def test_units_are_converted_by_pint():
    assert convert(98.6, "[degF]", "Cel") == pytest.approx(37.0)
    assert convert(180, "[lb_av]", "kg") == pytest.approx(81.6466, rel=1e-4)
    assert convert(0.86, "ng/mL", "ng/L") == pytest.approx(860)
    assert convert(7.0, "mmol/L", "mg/dL", molar_mass_g_per_mol=180.16) == pytest.approx(126.112)
    with pytest.raises(UnitError):
        convert(7.0, "mmol/L", "mg/dL")  # no molar mass: never guessed
    with pytest.raises(UnitError):
        convert(1, "kg", "mm[Hg]")
    # In structkit's one error tree, and still the ValueError it was before.
    with pytest.raises(ConfigurationError) as caught:
        convert(1, "no-such-unit", "kg")
    assert isinstance(caught.value, ValueError)


def test_flat_record_findings_have_units_flags_and_pointers():
    findings = extract_findings(load(EXAMPLES / "patient_record.json"))
    by_id = {m.measure: m for m in findings.measurements}
    assert by_id["heart_rate"].flag == "high" and by_id["heart_rate"].pointers == [
        "/vitals/heart_rate_bpm"
    ]
    assert by_id["systolic_bp"].value == 158 and by_id["diastolic_bp"].value == 94
    troponin = by_id["troponin_i"]
    assert (
        troponin.range_source == "record" and troponin.range_high == 26 and troponin.flag == "high"
    )
    assert troponin.pointers[1] == "/labs/troponin_i_reference_upper_ng_per_l"
    assert by_id["temperature"].flag == "normal"
    assert [p.text for p in findings.problems][:2] == ["hypertension", "type 2 diabetes mellitus"]
    assert len(findings.medications) == 2 and findings.age == 67 and findings.sex == "male"


def test_fhir_range_and_interpretation_come_from_the_record():
    bundle = {
        "resourceType": "Bundle",
        "entry": [
            {
                "resource": {
                    "resourceType": "Observation",
                    "code": {
                        "coding": [
                            {"system": "http://loinc.org", "code": "2345-7", "display": "Glucose"}
                        ]
                    },
                    "effectiveDateTime": "2025-01-02",
                    "valueQuantity": {"value": 11.1, "unit": "mmol/L"},
                    "referenceRange": [
                        {
                            "low": {"value": 3.9, "unit": "mmol/L"},
                            "high": {"value": 5.5, "unit": "mmol/L"},
                        }
                    ],
                }
            },
            {
                "resource": {
                    "resourceType": "Observation",
                    "code": {"coding": [{"system": "http://loinc.org", "code": "718-7"}]},
                    "valueQuantity": {"value": 13.0, "unit": "g/dL"},
                    "interpretation": [{"coding": [{"code": "L"}]}],
                }
            },
            {
                "resource": {
                    "resourceType": "Observation",
                    "code": {"coding": [{"system": "http://loinc.org", "code": "85354-9"}]},
                    "component": [
                        {
                            "code": {"coding": [{"system": "http://loinc.org", "code": "8480-6"}]},
                            "valueQuantity": {"value": 85, "unit": "mm[Hg]"},
                        }
                    ],
                }
            },
        ],
    }
    findings = extract_findings(load(bundle))
    by_id = {m.measure: m for m in findings.measurements}
    glucose = by_id["glucose"]
    assert glucose.value == pytest.approx(199.98, abs=0.01) and glucose.unit == "mg/dL"
    assert glucose.range_source == "record" and glucose.flag == "high"
    assert glucose.pointers == [
        "/entry/0/resource/valueQuantity",
        "/entry/0/resource/referenceRange/0",
    ]
    assert (
        by_id["hemoglobin"].flag == "low"
        and by_id["hemoglobin"].range_source == "record interpretation"
    )
    assert by_id["systolic_bp"].flag == "critical_low"
    assert by_id["systolic_bp"].pointers == ["/entry/2/resource/component/0/valueQuantity"]


def test_ccda_results_and_lists():
    findings = extract_findings(load(EXAMPLES / "ccda_discharge.xml"))
    by_id = {m.measure: m for m in findings.measurements}
    assert by_id["hemoglobin"].flag == "low" and by_id["hemoglobin"].range_low == 13.5
    assert by_id["creatinine"].value == pytest.approx(0.995, abs=0.001)  # 88 µmol/L
    assert by_id["systolic_bp"].date == "2024-03-12"
    assert {p.code for p in findings.problems} == {
        "SNOMED 13445001",
        "SNOMED 44054006",
    }  # not the resolved one
    assert findings.allergies[0].text == "Penicillin G"
    assert findings.sex == "male" and findings.age == 65


def test_a_value_that_is_not_a_number_is_not_flagged():
    findings = extract_findings(load({"labs": {"glucose": "<20"}, "vitals": {"heart_rate": "n/a"}}))
    assert findings.measurements == []
