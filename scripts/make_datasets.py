"""Build the evaluation datasets in ``datasets/`` (reproducible: fixed seeds, no network).

    .venv/bin/python scripts/make_datasets.py            # rewrites datasets/*.jsonl and files
    .venv/bin/python scripts/make_datasets.py --check    # exit 1 if the files on disk differ

Every line of ``datasets/<task>.jsonl`` is ``{"id", "input", "gold"}``; ``input`` is a record
(dict) or a path relative to the dataset file. How the gold was made, per task:

- **diagnosis**: synthetic patient records generated from textbook clinical patterns (STEMI,
  DKA, septic shock, pneumonia, pulmonary embolism, appendicitis, ischemic stroke,
  hypoglycaemia, anaphylaxis), three variants each with randomised but pattern-consistent
  values, plus three deliberately empty records. **The gold is by construction from the
  pattern, not labelled by clinicians**: the expected condition (with synonyms), red-flag
  keywords and test keywords are those of the pattern the record was generated from.
- **financials**: synthetic statements generated from random but consistent numbers (gross
  profit = revenue - cost, operating income = gross profit - opex, assets = liabilities +
  equity, subtotals add up), with varied row labels, period headers and scale notes. Some have
  a deliberate break (one total changed after the fact). Gold = the canonical metric values per
  period as printed in the table, the statement kind, and whether a break exists. The two Apple
  samples (tests/fixtures) are included with the gold of tests/fixtures/finance/apple_gold.json.
- **clauses**: synthetic contracts assembled from clause templates with varied party names
  (non-ASCII included), dates and jurisdictions. Gold spans carry exact character offsets
  computed while assembling the text (and re-checked on the written file); gold values are the
  normalized dates (ISO), jurisdiction and party names. The two CUAD samples are included with
  their expert gold from CUAD's master_clauses.csv, read by ``structkit.evaluation.cuad``.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import random
import re
import shutil
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "datasets"
FIX = ROOT / "tests" / "fixtures"
sys.path.insert(0, str(ROOT))  # structkit, when run without installing it


def _write_jsonl(path: Path, rows: list[dict[str, Any]]) -> None:
    text = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)
    path.write_text(text, encoding="utf-8", newline="\n")


# --------------------------------------------------------------------------- diagnosis

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


# --------------------------------------------------------------------------- financials

INCOME_LABELS: dict[str, list[str]] = {
    "revenue": ["Revenue", "Net sales", "Total revenues", "Net revenues", "Sales"],
    "cost_of_revenue": ["Cost of revenue", "Cost of sales", "Cost of goods sold"],
    "gross_profit": ["Gross profit", "Gross margin"],
    "operating_income": ["Operating income", "Income from operations", "Operating profit"],
    "pretax_income": ["Income before income taxes", "Profit before tax"],
    "income_tax": ["Provision for income taxes", "Income tax expense"],
    "net_income": ["Net income", "Net earnings", "Net profit"],
}
EQUITY_LABELS = [
    ("Total shareholders' equity", "Total liabilities and shareholders' equity"),
    ("Total stockholders' equity", "Total liabilities and stockholders' equity"),
    ("Total equity", "Total liabilities and equity"),
]
PERIODS = [
    ["FY2024", "FY2023", "FY2022"],
    ["2023", "2022"],
    ["Dec. 31, 2023", "Dec. 31, 2022", "Dec. 31, 2021"],
    ["Year ended June 30, 2024", "Year ended June 30, 2023"],
    ["31 March 2024", "31 March 2023"],
    ["Q2 2024", "Q1 2024", "Q4 2023"],
]
#: (preamble line, scale): how the scale is stated, if at all.
SCALES = [
    ("(in thousands)", "thousands"),
    ("(in millions)", "millions"),
    ("USD millions", "millions"),
    ("(in thousands of euros)", "thousands"),
    ("", "units"),
]
COMPANIES = [
    "Northwind Traders",
    "Contoso Ltd",
    "Fabrikam Inc",
    "Tailspin Toys",
    "Litware",
    "Adventure Works",
    "Wingtip Industries",
    "Proseware",
    "Lucerne Publishing",
]
#: Statements with a deliberate break, and its kind.
BREAKS = {
    3: "identity",
    7: "identity",
    11: "subtotal",
    16: "identity",
    20: "subtotal",
    25: "identity",
}


def _fmt(value: int, rng: random.Random, style: int) -> str:
    text = f"{abs(value):,}" if style else str(abs(value))
    return (f"({text})" if rng.random() < 0.7 else f"-{text}") if value < 0 else text


class _Table:
    """Rows of a statement being generated: label -> one amount per period."""

    def __init__(self, periods: list[str]):
        self.periods = periods
        self.rows: list[tuple[str, list[int]]] = []
        self.values: dict[str, dict[str, float]] = {}
        self.row_of: dict[str, int] = {}

    def add(self, label: str, amounts: list[int], metric: str | None = None) -> None:
        if metric is not None:
            self.row_of[metric] = len(self.rows)
            self.values[metric] = dict(zip(self.periods, map(float, amounts), strict=True))
        self.rows.append((label, amounts))


def _income(t: _Table, rng: random.Random, revenue: list[int]) -> None:
    labels = {k: rng.choice(v) for k, v in INCOME_LABELS.items()}
    cost = [int(r * rng.uniform(0.35, 0.7)) for r in revenue]
    gross = [r - c for r, c in zip(revenue, cost, strict=True)]
    rnd = [int(r * rng.uniform(0.04, 0.12)) for r in revenue]
    sga = [int(r * rng.uniform(0.08, 0.18)) for r in revenue]
    opex = [a + b for a, b in zip(rnd, sga, strict=True)]
    operating = [g - o for g, o in zip(gross, opex, strict=True)]
    other = [int(r * rng.uniform(-0.02, 0.01)) for r in revenue]
    pretax = [o + x for o, x in zip(operating, other, strict=True)]
    tax = [int(p * 0.21) for p in pretax]
    t.add(labels["revenue"], revenue, "revenue")
    t.add(labels["cost_of_revenue"], cost, "cost_of_revenue")
    t.add(labels["gross_profit"], gross, "gross_profit")
    t.add("Research and development", rnd)
    t.add("Selling, general and administrative", sga)
    t.add("Total operating expenses", opex, "operating_expenses")
    t.add(labels["operating_income"], operating, "operating_income")
    t.add("Other income (expense), net", other)
    t.add(labels["pretax_income"], pretax, "pretax_income")
    t.add(labels["income_tax"], tax, "income_tax")
    t.add(labels["net_income"], [p - x for p, x in zip(pretax, tax, strict=True)], "net_income")


def _balance(t: _Table, rng: random.Random, revenue: list[int]) -> None:
    equity_label, total_label = rng.choice(EQUITY_LABELS)
    cash = [int(r * rng.uniform(0.1, 0.3)) for r in revenue]
    receivables = [int(r * rng.uniform(0.08, 0.2)) for r in revenue]
    inventory = [int(r * rng.uniform(0.05, 0.15)) for r in revenue]
    current = [sum(x) for x in zip(cash, receivables, inventory, strict=True)]
    ppe = [int(r * rng.uniform(0.3, 0.8)) for r in revenue]
    goodwill = [int(r * rng.uniform(0.05, 0.2)) for r in revenue]
    assets = [sum(x) for x in zip(current, ppe, goodwill, strict=True)]
    payables = [int(a * rng.uniform(0.06, 0.12)) for a in assets]
    accrued = [int(a * rng.uniform(0.04, 0.08)) for a in assets]
    current_liab = [p + a for p, a in zip(payables, accrued, strict=True)]
    debt = [int(a * rng.uniform(0.15, 0.3)) for a in assets]
    liabilities = [c + d for c, d in zip(current_liab, debt, strict=True)]
    stock = [int(a * 0.1) for a in assets]
    retained = [a - li - s for a, li, s in zip(assets, liabilities, stock, strict=True)]
    equity = [s + r for s, r in zip(stock, retained, strict=True)]
    t.add("Cash and cash equivalents", cash, "cash_and_equivalents")
    t.add("Accounts receivable", receivables)
    t.add("Inventories", inventory)
    t.add("Total current assets", current, "total_current_assets")
    t.add("Property and equipment, net", ppe)
    t.add("Goodwill", goodwill)
    t.add("Total assets", assets, "total_assets")
    t.add("Accounts payable", payables)
    t.add("Accrued liabilities", accrued)
    t.add("Total current liabilities", current_liab, "total_current_liabilities")
    t.add("Long-term debt", debt, "long_term_debt")
    t.add("Total liabilities", liabilities, "total_liabilities")
    t.add("Common stock", stock)
    t.add("Retained earnings", retained)
    t.add(equity_label, equity, "shareholders_equity")
    t.add(
        total_label,
        [li + e for li, e in zip(liabilities, equity, strict=True)],
        "total_liabilities_and_equity",
    )


def _break(t: _Table, kind: str, rng: random.Random) -> dict[str, str]:
    """Change one printed total after the fact; return what breaks."""
    wanted = {
        "identity": ("total_assets", "gross_profit"),
        "subtotal": ("total_current_liabilities", "operating_expenses"),
    }[kind]
    metric = next(m for m in wanted if m in t.values)
    at = rng.randrange(len(t.periods))
    period = t.periods[at]
    label, amounts = t.rows[t.row_of[metric]]
    changed = list(amounts)
    changed[at] += max(int(abs(amounts[at]) * rng.uniform(0.03, 0.08)), 7)
    t.rows[t.row_of[metric]] = (label, changed)
    t.values[metric][period] = float(changed[at])
    return {"kind": kind, "metric": metric, "period": period}


@dataclass
class Statement:
    csv: str
    gold: dict[str, Any]


def make_statement(rng: random.Random, n: int) -> Statement:
    """Statement ``n``: income statement, balance sheet or both in one table (by ``n % 3``)."""
    kind = ("income_statement", "balance_sheet", "combined")[n % 3]
    periods = list(rng.choice(PERIODS))
    if rng.random() < 0.25:
        periods.reverse()  # oldest first
    base = rng.randint(5_000, 900_000)
    revenue = [int(base * rng.uniform(0.85, 1.15)) for _ in periods]
    table = _Table(periods)
    if kind != "balance_sheet":
        _income(table, rng, revenue)
    if kind != "income_statement":
        _balance(table, rng, revenue)
    broken = _break(table, BREAKS[n], rng) if n in BREAKS else None
    note, scale = SCALES[n % len(SCALES)]
    company = rng.choice(COMPANIES)
    title = {
        "income_statement": "Consolidated statement of operations",
        "balance_sheet": "Consolidated balance sheet",
        "combined": "Financial highlights",
    }[kind]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([f"{company} - {title}"])
    if note:
        writer.writerow([note])
    style = rng.randrange(2)
    writer.writerow([rng.choice(["Line item", "Item", "Account"]), *periods])
    for label, amounts in table.rows:
        writer.writerow([label, *(_fmt(a, rng, style) for a in amounts)])
    gold = {
        "statement": kind,
        "scale": scale,
        "periods": periods,
        "values": table.values,
        "identity_break": broken is not None,
    }
    if broken:
        gold["break"] = broken
    return Statement(out.getvalue(), gold)


def amount(text: str) -> float:
    """A cell's number (the gold is stored as numbers in the table's units)."""
    from structkit.tasks.financials import parse_amount

    value = parse_amount(text)
    assert value is not None, text
    return float(value)


def synthetic_financial_rows(out: Path) -> list[dict[str, Any]]:
    """28 synthetic statements (6 broken): the identity-break checks."""
    from structkit.adapters import load
    from structkit.tasks.financials import check_table

    rng = random.Random(20240602)
    folder = out / "financials"
    folder.mkdir(parents=True, exist_ok=True)
    rows: list[dict[str, Any]] = []
    for n in range(28):
        statement = make_statement(rng, n)
        name = f"statement-{n + 1:02d}.csv"
        (folder / name).write_text(statement.csv, encoding="utf-8", newline="\n")
        flags = check_table(load(folder / name))
        # Self-check: the deterministic pass agrees with the construction.
        assert bool(flags) == statement.gold["identity_break"], (name, flags)
        rows.append({"id": name[:-4], "input": f"financials/{name}", "gold": statement.gold})
    return rows


def financial_rows(out: Path) -> list[dict[str, Any]]:
    """Real filings: the two Apple samples, 12 statements of 4 filers exported from their SEC
    XBRL filings (edgartools), an XBRL instance and an inline XBRL document."""
    folder = out / "financials"
    folder.mkdir(parents=True, exist_ok=True)
    rows: list[dict[str, Any]] = []
    apple = json.loads((FIX / "finance" / "apple_gold.json").read_text(encoding="utf-8"))
    for name, gold in apple["files"].items():
        shutil.copyfile(FIX / name, folder / name)
        values: dict[str, dict[str, float]] = {}
        for item in gold["items"]:
            values.setdefault(item["metric"], {})[item["period"]] = amount(item["value"])
        rows.append(
            {
                "id": name.removesuffix(".csv"),
                "input": f"financials/{name}",
                "gold": {
                    "statement": gold["statement"],
                    "scale": gold["scale"],
                    "periods": gold["periods"],
                    "values": values,
                    "identity_break": False,
                },
            }
        )
    filings = FIX / "finance" / "filings"
    for row in json.loads((filings / "gold.json").read_text(encoding="utf-8")):
        shutil.copyfile(filings / row["input"], folder / row["input"])
        rows.append({**row, "input": f"financials/{row['input']}"})
    return rows


# --------------------------------------------------------------------------- clauses

# fmt: off
DOCUMENTS = ["MASTER SERVICES AGREEMENT", "SUPPLY AGREEMENT", "SOFTWARE LICENSE AGREEMENT",
             "DISTRIBUTION AGREEMENT", "CONSULTING AGREEMENT", "MAINTENANCE AGREEMENT"]
#: (name, short name, where incorporated, entity kind)
PARTIES = [
    ("Müller & Söhne GmbH", "Müller", "German", "limited liability company"),
    ("Société Générale de Logiciels S.A.", "SGL", "French", "société anonyme"),
    ("Øresund Logistics A/S", "Øresund", "Danish", "company"),
    ("São Paulo Tecnologia Ltda.", "SP Tecnologia", "Brazilian", "limited company"),
    ("Dvořák Engineering s.r.o.", "Dvořák", "Czech", "limited liability company"),
    ("Ibáñez Consultores S.L.", "Ibáñez", "Spanish", "limited company"),
    ("Bluewater Analytics, Inc.", "Bluewater", "Delaware", "corporation"),
    ("Harborview Medical Supplies LLC", "Harborview", "New York", "limited liability company"),
    ("Kestrel Software Ltd.", "Kestrel", "English", "private limited company"),
    ("Zhōngshān Precision Parts Co., Ltd.", "Zhōngshān", "Chinese", "company"),
    ("Café Olé Holdings, Inc.", "Café Olé", "California", "corporation"),
    ("Łódź Components sp. z o.o.", "Łódź Components", "Polish", "limited liability company"),
]
#: (how the contract names the law, normalized jurisdiction)
LAWS = [("the State of New York", "New York"), ("England and Wales", "England and Wales"),
        ("the State of Delaware", "Delaware"), ("the Canton of Zürich, Switzerland", "Zürich"),
        ("the Province of Québec", "Québec"), ("the Federal Republic of Germany", "Germany"),
        ("the State of California", "California"), ("Ireland", "Ireland")]
TERRITORIES = ["the European Union", "North America", "Scandinavia", "Brazil", "Japan"]
NUMBERS = {30: "thirty (30)", 60: "sixty (60)", 90: "ninety (90)", 12: "twelve (12)",
           24: "twenty-four (24)", 6: "six (6)"}
DATE_STYLES = ["{month} {day}, {year}", "{day} {month} {year}", "the {nth} day of {month}, {year}"]
MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August",
          "September", "October", "November", "December"]
# fmt: on


def _an(word: str) -> str:
    return f"{'an' if word[0] in 'AEIOU' else 'a'} {word}"


def _date_text(value: date, style: str) -> str:
    day = value.day
    nth = (
        f"{day}{'th' if 10 <= day % 100 <= 20 else {1: 'st', 2: 'nd', 3: 'rd'}.get(day % 10, 'th')}"
    )
    return style.format(month=MONTHS[value.month - 1], day=day, year=value.year, nth=nth)


def _optional_clauses(a: str, b: str, rng: random.Random) -> list[tuple[str, list[str], str]]:
    """(heading, clause types, sentence) for the clauses a contract may have."""
    n = NUMBERS
    territory = rng.choice(TERRITORIES)
    return [
        (
            "Termination",
            ["Termination For Convenience"],
            f"Either party may terminate this Agreement for convenience upon "
            f"{n[rng.choice([30, 60, 90])]} days' prior written notice to the other party.",
        ),
        (
            "Non-Competition",
            ["Non-Compete"],
            f"During the term of this Agreement and for {n[rng.choice([6, 12, 24])]} months "
            f"thereafter, {b} shall not engage in any business that competes with the business of "
            f"{a} in {territory}.",
        ),
        (
            "Exclusivity",
            ["Exclusivity"],
            f"{a} appoints {b} as its exclusive distributor of the Products in {territory}, and "
            f"{a} shall not appoint any other distributor there.",
        ),
        (
            "Assignment",
            ["Anti-Assignment"],
            "Neither party may assign this Agreement or any of its rights hereunder without the "
            "prior written consent of the other party.",
        ),
        (
            "Limitation of Liability",
            ["Cap On Liability"],
            f"In no event shall either party's aggregate liability arising out of this Agreement "
            f"exceed the fees paid by {b} in the {n[rng.choice([6, 12])]} months preceding the "
            f"claim.",
        ),
        (
            "Audit",
            ["Audit Rights"],
            f"{a} may, upon {n[30]} days' written notice, audit the books and records of {b} "
            f"relating to this Agreement once per calendar year.",
        ),
        (
            "Insurance",
            ["Insurance"],
            f"{b} shall maintain commercial general liability insurance with limits of not less "
            f"than EUR {rng.choice(['1,000,000', '2,000,000', '5,000,000'])} per occurrence.",
        ),
        (
            "Change of Control",
            ["Change Of Control"],
            f"{a} may terminate this Agreement if {b} undergoes a change of control.",
        ),
    ]


FILLER: list[tuple[str, list[str], str]] = [
    (
        "Notices",
        [],
        "All notices under this Agreement shall be in writing and delivered to the "
        "addresses set out above.",
    ),
    (
        "Entire Agreement",
        [],
        "This Agreement constitutes the entire agreement between the parties "
        "concerning its subject matter.",
    ),
    ("Payment", [], "Invoices are payable within thirty (30) days of receipt."),
    (
        "Counterparts",
        [],
        "This Agreement may be executed in counterparts, each of which is an original.",
    ),
]


class _Builder:
    """Text assembled piece by piece, recording gold spans at their exact offsets."""

    def __init__(self) -> None:
        self.text = ""
        self.spans: list[dict[str, Any]] = []

    def add(self, piece: str, spans: Sequence[tuple[str, str]] = ()) -> None:
        """Append ``piece``; each (type, substring) becomes a gold span at its offsets."""
        at = len(self.text)
        self.text += piece
        for clause_type, sub in spans:
            start = at + piece.index(sub)
            self.spans.append(
                {"clause_type": clause_type, "text": sub, "start": start, "end": start + len(sub)}
            )


@dataclass
class Contract:
    text: str
    gold: dict[str, Any]


#: Most clauses structkit's answer may hold (structkit.tasks.clauses.MAX_CLAUSES).
MAX_CLAUSES = 12


def make_contract(rng: random.Random, n: int) -> Contract:
    """Contract ``n``: title, parties and dates, term, 3-6 optional clauses (at most 12 gold
    spans in all), governing law, signatures."""
    doc = DOCUMENTS[n % len(DOCUMENTS)]
    (a_name, a, a_where, a_kind), (b_name, b, b_where, b_kind) = rng.sample(PARTIES, 2)
    signed = date(2015, 1, 1) + timedelta(days=rng.randrange(3650))
    effective = signed + timedelta(days=rng.choice([0, 14, 30, 31]))
    expires = effective.replace(year=effective.year + rng.choice([1, 2, 3, 5]))
    law, jurisdiction = rng.choice(LAWS)
    style = rng.choice(DATE_STYLES)
    signed_text = _date_text(signed, style)
    out = _Builder()
    out.add(doc + "\n\n", [("Document Name", doc)])
    parties = (
        f'This {doc.title()} (the "Agreement") is entered into as of {signed_text} by and '
        f'between {a_name}, {_an(a_where)} {a_kind} ("{a}"), and {b_name}, {_an(b_where)} '
        f'{b_kind} ("{b}").'
    )
    out.add(parties, [("Parties", a_name), ("Parties", b_name), ("Agreement Date", signed_text)])
    values: dict[str, list[str]] = {
        "Agreement Date": [signed.isoformat()],
        "Parties": [a_name, b_name],
    }
    section = 0

    def clause(heading: str, types: Sequence[str], sentence: str) -> None:
        nonlocal section
        section += 1
        out.add(f"\n\n{section}. {heading}. ")
        out.add(sentence, [(t, sentence) for t in types])

    if effective != signed:
        clause(
            "Effective Date",
            ["Effective Date"],
            f"This Agreement shall become effective on {_date_text(effective, style)} "
            f'(the "Effective Date").',
        )
        values["Effective Date"] = [effective.isoformat()]
    clause(
        "Term",
        ["Expiration Date"],
        f"The initial term of this Agreement shall expire on {_date_text(expires, style)}.",
    )
    values["Expiration Date"] = [expires.isoformat()]
    if rng.random() < 0.5:
        clause(
            "Renewal",
            ["Renewal Term", "Notice Period To Terminate Renewal"],
            f"Thereafter this Agreement shall renew automatically for successive one-year "
            f"terms unless either party gives notice of non-renewal at least "
            f"{NUMBERS[rng.choice([30, 60, 90])]} days before the end of the current term.",
        )
    optional = _optional_clauses(a, b, rng)
    # At most MAX_CLAUSES (12) gold spans, so that a perfect answer is possible: the spans so
    # far, one optional clause each, and Governing Law.
    room = MAX_CLAUSES - len(out.spans) - 1
    chosen = rng.sample(optional, min(rng.randint(3, 6), room)) + rng.sample(FILLER, 2)
    rng.shuffle(chosen)
    for heading, types, sentence in chosen:
        clause(heading, types, sentence)
    clause(
        "Governing Law",
        ["Governing Law"],
        f"This Agreement shall be governed by and construed in accordance with the laws of "
        f"{law}, without regard to its conflict of laws principles.",
    )
    values["Governing Law"] = [jurisdiction]
    out.add(
        f"\n\nIN WITNESS WHEREOF, the parties have executed this Agreement as of the date "
        f"first written above.\n\n{a_name}     {b_name}\nBy: ____________     "
        f"By: ____________\n"
    )
    return Contract(out.text, {"spans": out.spans, "values": values, "source": "synthetic"})


def cuad_gold(text_path: Path, csv_path: Path, key: str) -> dict[str, Any]:
    """Gold of a CUAD sample: expert spans (located in the text) and normalized answers."""
    from structkit.evaluation import cuad
    from structkit.tasks.clauses import CLAUSE_TYPES, normalize_date

    source = text_path.read_text(encoding="utf-8-sig")  # as structkit's loader reads it
    gold = cuad.load_gold(csv_path, key, source_text=source)
    spans = [
        {"clause_type": s.clause_type, "text": s.text, "start": s.start, "end": s.end}
        for s in gold.spans
        if s.clause_type in CLAUSE_TYPES
    ]
    values: dict[str, list[str]] = {}
    for clause_type in ("Agreement Date", "Effective Date", "Expiration Date"):
        parsed = normalize_date(gold.answers.get(clause_type, ""))
        if parsed is not None and gold.of_type(clause_type):
            values[clause_type] = [parsed.isoformat()]
    if gold.answers.get("Governing Law"):
        values["Governing Law"] = [gold.answers["Governing Law"]]
    names = [
        re.sub(r"\s*\(.*?\)\s*$", "", p).strip() for p in gold.answers.get("Parties", "").split(";")
    ]
    values["Parties"] = [name for name in names if name]
    return {
        "spans": spans,
        "values": values,
        "source": "CUAD v1 (CC BY 4.0, The Atticus Project): master_clauses.csv",
    }


def clause_rows(out: Path) -> list[dict[str, Any]]:
    """24 synthetic contracts, the two CUAD samples and the CUAD contracts of :func:`cuad_rows`."""
    rng = random.Random(20240603)
    folder = out / "clauses"
    folder.mkdir(parents=True, exist_ok=True)
    rows: list[dict[str, Any]] = []
    for n in range(24):
        contract = make_contract(rng, n)
        name = f"contract-{n + 1:02d}.txt"
        path = folder / name
        path.write_text(contract.text, encoding="utf-8", newline="\n")
        written = path.read_text(encoding="utf-8-sig")  # as structkit's loader reads it
        for span in contract.gold["spans"]:
            assert written[span["start"] : span["end"]] == span["text"], (name, span)
        rows.append({"id": name[:-4], "input": f"clauses/{name}", "gold": contract.gold})
    for name, key in (
        ("cuad_netzee_maintenance_agreement.txt", "NETZEE"),
        ("cuad_agape_supply_agreement.txt", "AGAPE"),
    ):
        shutil.copyfile(FIX / "contracts" / name, folder / name)
        gold = cuad_gold(folder / name, FIX / "contracts" / "cuad_clauses_for_samples.csv", key)
        rows.append({"id": name.removesuffix(".txt"), "input": f"clauses/{name}", "gold": gold})
    rows.extend(cuad_rows(out))
    return rows


#: More CUAD contracts (text as in CUAD_v1/full_contract_txt/, gold rows of master_clauses.csv),
#: kept in datasets/clauses/ itself: ``cuad_<slug>.txt`` and ``cuad_master_clauses.csv``.
CUAD_CSV = "cuad_master_clauses.csv"


def _cuad_slug(filename: str) -> str:
    stem = re.sub(r"\.pdf$", "", filename.strip(), flags=re.IGNORECASE)
    slug = re.sub(r"[^a-z0-9]+", "_", stem.lower()).strip("_")
    return "cuad_" + slug[:70].strip("_")


def cuad_rows(out: Path) -> list[dict[str, Any]]:
    """The CUAD contracts listed in ``cuad_master_clauses.csv`` (copied when building elsewhere)."""
    from structkit.evaluation import cuad

    folder = out / "clauses"
    if out.resolve() != OUT.resolve():
        shutil.copyfile(OUT / "clauses" / CUAD_CSV, folder / CUAD_CSV)
    rows: list[dict[str, Any]] = []
    for row in cuad.read_master_clauses(folder / CUAD_CSV):
        name = _cuad_slug(row["Filename"]) + ".txt"
        if out.resolve() != OUT.resolve():
            shutil.copyfile(OUT / "clauses" / name, folder / name)
        gold = cuad_gold(folder / name, folder / CUAD_CSV, row["Filename"])
        rows.append({"id": name.removesuffix(".txt"), "input": f"clauses/{name}", "gold": gold})
    return rows


# --------------------------------------------------------------------------- main


def build(out: Path = OUT) -> dict[str, list[dict[str, Any]]]:
    """Write every dataset and its files into ``out``; return the rows per task."""
    out.mkdir(parents=True, exist_ok=True)
    datasets = {
        "diagnosis": diagnosis_rows(),
        "financials": financial_rows(out),
        "financials_synthetic": synthetic_financial_rows(out),
        "clauses": clause_rows(out),
    }
    for task, rows in datasets.items():
        _write_jsonl(out / f"{task}.jsonl", rows)
    return datasets


def _files(folder: Path) -> dict[str, bytes]:
    """Generated files by relative path (README.md is written by hand)."""
    return {
        str(p.relative_to(folder)): p.read_bytes()
        for p in folder.rglob("*")
        if p.is_file()
        and p.suffix != ".md"
        and not p.name.startswith(_BUILT_ELSEWHERE)
        and not p.parent.name.startswith(_BUILT_ELSEWHERE)
    }


#: Built by other scripts from real records (scripts/make_diagnosis_benchmark.py), not here.
_BUILT_ELSEWHERE = ("diagnosis_real",)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--check",
        action="store_true",
        help="build into a temporary folder and fail if it differs from datasets/",
    )
    args = parser.parse_args()
    if args.check:
        with tempfile.TemporaryDirectory() as tmp:
            build(Path(tmp))
            built, shipped = _files(Path(tmp)), _files(OUT)
        differ = sorted(
            set(built) ^ set(shipped) | {k for k in built if built[k] != shipped.get(k)}
        )
        print("datasets/ is up to date" if not differ else "differs: " + ", ".join(differ))
        return 1 if differ else 0
    for task, rows in build().items():
        print(f"{task}: {len(rows)} items -> datasets/{task}.jsonl")
    return 0


if __name__ == "__main__":
    sys.exit(main())
