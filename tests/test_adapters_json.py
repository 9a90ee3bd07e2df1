"""JSON and FHIR adapters: real Synthea bundle, our own bundle, and hostile JSON."""

from __future__ import annotations

import json

import pytest

from structkit import RecordParseError, UnsafeInputError
from structkit.adapters import FORMATS, iter_jsonl, load, parse_json, render

from .conftest import FIXTURES


def resolve(document, pointer):
    """Follow an RFC 6901 JSON Pointer."""
    node = document
    for token in pointer.lstrip("/").split("/"):
        token = token.replace("~1", "/").replace("~0", "~")
        node = node[int(token)] if isinstance(node, list) else node[token]
    return node


def test_generic_json_keeps_exact_values_and_pointers():
    text = '{"id": "00123", "vitals": {"hr": 108, "temp": 36.90, "notes": ["a", "b"]}, "x": null}'
    record = parse_json(text, record_id="r1")
    values = {v.pointer: v for v in record.values()}
    assert values["/id"].text == "00123"
    assert values["/vitals/temp"].text == "36.90"  # not 36.9: the text as written
    assert values["/vitals/notes/1"].key == "notes"
    assert values["/x"].text == "null"
    document = json.loads(text, parse_float=str, parse_int=str)
    for value in record.values():
        assert str(resolve(document, value.pointer)).lower() in (value.text, "none")


def test_real_synthea_bundle_is_reduced_to_clinical_content():
    path = FIXTURES / "synthea_r4_clemente_kreiger.json"
    record = load(path)
    assert record.kind == "fhir" and record.record_id == path.name
    titles = [s.title for s in record.sections]
    assert {"Patient", "Observations", "Conditions", "Immunizations"} <= set(titles)
    assert record.meta["dropped"] == (
        "Claim x3, ExplanationOfBenefit x3, Organization x1, Practitioner x1"
    )
    document = json.loads(path.read_text())
    height = next(v for v in record.values() if v.key.startswith("Body Height"))
    assert height.text.endswith(" cm") and "LOINC 8302-2" in height.key
    assert resolve(document, height.pointer)["unit"] == "cm"
    text = render(record, format="json")
    assert "Kreiger" not in text and "urn:uuid" not in text and "<div" not in text
    assert "obesity" in text


def test_own_bundle_codes_units_components_and_no_identifiers():
    path = FIXTURES / "fhir_bundle_chest_pain.json"
    record = load(path)
    by_key = {v.key: v for v in record.values()}
    assert by_key["Troponin I.cardiac (LOINC 10839-9) (2026-01-02)"].text == "0.86 ng/mL"
    assert by_key["Systolic blood pressure (LOINC 8480-6) (2026-01-02)"].text == "158 mm[Hg]"
    assert by_key["Chief complaint"].text == "Douleur thoracique écrasante depuis 40 minutes"
    assert by_key["MedicationRequest (2025-11-20)"].text.startswith("lisinopril 10 MG")
    assert by_key["dosage"].text == "1 tablet by mouth daily"
    assert by_key["reaction"].text == "Anaphylaxis (SNOMED 39579001)"
    rendered = "\n".join(render(record, format=f) for f in FORMATS)
    for identifier in ("Müller", "José", "555-0101", "MRN-0042", "Zürich"):
        assert identifier not in rendered
    assert record.meta["dropped"] == "Claim x1"
    document = json.loads(path.read_text())
    for value in record.values():
        assert resolve(document, value.pointer) is not None


def test_dict_input_with_python_numbers():
    record = load({"age": 67, "ratio": 0.5, "flag": True})
    assert [(v.key, v.text) for v in record.values()] == [
        ("age", "67"),
        ("ratio", "0.5"),
        ("flag", "true"),
    ]


@pytest.mark.parametrize(
    ("text", "error", "match"),
    [
        ("[" * 100000, UnsafeInputError, "nested deeper"),
        ('{"a": NaN}', RecordParseError, "NaN"),
        ('{"a": Infinity}', RecordParseError, "Infinity"),
        ('{"a": 1, "a": 2}', RecordParseError, "duplicate key 'a'"),
        ('{"a": 1', RecordParseError, "not valid JSON"),
        ("", RecordParseError, "no such file"),
    ],
)
def test_hostile_json_gets_typed_errors(text, error, match):
    with pytest.raises(error, match=match):
        parse_json(text, record_id="bad")


def test_huge_numbers_survive_as_text_without_crashing():
    big = "9" * 5000
    record = parse_json(f'{{"n": {big}, "f": 1e400}}')
    assert [v.text for v in record.values()] == [big, "1e400"]


def test_deep_python_dict_is_refused():
    deep: dict = {}
    node = deep
    for _ in range(100):
        node["a"] = {}
        node = node["a"]
    with pytest.raises(UnsafeInputError):
        load(deep)


def test_oversize_and_non_utf8(tmp_path):
    big = tmp_path / "big.json"
    big.write_text('{"a": "' + "x" * 2000 + '"}')
    with pytest.raises(UnsafeInputError, match="larger than"):
        parse_json(big, max_bytes=1000)
    latin = tmp_path / "latin.json"
    latin.write_bytes('{"name": "Müller"}'.encode("latin-1"))
    with pytest.raises(RecordParseError, match="not UTF-8"):
        parse_json(latin)


def test_errors_name_the_record_not_its_content():
    with pytest.raises(RecordParseError) as info:
        parse_json('{"name": "SECRET-NAME", "x": }', record_id="patient-7")
    assert "patient-7" in str(info.value) and "SECRET" not in str(info.value)


def test_jsonl_yields_every_line_with_errors_in_place(tmp_path):
    path = tmp_path / "records.jsonl"
    path.write_text('{"id": "a", "v": 1}\n{broken\n\n{"id": "c", "v": NaN}\n{"v": 4}\n')
    items = list(iter_jsonl(path, id_field="id"))
    assert [rid for rid, _ in items] == [
        "a",
        "records.jsonl:2",
        "records.jsonl:4",
        "records.jsonl:5",
    ]
    assert [type(r).__name__ for _, r in items] == [
        "Record",
        "RecordParseError",
        "RecordParseError",
        "Record",
    ]
