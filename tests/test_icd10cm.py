"""The ICD-10-CM lookups read a table derived once per machine from ``simple_icd_10_cm``; they
must answer exactly as the package does, and a missing, corrupt or unwritable cache only costs
time."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from structkit.clinical import icd10cm
from structkit.clinical.icd10cm import is_billable, related, search_titles, title_of


@pytest.fixture
def fresh_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv("STRUCTKIT_CACHE_DIR", str(tmp_path))
    icd10cm._items.cache_clear()
    icd10cm._index.cache_clear()
    yield tmp_path
    icd10cm._items.cache_clear()
    icd10cm._index.cache_clear()


@pytest.fixture(scope="module")
def derived() -> dict[str, icd10cm._Item]:
    return icd10cm._derive()


def test_lookups_accept_any_spelling_of_a_code() -> None:
    assert title_of("E11.9") == "Type 2 diabetes mellitus without complications"
    assert title_of("e119") == title_of(" E11.9 ") == title_of("E11.9")
    assert title_of("E11") == "Type 2 diabetes mellitus"
    assert title_of("E11.") is None and title_of("") is None and title_of("not a code") is None
    assert is_billable("E119") and not is_billable("E11") and not is_billable("ZZZ")


def test_related_means_ancestor_either_way() -> None:
    assert related("E11", "E11.9") and related("E119", "E11")
    assert related("E08-E13", "E11.65") and related("E11.65", "4")  # its block and chapter
    assert not related("E11.9", "E11.9")  # the same code is not "related", it is equal
    assert not related("E11.9", "E10.9") and not related("E11.9", "nonsense")


def test_lookups_agree_with_the_package(derived: dict[str, icd10cm._Item]) -> None:
    import simple_icd_10_cm as cm  # type: ignore[import-untyped]

    # S52.301B's official title holds a tab; B99 names both a block and a category.
    for code in ["I10", "J18.9", "N18.30", "E78.5", "Z79.4", "F32.A", "A00-A09", "S52.301B", "B99"]:
        assert title_of(code) == cm.get_description(code)
        assert is_billable(code) == bool(cm.is_leaf(code))
    assert len(derived) == len(set(cm.get_all_codes(with_dots=True)))
    assert search_titles("essential hypertension")[0][0] == "I10"


def test_the_table_is_written_once_and_read_after(
    fresh_cache: Path, derived: dict[str, icd10cm._Item], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(icd10cm, "_derive", lambda: dict(derived))
    assert title_of("I10") == "Essential (primary) hypertension"
    [table] = fresh_cache.glob("icd10cm-*.tsv")
    assert len(table.read_text(encoding="utf-8").splitlines()) == len(derived)

    def must_not_derive() -> dict[str, icd10cm._Item]:
        raise AssertionError("the cached table should have been read")

    monkeypatch.setattr(icd10cm, "_derive", must_not_derive)
    icd10cm._items.cache_clear()
    assert icd10cm._items() == derived
    assert "\t" in title_of("S52.301B")  # type: ignore[operator]


@pytest.mark.parametrize("content", ["", "I10\tbroken line\n"])
def test_a_corrupt_table_is_rebuilt(
    fresh_cache: Path,
    derived: dict[str, icd10cm._Item],
    monkeypatch: pytest.MonkeyPatch,
    content: str,
) -> None:
    monkeypatch.setattr(icd10cm, "_derive", lambda: dict(derived))
    icd10cm._items()
    [table] = fresh_cache.glob("icd10cm-*.tsv")
    table.write_text(content, encoding="utf-8")
    icd10cm._items.cache_clear()
    assert title_of("I10") == "Essential (primary) hypertension"
    assert len(table.read_text(encoding="utf-8").splitlines()) == len(derived)


def test_an_unwritable_cache_only_costs_time(
    tmp_path: Path, derived: dict[str, icd10cm._Item], monkeypatch: pytest.MonkeyPatch
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder", encoding="utf-8")
    monkeypatch.setenv("STRUCTKIT_CACHE_DIR", str(blocker / "cache"))
    monkeypatch.setattr(icd10cm, "_derive", lambda: dict(derived))
    icd10cm._items.cache_clear()
    try:
        assert is_billable("I10")
    finally:
        icd10cm._items.cache_clear()
    assert not list(tmp_path.glob("**/*.tsv")) and not list(tmp_path.glob("**/*.tmp"))


def test_a_category_named_like_its_block_is_not_its_own_ancestor() -> None:
    # B99 is both a block and the category in it; the package calls the category its own parent
    assert related("B99.9", "B99") and related("B99", "1") and related("B99.9", "1")
    assert not related("B99", "B99")
