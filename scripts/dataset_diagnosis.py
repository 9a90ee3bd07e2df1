"""The diagnosis evaluation dataset (written by ``scripts/make_datasets.py``).

Synthetic patient records generated from textbook clinical patterns (STEMI, DKA, septic shock,
pneumonia, pulmonary embolism, appendicitis, ischemic stroke, hypoglycaemia, anaphylaxis), three
variants each with randomised but pattern-consistent values, plus three deliberately empty records.
**The gold is by construction from the pattern, not labelled by clinicians**: the expected
condition (with synonyms), red-flag keywords and test keywords are those of the pattern the record
was generated from.
"""

from __future__ import annotations

import random
from typing import Any

#: Pattern -> gold. Keyword groups: a predicted item matches a group when it contains one of
#: the group's keywords (normalized, whole words); see structkit.evaluation._metrics.
# fmt: off
DIAGNOSIS_GOLD: dict[str, dict[str, Any]] = {
    "stemi": {
        "condition": "ST-elevation myocardial infarction",
        "synonyms": ["STEMI", "ST elevation myocardial infarction", "myocardial infarction",
                     "acute coronary syndrome", "heart attack", "MI"],
        "red_flags": [["st elevation", "stemi"], ["troponin"], ["chest pain"]],
        "recommended_tests": [["angiography", "angiogram", "catheterization", "pci"],
                              ["ecg", "electrocardiogram", "ekg"], ["troponin"]],
    },
    "dka": {
        "condition": "Diabetic ketoacidosis",
        "synonyms": ["DKA", "ketoacidosis"],
        "red_flags": [["ph", "acidosis", "acidemia", "bicarbonate"],
                      ["ketone", "ketones", "ketonemia", "beta hydroxybutyrate"],
                      ["glucose", "hyperglycemia", "hyperglycaemia"]],
        "recommended_tests": [["blood gas", "abg", "vbg", "ph"], ["potassium", "electrolytes"],
                              ["ketone", "ketones", "beta hydroxybutyrate"]],
    },
    "sepsis": {
        "condition": "Septic shock",
        "synonyms": ["sepsis", "urosepsis", "severe sepsis", "septicemia"],
        "red_flags": [["hypotension", "blood pressure", "shock"], ["lactate"],
                      ["tachycardia", "heart rate"], ["fever", "temperature"]],
        "recommended_tests": [["blood culture", "blood cultures"], ["lactate"],
                              ["urinalysis", "urine culture"]],
    },
    "pneumonia": {
        "condition": "Community-acquired pneumonia",
        "synonyms": ["pneumonia", "CAP", "lobar pneumonia"],
        "red_flags": [["hypoxia", "hypoxemia", "oxygen saturation", "spo2", "saturation"],
                      ["consolidation"], ["fever", "temperature"]],
        "recommended_tests": [["chest x ray", "chest radiograph", "cxr", "chest xray"],
                              ["sputum"], ["blood culture", "blood cultures"]],
    },
    "pe": {
        "condition": "Pulmonary embolism",
        "synonyms": ["PE", "pulmonary embolus", "venous thromboembolism"],
        "red_flags": [["hypoxia", "hypoxemia", "spo2", "oxygen saturation", "saturation"],
                      ["tachycardia", "heart rate"], ["d dimer"]],
        "recommended_tests": [["ct pulmonary angiogram", "ctpa", "ct angiography",
                               "ct angiogram"], ["d dimer"], ["ultrasound", "doppler"]],
    },
    "appendicitis": {
        "condition": "Acute appendicitis",
        "synonyms": ["appendicitis"],
        "red_flags": [["rebound", "peritonitis", "peritoneal", "guarding"],
                      ["fever", "temperature"], ["right lower quadrant", "rlq"]],
        "recommended_tests": [["ct", "computed tomography"], ["ultrasound"],
                              ["surgical", "surgery", "surgeon"]],
    },
    "stroke": {
        "condition": "Acute ischemic stroke",
        "synonyms": ["stroke", "ischemic stroke", "ischaemic stroke", "cerebrovascular accident",
                     "CVA", "cerebral infarction"],
        "red_flags": [["weakness", "hemiparesis"], ["aphasia", "speech"],
                      ["facial droop", "facial"], ["onset", "last known well"]],
        "recommended_tests": [["ct head", "head ct", "ct brain", "non contrast ct", "ct scan"],
                              ["mri"], ["ct angiography", "cta", "angiogram"]],
    },
    "hypoglycemia": {
        "condition": "Hypoglycemia",
        "synonyms": ["hypoglycaemia", "low blood sugar", "low blood glucose",
                     "insulin induced hypoglycemia"],
        "red_flags": [["glucose", "hypoglycemia", "hypoglycaemia", "blood sugar"],
                      ["confusion", "altered mental status", "consciousness"]],
        "recommended_tests": [["glucose", "fingerstick", "blood sugar"]],
    },
    "anaphylaxis": {
        "condition": "Anaphylaxis",
        "synonyms": ["anaphylactic shock", "anaphylactic reaction"],
        "red_flags": [["hypotension", "blood pressure", "shock"],
                      ["angioedema", "swelling", "airway"], ["wheeze", "wheezing", "stridor"]],
        "recommended_tests": [["tryptase"]],
    },
}
EMPTY_GOLD: dict[str, Any] = {
    "condition": None, "synonyms": [], "red_flags": [], "recommended_tests": [],
    "insufficient_information": True,
}
EMPTY_RECORDS: list[dict[str, Any]] = [
    {"patient": {"age": 45, "sex": "female"}},
    {"patient": {"age": 30, "sex": "male"}, "chief_complaint": "Routine follow-up visit"},
    {"patient": {"age": 58}, "notes": "No findings recorded."},
]
# fmt: on


def _lab(rng: random.Random, low: float, high: float, unit: str, digits: int = 0) -> Any:
    value = round(rng.uniform(low, high), digits) if digits else int(rng.uniform(low, high))
    return {"value": value, "unit": unit}


def _patient(rng: random.Random, low: int, high: int) -> dict[str, Any]:
    return {"age": rng.randint(low, high), "sex": rng.choice(["female", "male"])}


def _vitals(
    rng: random.Random,
    hr: tuple[int, int],
    sbp: tuple[int, int],
    rr: tuple[int, int],
    spo2: tuple[int, int],
    temp: tuple[float, float],
) -> dict[str, Any]:
    s = rng.randint(*sbp)
    return {
        "heart_rate_bpm": rng.randint(*hr),
        "blood_pressure_mmhg": f"{s}/{int(s * rng.uniform(0.55, 0.65))}",
        "respiratory_rate": rng.randint(*rr),
        "spo2_percent": rng.randint(*spo2),
        "temperature_c": round(rng.uniform(*temp), 1),
    }


def _record(rng: random.Random, key: str) -> dict[str, Any]:
    """One synthetic record of pattern ``key`` (values random within the pattern)."""
    pick = rng.choice
    if key == "stemi":
        leads = pick(["II, III and aVF", "V1-V4", "V2-V5 and I, aVL"])
        return {
            "patient": _patient(rng, 48, 82),
            "chief_complaint": pick(["Crushing substernal chest pain", "Chest pressure"])
            + f" for {rng.randint(30, 120)} minutes, radiating to the "
            + pick(["left arm", "jaw", "back"]),
            "history": rng.sample(
                [
                    "hypertension",
                    "type 2 diabetes",
                    "smoker",
                    "hyperlipidemia",
                    "family history of CAD",
                ],
                2,
            ),
            "vitals": _vitals(rng, (88, 118), (135, 170), (18, 24), (92, 97), (36.5, 37.2)),
            "exam": "Diaphoretic, pale. No murmurs. Lungs clear.",
            "labs": {
                "troponin_i": _lab(rng, 80, 2500, "ng/L"),
                "troponin_i_upper_reference": {"value": 26, "unit": "ng/L"},
            },
            "ecg": f"ST elevation {rng.randint(2, 4)} mm in leads {leads}",
        }
    if key == "dka":
        return {
            "patient": _patient(rng, 16, 40),
            "chief_complaint": "Vomiting, abdominal pain and "
            + pick(["polyuria", "extreme thirst", "weight loss"])
            + " for 2 days",
            "history": [
                "type 1 diabetes mellitus",
                pick(["missed insulin doses", "recent viral illness"]),
            ],
            "vitals": _vitals(rng, (110, 132), (95, 118), (26, 34), (96, 99), (36.6, 37.6)),
            "exam": "Dry mucous membranes, deep rapid breathing, fruity breath odour.",
            "labs": {
                "glucose": _lab(rng, 420, 720, "mg/dL"),
                "ph_venous": _lab(rng, 6.95, 7.18, "", 2),
                "bicarbonate": _lab(rng, 4, 12, "mmol/L"),
                "anion_gap": _lab(rng, 22, 32, "mmol/L"),
                "beta_hydroxybutyrate": _lab(rng, 4.5, 9.0, "mmol/L", 1),
                "potassium": _lab(rng, 5.2, 6.4, "mmol/L", 1),
            },
            "urinalysis": "ketones 3+, glucose 4+",
        }
    if key == "sepsis":
        return {
            "patient": _patient(rng, 60, 90),
            "chief_complaint": "Fever, rigors and confusion; "
            + pick(["burning on urination", "flank pain", "cloudy urine"]),
            "history": rng.sample(
                [
                    "recurrent urinary tract infections",
                    "indwelling catheter",
                    "type 2 diabetes",
                    "chronic kidney disease",
                ],
                2,
            ),
            "vitals": _vitals(rng, (118, 140), (72, 88), (24, 32), (90, 95), (38.9, 40.1)),
            "exam": "Warm peripheries, suprapubic tenderness, drowsy.",
            "labs": {
                "lactate": _lab(rng, 4.1, 7.5, "mmol/L", 1),
                "wbc": _lab(rng, 17, 28, "x10^9/L", 1),
                "creatinine": _lab(rng, 1.8, 3.2, "mg/dL", 1),
            },
            "urinalysis": "nitrite positive, leukocyte esterase 3+",
        }
    if key == "pneumonia":
        side = pick(["right lower lobe", "left lower lobe", "right middle lobe"])
        return {
            "patient": _patient(rng, 35, 80),
            "chief_complaint": f"Productive cough with {pick(['rusty', 'green', 'yellow'])} "
            f"sputum and fever for {rng.randint(3, 6)} days, pleuritic pain",
            "vitals": _vitals(rng, (98, 115), (110, 135), (22, 28), (88, 92), (38.4, 39.6)),
            "exam": f"Crackles and bronchial breathing over the {side}.",
            "labs": {"wbc": _lab(rng, 14, 22, "x10^9/L", 1), "crp": _lab(rng, 120, 310, "mg/L")},
            "imaging": f"Chest X-ray: {side} consolidation with air bronchograms",
        }
    if key == "pe":
        return {
            "patient": _patient(rng, 28, 75),
            "chief_complaint": "Sudden shortness of breath and pleuritic chest pain",
            "history": [
                pick(
                    [
                        "hip replacement 10 days ago",
                        "14-hour flight 5 days ago",
                        "oral contraceptive use",
                    ]
                ),
                "left calf swelling",
            ],
            "vitals": _vitals(rng, (112, 130), (100, 125), (24, 32), (84, 90), (37.0, 37.8)),
            "exam": "Tender swollen left calf. Lungs clear.",
            "labs": {
                "d_dimer": _lab(rng, 2100, 6500, "ng/mL FEU"),
                "troponin_i": _lab(rng, 10, 24, "ng/L"),
            },
            "ecg": "Sinus tachycardia, S1Q3T3 pattern",
        }
    if key == "appendicitis":
        return {
            "patient": _patient(rng, 12, 35),
            "chief_complaint": "Periumbilical pain migrating to the right lower quadrant over "
            f"{rng.randint(12, 30)} hours, anorexia, nausea",
            "vitals": _vitals(rng, (96, 112), (112, 130), (16, 22), (97, 99), (38.0, 38.8)),
            "exam": "Tenderness at McBurney's point with rebound and guarding; positive "
            + pick(["Rovsing", "psoas", "obturator"])
            + " sign.",
            "labs": {
                "wbc": _lab(rng, 13, 19, "x10^9/L", 1),
                "neutrophils_percent": _lab(rng, 80, 90, "%"),
            },
        }
    if key == "stroke":
        side = pick(["right", "left"])
        return {
            "patient": _patient(rng, 55, 88),
            "chief_complaint": f"Sudden {side}-sided weakness and "
            + ("difficulty speaking" if side == "right" else "slurred speech")
            + f", last known well {rng.randint(40, 150)} minutes ago",
            "history": rng.sample(
                ["atrial fibrillation", "hypertension", "prior TIA", "smoker"], 2
            ),
            "vitals": _vitals(rng, (72, 104), (165, 200), (14, 20), (94, 98), (36.4, 37.2)),
            "exam": f"{side.capitalize()} facial droop, {side} arm and leg weakness 2/5"
            + (", expressive aphasia." if side == "right" else ", neglect."),
            "labs": {"glucose": _lab(rng, 95, 150, "mg/dL"), "inr": _lab(rng, 1.0, 1.2, "", 1)},
        }
    if key == "hypoglycemia":
        return {
            "patient": _patient(rng, 55, 85),
            "chief_complaint": "Found confused and sweating at home",
            "history": [
                "type 2 diabetes",
                pick(["glipizide", "insulin glargine", "glyburide"]) + " dose recently increased",
                "poor oral intake",
            ],
            "vitals": _vitals(rng, (98, 118), (130, 160), (14, 20), (96, 99), (36.0, 36.8)),
            "exam": "Diaphoretic, tremulous, GCS 13, no focal deficit.",
            "labs": {"capillary_glucose": _lab(rng, 28, 46, "mg/dL")},
        }
    # anaphylaxis
    trigger = pick(["peanuts", "a bee sting", "intravenous amoxicillin", "shrimp"])
    return {
        "patient": _patient(rng, 8, 60),
        "chief_complaint": f"Throat tightness, hives and lip swelling within "
        f"{rng.randint(5, 25)} minutes of {trigger}",
        "allergies": [trigger.removeprefix("a ").removeprefix("intravenous ")],
        "vitals": _vitals(rng, (120, 145), (68, 86), (26, 34), (86, 92), (36.6, 37.2)),
        "exam": "Diffuse urticaria, angioedema of lips and tongue, bilateral wheeze, stridor.",
    }


def diagnosis_rows() -> list[dict[str, Any]]:
    """27 pattern records (9 patterns x 3) and 3 deliberately thin ones."""
    rng = random.Random(20240601)
    rows: list[dict[str, Any]] = []
    for key, gold in DIAGNOSIS_GOLD.items():
        for variant in range(1, 4):
            rows.append(
                {
                    "id": f"{key}-{variant}",
                    "input": _record(rng, key),
                    "gold": {**gold, "insufficient_information": False, "pattern": key},
                }
            )
    for n, record in enumerate(EMPTY_RECORDS, start=1):
        rows.append({"id": f"insufficient-{n}", "input": record, "gold": EMPTY_GOLD})
    return rows
