"""XML adapter: HL7 C-CDA (real sample and our own), generic XML, pointers (hostile XML:
test_adapters_xml_hostile.py)."""

from __future__ import annotations

import ast
import time
from pathlib import Path

import pytest
from lxml import etree

from structkit.adapters import FORMATS, Record, Value, render
from structkit.adapters import _xml_safe as _xml
from structkit.adapters._xml import parse_xml

from .conftest import FIXTURES

SAMPLE = FIXTURES / "hl7_ccd.xml"
SMALL = FIXTURES / "ccda_discharge_small.xml"
NS = {"v3": "urn:hl7-org:v3"}


def safe_tree(data: bytes) -> etree._ElementTree:
    """The tests' own view of a document (trusted fixtures only)."""
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
    return etree.fromstring(data, parser).getroottree()


def by_key(record: Record) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for value in record.values():
        out.setdefault(value.key, []).append(value.text)
    return out


def one(record: Record, key: str) -> Value:
    found = [v for v in record.values() if v.key == key]
    assert len(found) == 1, (key, found)
    return found[0]


def assert_round_trip(record: Record, tree: etree._ElementTree) -> None:
    """Every pointer finds exactly one node; an attribute pointer finds the exact text."""
    for value in record.values():
        found = tree.xpath(value.pointer)
        assert isinstance(found, list) and len(found) == 1, value
        node = found[0]
        if value.pointer.rsplit("/", 1)[-1].startswith("@"):
            assert str(node) == value.text, value
        else:
            assert isinstance(node, etree._Element), value


def rendered_everywhere(record: Record) -> str:
    return "\n".join(render(record, format=f) for f in FORMATS)


# ------------------------------------------------------------------- real C-CDA sample (HL7)


def test_real_ccd_is_read_as_ccda_with_one_section_per_body_section():
    record = parse_xml(SAMPLE)
    assert record.kind == "ccda"
    assert record.record_id == "hl7_ccd.xml"
    assert [s.title for s in record.sections] == [
        "Document",
        "ALLERGIES AND ADVERSE REACTIONS",
        "MEDICATIONS",
        "PROBLEMS",
        "PROCEDURES",
        "RESULTS",
        "SOCIAL HISTORY",
        "Vital Signs (Last Filed)",
    ]
    assert record.issues == []


def test_real_ccd_header_keeps_document_facts_and_drops_identifiers():
    record = parse_xml(SAMPLE)
    header = {v.key: v.text for v in record.sections[0].values}
    assert header == {
        "Title": "Summary of Patient Chart",
        "Document type": "Summary of episode note (LOINC 34133-9)",
        "Effective time": "20141015103026-0500",
        "Gender": "Female (AdministrativeGender F)",
        "Birth time": "19501219",
    }
    text = rendered_everywhere(record)
    for identifier in (
        "Isabella",
        "Jones",
        "Residence Rd",
        "Beaverton",
        "97867",
        "98765432",
        "12345679",  # the SSN-rooted id
        "444-4444",
        "Isbella.Jones",
        "Patricia",
        "Healthcare Drive",
        "be84a8e4",  # document id
        "2.16.840.1.113883",  # no OIDs, no templateIds
    ):
        assert identifier not in text, identifier


def test_real_ccd_entries_keep_codes_values_units_times_and_status():
    record = parse_xml(SAMPLE)
    values = by_key(record)
    assert values["Vital sign: Systolic blood pressure"] == ["120 mm[Hg]"]
    assert values["Vital sign: Systolic blood pressure, code"] == ["LOINC 8480-6"]
    assert values["Vital sign: WEIGHT"] == ["108.863 kg"]  # not rounded to the narrative's 108.8
    assert values["Vital sign: Body temperature"] == ["37.2 Cel"]
    assert values["Vital sign: OXYGEN SATURATION"] == ["98 %"]
    assert values["Vital sign panel: VITAL SIGNS, time"] == ["20141001103026-0500"]
    # No known allergies is a negated allergy observation: the negation must survive.
    assert values["Allergy (negated)"] == ["Substance (SNOMED CT 105590001)"]
    assert values["Allergy: Substance, concern status"] == ["active"]
    assert values["Procedure"][0] == "Laparoscopic appendectomy (SNOMED-CT 6025007)"
    assert (
        "Laparoscopic Appendectomy (CPT 44970)"
        in values["Procedure: Laparoscopic appendectomy, translation"]
    )
    assert values["Procedure: Laparoscopic appendectomy, start"] == ["20141002103026-0500"]
    assert values["Procedure: Laparoscopic appendectomy, status"] == ["completed"]
    # The pending leukocyte count has no value: said so, not dropped, not invented.
    pending = "Result: Leukocytes [#/\u200bvolume] in Blood by Manual count"
    assert values[pending] == ["no value (not applicable)"]
    assert values["Result panel: CBC with Ordered Manual Differential panel - Blood, status"] == [
        "active"
    ]
    # Sections that say "no information" say it.
    medications = next(s for s in record.sections if s.title == "MEDICATIONS")
    assert [(v.key, v.text) for v in medications.values] == [
        ("Status", "no value (no information)"),
        ("Narrative", "No information"),
    ]


def test_real_ccd_narrative_tables_are_flattened_to_rows():
    record = parse_xml(SAMPLE)
    procedures = next(s for s in record.sections if s.title == "PROCEDURES")
    narrative = next(v for v in procedures.values if v.key == "Narrative")
    assert narrative.text.splitlines()[:2] == [
        "Description | Date and Time (Range) | Status",
        "Laparoscopic appendectomy | 03 Feb 2014 09:22am- 03 Feb 2014 11:15am | Completed",
    ]


def test_real_ccd_pointers_round_trip():
    record = parse_xml(SAMPLE)
    tree = safe_tree(SAMPLE.read_bytes())
    assert_round_trip(record, tree)
    weight = one(record, "Vital sign: WEIGHT")
    node = tree.xpath(weight.pointer)[0]
    assert (node.get("value"), node.get("unit")) == ("108.863", "kg")
    time_value = one(record, "Effective time")
    assert time_value.pointer == "/*/*[7]/@value"


@pytest.mark.parametrize("format", FORMATS)
def test_real_ccd_renders_in_every_format(format):
    record = parse_xml(SAMPLE)
    text = render(record, format=format)
    assert "120 mm[Hg]" in text
    assert "108.863 kg" in text
    assert "Summary of Patient Chart" in text
    assert "Isabella" not in text


# ------------------------------------------------------------------- our own small C-CDA


def test_small_ccda_exact_values_units_and_codes():
    record = parse_xml(SMALL)
    values = by_key(record)
    assert values["Title"] == ["Discharge summary — Clínica São Lucas"]
    assert values["Gender"] == ["Male (HL7 AdministrativeGender M)"]  # OID named
    assert values["Birth time"] == ["19580704"]
    assert values["Problem"] == [
        "Ménière's disease (SNOMED CT 13445001)",
        "Type 2 diabetes mellitus (SNOMED CT 44054006)",
        "Community acquired pneumonia (SNOMED CT 385093006)",
    ]
    assert values["Problem: Ménière's disease, start"] == ["20190215"]
    assert values["Problem: Community acquired pneumonia, end"] == ["20231120"]
    assert values["Problem: Community acquired pneumonia, concern status"] == ["completed"]
    assert values["Problem: Type 2 diabetes mellitus, concern status"] == ["active"]
    assert values["Allergy"] == ["Penicillin G (RxNorm 7980)"]
    assert values["Allergy: Penicillin G, type"] == ["Drug allergy (SNOMED CT 416098002)"]
    assert values["Allergy: Penicillin G, reaction"] == ["Hives (SNOMED CT 247472004)"]
    assert values["Allergy: Penicillin G, severity"] == ["Moderate (SNOMED CT 6736007)"]
    assert values["Medication"] == [
        "Metformin hydrochloride 500 MG Oral Tablet (RxNorm 861007)",
        "Bétahistine 16 mg comprimé",  # uncoded: named by the narrative it references
    ]
    metformin = "Medication: Metformin hydrochloride 500 MG Oral Tablet"
    assert values[f"{metformin}, dose"] == ["1"]
    assert values[f"{metformin}, every"] == ["12 h"]
    assert values[f"{metformin}, route"] == ["Oral (NCI Thesaurus C38288)"]
    assert values[f"{metformin}, start"] == ["20150610"]
    assert values[f"{metformin}, status"] == ["active"]
    assert values["Medication: Bétahistine 16 mg comprimé, dose"] == ["16 mg"]
    assert values["Result: Hemoglobin"] == ["13.2 g/dL"]
    assert values["Result: Hemoglobin, code"] == ["LOINC 718-7"]
    assert values["Result: Hemoglobin, interpretation"] == ["Low (HL7 ObservationInterpretation L)"]
    assert values["Result: Hemoglobin, reference range"] == ["from 13.5 g/dL to 17.5 g/dL"]
    assert values["Result: WBC"] == ["7.40 10*3/uL"]  # trailing zero kept
    assert values["Result: Creatinine [Moles/volume] in Serum or Plasma"] == ["88 µmol/L"]
    assert values["Vital sign: Systolic blood pressure"] == ["142 mm[Hg]"]
    assert values["Vital sign: Body weight"] == ["81.40 kg"]
    # Members give their time once, on their panel, when it is the same.
    assert values["Result panel: Comprehensive metabolic and CBC panel, time"] == [
        "20240311071500-0300"
    ]
    assert "Result: Hemoglobin, time" not in values


def test_small_ccda_pointers_are_exact():
    record = parse_xml(SMALL)
    tree = safe_tree(SMALL.read_bytes())
    assert_round_trip(record, tree)
    hemoglobin = tree.xpath("//v3:observation[v3:code/@code='718-7']", namespaces=NS)[0]
    value = hemoglobin.find("v3:value", NS)
    pointer = one(record, "Result: Hemoglobin").pointer
    # The results section is written with a prefix (cda:), so steps are positional there.
    assert pointer == "/*/*[12]/*/*[4]/*/*[4]/*/*[6]/*/*[6]"
    assert tree.xpath(pointer) == [value]
    problem = tree.xpath("//v3:value[@code='13445001']", namespaces=NS)[0]
    assert one(record, "Problem: Ménière's disease, start").pointer == (
        tree.getpath(problem.getparent().find("v3:effectiveTime/v3:low", NS)) + "/@value"
    )
    status = one(record, "Problem: Ménière's disease, concern status")
    assert tree.xpath(status.pointer) == ["active"]


def test_small_ccda_drops_direct_identifiers():
    text = rendered_everywhere(parse_xml(SMALL))
    for identifier in (
        "José",
        "Núñez",
        "Acácias",
        "São Paulo",
        "04571-010",
        "444-22-1111",
        "5555-0101",
        "Ana",
        "Lima",
        "1234567893",
        "DOC-7781",
        "deceased",
    ):
        assert identifier not in text, identifier


def test_ccda_long_narrative_is_cut_only_when_entries_carry_the_data():
    long_text = "Patient counselled on diet. " * 100
    data = SMALL.read_text(encoding="utf-8").replace(
        "<paragraph>Penicillin G: hives, moderate.</paragraph>",
        f"<paragraph>{long_text}</paragraph>",
    )
    record = parse_xml(data)
    allergies = next(s for s in record.sections if s.title == "Allergies")
    narrative = next(v for v in allergies.values if v.key == "Narrative")
    assert len(narrative.text) <= 1002 and narrative.text.endswith("…")
    assert record.issues == ["section 2: narrative cut to 1000 characters (entries kept)"]
    only_text = (
        '<ClinicalDocument xmlns="urn:hl7-org:v3"><component><structuredBody><component>'
        f"<section><title>Hospital course</title><text>{long_text}</text></section>"
        "</component></structuredBody></component></ClinicalDocument>"
    )
    course = parse_xml(only_text).sections[1]
    assert course.values[0].text == long_text.strip()


def test_ccda_from_text_bytes_and_path_agree():
    from_path = parse_xml(SMALL)
    from_bytes = parse_xml(SMALL.read_bytes())
    from_text = parse_xml(SMALL.read_text(encoding="utf-8"), record_id="discharge")
    assert from_bytes.record_id == "xml" and from_text.record_id == "discharge"
    assert list(from_path.values()) == list(from_bytes.values()) == list(from_text.values())


# ----------------------------------------------------------------------------- generic XML

ORDER = """<?xml version="1.0" encoding="UTF-8"?>
<order xmlns="urn:example:orders" xmlns:x="urn:example:ext" id="A-00123">
  <customer><name>Zoë Ångström</name><tier x:level="gold">VIP</tier></customer>
  <items>
    <item sku="00123"><qty>2</qty><price currency="EUR">9.90</price></item>
    <item sku="NA"><qty>1</qty><price currency="EUR">0.50</price></item>
  </items>
  <x:note>Leave at the <b>back</b> door</x:note>
  <status>NA</status>
</order>
"""


def test_generic_xml_sections_keys_and_exact_text():
    record = parse_xml(ORDER)
    assert record.kind == "xml"
    assert [s.title for s in record.sections] == ["order", "customer", "items", "note"]
    sections = {s.title: [(v.key, v.text) for v in s.values] for s in record.sections}
    assert sections["order"] == [("@id", "A-00123"), ("status", "NA")]
    assert sections["customer"] == [
        ("name", "Zoë Ångström"),
        ("tier/@level", "gold"),
        ("tier", "VIP"),
    ]
    assert sections["items"] == [
        ("item/@sku", "00123"),
        ("item/qty", "2"),
        ("item/price/@currency", "EUR"),
        ("item/price", "9.90"),
        ("item/@sku", "NA"),
        ("item/qty", "1"),
        ("item/price/@currency", "EUR"),
        ("item/price", "0.50"),
    ]
    # Mixed content keeps the words between child elements.
    assert sections["note"] == [("note", "Leave at the back door")]


def test_generic_xml_pointers_round_trip_without_a_namespace_map():
    record = parse_xml(ORDER)
    tree = safe_tree(ORDER.encode("utf-8"))
    assert_round_trip(record, tree)
    pointers = {(v.key, v.text): v.pointer for v in record.values()}
    assert pointers[("@id", "A-00123")] == "/*/@id"
    assert pointers[("item/price", "0.50")] == "/*/*[2]/*[2]/*[2]"
    assert pointers[("tier/@level", "gold")] == (
        "/*/*[1]/*[2]/@*[local-name()='level' and namespace-uri()='urn:example:ext']"
    )
    assert pointers[("note", "Leave at the back door")] == "/*/*[3]"  # x:note, positional


def test_generic_xml_without_namespaces_uses_getpath_paths():
    doc = "<visit><vitals><hr>108</hr><hr>96</hr><bp>150/95</bp></vitals><note>ok</note></visit>"
    record = parse_xml(doc)
    tree = safe_tree(doc.encode())
    assert_round_trip(record, tree)
    assert [(v.key, v.text, v.pointer) for v in record.values()] == [
        ("note", "ok", "/visit/note"),
        ("hr", "108", "/visit/vitals/hr[1]"),
        ("hr", "96", "/visit/vitals/hr[2]"),
        ("bp", "150/95", "/visit/vitals/bp"),
    ]


def test_flat_xml_is_one_section():
    record = parse_xml('<reading unit="mmol/L">5.40</reading>')
    assert [(s.title, [(v.key, v.text) for v in s.values]) for s in record.sections] == [
        ("reading", [("@unit", "mmol/L"), ("reading", "5.40")])
    ]
    record = parse_xml("<patient><age>67</age><sex>M</sex></patient>")
    assert [s.title for s in record.sections] == ["patient"]
    assert [(v.key, v.text) for v in record.values()] == [("age", "67"), ("sex", "M")]


@pytest.mark.parametrize("path", [SAMPLE, SMALL])
def test_pointers_equal_lxml_getpath_where_getpath_needs_no_prefix(path):
    tree = safe_tree(path.read_bytes())
    paths = _xml._Paths()
    for element in tree.getroot().iter(etree.Element):
        mine = paths.of(element)
        theirs = tree.getpath(element)
        if ":" not in theirs:
            assert mine == theirs
        assert tree.xpath(mine) == [element]


def test_wide_documents_get_pointers_in_linear_time():
    # lxml's getpath is quadratic in the number of siblings (about 20 s for 50 000 here).
    doc = "<r>" + "<v>1</v><w/>" * 60_000 + "</r>"
    start = time.monotonic()
    record = parse_xml(doc)
    elapsed = time.monotonic() - start
    values = list(record.values())
    assert len(values) == 60_000
    assert values[-1].pointer == "/r/v[60000]"
    assert elapsed < 15


def test_utf16_document_without_doctype_is_read():
    data = '<?xml version="1.0" encoding="UTF-16"?><r><name>Zoë</name></r>'.encode("utf-16")
    assert [(v.key, v.text) for v in parse_xml(data).values()] == [("name", "Zoë")]


def test_text_with_a_foreign_encoding_declaration_is_read_as_text():
    text = '<?xml version="1.0" encoding="ISO-8859-1"?><r><city>Zürich</city></r>'
    assert [v.text for v in parse_xml(text).values()] == ["Zürich"]


def test_module_does_not_import_engines():
    tree = ast.parse(Path(_xml.__file__).read_text(encoding="utf-8"))
    names = [node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)] + [
        alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.Import)
        for alias in node.names
    ]
    assert not [n for n in names if "engines" in n or "vllm" in n]
