"""Financial statements: grounded schema, checks in code, ratios, identities (FakeEngine)."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from structkit import FakeEngine, OutputValidationError
from structkit._runner import run_task
from structkit._schema import output_schema, unbounded_paths
from structkit.adapters import Record, Section, Value, load, read_markdown_table, render
from structkit.tasks.financials import (
    METRICS,
    Financials,
    check_table,
    combine_statements,
    grounded_financials_schema,
    parse_amount,
    period_sort_key,
    verify_financials,
)

from .legacy_financials import FINANCIALS_MAPPING

SAMPLES = Path("/work/shared/samples/finance")
FINANCE = Path(__file__).resolve().parent / "fixtures" / "finance"
INCOME = "apple_fy2021_2023_income_statement.csv"
BALANCE = "apple_fy2023_balance_sheet.csv"
FY23, FY22, FY21 = "Sep. 30, 2023", "Sep. 24, 2022", "Sep. 25, 2021"

needs_samples = pytest.mark.skipif(not SAMPLES.is_dir(), reason="Apple samples not present")


def gold() -> dict[str, Any]:
    data: dict[str, Any] = json.loads((FINANCE / "apple_gold.json").read_text())
    return data


def apple(name: str) -> Record:
    return load(SAMPLES / name, scale="millions", currency="USD")


def answer(items: list[dict[str, str]], statement: str = "other", narrative: str = "ok") -> str:
    return json.dumps({"statement": statement, "line_items": items, "narrative": narrative})


def item(metric: str, label: str, period: str, value: str) -> dict[str, str]:
    return {"metric": metric, "source_label": label, "period": period, "value": value}


def cell_triples(schema: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(label, period, value) of every decoding alternative of a grounded schema."""
    return [
        tuple(alt["properties"][k]["const"] for k in ("source_label", "period", "value"))
        for alt in schema["$defs"]["LineItem"]["anyOf"]
    ]


def run(record: Record, text: str, *, grounding: bool = True) -> tuple[Financials, FakeEngine]:
    engine = FakeEngine(lambda request: text)
    (outcome,) = run_task(FINANCIALS_MAPPING, [record], engine=engine, grounding=grounding)
    return outcome.unwrap(), engine


# --------------------------------------------------------------------------- schema


def test_decoding_schema_is_bounded_and_has_no_code_filled_fields():
    schema = output_schema(Financials)
    assert unbounded_paths(schema) == []
    assert FINANCIALS_MAPPING.schema == schema
    assert list(schema["properties"]) != [] and set(schema["properties"]) == {
        "statement",
        "line_items",
        "narrative",
    }
    line_item = schema["$defs"]["LineItem"]["properties"]
    assert set(line_item) == {"metric", "source_label", "period", "value"}
    assert line_item["metric"]["enum"] == list(METRICS)
    for code_filled in ("PeriodRatios", "Growth", "Flag"):
        assert code_filled not in schema["$defs"]


@needs_samples
def test_grounded_schema_offers_exactly_the_numeric_cells():
    record = apple(BALANCE)
    schema = grounded_financials_schema(record, FINANCIALS_MAPPING.schema)
    Draft202012Validator.check_schema(schema)
    assert unbounded_paths(schema) == []
    alternatives = schema["$defs"]["LineItem"]["anyOf"]
    triples = cell_triples(schema)
    section = record.sections[0]
    expected = [
        (row[0].text, period, cell.text)
        for row in section.rows
        for period, cell in zip(section.columns[1:], row[1:], strict=True)
        if parse_amount(cell.text) is not None
    ]
    assert triples == expected and len(triples) == 56
    assert ("Total assets", FY23, "352583") in triples
    assert schema["properties"]["line_items"]["maxItems"] == min(48, len(triples))
    assert all(alt["properties"]["metric"]["enum"] == list(METRICS) for alt in alternatives)
    assert FINANCIALS_MAPPING.schema_for(record, grounding=False) == FINANCIALS_MAPPING.schema
    assert FINANCIALS_MAPPING.schema_for(record, grounding=True) == schema
    # the base schema is not modified in place
    assert "anyOf" not in FINANCIALS_MAPPING.schema["$defs"]["LineItem"]


@needs_samples
def test_grounded_schema_rejects_a_label_paired_with_another_cells_number():
    validator = Draft202012Validator(
        grounded_financials_schema(apple(INCOME), FINANCIALS_MAPPING.schema)
    )
    right = item("revenue", "Net sales", FY23, "383285")
    wrong_period = item("revenue", "Net sales", FY23, "394328")  # FY22's number
    wrong_row = item("revenue", "Net sales", FY23, "96995")  # net income's number
    assert validator.is_valid(json.loads(answer([right])))
    assert not validator.is_valid(json.loads(answer([wrong_period])))
    assert not validator.is_valid(json.loads(answer([wrong_row])))
    extra = {**right, "grounded": True}
    assert not validator.is_valid(json.loads(answer([extra])))


@needs_samples
def test_big_tables_fall_back_to_independent_enums(monkeypatch):
    monkeypatch.setattr("structkit.tasks.financials._task.MAX_CELL_ALTERNATIVES", 10)
    record = apple(BALANCE)
    schema = grounded_financials_schema(record, FINANCIALS_MAPPING.schema)
    assert unbounded_paths(schema) == []
    props = schema["$defs"]["LineItem"]["properties"]
    section = record.sections[0]
    assert props["source_label"]["enum"] == [row[0].text for row in section.rows]
    assert props["period"]["enum"] == [FY23, FY22]
    values = props["value"]["enum"]
    assert {"352583", "290437", "62146", "-214"} <= set(values)
    assert "Total assets" not in values and len(values) == len(set(values))


def test_grounded_schema_without_a_table_allows_no_items():
    record = Record("r", "json", [Section("s", values=[Value("a", "text", "/a")])])
    schema = grounded_financials_schema(record, FINANCIALS_MAPPING.schema)
    Draft202012Validator.check_schema(schema)
    assert schema["properties"]["line_items"]["maxItems"] == 0


# --------------------------------------------------------------------------- Apple, via the runner


@needs_samples
def test_apple_income_statement_ratios_and_growth():
    spec = gold()["files"][INCOME]
    result, engine = run(apple(INCOME), answer(spec["items"], "income_statement"))
    (request,) = engine.calls[0]
    assert ("Net sales", FY23, "383285") in cell_triples(request.json_schema)
    assert all(i.grounded for i in result.line_items)
    assert result.line_items[0].pointer == f"row=1;col={FY23}"
    assert result.value_of("revenue", FY23) == 383285
    assert result.currency == "USD" and result.scale == "millions"
    assert result.periods == [FY21, FY22, FY23]  # sorted by the dates in the headers
    r23 = result.ratios_for(FY23)
    assert r23 is not None
    assert r23.gross_margin == pytest.approx(169148 / 383285)
    assert r23.operating_margin == pytest.approx(114301 / 383285)
    assert r23.net_margin == pytest.approx(96995 / 383285)
    assert r23.current_ratio is None and r23.return_on_assets is None
    growth = {(g.metric, g.period): g for g in result.growth}
    assert growth[("revenue", FY23)].value == pytest.approx(383285 / 394328 - 1)
    assert growth[("revenue", FY23)].previous_period == FY22
    assert growth[("revenue", FY22)].value == pytest.approx(394328 / 365817 - 1)
    assert growth[("net_income", FY23)].value == pytest.approx(96995 / 99803 - 1)
    assert ("revenue", FY21) not in growth
    assert result.flags == []


@needs_samples
def test_apple_balance_sheet_has_no_identity_flags():
    spec = gold()["files"][BALANCE]
    result, _ = run(apple(BALANCE), answer(spec["items"], "balance_sheet"))
    assert all(i.grounded for i in result.line_items)
    assert result.flags == []
    assert 352583 == 290437 + 62146
    r23 = result.ratios_for(FY23)
    assert r23 is not None
    assert r23.current_ratio == pytest.approx(143566 / 145308)
    assert r23.debt_to_equity == pytest.approx(290437 / 62146)
    assert r23.gross_margin is None
    assert result.growth == []  # no revenue or net income on a balance sheet
    assert check_table(apple(BALANCE)) == [] and check_table(apple(INCOME)) == []


@needs_samples
def test_roa_and_roe_when_both_statements_are_in_one_record():
    record = combine_statements(apple(INCOME), apple(BALANCE))
    items = gold()["files"][INCOME]["items"] + gold()["files"][BALANCE]["items"]
    result, engine = run(record, answer(items, "combined"))
    labels = {label for label, _, _ in cell_triples(engine.calls[0][0].json_schema)}
    assert {"Net sales", "Total assets"} <= labels
    assert all(i.grounded for i in result.line_items)
    r23 = result.ratios_for(FY23)
    assert r23 is not None
    assert r23.return_on_assets == pytest.approx(96995 / 352583)
    assert r23.return_on_equity == pytest.approx(96995 / 62146)
    r21 = result.ratios_for(FY21)
    assert r21 is not None and r21.return_on_assets is None  # no 2021 balance sheet
    assert {i.section for i in result.line_items} == {INCOME[:-4], BALANCE[:-4]}
    assert result.flags == []


def test_combine_statements_refuses_mixed_scales_and_keeps_titles_apart():
    broken = load(FINANCE / "broken_balance_sheet.csv")  # millions
    clean = load(FINANCE / "acme_clean_statement.csv")  # thousands
    with pytest.raises(ValueError, match="scales"):
        combine_statements(broken, clean)
    both = combine_statements(broken, broken)
    assert [s.title for s in both.sections] == [
        "broken_balance_sheet",
        "broken_balance_sheet (2)",
    ]
    assert broken.sections[0].title == "broken_balance_sheet"


# --------------------------------------------------------------------------- grounding


@needs_samples
def test_value_not_in_the_table_is_flagged_ungrounded():
    items = [
        item("revenue", "Net sales", FY23, "383285"),
        item("net_income", "Net income", FY23, "99999"),  # invented
        item("gross_profit", "Gross profit", FY23, "169148"),  # no such row
    ]
    result, engine = run(apple(INCOME), answer(items), grounding=False)
    assert engine.calls[0][0].json_schema == FINANCIALS_MAPPING.schema
    revenue, net_income, gross = result.line_items
    assert revenue.grounded and revenue.amount == 383285
    assert not net_income.grounded and net_income.amount is None and net_income.pointer is None
    assert not gross.grounded
    ungrounded = [f for f in result.flags if f.kind == "ungrounded"]
    assert [f.message.split(":")[0] for f in ungrounded] == ["net_income", "gross_profit"]
    assert "'96995'" in ungrounded[0].message and ungrounded[0].pointers == [f"row=11;col={FY23}"]
    r23 = result.ratios_for(FY23)
    assert r23 is None or r23.net_margin is None  # never computed from an ungrounded value


@needs_samples
def test_value_from_another_cell_fails_validation_with_grounding(monkeypatch):
    mismatched = answer([item("revenue", "Net sales", FY23, "394328")])  # FY22's number
    engine = FakeEngine(lambda request: mismatched)
    (outcome,) = run_task(FINANCIALS_MAPPING, [apple(INCOME)], engine=engine, max_attempts=2)
    assert isinstance(outcome.error, OutputValidationError) and outcome.error.attempts == 2
    # With independent enums (big tables) decoding allows the pair; code flags it instead.
    monkeypatch.setattr("structkit.tasks.financials._task.MAX_CELL_ALTERNATIVES", 10)
    result, _ = run(apple(INCOME), mismatched)
    assert not result.line_items[0].grounded
    assert result.flags[0].kind == "ungrounded"


def test_the_model_cannot_set_code_filled_fields():
    record = load(FINANCE / "broken_balance_sheet.csv")
    forged = {**item("total_assets", "Total assets", "FY2024", "2,000"), "grounded": True}
    engine = FakeEngine(lambda request: answer([forged]))
    with pytest.raises(OutputValidationError):
        run_task(FINANCIALS_MAPPING, [record], engine=engine, max_attempts=1)[0].unwrap()


# --------------------------------------------------------------------------- deterministic pass


def test_broken_statement_is_flagged_without_any_model_item():
    record = load(FINANCE / "broken_balance_sheet.csv")
    result, _ = run(record, answer([], "balance_sheet"))
    assert result.scale == "millions"
    assert {f.source for f in result.flags} == {"table"}
    found = {(f.kind, f.check, f.period) for f in result.flags}
    assert found == {
        ("identity", "total_assets = total_liabilities + shareholders_equity", "FY2024"),
        (
            "identity",
            "total_liabilities_and_equity = total_liabilities + shareholders_equity",
            "FY2024",
        ),
        ("subtotal", "Total current liabilities = sum of the 2 rows above it", "FY2024"),
    }
    balance = next(f for f in result.flags if f.check and f.check.startswith("total_assets"))
    assert (balance.actual, balance.expected) == (2000, 1900)
    assert balance.pointers[0] == "row=6;col=FY2024"  # the "Total assets" cell
    subtotal = next(f for f in result.flags if f.kind == "subtotal")
    assert (subtotal.actual, subtotal.expected) == (450, 400)
    assert result.periods == ["FY2023", "FY2024"]


def test_broken_statement_model_and_table_flags_are_not_duplicated():
    record = load(FINANCE / "broken_balance_sheet.csv")
    items = [
        item("total_assets", "Total assets", "FY2024", "2,000"),
        item("total_liabilities", "Total liabilities", "FY2024", "1,050"),
        item("shareholders_equity", "Total shareholders' equity", "FY2024", "850"),
    ]
    result, _ = run(record, answer(items, "balance_sheet"))
    balance = [f for f in result.flags if f.check == FLAG_TA]
    assert len(balance) == 1 and balance[0].source == "model"
    assert result.ratios_for("FY2024") is not None


FLAG_TA = "total_assets = total_liabilities + shareholders_equity"


def test_identity_tolerance_is_half_a_percent_or_one_unit():
    def sheet(assets: str) -> Record:
        rows = [("Total assets", assets), ("Total liabilities", "600"), ("Total equity", "400")]
        cells = [
            [Value("Item", label, f"row={n};col=Item"), Value("2024", v, f"row={n};col=2024")]
            for n, (label, v) in enumerate(rows, start=1)
        ]
        return Record("t", "table", [Section("bs", columns=["Item", "2024"], rows=cells)])

    assert check_table(sheet("1,005")) == []  # 0.5 % of 1,005
    assert check_table(sheet("1,006"))[0].kind == "identity"
    assert check_table(sheet("1000.9")) == []


# --------------------------------------------------------------------------- clean fixture


CLEAN_LABELS = {
    "revenue": "Revenue",
    "cost_of_revenue": "Cost of revenue",
    "gross_profit": "Gross profit",
    "operating_expenses": "Total operating expenses",
    "operating_income": "Operating income",
    "net_income": "Net income",
    "total_current_assets": "Total current assets",
    "total_assets": "Total assets",
    "total_current_liabilities": "Total current liabilities",
    "total_liabilities": "Total liabilities",
    "shareholders_equity": "Total shareholders' equity",
}


def test_clean_statement_known_answer():
    record = load(FINANCE / "acme_clean_statement.csv")
    section = record.sections[0]
    periods = section.columns[1:]
    rows = {row[0].text: row for row in section.rows}
    items = [
        item(metric, label, period, rows[label][index].text)
        for metric, label in CLEAN_LABELS.items()
        for index, period in enumerate(periods, start=1)
    ]
    result, _ = run(record, answer(items, "combined"))
    assert all(i.grounded for i in result.line_items)
    assert result.flags == []
    assert (result.currency, result.scale) == ("USD", "thousands")
    d22, d23, d24 = "Dec. 31, 2022", "Dec. 31, 2023", "Dec. 31, 2024"
    assert result.periods == [d22, d23, d24]
    r = result.ratios_for(d24)
    assert r is not None
    assert r.gross_margin == pytest.approx(5000 / 12500)
    assert r.operating_margin == pytest.approx(2000 / 12500)
    assert r.net_margin == pytest.approx(1480 / 12500)
    assert r.current_ratio == pytest.approx(5000 / 2000)
    assert r.debt_to_equity == pytest.approx(5000 / 7000)
    assert r.return_on_assets == pytest.approx(1480 / 12000)
    assert r.return_on_equity == pytest.approx(1480 / 7000)
    growth = {(g.metric, g.period): g.value for g in result.growth}
    assert growth == pytest.approx(
        {
            ("revenue", d23): 0.25,
            ("revenue", d24): 0.25,
            ("net_income", d23): 960 / 520 - 1,
            ("net_income", d24): 1480 / 960 - 1,
        }
    )


def test_parenthesised_negatives_and_thousands_scale():
    text = (
        "## Statement of operations (in thousands)\n\n"
        "| Line item | FY2024 | FY2023 |\n|---|---|---|\n"
        "| Revenue | 5,000 | 4,000 |\n"
        "| Net loss | (1,250) | (500) |\n"
    )
    record = read_markdown_table(text, record_id="md")
    assert "thousands" not in json.dumps(record.meta)  # the scale is only in the heading
    items = [
        item("revenue", "Revenue", "FY2024", "5,000"),
        item("revenue", "Revenue", "FY2023", "4,000"),
        item("net_income", "Net loss", "FY2024", "-1250"),  # written differently
        item("net_income", "Net loss", "FY2023", "(500,000)"),  # in full units
    ]
    result, _ = run(record, answer(items), grounding=False)  # grounded decoding: exact text only
    assert result.scale == "thousands"
    assert all(i.grounded for i in result.line_items)
    assert [i.amount for i in result.line_items] == [5000, 4000, -1250, -500]
    r = result.ratios_for("FY2024")
    assert r is not None and r.net_margin == pytest.approx(-1250 / 5000)
    growth = {(g.metric, g.period): g.value for g in result.growth}
    assert growth[("net_income", "FY2024")] == pytest.approx((-1250 - -500) / 500)


# --------------------------------------------------------------------------- details


def test_parse_amount():
    assert parse_amount("383,285") == 383285
    assert parse_amount("(565)") == parse_amount("-565") == parse_amount("\u2212565") == -565
    assert parse_amount("$ 1,234.50") == Decimal("1234.5")
    assert parse_amount("($1,234)") == -1234
    assert parse_amount("\u2014") == 0
    assert parse_amount("6.13") == Decimal("6.13")
    for text in ("12%", "Sep. 30, 2023", "n/a", "", "1.2.3"):
        assert parse_amount(text) is None


def test_period_sort_key():
    keys = [period_sort_key(h) for h in (FY23, FY22, FY21)]
    assert keys == sorted(keys, reverse=True)
    assert period_sort_key("FY2023") is not None
    assert period_sort_key("Q1 2024") < period_sort_key("Q3 2024")  # type: ignore[operator]
    assert period_sort_key("2023-12-31") == period_sort_key("12/31/2023")
    assert period_sort_key("Current year") is None


def test_undated_periods_give_no_growth_and_say_so():
    text = (
        "| Item | This year | Last year |\n|---|---|---|\n"
        "| Revenue | 120 | 100 |\n| Net income | 12 | 10 |\n"
    )
    items = [
        item(m, label, p, v)
        for m, label, vals in (("revenue", "Revenue", ("120", "100")),)
        for p, v in zip(("This year", "Last year"), vals, strict=True)
    ]
    result, _ = run(read_markdown_table(text), answer(items))
    assert result.growth == []
    assert [f.kind for f in result.flags] == ["period_order"]
    assert result.periods == ["This year", "Last year"]


def test_conflicting_mappings_are_flagged():
    record = load(FINANCE / "broken_balance_sheet.csv")
    items = [
        item("total_assets", "Total assets", "FY2023", "1,800"),
        item("total_assets", "Total current assets", "FY2023", "800"),
    ]
    result = verify_financials(Financials.model_validate_json(answer(items)), record)
    kinds = [f.kind for f in result.flags if f.period == "FY2023"]
    assert "conflict" in kinds and "disagreement" in kinds
    assert result.value_of("total_assets", "FY2023") == 1800


@needs_samples
def test_prompt_fences_the_table_and_names_every_metric():
    record = apple(BALANCE)
    engine = FakeEngine(lambda request: "")
    (message,) = FINANCIALS_MAPPING.prompt(
        render(record, format=FINANCIALS_MAPPING.format), profile=engine.profile
    )
    content = message["content"]
    assert "Total shareholders' equity,62146,50672" in content
    assert "scale: millions" in content
    for metric in METRICS:
        assert metric in content
    assert FINANCIALS_MAPPING.format == "csv"
