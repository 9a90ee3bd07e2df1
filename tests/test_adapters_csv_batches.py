"""CSV batches: iter_csv_records reads a (huge) CSV lazily, one record per row or per group, and
accounts for every row exactly once."""

from __future__ import annotations

import csv
import hashlib
import io
import tracemalloc
from pathlib import Path

import pandas as pd
import pytest

from structkit import ConfigurationError, RecordParseError, UnsafeInputError
from structkit.adapters import Record, iter_csv_records

from .table_helpers import as_grid, cell, write

# --------------------------------------------------------------------------- batches


def write_batch_with_broken_rows(tmp_path: Path) -> Path:
    lines = [
        "patient_id,age,note",
        "p01,67,chest pain",
        "p02,54,NA",
        "p03,71",  # short
        "p04,45,ok",
        "p05,38,a,b",  # long
        'p06,29,"multi',
        'line note"',
        'p07,50,bad "quote" inside',  # legal: a quote inside an unquoted field
        'p08,61,"closed"junk',  # strict CSV: text after a closing quote
        "p09,44,fine",
        "",
        "p10,80,last",
    ]
    return write(tmp_path, "batch.csv", "\n".join(lines) + "\n")


def test_iter_yields_every_row_once_in_order_with_errors_only_for_broken(
    tmp_path: Path,
) -> None:
    path = write_batch_with_broken_rows(tmp_path)
    results = list(iter_csv_records(path, id_column="patient_id", chunk_rows=3))
    kinds = [(rid, type(out).__name__) for rid, out in results]
    good = [rid for rid, out in results if isinstance(out, Record)]
    assert good == ["p01", "p02", "p04", "p06", "p07", "p09", "p10"]
    assert len(results) == 10  # ten data rows, ten outcomes
    errors = [(rid, out) for rid, out in results if not isinstance(out, Record)]
    assert [type(e).__name__ for _, e in errors] == ["RecordParseError"] * 3
    assert [e.where for _, e in errors] == ["line 4", "line 6", "line 10"]
    # Order follows the file: error for row 3 comes between p02 and p04.
    assert kinds[2][1] == "RecordParseError" and kinds[4][1] == "RecordParseError"
    # Pointers carry the row number in the whole file, so they lead back to the source.
    rows = {rid: out for rid, out in results if isinstance(out, Record)}
    assert rows["p04"].sections[0].rows[0][0].pointer == "row=4;col=patient_id"
    assert cell(rows["p06"], 6, "note") == "multi\nline note"
    assert cell(rows["p07"], 7, "note") == 'bad "quote" inside'
    assert cell(rows["p10"], 10, "age") == "80"
    assert cell(rows["p02"], 2, "note") == "NA"
    # Ids of broken rows are content hashes (their field positions are not trustworthy).
    short_id, short_error = errors[0]
    assert short_id == hashlib.sha256(b'["p03","71"]').hexdigest()[:16]
    assert short_error.record_id == short_id


def test_iter_content_hash_ids_are_stable(tmp_path: Path) -> None:
    path = write(tmp_path, "h.csv", "a,b\n1,x\n2,y\n")
    first = [rid for rid, _ in iter_csv_records(path)]
    second = [rid for rid, _ in iter_csv_records(path)]
    assert first == second
    assert first[0] == hashlib.sha256(b'["1","x"]').hexdigest()[:16]
    assert all(len(rid) == 16 for rid in first)


def test_iter_duplicate_ids_error_for_later_ones(tmp_path: Path) -> None:
    path = write(tmp_path, "d.csv", "id,v\nA,1\nB,2\nA,3\n,4\n")
    results = list(iter_csv_records(path, id_column="id"))
    assert [rid for rid, _ in results][:3] == ["A", "B", "A"]
    assert isinstance(results[0][1], Record)
    assert cell(results[0][1], 1, "v") == "1"  # the first one wins
    assert isinstance(results[2][1], RecordParseError)
    assert "duplicate record id" in str(results[2][1])
    assert results[2][1].where == "line 4"
    assert isinstance(results[3][1], RecordParseError)  # an empty id
    assert "empty id" in str(results[3][1])
    # Identical rows without an id column have the same content hash: the later one errors.
    same = write(tmp_path, "same.csv", "a\n1\n1\n")
    outcomes = [type(out).__name__ for _, out in iter_csv_records(same)]
    assert outcomes == ["Record", "RecordParseError"]


def test_iter_group_by_consecutive_rows(tmp_path: Path) -> None:
    text = "patient,test,value\nP1,hb,13.2\nP1,wbc,7.1\nP2,hb,11.0\nP2,wbc\nP2,plt,250\nP1,hb,12\n"
    path = write(tmp_path, "g.csv", text)
    results = list(iter_csv_records(path, group_by="patient"))
    assert [(rid, type(o).__name__) for rid, o in results] == [
        ("P1", "Record"),
        (hashlib.sha256(b'["P2","wbc"]').hexdigest()[:16], "RecordParseError"),
        ("P2", "Record"),
        ("P1", "RecordParseError"),  # not consecutive with the first P1 run: a duplicate id
    ]
    p1, p2 = results[0][1], results[2][1]
    assert isinstance(p1, Record) and isinstance(p2, Record)
    assert as_grid(p1.sections[0]) == [["P1", "hb", "13.2"], ["P1", "wbc", "7.1"]]
    assert [r[0].pointer for r in p2.sections[0].rows] == ["row=3;col=patient", "row=5;col=patient"]
    with pytest.raises(ConfigurationError):
        iter_csv_records(path, group_by="patient", id_column="test")
    with pytest.raises(ConfigurationError):
        next(iter_csv_records(path, group_by="nope"))


def test_iter_dtypes_and_units_per_record(tmp_path: Path) -> None:
    path = write(tmp_path, "u.csv", "(in thousands)\nid,amount\na,(1,200)\nb,12x\n")
    text = path.read_text().replace("(1,200)", '"(1,200)"')
    path.write_text(text)
    results = list(iter_csv_records(path, id_column="id", dtypes={"amount": "int"}, currency="USD"))
    (_, a), (rid_b, b) = results
    assert isinstance(a, Record)
    assert a.meta == {"currency": "USD", "scale": "thousands", "preamble": "(in thousands)"}
    assert cell(a, 1, "amount") == "(1,200)"
    assert rid_b == "b" and isinstance(b, RecordParseError)
    assert "'amount' row 2 is not a valid int" in str(b)
    assert "12x" not in str(b)


def test_iter_huge_field_is_one_row_error_and_long_line_stops(tmp_path: Path) -> None:
    path = write(tmp_path, "f.csv", "a,b\n1,ok\n2," + "z" * 500 + "\n3,ok\n")
    results = list(iter_csv_records(path, max_field_chars=100))
    assert [type(o).__name__ for _, o in results] == ["Record", "UnsafeInputError", "Record"]
    stream = iter_csv_records(path, max_line_chars=100)
    assert isinstance(next(stream)[1], Record)  # rows before the long line are not lost
    with pytest.raises(UnsafeInputError, match="longer than 100 characters") as info:
        next(stream)
    assert info.value.where == "line 3"
    assert info.value.record_id == "f.csv"


def test_iter_accepts_an_open_stream_and_leaves_it_open() -> None:
    stream = io.StringIO("id,v\nx,1\ny,2\n", newline="")
    ids = [rid for rid, _ in iter_csv_records(stream, id_column="id")]
    assert ids == ["x", "y"]
    assert not stream.closed


def _big_csv(path: Path, rows: int, *, note_chars: int) -> None:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "name", "amount", "date", "note"])
        for n in range(rows):
            writer.writerow([f"r{n:06d}", f"name {n}", str(n * 7), "2024-01-01", "x" * note_chars])


def test_iter_streams_lazily_with_bounded_memory(tmp_path: Path) -> None:
    path = tmp_path / "big.csv"
    # Wide rows, so that holding every row (the failure this test is for) would cost far more
    # than the reader's fixed overhead (about 3 MB, measured: pandas' chunk parser and the ids
    # already seen). With short rows, pandas 3's compact strings made the whole frame only
    # about twice that overhead, too close to tell a lazy reader from one that holds the file.
    _big_csv(path, 25_000, note_chars=500)
    size = path.stat().st_size
    # Lazy: after the first record only about one chunk of the file has been read.
    with path.open(encoding="utf-8", newline="") as stream:
        records = iter_csv_records(stream, id_column="id", chunk_rows=1000)
        rid, first = next(records)
        assert rid == "r000000" and isinstance(first, Record)
        assert stream.tell() < size / 20
    frame_bytes = int(pd.read_csv(path, dtype=str).memory_usage(deep=True).sum())
    tracemalloc.start()
    try:
        count = 0
        last: tuple[str, object] = ("", None)
        for item in iter_csv_records(path, id_column="id", chunk_rows=1000):
            count += 1
            last = item
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert count == 25_000
    assert last[0] == "r024999"
    # Most of the peak is the set of ids already seen (for the duplicate check, ~90 bytes a
    # record); rows themselves are held one chunk at a time.
    assert peak < frame_bytes / 2, (peak, frame_bytes)
