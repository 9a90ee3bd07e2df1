"""The diagnosis task in question mode, with FakeEngine: coded differential, consistency, modes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import structkit
from structkit import FakeEngine, GenerationRequest
from structkit.adapters import load
from structkit.clinical.icd10cm import title_of
from structkit.tasks.diagnosis import analyse, baseline_ranking, urgent_findings

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
RECORDS = sorted(p for p in EXAMPLES.iterdir() if p.suffix in (".json", ".xml"))


@pytest.fixture
def no_model() -> FakeEngine:
    """An engine that fails the test if the model is called."""
    return FakeEngine(lambda request: pytest.fail("the model was called"))


def _enum(request: GenerationRequest) -> list[str]:
    assert request.json_schema is not None
    return list(request.json_schema["properties"]["differential"]["items"]["enum"])


def _first_codes(request: GenerationRequest) -> str:
    """A well-behaved model: the first three candidates."""
    return json.dumps({"differential": _enum(request)[:3]})


def _keys(record: Any) -> set[str]:
    keys: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for key, child in node.items():
                keys.add(str(key).lower())
                walk(child)
        elif isinstance(node, list):
            for child in node:
                walk(child)

    walk(record)
    return keys


@pytest.mark.parametrize("path", RECORDS, ids=lambda p: p.name)
def test_no_condition_is_a_field_name_on_any_shipped_example(path):
    engine = FakeEngine(_first_codes)
    diagnosis = structkit.diagnose(str(path), engine=engine, mode="model")
    record = load(str(path))
    field_names = {v.key.lower() for v in record.values()} | {
        s.title.lower() for s in record.sections
    }
    if path.suffix == ".json":
        field_names |= _keys(json.loads(path.read_text()))
    for item in diagnosis.differential:
        assert item.condition.lower() not in field_names and item.code.lower() not in field_names
        assert title_of(item.code) == item.condition and item.verified
        assert item.pointers  # every candidate was retrieved from somewhere in the record
    assert diagnosis.findings is not None


def _diagnose_readme_record() -> tuple[Any, list[GenerationRequest]]:
    """The README's record diagnosed by a well-behaved fake model, and the requests it got."""
    requests: list[GenerationRequest] = []

    def respond(request: GenerationRequest) -> str:
        requests.append(request)
        return _first_codes(request)

    return structkit.diagnose(
        str(EXAMPLES / "patient_record.json"), engine=FakeEngine(respond), mode="model"
    ), requests


def test_readme_record_gets_findings_scores_and_a_coded_differential():
    diagnosis, requests = _diagnose_readme_record()
    assert len(requests) == 1  # one small question per record
    prompt = requests[0].messages[-1]["content"]
    assert "Heart rate 108 /min (high)" in prompt and "NEWS2" in prompt
    assert "heart_rate_bpm" not in prompt  # the model reads computed facts, not raw field names
    codes = [d.code for d in diagnosis.differential]
    assert codes[:2] == ["I10", "E11.9"] and diagnosis.ranked_by == "model"
    assert {s.name for s in diagnosis.scores} == {"NEWS2", "qSOFA", "SIRS"}
    assert diagnosis.findings.latest("troponin_i").flag == "high"


def test_baseline_mode_does_not_call_the_model(no_model):
    diagnosis = structkit.diagnose(
        str(EXAMPLES / "patient_record.json"), engine=no_model, mode="baseline"
    )
    assert diagnosis.ranked_by == "baseline"
    likelihoods = [d.likelihood for d in diagnosis.differential]
    assert likelihoods == sorted(likelihoods, reverse=True) and len(likelihoods) <= 5
    expected = baseline_ranking(analyse(load(str(EXAMPLES / "patient_record.json"))).candidates)
    assert [d.code for d in diagnosis.differential] == [c for c, _ in expected]


def _enum_codes() -> list[str]:
    """The candidate codes offered for the README's record, in the question's enum order."""
    seen: list[list[str]] = []

    def capture(request: GenerationRequest) -> str:
        seen.append(_enum(request))
        raise AssertionError("captured")

    with pytest.raises(AssertionError):
        structkit.diagnose(
            str(EXAMPLES / "patient_record.json"), engine=FakeEngine(capture), mode="model"
        )
    return seen[0]


def test_answers_are_made_coherent_in_code():
    def messy(request: GenerationRequest) -> str:
        enum = _enum(request)
        return json.dumps({"differential": [enum[2], enum[0], enum[0]]})  # a duplicate

    diagnosis = structkit.diagnose(
        str(EXAMPLES / "patient_record.json"), engine=FakeEngine(messy), mode="model"
    )
    codes = [d.code for d in diagnosis.differential]
    assert len(codes) == len(set(codes))  # the duplicate is dropped
    assert codes[:2] == [_enum_codes()[2], _enum_codes()[0]]  # the model's order, once each
    likelihoods = [d.likelihood for d in diagnosis.differential]
    assert likelihoods == sorted(likelihoods, reverse=True)  # code's, capped: never increasing


def test_the_question_asks_only_what_is_used_and_urgent_findings_are_by_rule(no_model):
    diagnosis, requests = _diagnose_readme_record()
    schema = requests[0].json_schema
    assert schema is not None and set(schema["properties"]) == {"differential"}
    assert len(requests) == 1
    # respiratory rate 22 scores 2 NEWS2 points; heart rate 108 and SpO2 94 % score 1 each, and
    # nothing is critical; the same with no model at all
    assert diagnosis.red_flags == ["Respiratory rate 22 /min (high)"]
    baseline = structkit.diagnose(
        str(EXAMPLES / "patient_record.json"), engine=no_model, mode="baseline"
    )
    assert baseline.red_flags == diagnosis.red_flags


def test_only_the_differential_is_in_the_decoded_schema():
    # the review UI marks fields outside the schema as code's: every other field is code's
    assert set(structkit.DIAGNOSIS.schema["properties"]) == {"differential"}


def test_the_output_model_rejects_a_differential_with_insufficient_information():
    diagnosis, _ = _diagnose_readme_record()
    broken = diagnosis.model_dump() | {"insufficient_information": True}
    with pytest.raises(ValueError, match="excludes a differential"):
        type(diagnosis).model_validate(broken)


def test_a_blood_pressure_pair_scores_each_value_on_its_own():
    # "85/50" is one field with two measurements: systolic 85 scores 3 NEWS2 points, the
    # diastolic 50 none, and must not borrow the systolic's points through the shared pointer
    record = {"patient": {"age": 70}, "vitals": {"blood_pressure_mmhg": "85/50"}}
    flags = urgent_findings(analyse(load(record)))
    assert any(f.startswith("Systolic blood pressure 85") for f in flags)
    assert not any(f.startswith("Diastolic") for f in flags)


def test_a_repeated_procedure_is_shown_to_the_model_once():
    procedures = ["Documentation of current medications"] * 4 + ["Nasal sinus endoscopy"]
    record = {
        "patient": {"age": 60},
        "problems": ["Essential hypertension", "Type 2 diabetes mellitus"],
        "procedures": procedures,
    }
    prompts: list[str] = []

    def respond(request: GenerationRequest) -> str:
        prompts.append(request.messages[-1]["content"])
        return _first_codes(request)

    structkit.diagnose(record, engine=FakeEngine(respond), mode="model")
    assert prompts[0].count("Documentation of current medications") == 1
    assert "Nasal sinus endoscopy" in prompts[0]


def test_urgent_findings_rule_orders_critical_first_and_skips_mild_values():
    record = {
        "patient": {"age": 70, "sex": "female"},
        "vitals": {"heart_rate_bpm": 95, "respiratory_rate": 23, "spo2_percent": 97},
        "labs": {"potassium": {"value": 7.1, "unit": "mmol/L"}},
    }
    flags = urgent_findings(analyse(load(record)))
    assert flags and flags[0].startswith("Potassium")  # a critical value comes first
    assert any(f.startswith("Respiratory rate 23") for f in flags)  # NEWS2: 2 points
    assert not any(f.startswith("Heart rate") for f in flags)  # 95/min scores 1 point only


def test_one_candidate_needs_no_question(no_model):
    record = {"patient": {"age": 50}, "problems": ["Essential hypertension"]}
    diagnosis = structkit.diagnose(record, engine=no_model)
    assert [d.code for d in diagnosis.differential] == ["I10"]
    assert diagnosis.ranked_by == "baseline"  # code ordered it: there was nothing to ask


def test_a_code_outside_the_candidates_is_rejected_then_flagged_never_passed_off():
    # The engine ignores the enum (as some backends do): the runner's validation rejects the answer.
    outcome = structkit.diagnose_many(
        [str(EXAMPLES / "patient_record.json")],
        engine=FakeEngine(lambda r: json.dumps({"differential": ["heart_rate_bpm"]})),
        max_attempts=1,
        mode="model",
    )[0]
    assert not outcome.ok and isinstance(outcome.error, structkit.OutputValidationError)
    assert outcome.value is None


def test_a_thin_record_is_insufficient_without_asking(no_model):
    diagnosis = structkit.diagnose({"note": "feels fine"}, engine=no_model)
    assert diagnosis.insufficient_information and diagnosis.differential == []


def test_a_failed_question_is_the_records_typed_error_not_an_empty_differential():
    def truncated(request: GenerationRequest) -> structkit.Completion:
        return structkit.Completion(text='{"differ', finish_reason="length")

    record = json.loads((EXAMPLES / "patient_record.json").read_text())
    with pytest.raises(structkit.TruncatedOutputError):
        structkit.diagnose(record, engine=FakeEngine(truncated), max_attempts=2, mode="model")


def test_the_model_orders_candidates_but_cannot_drop_what_code_retrieved():
    record = json.loads((EXAMPLES / "patient_record.json").read_text())
    candidates = analyse(load(record)).candidates
    first = sorted(c.code for c in candidates)[-1]

    def short(request: GenerationRequest) -> str:
        return json.dumps({"differential": [first]})

    value = structkit.diagnose(record, engine=FakeEngine(short), mode="model")
    codes = [item.code for item in value.differential]
    assert codes[0] == first  # the model's order comes first
    assert len(codes) == min(5, len(candidates))  # code's candidates fill the rest
    assert not value.insufficient_information
