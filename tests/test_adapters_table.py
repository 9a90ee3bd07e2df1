"""Table adapters: DataFrames, CSV (incl. financial statements) and Markdown tables (CSV batches:
test_adapters_csv_batches.py)."""

from __future__ import annotations

import ast
import io
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from structkit import ConfigurationError, InputError, RecordParseError, UnsafeInputError
from structkit.adapters import (
    FORMATS,
    Record,
    Section,
    Value,
    from_dataframe,
    iter_csv_records,
    read_csv,
    read_markdown_table,
    render,
)
from structkit.adapters._table import cell_pointer, parse_pointer, to_dataframe

from .table_helpers import as_grid, assert_pointers_lead_back, cell, write

FIXTURES = Path(__file__).resolve().parent / "fixtures"
APPLE_INCOME = FIXTURES / "apple_fy2021_2023_income_statement.csv"
APPLE_BALANCE = FIXTURES / "apple_fy2023_balance_sheet.csv"
ACME_INCOME = FIXTURES / "acme_income_statement_fy2021_2023.csv"
ACME_BALANCE = FIXTURES / "acme_balance_sheet_2023.csv"
ACME_MARKDOWN = FIXTURES / "acme_quarterly_report.md"
TABLE_FORMATS = ("json", "markdown", "csv", "kv")  # the formats that show tables and meta
MODULE = Path(__file__).resolve().parent.parent / "structkit" / "adapters" / "_table.py"


# --------------------------------------------------------------------------- real Apple samples


def test_apple_income_statement_exact_values_and_units() -> None:
    record = read_csv(APPLE_INCOME, currency="USD", scale="millions")
    assert record.record_id == "apple_fy2021_2023_income_statement.csv"
    assert record.kind == "table"
    assert record.meta["currency"] == "USD"
    assert record.meta["scale"] == "millions"
    section = record.sections[0]
    assert section.columns == ["Category", "Sep. 30, 2023", "Sep. 24, 2022", "Sep. 25, 2021"]
    assert len(section.rows) == 19
    assert cell(record, 1, "Category") == "Net sales"
    assert cell(record, 1, "Sep. 30, 2023") == "383285"
    assert cell(record, 8, "Category") == "Other income/(expense), net"
    assert cell(record, 8, "Sep. 30, 2023") == "-565"  # negative kept as written
    assert cell(record, 8, "Sep. 25, 2021") == "258"
    assert cell(record, 12, "Sep. 24, 2022") == "6.15"  # no float noise
    assert record.find("96995")[0].pointer == "row=11;col=Sep. 30, 2023"
    dtypes = json.loads(record.meta["dtypes"])
    assert dtypes == {
        "Category": "str",
        "Sep. 30, 2023": "float",
        "Sep. 24, 2022": "float",
        "Sep. 25, 2021": "float",
    }
    assert_pointers_lead_back(record, APPLE_INCOME)


def test_apple_balance_sheet_round_trip_and_pandas_agree() -> None:
    record = read_csv(APPLE_BALANCE, currency="USD", scale="millions")
    assert cell(record, 12, "Sep. 30, 2023") == "352583"  # Total assets
    assert cell(record, 25, "Sep. 30, 2023") == "-214"  # Accumulated deficit
    assert cell(record, 3, "Category") == "Accounts receivable, net"
    assert_pointers_lead_back(record, APPLE_BALANCE)
    # pandas, told to keep strings, reads the same grid; to_dataframe is indexed by row number.
    expected = pd.read_csv(APPLE_BALANCE, dtype=str, keep_default_na=False, na_filter=False)
    frame = to_dataframe(record.sections[0])
    assert list(frame.columns) == list(expected.columns)
    assert frame.values.tolist() == expected.values.tolist()
    assert list(frame.index) == list(range(1, 29))
    assert frame.loc[12, "Sep. 24, 2022"] == "352755"
    assert all(str(dtype) == "str" for dtype in frame.dtypes)


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize(("path", "number"), [(APPLE_INCOME, "383285"), (APPLE_BALANCE, "352583")])
def test_apple_samples_render_in_every_format(path: Path, number: str, fmt: str) -> None:
    record = read_csv(path, currency="USD", scale="millions")
    text = render(record, format=fmt)
    assert number in text
    assert "Other income/(expense), net" in text or "Accumulated deficit" in text
    if fmt in TABLE_FORMATS:  # the units reach the model with the numbers
        assert "millions" in text and "USD" in text


# --------------------------------------------------------------------------- own statements


def test_statement_with_preamble_keeps_parentheses_and_finds_thousands() -> None:
    record = read_csv(ACME_INCOME)
    assert record.meta["scale"] == "thousands"
    assert "currency" not in record.meta  # nothing in the file says which currency
    assert record.meta["preamble"] == (
        "Acme Widgets Inc. / Consolidated Statements of Operations / "
        "(in thousands, except per share amounts)"
    )
    section = record.sections[0]
    assert section.title == "acme_income_statement_fy2021_2023"
    assert section.columns == ["Line item", "FY2023", "FY2022", "FY2021"]
    assert cell(record, 1, "FY2023") == "1,254,300"
    assert cell(record, 2, "FY2023") == "(702,408)"
    assert cell(record, 6, "FY2022") == "\u2014"  # an em dash for nil stays an em dash
    assert cell(record, 9, "Line item") == "Other income (expense), net"
    assert cell(record, 9, "FY2023") == "(565)"
    assert cell(record, 9, "FY2021") == "(37)"
    assert cell(record, 13, "FY2023") == "1.43"
    # The preamble is not data: row 1 is the first line after the header.
    assert_pointers_lead_back(record, ACME_INCOME, skip=3)
    types = json.loads(record.meta["dtypes"])
    assert types == {"Line item": "str", "FY2023": "float", "FY2022": "float", "FY2021": "float"}


def test_statement_arguments_override_and_complete_detection() -> None:
    record = read_csv(ACME_INCOME, currency="EUR", scale="millions", title="Acme P&L")
    assert record.meta["currency"] == "EUR"
    assert record.meta["scale"] == "millions"
    assert record.sections[0].title == "Acme P&L"
    assert "(in thousands" in record.meta["preamble"]  # the original wording stays visible
    assert record.issues == ["scale: the file says thousands; using the argument millions"]


def test_balance_sheet_units_from_headers_and_section_rows() -> None:
    record = read_csv(ACME_BALANCE)
    assert record.meta["currency"] == "USD"
    assert record.meta["scale"] == "millions"
    assert cell(record, 1, "Line item") == "Assets"
    assert cell(record, 1, "Dec. 31, 2023 (USD millions)") == ""
    assert cell(record, 3, "Dec. 31, 2022 (USD millions)") == "265.0"  # trailing zero kept
    assert cell(record, 14, "Dec. 31, 2023 (USD millions)") == "(42.3)"
    assert_pointers_lead_back(record, ACME_BALANCE)


def test_units_in_a_preamble_line_like_sec_viewer_exports() -> None:
    title = "CONSOLIDATED STATEMENTS OF OPERATIONS - USD ($) shares in Thousands, $ in Millions"
    rows = "Net sales,383285,394328\nShares (basic),15744231,16215963\n"
    as_preamble = read_csv(f'"{title}",,\nLine item,2023,2022\n{rows}')
    in_header = read_csv(f'"{title}",2023,2022\n{rows}')
    for record in (as_preamble, in_header):
        assert record.meta["currency"] == "USD"
        assert record.meta["scale"] == "millions"  # "shares in Thousands" is about shares
        assert record.record_id == "csv"
    assert as_preamble.sections[0].columns == ["Line item", "2023", "2022"]
    assert in_header.sections[0].columns[0] == title


def test_units_phrase_with_except_clause() -> None:
    record = read_csv('"USD in millions, except per share"\nItem,FY23\nRevenue,1\nEPS,0.5\n')
    assert record.meta == {
        "currency": "USD",
        "scale": "millions",
        "preamble": "USD in millions, except per share",
        "dtypes": '{"Item": "str", "FY23": "float"}',
    }


def test_declared_dtypes_validate_cells_and_name_row_and_column() -> None:
    ok = read_csv(ACME_INCOME, dtypes={"FY2023": "float", "FY2022": "float", "Line item": "str"})
    assert json.loads(ok.meta["dtypes"])["FY2023"] == "float"
    assert cell(ok, 9, "FY2023") == "(565)"  # validated as a number, kept as text
    with pytest.raises(RecordParseError) as info:
        read_csv(ACME_INCOME, dtypes={"FY2023": "int"})
    error = info.value
    assert error.where == "row=13;col=FY2023"
    assert "'FY2023' row 13 is not a valid int" in str(error)
    assert "1.43" not in str(error)  # the value is never in the message
    assert "1 more bad cells" in str(error)  # diluted EPS too


def test_declared_date_dtype() -> None:
    text = "id,visit\n1,2024-01-31\n2,\n3,31/01/2024\n"
    with pytest.raises(RecordParseError) as info:
        read_csv(text, dtypes={"visit": "date"})
    assert info.value.where == "row=3;col=visit"
    assert "31/01" not in str(info.value)
    record = read_csv(text.replace("31/01/2024", "2024-02-01"), dtypes={"visit": "date"})
    assert json.loads(record.meta["dtypes"]) == {"id": "int", "visit": "date"}


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"dtypes": {"nope": "int"}}, "nope"),
        ({"dtypes": {"a": "decimal"}}, "decimal"),
        ({"currency": "dollars"}, "ISO 4217"),
        ({"scale": "lakhs"}, "scale"),
    ],
)
def test_bad_options_are_configuration_errors(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        read_csv("a,b\n1,2\n", **kwargs)  # type: ignore[arg-type]


def test_single_column_and_sparse_files_are_not_taken_for_a_preamble() -> None:
    single = read_csv("name\nAlice\nBob\nNA\n")
    assert single.sections[0].columns == ["name"]
    assert as_grid(single.sections[0]) == [["Alice"], ["Bob"], ["NA"]]
    assert "preamble" not in single.meta
    # A title line above a header whose next row is ragged: still an error, never a misread.
    with pytest.raises(RecordParseError, match="ragged"):
        read_csv("Title\nA,B,C\n1,2\n4,5,6\n")


@pytest.mark.parametrize("newline", ["\r\n", "\r"])
def test_crlf_and_cr_line_endings(newline: str) -> None:
    text = newline.join(["a,b", "1,2", '"x', 'y",3', "4,5,6"]) + newline
    with pytest.raises(RecordParseError) as info:
        read_csv(text)
    assert info.value.where == "line 5"
    record = read_csv(text.replace("4,5,6", "4,5"))
    assert as_grid(record.sections[0]) == [["1", "2"], [f"x{newline}y", "3"], ["4", "5"]]


def test_tsv_with_delimiter() -> None:
    record = read_csv("a\tb\n1,5\tx\n", delimiter="\t")
    assert as_grid(record.sections[0]) == [["1,5", "x"]]


# --------------------------------------------------------------------------- Markdown


def test_markdown_fixture_two_tables_titles_and_exact_cells() -> None:
    record = read_markdown_table(ACME_MARKDOWN.read_text(encoding="utf-8"), record_id="q")
    assert [s.title for s in record.sections] == ["Revenue by segment (USD thousands)", "Headcount"]
    revenue, headcount = record.sections
    assert revenue.columns == ["Segment", "Q1 2024", "Q2 2024", "Notes"]
    assert as_grid(revenue) == [
        ["Widgets", "312,400", "298,150", "includes | pipe-separated SKUs"],
        ["Services", "88,020", "91,775", "NA"],
        ["Licensing", "00123", "(1,250)", "refund in Q2"],
    ]
    assert headcount.columns == ["Segment", "Q1 2024", "Q2 2024"]  # no outer pipes
    assert as_grid(headcount) == [["Widgets", "1,204", "1,232"], ["Services", "310", "322"]]
    assert cell(record, 3, "Q2 2024") == "(1,250)"
    assert cell(record, 2, "Q2 2024", section=1) == "322"
    assert len(record.sections) == 2  # the table inside the code fence is not data


def test_markdown_title_argument_and_repeats() -> None:
    text = "| a |\n|---|\n| 1 |\n\n| a |\n|---|\n| 2 |\n"
    record = read_markdown_table(text, title="labs")
    assert [s.title for s in record.sections] == ["labs", "labs (2)"]
    assert cell(record, 1, "a", section=1) == "2"


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ("| a | b |\n| 1 | 2 |\n", "line 1"),  # no alignment row
        ("| a | b |\n|---|\n| 1 | 2 |\n", "line 2"),  # alignment row narrower than header
        ("| a | b |\n|---|---|\n| 1 | 2 |\n| 3 |\n", "line 4"),  # short row
        ("| a | b |\n|---|---|\n| 1 | 2 | 3 |\n", "line 3"),  # long row
        ("| a | a |\n|---|---|\n| 1 | 2 |\n", "line 1"),  # duplicate header
        ("| a | b |\n|---|---|\n\nprose\n", "line 1"),  # header without rows
    ],
)
def test_malformed_markdown_tables(text: str, where: str) -> None:
    with pytest.raises(RecordParseError) as info:
        read_markdown_table(text, record_id="md")
    assert info.value.where == where
    assert info.value.record_id == "md"


def test_markdown_without_table_and_oversize() -> None:
    with pytest.raises(RecordParseError, match="no Markdown pipe table"):
        read_markdown_table("# Title\n\njust prose | with a pipe\n")
    with pytest.raises(UnsafeInputError):
        read_markdown_table("| a |\n|---|\n| 1 |\n", max_chars=5)


def test_markdown_cells_cannot_forge_rows_or_columns_through_render() -> None:
    hostile = [
        "a | b",
        "line1\n| x | y |\n|---|---|",
        "ends with backslash \\",
        "\\| already escaped",
        "| leading pipe",
    ]
    columns = ["name", "col | with pipe", "note"]
    rows = [
        [
            Value(key=c, text=t, pointer=cell_pointer(n, c))
            for c, t in zip(columns, texts, strict=True)
        ]
        for n, texts in enumerate(
            [["p1", hostile[0], hostile[1]], [hostile[2], hostile[3], hostile[4]]], start=1
        )
    ]
    record = Record(
        record_id="r",
        kind="table",
        sections=[Section(title="Labs\n| forged | title |", columns=columns, rows=rows)],
    )
    rendered = render(record, format="markdown")
    back = read_markdown_table(rendered)
    assert len(back.sections) == 1
    section = back.sections[0]
    assert section.columns == columns
    assert len(section.rows) == 2 and all(len(r) == 3 for r in section.rows)
    # Content survives too; only a newline is shown as <br>.
    expected = [[c.text.replace("\n", "<br>") for c in row] for row in rows]
    assert as_grid(section) == expected


def test_markdown_round_trip_of_a_csv_record() -> None:
    record = read_csv(ACME_INCOME)
    back = read_markdown_table(render(record, format="markdown"))
    assert back.sections[0].columns == record.sections[0].columns
    assert as_grid(back.sections[0]) == as_grid(record.sections[0])
    assert [v.pointer for v in back.values()] == [v.pointer for v in record.values()]


# --------------------------------------------------------------------------- hostile CSV


def test_na_none_null_empty_and_leading_zeros_survive(tmp_path: Path) -> None:
    text = 'surname,code,note\nNA,00123,None\nnull,007,""\nNaN,0,n/a\n'
    path = write(tmp_path, "people.csv", text)
    expected = [["NA", "00123", "None"], ["null", "007", ""], ["NaN", "0", "n/a"]]
    for source in (path, text, text.encode()):
        record = read_csv(source)
        assert as_grid(record.sections[0]) == expected
    assert json.loads(read_csv(text).meta["dtypes"])["code"] == "str"  # zeros mark a code
    results = list(iter_csv_records(path))
    assert [as_grid(r.sections[0])[0] for _, r in results if isinstance(r, Record)] == expected


def test_duplicate_headers_are_named(tmp_path: Path) -> None:
    path = write(tmp_path, "dup.csv", "id,name,id\n1,a,2\n")
    with pytest.raises(RecordParseError) as info:
        read_csv(path)
    assert "duplicate column header 'id' (columns 1 and 3)" in str(info.value)
    assert info.value.where == "line 1"
    assert info.value.record_id == "dup.csv"
    with pytest.raises(RecordParseError, match="'id'"):
        next(iter_csv_records(path))


def test_ragged_rows_short_and_long_are_named_by_line(tmp_path: Path) -> None:
    text = 'a,b,c\n1,2,3\n4,5\n"multi\nline",8,9\n10,11,12,13\n'
    with pytest.raises(RecordParseError) as info:
        read_csv(text)
    message = str(info.value)
    assert "line 3 has 2 fields" in message
    assert "line 6 has 4 fields" in message  # physical line numbers, after a 2-line field
    assert info.value.where == "line 3"
    assert "11" not in message.replace("line", "")


def test_huge_field_is_refused(tmp_path: Path) -> None:
    with pytest.raises(UnsafeInputError) as info:
        read_csv("a,b\n1," + "x" * 50 + "\n", max_field_chars=20)
    assert info.value.where == "line 2"
    # Beyond the csv module's own 131072 limit, with the default limit ...
    big = "a,b\n1," + "y" * 200_000 + "\n2,3\n"
    with pytest.raises(UnsafeInputError):
        read_csv(big)
    # ... and allowed when the caller raises the limit explicitly.
    record = read_csv(big, max_field_chars=300_000)
    assert len(cell(record, 1, "b")) == 200_000
    assert cell(record, 2, "b") == "3"


def test_unclosed_quote_cannot_swallow_the_file_silently() -> None:
    with pytest.raises(RecordParseError) as info:
        read_csv('a,b\n1,"open\n2,3\n4,5\n')
    assert info.value.where == "lines 2-4"
    assert "never closed" in str(info.value)


def test_oversize_file_and_text_are_refused(tmp_path: Path) -> None:
    path = write(tmp_path, "big.csv", "a,b\n" + "1,2\n" * 1000)
    with pytest.raises(UnsafeInputError, match="larger than 100 bytes"):
        read_csv(path, max_bytes=100)
    with pytest.raises(UnsafeInputError):
        read_csv(path.read_text(), max_bytes=100)
    assert len(read_csv(path).sections[0].rows) == 1000


def test_bom_is_stripped(tmp_path: Path) -> None:
    path = tmp_path / "bom.csv"
    path.write_bytes(b"\xef\xbb\xbfid,value\n1,NA\n")
    record = read_csv(path)
    assert record.sections[0].columns == ["id", "value"]
    assert cell(record, 1, "id") == "1"
    assert read_csv("\ufeffid,value\n1,NA\n").sections[0].columns == ["id", "value"]
    (rid, first), *_ = list(iter_csv_records(path, id_column="id"))
    assert rid == "1" and isinstance(first, Record)
    assert first.sections[0].columns == ["id", "value"]
    # A stream opened as plain UTF-8 still has the BOM as a character: it is dropped too.
    stream = io.StringIO("\ufeffid,value\n1,NA\n", newline="")
    (_, streamed), *_ = list(iter_csv_records(stream))
    assert isinstance(streamed, Record)
    assert streamed.sections[0].columns == ["id", "value"]


@pytest.mark.parametrize("content", ["", "\n\n", "\ufeff", "  \n\r\n"])
def test_empty_file(tmp_path: Path, content: str) -> None:
    path = write(tmp_path, "empty.csv", content)
    with pytest.raises(RecordParseError, match="empty"):
        read_csv(path)
    with pytest.raises(RecordParseError, match="empty"):
        next(iter_csv_records(path))


def test_header_only_file(tmp_path: Path) -> None:
    path = write(tmp_path, "header.csv", "id,name\n\n")
    with pytest.raises(RecordParseError, match="no data rows"):
        read_csv(path)
    assert list(iter_csv_records(path)) == []


def test_undecodable_bytes_are_named_by_line(tmp_path: Path) -> None:
    path = tmp_path / "latin1.csv"
    path.write_bytes("id,name\n1,ok\n2,Jos\xe9\n".encode("latin-1"))
    with pytest.raises(RecordParseError) as info:
        read_csv(path)
    assert info.value.where == "line 3"
    assert cell(read_csv(path, encoding="latin-1"), 2, "name") == "Jos\xe9"


def test_missing_file_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such file"):
        read_csv(tmp_path / "nope.csv")


# --------------------------------------------------------------------------- DataFrames


def test_from_dataframe_exact_strings_and_missing_values() -> None:
    df = pd.DataFrame(
        {
            "line": ["Net sales", "Other", None],
            "fy2023": [383285.0, np.nan, -565.0],  # an int column that picked up a NaN
            "eps": np.array([6.16, 6.13, 0.1], dtype=np.float32),
            "shares": pd.array([15744231, None, 3], dtype="Int64"),
            "code": ["00123", "NA", "None"],
            "when": pd.to_datetime(
                pd.Series(["2023-09-30", None, "2023-01-01 10:30"]), format="ISO8601"
            ),
        }
    )
    record = from_dataframe(
        df, record_id="apple", title="Income", meta={"source": "10-K"}, scale="millions"
    )
    assert record.sections[0].title == "Income"
    assert record.meta["source"] == "10-K"
    assert as_grid(record.sections[0]) == [
        ["Net sales", "383285", "6.16", "15744231", "00123", "2023-09-30"],
        ["Other", "", "6.13", "", "NA", ""],
        ["", "-565", "0.1", "3", "None", "2023-01-01T10:30:00"],
    ]
    assert record.meta["scale"] == "millions"
    assert record.meta["missing_cells"] == "4"
    assert json.loads(record.meta["dtypes"]) == {
        "line": "str",
        "fy2023": "float",
        "eps": "float",
        "shares": "int",
        "code": "str",
        "when": "date",
    }
    assert cell(record, 3, "fy2023") == "-565"


def test_from_dataframe_index_and_duplicates() -> None:
    df = pd.DataFrame({"Category": ["Net sales", "Net income"], "2023": [383285, 96995]})
    indexed = from_dataframe(df.set_index("Category"))
    assert indexed.sections[0].columns == ["Category", "2023"]
    assert cell(indexed, 2, "Category") == "Net income"
    filtered = from_dataframe(df[df["2023"] < 100_000])  # positional index is dropped
    assert filtered.sections[0].columns == ["Category", "2023"]
    assert cell(filtered, 1, "2023") == "96995"
    duplicated = pd.DataFrame([[1, 2]], columns=["id", "id"])
    with pytest.raises(RecordParseError, match="'id'"):
        from_dataframe(duplicated)
    with pytest.raises(RecordParseError, match="no rows"):
        from_dataframe(df.iloc[0:0])


def test_to_dataframe_round_trip_through_from_dataframe() -> None:
    record = read_csv(ACME_INCOME)
    frame = to_dataframe(record.sections[0])
    again = from_dataframe(frame, title=record.sections[0].title)
    # The row-number index comes back as a "row" column; the rest is identical.
    assert again.sections[0].columns == ["row", *record.sections[0].columns]
    assert [r[1:] for r in as_grid(again.sections[0])] == as_grid(record.sections[0])


# --------------------------------------------------------------------------- module hygiene


def test_pointer_helpers_invert_each_other() -> None:
    assert parse_pointer(cell_pointer(7, "a;col=b=c")) == (7, "a;col=b=c")
    with pytest.raises(ConfigurationError):
        parse_pointer("/entry/0")


def test_module_does_not_import_engines_or_vllm() -> None:
    tree = ast.parse(MODULE.read_text(encoding="utf-8"))
    imported: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            imported.append("." * node.level + (node.module or ""))
    assert not [name for name in imported if "engines" in name or "vllm" in name]
