"""Financials in question mode on the real default model: what the code guarantees, not what the
model happens to answer (quality is measured by `structkit eval financials`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import structkit

pytestmark = pytest.mark.engine

DATASETS = Path(__file__).parents[1] / "datasets" / "financials"
# Statements with open metrics (rows worded alike), and one code places completely.
FILES = ["gahc_balance_sheet.csv", "unp_cash_flow_statement.csv", "nflx_2024_balance_sheet.csv"]


def test_real_model_answers_only_open_metrics_and_every_amount_is_a_cell(real_engine: Any):
    paths = [DATASETS / name for name in FILES]
    outcomes = structkit.run("financials", paths, engine=real_engine)
    baseline = structkit.run("financials", paths, engine=real_engine, mode="baseline")
    assert len(outcomes) == len(paths)  # no row lost
    for outcome, base in zip(outcomes, baseline, strict=True):
        assert outcome.ok or isinstance(outcome.error, structkit.StructkitError)
        if not outcome.ok:
            continue
        value, reference = outcome.unwrap(), base.unwrap()
        assert reference.model_questions == 0
        # Code's items are the same with and without the model.
        code = [i for i in value.line_items if i.mapped_by != "model"]
        assert code == list(reference.line_items)
        for item in value.line_items:
            assert item.grounded and item.pointer and item.pointer.startswith("row=")
        placed_by_code = {i.metric for i in code}
        assert not {i.metric for i in value.line_items if i.mapped_by == "model"} & placed_by_code
    nflx = outcomes[2].unwrap()
    assert nflx.model_questions == 0  # nothing open: the model was not asked
