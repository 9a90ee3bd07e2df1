import pytest

import structkit
from structkit import Completion, FakeEngine, OutputValidationError, TruncatedOutputError
from structkit.testing import freeform_diagnosis as legacy

from .conftest import answer_text


def test_diagnose_with_fake_engine(patient_record):
    engine = FakeEngine(lambda request: answer_text())
    result = legacy.diagnose(patient_record, engine=engine)
    assert isinstance(result, legacy.Diagnosis)
    (request,) = engine.calls[0]
    record = structkit.adapters.load(patient_record)
    assert request.json_schema == legacy.DIAGNOSIS.schema_for(record, grounding=True)
    assert [m["role"] for m in request.messages] == ["user"]  # no system prompt


def test_diagnose_accepts_a_json_file_path(tmp_path, patient_record):
    import json

    path = tmp_path / "p.json"
    path.write_text(json.dumps(patient_record))
    engine = FakeEngine(lambda request: answer_text())
    assert legacy.diagnose(str(path), engine=engine).summary
    assert "Crushing substernal" in engine.calls[0][0].messages[0]["content"]


def test_batch_is_one_engine_call_and_keeps_order(patient_record):
    engine = FakeEngine(lambda request: answer_text())
    outcomes = legacy.diagnose_many([patient_record] * 8, engine=engine)
    assert len(outcomes) == 8 and all(o.ok for o in outcomes)
    assert len(engine.calls) == 1 and len(engine.calls[0]) == 8
    assert [o.record_id for o in outcomes] == [f"#{i}" for i in range(8)]


def test_failed_answers_are_resampled_with_the_same_prompt(patient_record):
    answers = iter(["not json", answer_text()])
    engine = FakeEngine(lambda request: next(answers))
    (outcome,) = legacy.diagnose_many([patient_record], engine=engine, max_attempts=3)
    assert outcome.ok and outcome.attempts == 2
    first, second = engine.calls[0][0], engine.calls[1][0]
    assert first.messages == second.messages  # not grown with error messages
    assert first.seed != second.seed


def test_retry_only_resubmits_the_failures(patient_record):
    def respond(request):
        return "oops" if "odd" in request.messages[0]["content"] else answer_text()

    records = [dict(patient_record, tag="even"), dict(patient_record, tag="odd")]
    outcomes = legacy.diagnose_many(records, engine=FakeEngine(respond), max_attempts=3)
    assert [o.ok for o in outcomes] == [True, False]
    assert outcomes[1].attempts == 3


def test_final_failure_carries_raw_and_attempts(patient_record):
    engine = FakeEngine(lambda r: Completion(text='{"summary": "cut', finish_reason="length"))
    with pytest.raises(TruncatedOutputError) as info:
        legacy.diagnose(patient_record, engine=engine, max_attempts=2)
    assert info.value.attempts == 2 and info.value.raw == '{"summary": "cut'


def test_zero_temperature_retries_still_resample(patient_record):
    engine = FakeEngine(lambda r: "bad")
    legacy.diagnose_many([patient_record], engine=engine, temperature=0.0, max_attempts=2)
    assert engine.calls[0][0].temperature == 0.0
    assert engine.calls[1][0].temperature > 0.0


def test_a_bad_record_does_not_stop_the_batch(patient_record, tmp_path):
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    engine = FakeEngine(lambda request: answer_text())
    outcomes = legacy.diagnose_many([patient_record, str(broken), 42], engine=engine)
    assert outcomes[0].ok
    assert isinstance(outcomes[1].error, structkit.RecordParseError)
    assert outcomes[1].record_id == "broken.json"
    assert isinstance(outcomes[2].error, structkit.RecordParseError)
    assert len(engine.calls[0]) == 1


def test_engine_error_for_one_request_is_typed(patient_record):
    engine = FakeEngine(lambda r: Completion(text="", finish_reason=None, error="boom"))
    (outcome,) = legacy.diagnose_many([patient_record], engine=engine, max_attempts=1)
    assert isinstance(outcome.error, structkit.EngineRequestError)


def test_invalid_answer_error_lists_problems(patient_record):
    engine = FakeEngine(lambda r: answer_text(red_flags=["x"] * 9))
    with pytest.raises(OutputValidationError) as info:
        legacy.diagnose(patient_record, engine=engine, max_attempts=1)
    assert any("red_flags" in p for p in info.value.problems)


def test_reasoning_profile_uses_its_defaults(patient_record):
    engine = FakeEngine(
        lambda r: "thinking</think>" + answer_text(),
        model_name="deepseek-ai/DeepSeek-R1-Distill-Qwen-1.5B",
    )
    (outcome,) = legacy.diagnose_many([patient_record], engine=engine)
    assert outcome.ok and outcome.reasoning == "thinking"
    request = engine.calls[0][0]
    assert request.temperature == 0.6 and request.top_p == 0.95
    assert [m["role"] for m in request.messages] == ["user"]


def test_evidence_is_constrained_to_record_labels_and_resolved_to_pointers(patient_record):
    engine = FakeEngine(lambda request: answer_text())
    result = legacy.diagnose(patient_record, engine=engine)
    schema = engine.calls[0][0].json_schema
    allowed = schema["$defs"]["DifferentialItem"]["properties"]["evidence"]["items"]["enum"]
    assert "labs.troponin_i_ng_per_l" in allowed and "ecg" in allowed
    assert "pointers" not in schema["$defs"]["DifferentialItem"]["properties"]  # code-filled
    item = result.differential[0]
    assert item.pointers == ["/ecg", "/labs/troponin_i_ng_per_l"]
    assert item.ungrounded_evidence == []


def test_without_grounding_invented_citations_are_flagged(patient_record):
    text = answer_text(
        differential=[
            {"condition": "MI", "evidence": ["ecg", "made.up"], "likelihood": 0.5, "rationale": "r"}
        ]
    )
    engine = FakeEngine(lambda request: text)
    result = legacy.diagnose(patient_record, engine=engine, grounding=False)
    assert engine.calls[0][0].json_schema == legacy.DIAGNOSIS.schema
    assert result.differential[0].ungrounded_evidence == ["made.up"]
    assert result.differential[0].pointers == ["/ecg"]


def test_self_consistency_votes_per_field_and_reports_agreement(patient_record):
    summaries = iter(["A", "B", "A", "A", "broken"])

    def respond(request):
        s = next(summaries)
        return "not json" if s == "broken" else answer_text(summary=s)

    engine = FakeEngine(respond)
    (outcome,) = legacy.diagnose_many([patient_record], engine=engine, samples=5)
    assert len(engine.calls) == 1 and len(engine.calls[0]) == 5  # one batch, five samples
    assert len({r.seed for r in engine.calls[0]}) == 5
    assert outcome.value.summary == "A" and outcome.samples == 4
    assert outcome.agreement["summary"] == 0.75 and outcome.agreement["red_flags"] == 1.0
