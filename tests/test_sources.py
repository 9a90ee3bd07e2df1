"""One reader decides "file or content" for every adapter, with one size policy."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import structkit
from structkit import FakeEngine, InputError, UnsafeInputError
from structkit.adapters import load

MISSING = ["no_such_contract.txt", "no_such.csv", "no_such.json", "no_such.xml", "no_such.md"]


@pytest.mark.parametrize("name", MISSING)
def test_a_missing_path_is_an_input_error_that_names_it(name: str, tmp_path: Path) -> None:
    with pytest.raises(InputError, match=re.escape(f"no such file: '{name}'")):
        load(str(tmp_path / name))
    with pytest.raises(InputError, match="no such file"):
        load(tmp_path / name)


def test_a_typo_in_a_contract_path_never_reaches_the_model() -> None:
    engine = FakeEngine(lambda request: pytest.fail("the model was called"))
    with pytest.raises(InputError, match=r"no such file: 'typo\.txt'"):
        structkit.extract_clauses("typo.txt", engine=engine)


def test_one_line_content_is_never_named_in_the_error() -> None:
    note = "Jane Doe, 67, chest pain since 3 days"
    with pytest.raises(InputError) as info:
        load(note)
    assert "Jane" not in str(info.value)


@pytest.mark.parametrize("suffix", [".txt", ".csv", ".json", ".xml", ".md"])
def test_every_adapter_applies_the_same_size_limit(suffix: str, tmp_path: Path) -> None:
    content = {
        ".txt": "word " * 100,
        ".csv": "a,b\n" + "1,2\n" * 100,
        ".json": '{"a": "' + "x" * 400 + '"}',
        ".xml": "<a>" + "x" * 400 + "</a>",
        ".md": "| a |\n|---|\n" + "| 1 |\n" * 100,
    }[suffix]
    path = tmp_path / f"big{suffix}"
    path.write_text(content)
    with pytest.raises(UnsafeInputError, match="larger than 100 bytes"):
        load(path, max_bytes=100) if suffix != ".md" else _load_md(path)


def _load_md(path: Path) -> None:
    from structkit.adapters._source import read_source

    read_source(path, record_id=None, default_id="markdown", max_bytes=100)


def test_a_folder_is_not_a_record(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"not a regular file|not an existing file"):
        load(str(tmp_path) + "/")
