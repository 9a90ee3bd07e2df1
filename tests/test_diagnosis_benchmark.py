"""The real-record diagnosis benchmark: nothing leaks, gold is valid ICD-10-CM, exclusions held."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from lxml import etree

from structkit.clinical.icd10cm import title_of

DATASETS = Path(__file__).resolve().parents[1] / "datasets"
ITEMS = [json.loads(line) for line in (DATASETS / "diagnosis_real.jsonl").read_text().splitlines()]
EXCLUDED = ("Buster_Hoeger", "1114198", "1447473", "850289", "970616", "Discharge Summary",
            "Progress Note", "Diagnostic Imaging", "Joey_Miller", "MaryGrant")  # fmt: skip


def test_size_sources_and_exclusions():
    assert len(ITEMS) >= 40
    assert sum(i["id"].startswith("synthea") for i in ITEMS) >= 40
    assert any(i["id"].startswith("ccda") for i in ITEMS)
    for item in ITEMS:
        assert not any(x in item["gold"]["source"] for x in EXCLUDED), item["id"]


@pytest.mark.parametrize("item", ITEMS, ids=lambda i: i["id"])
def test_gold_is_valid_icd10cm_and_conditions_do_not_leak(item):
    assert item["gold"]["icd10"] and all(title_of(c) for c in item["gold"]["icd10"])
    path = DATASETS / item["input"]
    if path.suffix == ".json":
        bundle = json.loads(path.read_text())
        kinds = {e["resource"]["resourceType"] for e in bundle["entry"]}
        assert not kinds & {"Condition", "Claim", "ExplanationOfBenefit", "CarePlan", "Goal"}
        text = path.read_text()
        assert '"reasonCode"' not in text and '"reasonReference"' not in text
    else:
        root = etree.parse(str(path)).getroot()
        ns = {"v3": "urn:hl7-org:v3"}
        codes = {c.get("code") for c in root.iterfind(".//v3:section/v3:code", ns)}
        assert not codes & {"11450-4", "11348-0", "75310-3", "51848-0", "51847-2", "29299-5"}
        assert not root.findall(".//v3:entryRelationship[@typeCode='RSON']", ns)
