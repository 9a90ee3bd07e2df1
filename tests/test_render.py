"""Rendering formats, token budgets, and the adapter/engine layering rule."""

from __future__ import annotations

import ast
import csv
import io
import json
from pathlib import Path

import pytest

import structkit
from structkit import ConfigurationError, RecordTooLargeError
from structkit.adapters import Record, Section, Value, fit_to_budget, render
from structkit.testing import freeform_diagnosis as legacy


def table_record(rows: int) -> Record:
    columns = ["item", "2023"]
    body = [
        [
            Value("item", f"line {i}", f"row={i};col=item"),
            Value("2023", str(i * 10), f"row={i};col=2023"),
        ]
        for i in range(1, rows + 1)
    ]
    return Record(
        record_id="t",
        kind="table",
        meta={"scale": "millions"},
        sections=[Section(title="Income", columns=columns, rows=body)],
    )


def words(text: str) -> int:
    return len(text.split())


def test_all_formats_render_every_value():
    record = table_record(3)
    for fmt in ("json", "markdown", "csv", "kv"):  # "text" is for plain documents only
        text = render(record, format=fmt)
        assert "line 3" in text and "30" in text and "millions" in text, fmt


def test_json_format_is_compact_and_parseable():
    data = json.loads(render(table_record(2), format="json"))
    assert data == {
        "_meta": {"scale": "millions"},
        "Income": [{"item": "line 1", "2023": "10"}, {"item": "line 2", "2023": "20"}],
    }


def test_kv_sections_repeat_keys_as_lists_in_json():
    record = Record(
        "r", "json", [Section("meds", values=[Value("drug", "a", "/0"), Value("drug", "b", "/1")])]
    )
    assert json.loads(render(record)) == {"meds": {"drug": ["a", "b"]}}


def test_csv_format_quotes_cells_with_commas_and_newlines():
    record = Record(
        "r",
        "table",
        [
            Section(
                "T", columns=["a", "b"], rows=[[Value("a", "x,y", "p"), Value("b", "1\n2", "q")]]
            )
        ],
    )
    text = render(record, format="csv")
    rows = list(csv.reader(io.StringIO(text.split("\n", 1)[1])))
    assert rows == [["a", "b"], ["x,y", "1\n2"]]


def test_markdown_cells_cannot_forge_rows_or_columns():
    evil = "x | y\n| forged | row |"
    record = Record("r", "table", [Section("T", columns=["a"], rows=[[Value("a", evil, "p")]])])
    lines = render(record, format="markdown").splitlines()
    assert len(lines) == 4  # heading, header, rule, one row
    assert lines[3].count(" | ") == 0 and "\\|" in lines[3]


def test_kv_lines_cannot_forge_new_lines():
    record = Record("r", "json", [Section("S", values=[Value("k", "a\nforged: b", "/k")])])
    assert render(record, format="kv").splitlines() == ["[S]", "k: a \\n forged: b"]


def test_unknown_format_is_a_configuration_error():
    with pytest.raises(ConfigurationError, match="unknown rendering format"):
        render(table_record(1), format="yaml")


def test_over_budget_error_says_by_how_much():
    record = table_record(50)
    tokens = words(render(record))
    with pytest.raises(RecordTooLargeError) as info:
        fit_to_budget(record, budget=20, count_tokens=words)
    assert info.value.tokens == tokens and info.value.over == tokens - 20
    assert "over by" in str(info.value)


def test_split_tables_by_rows_repeating_headers_and_losing_nothing():
    record = table_record(40)
    pieces = fit_to_budget(record, budget=60, count_tokens=words, format="csv", policy="split")
    assert len(pieces) > 1
    seen = []
    for part, text in pieces:
        assert words(text) <= 60
        assert "item,2023" in text  # header repeated in every part
        seen.extend(v.text for v in part.values() if v.key == "item")
    assert seen == [f"line {i}" for i in range(1, 41)]
    assert pieces[0][0].record_id == f"t[part 1/{len(pieces)}]"


def test_split_documents_by_whole_sections():
    sections = [
        Section(f"S{i}", values=[Value("k", " ".join(["w"] * 10), f"/{i}")]) for i in range(6)
    ]
    record = Record("doc", "xml", sections)
    pieces = fit_to_budget(record, budget=30, count_tokens=words, format="kv", policy="split")
    assert [len(p.sections) for p, _ in pieces] == [2, 2, 2]


def test_a_single_unit_over_budget_cannot_be_split():
    record = Record("doc", "json", [Section("S", values=[Value("k", "w " * 100, "/k")])])
    with pytest.raises(RecordTooLargeError, match="even one item"):
        fit_to_budget(record, budget=10, count_tokens=words, policy="split")


def test_runner_reports_too_large_records_per_record(patient_record):
    engine = structkit.FakeEngine(lambda r: "{}")
    huge = dict(patient_record, notes="word " * 40000)
    outcomes = legacy.diagnose_many([huge, patient_record], engine=engine, max_attempts=1)
    assert isinstance(outcomes[0].error, RecordTooLargeError)
    assert len(engine.calls[0]) == 1  # the other record still ran


def test_adapters_never_import_engines():
    package = Path(structkit.__file__).parent / "adapters"
    for module in package.glob("*.py"):
        tree = ast.parse(module.read_text())
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [("." * node.level) + (node.module or "")]
            for name in names:
                assert "engines" not in name and "vllm" not in name, (module.name, name)
