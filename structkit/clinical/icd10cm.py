"""ICD-10-CM: verification against the official code list and search of its titles.

The code list is the one shipped by the kept package ``simple-icd-10-cm`` (CMS/CDC ICD-10-CM
release it bundles). A code is *verified* when the package knows it; its title is always the
package's, never the model's or the record's wording.
"""

from __future__ import annotations

import functools
import re
from collections import defaultdict
from typing import Any

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


@functools.cache
def _cm() -> Any:
    import simple_icd_10_cm as cm  # type: ignore[import-untyped]  # imported lazily: loading the code list takes ~1 s

    return cm


def title_of(code: str) -> str | None:
    """The official title of ``code`` (with or without its dot), or None if it is not a code."""
    cm = _cm()
    code = code.strip().upper()
    if not code or not cm.is_valid_item(code):
        return None
    return str(cm.get_description(code))


def is_billable(code: str) -> bool:
    """True for a leaf code (the level a claim or a problem list uses)."""
    cm = _cm()
    return bool(cm.is_valid_item(code) and cm.is_leaf(code))


def _words(text: str) -> set[str]:
    words = re.findall(r"[a-z0-9]+", text.lower())
    return {w.rstrip("s") if len(w) > 4 else w for w in words if w not in _STOP}


@functools.cache
def _index() -> tuple[dict[str, set[str]], dict[str, list[str]]]:
    cm = _cm()
    words_of: dict[str, set[str]] = {}
    codes_with: dict[str, list[str]] = defaultdict(list)
    codes = sorted(c for c in cm.get_all_codes(with_dots=True) if "-" not in c)
    # A leaf is a code no other code extends (cheaper than asking the package 74k times).
    leaves = [
        c for c, after in zip(codes, [*codes[1:], ""], strict=True) if not after.startswith(c)
    ]
    for code in leaves:
        words = _words(cm.get_description(code))
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
    cm = _cm()
    return bool(
        cm.is_valid_item(a)
        and cm.is_valid_item(b)
        and (cm.is_ancestor(a, b) or cm.is_ancestor(b, a))
    )
