"""Question mode: code does the exact work, the model answers small constrained questions."""

from __future__ import annotations

import json
from typing import Any

import pytest
from pydantic import BaseModel, Field

import structkit
from structkit import (
    Answers,
    Completion,
    ConfigurationError,
    FakeEngine,
    GenerationRequest,
    InputError,
    Question,
    QuestionContext,
    Task,
)
from structkit.adapters import Record


class Colours(BaseModel):
    known: list[str] = Field(max_length=10)
    guessed: dict[str, str]
    asked: int


_KNOWN = {"sky": "blue", "grass": "green"}
_CHOICES = ["red", "yellow", "none"]


def _choice_schema() -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {"choice": {"enum": _CHOICES}},
        "required": ["choice"],
        "additionalProperties": False,
    }


def _things(record: Record) -> list[str]:
    return [v.key for section in record.sections for v in section.values]


def _questions(record: Record, context: QuestionContext) -> list[Question]:
    if context.mode == "baseline":
        return []
    return [
        Question(
            key=thing,
            messages=[{"role": "user", "content": f"Colour of {thing}?"}],
            json_schema=_choice_schema(),
            max_tokens=16,
        )
        for thing in _things(record)
        if thing not in _KNOWN
    ]


def _assemble(record: Record, answers: Answers) -> dict[str, Any]:
    known = [t for t in _things(record) if t in _KNOWN]
    guessed = {k: v["choice"] for k, v in answers.values.items()}
    return {"known": known, "guessed": guessed, "asked": answers.asked}


TASK: Task[Colours] = Task(
    name="colours",
    output_model=Colours,
    modes=("model", "baseline"),
    questions=_questions,
    assemble=_assemble,
)


def _answer(choice: str) -> str:
    return json.dumps({"choice": choice})


def test_all_questions_of_all_records_go_in_one_call() -> None:
    engine = FakeEngine(lambda request: _answer("red"))
    records = [{"sky": 1, "rose": 2}, {"grass": 1, "tulip": 1, "sun": 1}]
    outcomes = structkit.run(TASK, records, engine=engine)
    assert len(engine.calls) == 1
    assert len(engine.calls[0]) == 3
    assert [o.questions for o in outcomes] == [1, 2]
    first = outcomes[0].unwrap()
    assert first.known == ["sky"]
    assert first.guessed == {"rose": "red"}
    assert outcomes[1].unwrap().guessed == {"tulip": "red", "sun": "red"}


def test_a_record_with_nothing_left_never_reaches_the_model() -> None:
    engine = FakeEngine(lambda request: pytest.fail("the model was called"))
    (outcome,) = structkit.run(TASK, [{"sky": 1, "grass": 2}], engine=engine)
    assert engine.calls == []
    assert outcome.questions == 0
    assert outcome.unwrap().asked == 0


def test_baseline_mode_asks_nothing() -> None:
    engine = FakeEngine(lambda request: pytest.fail("the model was called"))
    (outcome,) = structkit.run(TASK, [{"rose": 1}], engine=engine, mode="baseline")
    assert outcome.unwrap().guessed == {}


def test_unknown_mode_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError, match="no mode"):
        structkit.run(TASK, [{"rose": 1}], engine=FakeEngine(lambda r: ""), mode="magic")


def test_failed_questions_are_resampled_and_failures_reported() -> None:
    seen: list[int] = []

    def responder(request: GenerationRequest) -> str | Completion:
        seen.append(1)
        question = request.messages[0]["content"]
        if "rose" in question and len(seen) <= 2:
            return Completion(text='{"choice": "re', finish_reason="length")
        if "tulip" in question:
            return "not json"
        return _answer("yellow")

    engine = FakeEngine(responder)
    (outcome,) = structkit.run(TASK, [{"rose": 1, "tulip": 2}], engine=engine, max_attempts=2)
    # attempt 1: both fail; attempt 2: rose answers, tulip fails again -> reported, not fatal
    assert [len(c) for c in engine.calls] == [2, 2]
    value = outcome.unwrap()
    assert value.guessed == {"rose": "yellow"}
    assert outcome.attempts == 2


def test_answers_outside_the_schema_are_rejected() -> None:
    engine = FakeEngine(lambda request: _answer("purple"))
    (outcome,) = structkit.run(TASK, [{"rose": 1}], engine=engine, max_attempts=1)
    assert outcome.unwrap().guessed == {}  # the invalid answer was not used


def test_samples_are_voted_per_question() -> None:
    answers = iter(["red", "yellow", "yellow"])
    engine = FakeEngine(lambda request: _answer(next(answers)))
    (outcome,) = structkit.run(TASK, [{"rose": 1}], engine=engine, samples=3)
    assert outcome.unwrap().guessed == {"rose": "yellow"}
    assert outcome.agreement["rose"] == pytest.approx(2 / 3)


def test_bad_record_is_a_typed_outcome_error_and_others_survive() -> None:
    engine = FakeEngine(lambda request: _answer("red"))
    outcomes = structkit.run(TASK, ["[1, 2", {"rose": 1}], engine=engine)
    assert isinstance(outcomes[0].error, InputError)
    assert outcomes[1].ok


def test_duplicate_question_keys_are_a_task_bug() -> None:
    def twice(record: Record, context: QuestionContext) -> list[Question]:
        q = Question(key="k", messages=[{"role": "user", "content": "?"}], json_schema={})
        return [q, q]

    task = Task(
        name="twice",
        output_model=Colours,
        questions=twice,
        assemble=_assemble,
    )
    with pytest.raises(ConfigurationError, match="one key"):
        structkit.run(task, [{"a": 1}], engine=FakeEngine(lambda r: "{}"))


def test_an_assembled_answer_that_breaks_the_model_is_a_typed_error() -> None:
    task = Task(
        name="broken",
        output_model=Colours,
        questions=lambda record, context: [],
        assemble=lambda record, answers: {"known": "not a list"},
    )
    (outcome,) = structkit.run(task, [{"a": 1}], engine=FakeEngine(lambda r: "{}"))
    assert isinstance(outcome.error, structkit.OutputValidationError)


def test_questions_without_assemble_are_refused() -> None:
    with pytest.raises(ConfigurationError):
        Task(name="half", template="x.jinja", output_model=Colours, questions=_questions)


def test_a_question_mode_task_needs_no_template_and_a_classic_one_does() -> None:
    assert TASK.template == ""  # questions and assemble: nothing renders a template
    with pytest.raises(ConfigurationError, match="needs a template"):
        Task(name="nothing", output_model=Colours)
