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
PARENT = "Total Global Arena Holding, Inc. stockholders' deficit"


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


def _equity_answer(request: GenerationRequest) -> str:
    question = request.messages[0]["content"]
    return json.dumps({"choice": PARENT if "shareholders' equity" in question else "none"})


def test_open_metrics_are_small_questions_and_an_answer_names_a_row():
    engine = FakeEngine(_equity_answer)
    result = structkit.analyze_financials(DATASETS / "gahc_balance_sheet.csv", engine=engine)
    (call,) = engine.calls  # all questions in one engine call
    # shareholders' equity: two rows worded alike; total liabilities: no row matched.
    assert len(call) == 2 and result.model_questions == 2
    enums = [r.json_schema["properties"]["choice"]["enum"] for r in call]  # type: ignore[index]
    assert [PARENT, "Total stockholders' deficit", "none"] in enums
    assert all(len(e) <= 25 and e[-1] == "none" for e in enums)
    assert all(r.max_tokens <= 64 for r in call)
    equity = [i for i in result.line_items if i.metric == "shareholders_equity"]
    assert {i.mapped_by for i in equity} == {"model"}
    assert all(i.grounded and i.pointer for i in equity)
    assert result.value_of("shareholders_equity", "2024-09-30") == -9632773
    assert result.value_of("total_liabilities", "2024-09-30") is None  # answered "none"
    assert result.value_of("total_assets", "2024-09-30") == 744276  # placed by code


def test_none_and_baseline_leave_the_metric_unplaced():
    engine = FakeEngine(lambda request: json.dumps({"choice": "none"}))
    result = structkit.analyze_financials(DATASETS / "gahc_balance_sheet.csv", engine=engine)
    assert result.value_of("shareholders_equity", "2024-09-30") is None
    baseline = FakeEngine(never)
    result = structkit.analyze_financials(
        DATASETS / "gahc_balance_sheet.csv", engine=baseline, mode="baseline"
    )
    assert baseline.calls == [] and result.model_questions == 0
    assert result.value_of("shareholders_equity", "2024-09-30") is None


def test_a_time_series_is_a_typed_error_not_an_invented_statement(tmp_path):
    path = tmp_path / "debt.csv"
    path.write_text("Date,Debt outstanding\n2023-12-31,1200\n2022-12-31,1100\n2021-12-31,900\n")
    with pytest.raises(NotAStatementError, match="time series"):
        structkit.analyze_financials(path, engine=FakeEngine(never))


def test_the_task_has_model_and_baseline_modes():
    assert FINANCIALS.modes == ("model", "baseline")


def test_scorer_counts_wrong_grounded_amounts_and_questions():
    from structkit.evaluation import score_financials

    engine = FakeEngine(lambda request: json.dumps({"choice": "Total stockholders' deficit"}))
    (outcome,) = structkit.run("financials", [DATASETS / "gahc_balance_sheet.csv"], engine=engine)
    gold = {
        "statement": "balance_sheet",
        "values": {
            "shareholders_equity": {"2024-09-30": -9632773.0},  # the parent's row
            "total_assets": {"2024-09-30": 744276.0},
        },
        "identity_break": False,
    }
    scores = score_financials([outcome], [gold])
    # The model named the total including noncontrolling interests: a wrong grounded amount.
    assert scores["wrong_grounded"] == 1.0
    assert scores["value_acc"] == 0.5
    assert scores["model_questions"] == 2.0
