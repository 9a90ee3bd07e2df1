"""Code places statement rows by label and heading; cash flow computed and checked in code."""

from __future__ import annotations

from pathlib import Path

import pytest

from structkit.adapters import load, read_markdown_table
from structkit.tasks.financials import NotAStatementError
from structkit.tasks.financials._analysis import analyze, code_items, refuse_non_statement
from structkit.tasks.financials._lexicon import map_rows
from structkit.tasks.financials._statement import _index

FIXTURES = Path(__file__).parent / "fixtures"
DATASETS = Path(__file__).parents[1] / "datasets" / "financials"


def placed(path: Path):  # type: ignore[no-untyped-def]
    record = load(path)
    table = _index(record)
    items, used = code_items(record, table)
    return analyze(record, table, items, used=used, questions=0)


def test_apple_statements_are_placed_by_the_lexicon_alone():
    income = placed(FIXTURES / "apple_fy2021_2023_income_statement.csv")
    assert income.statement == "income_statement"
    assert income.value_of("revenue", "Sep. 30, 2023") == 383285
    assert income.value_of("eps_diluted", "Sep. 25, 2021") == 5.61
    assert income.value_of("shares_basic", "Sep. 30, 2023") == 15744231
    assert {i.mapped_by for i in income.line_items} == {"lexicon"}
    assert income.model_questions == 0
    balance = placed(FIXTURES / "apple_fy2023_balance_sheet.csv")
    assert balance.value_of("shareholders_equity", "Sep. 30, 2023") == 62146
    assert balance.value_of("long_term_debt", "Sep. 24, 2022") == 98959
    assert not [f for f in balance.flags if f.kind in ("identity", "subtotal")]


def test_ifrs_cash_flow_free_cash_flow_conversion_and_identity():
    result = placed(FIXTURES / "finance" / "ifrs_cash_flow.csv")
    assert result.statement == "cash_flow_statement"
    assert result.value_of("capital_expenditures", "FY2023") == -400
    assert result.value_of("share_repurchases", "FY2022") == -100
    assert result.value_of("fx_effect_on_cash", "FY2022") == -5
    flows = {c.period: c for c in result.cash_flow}
    assert flows["FY2023"].free_cash_flow == 1050  # 1,450 - 400
    assert flows["FY2022"].cash_conversion == pytest.approx(1.3)
    assert not [f for f in result.flags if f.kind == "identity"]
    assert "Proceeds from sale of property, plant and equipment" in result.unmapped_rows


def test_cash_flow_identity_break_is_flagged():
    text = (FIXTURES / "finance" / "ifrs_cash_flow.csv").read_text()
    broken = text.replace(
        "Net increase in cash and cash equivalents,270",
        "Net increase in cash and cash equivalents,370",
    )
    path = FIXTURES.parent / "_tmp_broken_cf.csv"
    try:
        path.write_text(broken)
        result = placed(path)
    finally:
        path.unlink()
    identity = [f for f in result.flags if f.kind == "identity"]
    assert [f.period for f in identity] == ["FY2023"]
    assert "net_change_in_cash" in (identity[0].check or "")


def test_bare_total_and_basic_are_placed_by_their_heading():
    record = read_markdown_table(
        "| Item | 2023 | 2022 |\n|---|---|---|\n"
        "| Current assets: | | |\n| Cash | 10 | 8 |\n| Inventories | 5 | 4 |\n| Total | 15 | 12 |\n"
        "| Current liabilities: | | |\n| Payables | 7 | 6 |\n| Total | 7 | 6 |\n"
        "| Earnings per share: | | |\n| Basic | 1.10 | 0.90 |\n"
        "| Weighted average shares outstanding: | | |\n| Basic | 100 | 101 |\n",
        record_id="t",
    )
    table = _index(record)
    items, used = code_items(record, table)
    result = analyze(record, table, items, used=used, questions=0)
    assert result.value_of("total_current_assets", "2023") == 15
    assert result.value_of("total_current_liabilities", "2022") == 6
    assert result.value_of("eps_basic", "2023") == 1.10
    assert result.value_of("shares_basic", "2023") == 100


def test_rows_worded_alike_with_different_numbers_are_left_open():
    matches, ties = map_rows(_index(load(DATASETS / "unp_cash_flow_statement.csv")))
    assert [r.label for r in ties["financing_cash_flow"]] == [
        "Net Cash from Financing Activities",
        "Cash used in financing activities",
    ]
    assert "financing_cash_flow" not in {m.metric for m in matches}


def test_the_parents_equity_wins_over_the_total_with_noncontrolling_interests():
    result = placed(DATASETS / "gahc_balance_sheet.csv")
    assert result.value_of("shareholders_equity", "2024-09-30") == -9632773
    assert result.value_of("noncontrolling_interest", "2024-09-30") == -23042


def test_a_time_series_is_refused_with_a_typed_error_naming_what_it_is():
    record = read_markdown_table(
        "| Date | Debt outstanding |\n|---|---|\n| 2023-12-31 | 1,200 |\n"
        "| 2022-12-31 | 1,100 |\n| 2021-12-31 | 900 |\n",
        record_id="debt",
    )
    table = _index(record)
    items, _ = code_items(record, table)
    with pytest.raises(NotAStatementError, match="time series") as caught:
        refuse_non_statement(record, table, len(items))
    assert "1,200" not in str(caught.value)
