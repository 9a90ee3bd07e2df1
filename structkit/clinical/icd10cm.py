"""ICD-10-CM: verification against the official code list and search of its titles.

The code list is the one shipped by the kept package ``simple-icd-10-cm`` (CMS/CDC ICD-10-CM
release it bundles). A code is *verified* when the package knows it; its title is always the
package's, never the model's or the record's wording.
"""

from __future__ import annotations

import functools
import importlib.metadata
import re
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from .._config import cache_root, write_cached

__all__ = ["is_billable", "related", "search_titles", "title_of"]

_STOP = frozenset(
    [
        "of",
        "the",
        "and",
        "or",
        "in",
        "with",
        "without",
        "due",
        "to",
        "to",
        "by",
        "for",
        "a",
        "an",
        "on",
        "other",
        "unspecified",
        "not",
        "elsewhere",
        "classified",
        "nos",
        "type",
        "disorder",
        "disease",
        "finding",
        "situation",
    ]
)


# Bumped whenever _derive changes what it writes, so a table derived by older code is not read.
_TABLE_FORMAT = 2


@dataclass(frozen=True)
class _Item:
    title: str
    parent: str  # "" for a chapter
    leaf: bool


@functools.cache
def _items() -> dict[str, _Item]:
    """Every item of the code list (chapters, blocks, codes with their dots), read from a table
    derived once per machine: importing ``simple_icd_10_cm`` parses its whole XML release
    (~5 s on a 2-core host), the derived table loads in a tenth of that."""
    version = importlib.metadata.version("simple-icd-10-cm")
    path = cache_root() / f"icd10cm-{version}-t{_TABLE_FORMAT}.tsv"
    try:
        return _read(path)
    except (OSError, ValueError):
        items = _derive()
        write_cached(path, _table(items))
        return items


def _derive() -> dict[str, _Item]:
    import simple_icd_10_cm as cm  # type: ignore[import-untyped]

    def parent(code: str) -> str:
        # 39 categories share their name with the block holding them (B99 in block "B99"): the
        # package answers the category as its own parent, so step to the block's parent.
        above = str(cm.get_parent(code))
        if above != code:
            return above
        return next((str(a) for a in cm.get_ancestors(code) if a != code), "")

    return {
        code: _Item(str(cm.get_description(code)), parent(code), bool(cm.is_leaf(code)))
        for code in cm.get_all_codes(with_dots=True)
    }


def _read(path: Path) -> dict[str, _Item]:
    items = {}
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            code, parent, leaf, title = line.rstrip("\n").split("\t", 3)  # titles hold tabs
            items[code] = _Item(title, parent, leaf == "1")
    if not items:
        raise ValueError(f"{path} is empty")
    return items


def _table(items: dict[str, _Item]) -> str:
    return "".join(
        f"{code}\t{item.parent}\t{int(item.leaf)}\t{item.title}\n" for code, item in items.items()
    )


def _key(code: str) -> str | None:
    """The list's spelling of ``code`` as a record may write it: any case, with or without its
    dot; None when it is not an item of the list."""
    code = code.strip().upper()
    if code in _items():
        return code
    dotted = f"{code[:3]}.{code[3:]}"
    return dotted if len(code) > 3 and "." not in code and dotted in _items() else None


def _item(code: str) -> _Item | None:
    key = _key(code)
    return _items()[key] if key else None


def title_of(code: str) -> str | None:
    """The official title of ``code`` (with or without its dot), or None if it is not a code."""
    item = _item(code)
    return item.title if item else None


def is_billable(code: str) -> bool:
    """True for a leaf code (the level a claim or a problem list uses)."""
    item = _item(code)
    return bool(item and item.leaf)


def _words(text: str) -> set[str]:
    words = re.findall(r"[a-z0-9]+", text.lower())
    return {w.rstrip("s") if len(w) > 4 else w for w in words if w not in _STOP}


@functools.cache
def _index() -> tuple[dict[str, set[str]], dict[str, list[str]]]:
    words_of: dict[str, set[str]] = {}
    codes_with: dict[str, list[str]] = defaultdict(list)
    for code, item in _items().items():
        if not item.leaf:
            continue
        words = _words(item.title)
        words_of[code] = words
        for word in words:
            codes_with[word].append(code)
    return words_of, dict(codes_with)


def search_titles(text: str, *, limit: int = 3, min_score: float = 0.5) -> list[tuple[str, float]]:
    """Leaf codes whose title best matches ``text`` (Jaccard overlap of content words)."""
    query = _words(text)
    if not query:
        return []
    words_of, codes_with = _index()
    pool = {c for w in query for c in codes_with.get(w, ())}
    scored = []
    for code in pool:
        words = words_of[code]
        score = len(query & words) / len(query | words)
        if score >= min_score:
            scored.append((round(score, 3), code))
    scored.sort(key=lambda item: (-item[0], len(item[1]), item[1]))
    return [(code, score) for score, code in scored[:limit]]


def related(a: str, b: str) -> bool:
    """True when one code is the other's ancestor (E11 and E11.9 are the same condition here)."""
    first, second = _key(a), _key(b)
    if first is None or second is None or first == second:
        return False
    return second in _ancestors(first) or first in _ancestors(second)


def _ancestors(code: str) -> set[str]:
    found, items = set(), _items()
    while (parent := items[code].parent) and parent not in found:  # a cycle cannot hang us
        found.add(parent)
        code = parent
    return found
