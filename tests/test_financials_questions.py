"""Financials in question mode: code places rows; the model only picks a row for open metrics."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import structkit
from structkit import FakeEngine, GenerationRequest
from structkit.tasks.financials import FINANCIALS, NotAStatementError

DATASETS = Path(__file__).parents[1] / "datasets" / "financials"
FIXTURES = Path(__file__).parent / "fixtures"
UNP = DATASETS / "unp_cash_flow_statement.csv"  # two rows worded like financing cash flow
RIGHT, ODD = "Cash used in financing activities", "Net Cash from Financing Activities"


def never(request: GenerationRequest) -> str:
    pytest.fail("the model was called")


def test_fully_placed_statement_never_calls_the_model():
    engine = FakeEngine(never)
    result = structkit.analyze_financials(
        FIXTURES / "apple_fy2021_2023_income_statement.csv", engine=engine
    )
    assert engine.calls == []
    assert result.model_questions == 0
    assert result.value_of("net_income", "Sep. 30, 2023") == 96995
    assert {i.mapped_by for i in result.line_items} == {"lexicon"}


def test_an_open_metric_is_one_small_question_and_the_answer_names_a_row():
    engine = FakeEngine(lambda request: json.dumps({"choice": RIGHT}))
    result = structkit.analyze_financials(UNP, engine=engine)
    (call,) = engine.calls
    (request,) = call
    assert request.json_schema is not None
    assert request.json_schema["properties"]["choice"]["enum"] == [ODD, RIGHT, "none"]
    assert request.max_tokens <= 64
    assert result.model_questions == 1
    financing = [i for i in result.line_items if i.metric == "financing_cash_flow"]
    assert {i.mapped_by for i in financing} == {"model"}
    assert all(i.grounded and i.pointer for i in financing)
    assert result.value_of("financing_cash_flow", "2012-12-31 (FY)") == -2_682_000_000
    assert result.value_of("operating_cash_flow", "2012-12-31 (FY)") == 6_161_000_000  # code
    assert not [f for f in result.flags if f.kind == "identity"]


def test_none_and_baseline_leave_the_metric_unplaced():
    engine = FakeEngine(lambda request: json.dumps({"choice": "none"}))
    result = structkit.analyze_financials(UNP, engine=engine)
    assert result.value_of("financing_cash_flow", "2012-12-31 (FY)") is None
    baseline = FakeEngine(never)
    result = structkit.analyze_financials(UNP, engine=baseline, mode="baseline")
    assert baseline.calls == [] and result.model_questions == 0
    assert result.value_of("financing_cash_flow", "2012-12-31 (FY)") is None


def test_a_time_series_is_a_typed_error_not_an_invented_statement(tmp_path):
    path = tmp_path / "debt.csv"
    path.write_text("Date,Debt outstanding\n2023-12-31,1200\n2022-12-31,1100\n2021-12-31,900\n")
    with pytest.raises(NotAStatementError, match="time series"):
        structkit.analyze_financials(path, engine=FakeEngine(never))


def test_the_task_has_model_and_baseline_modes():
    assert FINANCIALS.modes == ("model", "baseline")


def test_scorer_counts_wrong_grounded_amounts_and_questions():
    from structkit.evaluation import score_financials

    engine = FakeEngine(lambda request: json.dumps({"choice": ODD}))
    (outcome,) = structkit.run("financials", [UNP], engine=engine)
    gold = {
        "statement": "cash_flow_statement",
        "values": {
            "financing_cash_flow": {"2012-12-31 (FY)": -2682000000.0},
            "operating_cash_flow": {"2012-12-31 (FY)": 6161000000.0},
        },
        "identity_break": False,
    }
    scores = score_financials([outcome], [gold])
    # The model named the wrong row: its amount is a real cell, and counted as wrong.
    assert scores["wrong_grounded"] == 1.0
    assert scores["value_acc"] == 0.5
    assert scores["model_questions"] == 1.0
    # ... and the cash-flow identity catches it.
    assert any(f.kind == "identity" for f in outcome.unwrap().flags)
