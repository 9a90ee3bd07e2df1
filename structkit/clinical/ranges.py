"""The measures structkit recognizes, with LOINC codes, a canonical unit and adult ranges.

Shipped reference ranges are used only when the record carries none of its own (FHIR
``referenceRange`` / C-CDA ``referenceRange``, or a flat record's ``*_reference_*`` field).
They are common adult values, compiled from:

- vital signs: the thresholds of the Royal College of Physicians' NEWS2 chart (2017), where a
  NEWS2 parameter scores 0 = normal and scores 3 = critical;
- blood pressure "high": ACC/AHA 2017 (stage 2 hypertension, >= 140/90);
- glucose and HbA1c: ADA Standards of Care (fasting glucose 70-99 mg/dL; HbA1c < 5.7 %,
  5.7-6.4 % prediabetes, >= 6.5 % diabetes);
- other labs: the Merck Manual Professional Edition, "Normal Laboratory Values" (blood, plasma
  and serum), and critical limits typical of hospital critical-value lists.

Ranges differ between laboratories, by sex and by age: a clinician should prefer the record's
own range, which is why it is read first. None of these values is a diagnosis.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["MEASURES", "Measure", "by_loinc", "by_name"]


@dataclass(frozen=True)
class Measure:
    """One vital sign or lab, in its canonical unit, with shipped adult limits (None = no limit)."""

    id: str
    name: str
    unit: str
    loinc: tuple[str, ...]
    names: tuple[str, ...]  # lowercase phrases that name it in flat records or display text
    low: float | None = None
    high: float | None = None
    critical_low: float | None = None
    critical_high: float | None = None
    molar_mass: float | None = None  # g/mol, allows mg/dL <-> mmol/L for this analyte only
    vital: bool = False


MEASURES: tuple[Measure, ...] = (
    Measure("heart_rate", "Heart rate", "/min", ("8867-4",), ("heart rate", "pulse", "hr"),
            51, 90, 40, 131, vital=True),
    Measure("respiratory_rate", "Respiratory rate", "/min", ("9279-1",),
            ("respiratory rate", "resp rate", "rr"), 12, 20, 8, 25, vital=True),
    Measure("systolic_bp", "Systolic blood pressure", "mm[Hg]", ("8480-6",),
            ("systolic blood pressure", "systolic bp", "sbp", "systolic"), 91, 139, 90, 220,
            vital=True),
    Measure("diastolic_bp", "Diastolic blood pressure", "mm[Hg]", ("8462-4",),
            ("diastolic blood pressure", "diastolic bp", "dbp", "diastolic"), 60, 89, None, 120,
            vital=True),
    Measure("spo2", "Oxygen saturation", "%", ("59408-5", "2708-6", "2710-2"),
            ("oxygen saturation", "spo2", "sao2", "o2 sat", "o2 saturation"), 96, 100, 91, None,
            vital=True),
    Measure("temperature", "Body temperature", "Cel", ("8310-5", "8331-1", "8332-9"),
            ("body temperature", "temperature", "temp"), 36.1, 38.0, 35.0, 39.1, vital=True),
    Measure("weight", "Body weight", "kg", ("29463-7", "3141-9"), ("body weight", "weight"),
            vital=True),
    Measure("height", "Body height", "cm", ("8302-2", "8306-3"), ("body height", "height"),
            vital=True),
    Measure("bmi", "Body mass index", "kg/m2", ("39156-5",), ("body mass index", "bmi"),
            18.5, 24.9, None, None, vital=True),
    Measure("glucose", "Glucose", "mg/dL", ("2339-0", "2345-7", "41653-7", "15074-8", "14749-6"),
            ("glucose", "blood sugar"), 70, 99, 40, 500, molar_mass=180.16),
    Measure("hba1c", "Hemoglobin A1c", "%", ("4548-4", "17856-6"),
            ("hemoglobin a1c", "hba1c", "a1c"), 4.0, 5.6, None, None),
    Measure("creatinine", "Creatinine", "mg/dL", ("2160-0", "38483-4", "14682-9"),
            ("creatinine",), 0.6, 1.3, None, 7.0, molar_mass=113.12),
    Measure("egfr", "eGFR", "mL/min/{1.73_m2}", ("33914-3", "48643-1", "48642-3", "62238-1",
            "69405-9", "98979-8"), ("egfr", "glomerular filtration rate"), 60, None, 15, None),
    Measure("urea_nitrogen", "Urea nitrogen", "mg/dL", ("6299-2", "3094-0"),
            ("urea nitrogen", "bun"), 7, 20, None, 100),
    Measure("sodium", "Sodium", "mmol/L", ("2951-2", "2947-0"), ("sodium", "na"),
            135, 145, 120, 160),
    Measure("potassium", "Potassium", "mmol/L", ("2823-3", "6298-4"), ("potassium", "k"),
            3.5, 5.0, 2.5, 6.5),
    Measure("chloride", "Chloride", "mmol/L", ("2075-0",), ("chloride",), 98, 107, 80, 120),
    Measure("bicarbonate", "Bicarbonate", "mmol/L", ("2028-9", "1963-8"),
            ("bicarbonate", "carbon dioxide", "hco3", "co2"), 22, 29, 10, 40),
    Measure("calcium", "Calcium", "mg/dL", ("17861-6",), ("calcium",), 8.5, 10.5, 6.0, 13.0),
    Measure("wbc", "White blood cells", "10*3/uL", ("6690-2", "26464-8"),
            ("leukocytes", "white blood cell", "wbc"), 4.0, 11.0, 2.0, 30.0),
    Measure("hemoglobin", "Hemoglobin", "g/dL", ("718-7",), ("hemoglobin", "haemoglobin", "hgb",
            "hb"), 12.0, 17.5, 7.0, 20.0),
    Measure("platelets", "Platelets", "10*3/uL", ("777-3", "26515-7"), ("platelets", "plt"),
            150, 400, 20, 1000),
    Measure("lactate", "Lactate", "mmol/L", ("2524-7", "32693-4"), ("lactate", "lactic acid"),
            0.5, 2.2, None, 4.0),
    Measure("troponin_i", "Troponin I", "ng/L", ("10839-9", "42757-5", "89579-7", "49563-0"),
            ("troponin i", "troponin"), None, 26, None, None),
    Measure("total_cholesterol", "Total cholesterol", "mg/dL", ("2093-3",),
            ("total cholesterol", "cholesterol"), None, 199),
    Measure("ldl", "LDL cholesterol", "mg/dL", ("18262-6", "2089-1", "13457-7"),
            ("low density lipoprotein", "ldl"), None, 129),
    Measure("hdl", "HDL cholesterol", "mg/dL", ("2085-9",), ("high density lipoprotein", "hdl"),
            40, None),
    Measure("triglycerides", "Triglycerides", "mg/dL", ("2571-8",), ("triglycerides",),
            None, 149),
)  # fmt: skip

_BY_LOINC = {code: m for m in MEASURES for code in m.loinc}
_BY_ID = {m.id: m for m in MEASURES}


def by_loinc(code: str) -> Measure | None:
    """The measure a LOINC code stands for, if structkit knows it."""
    return _BY_LOINC.get(code.strip())


def by_name(text: str) -> Measure | None:
    """The measure named by a key or display text (longest matching phrase wins), if any."""
    words = " " + " ".join(text.lower().replace("_", " ").replace("-", " ").split()) + " "
    best: tuple[int, Measure] | None = None
    for measure in MEASURES:
        for phrase in measure.names:
            if f" {phrase} " in words and (best is None or len(phrase) > best[0]):
                best = (len(phrase), measure)
    return best[1] if best else None


def by_id(measure_id: str) -> Measure:
    return _BY_ID[measure_id]
