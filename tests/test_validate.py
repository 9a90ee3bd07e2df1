import json

import pytest

from structkit import (
    OutputParseError,
    OutputValidationError,
    ThinkingBudgetError,
    TruncatedOutputError,
)
from structkit._schema import output_schema
from structkit._validate import split_reasoning, validate_answer
from structkit.testing.freeform_diagnosis import Diagnosis

from .conftest import answer_text, valid_diagnosis

SCHEMA = output_schema(Diagnosis)


def check(text, finish="stop", **kw):
    return validate_answer(text, output_model=Diagnosis, schema=SCHEMA, finish_reason=finish, **kw)


def test_valid_answer_becomes_a_model():
    value, reasoning = check(answer_text())
    assert isinstance(value, Diagnosis) and reasoning is None
    assert value.differential[0].condition == "Inferior STEMI"


def test_truncation_is_reported_before_parsing_and_keeps_raw():
    text = answer_text()[:40]
    with pytest.raises(TruncatedOutputError) as info:
        check(text, finish="length", attempts=3, record_id="p1")
    err = info.value
    assert err.raw == text and err.finish_reason == "length" and err.attempts == 3
    assert "p1" in str(err) and text not in str(err)  # the message never echoes output


def test_not_json():
    with pytest.raises(OutputParseError):
        check("The patient probably has an MI.")


@pytest.mark.parametrize("bad", ["NaN", "Infinity", "-Infinity"])
def test_nan_and_infinity_are_rejected(bad):
    text = answer_text().replace('"likelihood": 0.8', f'"likelihood": {bad}')
    with pytest.raises(OutputParseError):
        check(text)


def test_duplicate_keys_are_rejected():
    text = '{"summary": "a", "summary": "b"}'
    with pytest.raises(OutputParseError, match="not valid JSON"):
        check(text)


def test_schema_violation_names_the_field_without_its_value():
    text = answer_text(differential=[{"condition": "X", "likelihood": 4.0, "rationale": "r"}])
    with pytest.raises(OutputValidationError) as info:
        check(text)
    assert any("differential/0/likelihood" in p for p in info.value.problems)


def test_pydantic_only_rule_is_enforced_after_the_schema():
    # An empty differential passes the JSON Schema but not the model's cross-field rule.
    text = answer_text(differential=[], insufficient_information=False)
    with pytest.raises(OutputValidationError) as info:
        check(text)
    assert "insufficient_information" in " ".join(info.value.problems)


def test_pydantic_errors_do_not_echo_input_values():
    secret = "PATIENT-NAME-ZZZ"
    text = json.dumps(valid_diagnosis(insufficient_information=secret))
    with pytest.raises(OutputValidationError) as info:
        check(text)
    assert secret not in str(info.value) and secret not in " ".join(info.value.problems)


def test_deeply_nested_json_is_a_parse_error_not_a_crash():
    with pytest.raises(OutputParseError):
        check("[" * 100000)


def test_reasoning_split_tolerates_missing_open_tag():
    assert split_reasoning("thinking...</think>{}") == ("thinking...", "{}", True)
    assert split_reasoning("<think>a</think>\n{}") == ("a", "{}", True)
    assert split_reasoning("<think>still going") == ("still going", "", False)


def test_reasoning_model_answer_is_validated_and_reasoning_returned():
    value, reasoning = check("Let me think.</think>" + answer_text(), reasoning_model=True)
    assert reasoning == "Let me think." and value.summary


def test_reasoning_model_out_of_budget():
    with pytest.raises(ThinkingBudgetError) as info:
        check("<think>hmm, the ST segment", finish="length", reasoning_model=True)
    assert info.value.reasoning == "hmm, the ST segment"
    assert isinstance(info.value, TruncatedOutputError)
