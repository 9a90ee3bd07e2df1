"""What code reads from a contract's structure: title, preamble, parties, dates, jurisdiction.

- **Document Name**: the title line near the top (``... AGREEMENT``, ``... CONTRACT``...).
- **Preamble**: the first passage near the top saying who contracts with whom ("by and between",
  "entered into"); it holds the party names and usually the agreement date.
- **Parties**: each party's passage of the preamble (name and defined alias), with the name.
- **Dates**: written dates found with a pattern and parsed with ``python-dateutil``.
- **Governing law**: the jurisdiction named in the clause, from a fixed list (US states, Canadian
  provinces, countries).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime

from dateutil import parser as date_parser

__all__ = [
    "JURISDICTIONS",
    "Found",
    "agreement_date",
    "dates_in",
    "jurisdiction",
    "normalize_date",
    "parties",
    "preamble",
    "title",
]

#: Jurisdictions recognised in a governing-law clause (US states, Canadian provinces,
#: countries), longest first so "England and Wales" wins over "England".
JURISDICTIONS: tuple[str, ...] = (
    "People's Republic of China",
    "British Virgin Islands",
    "District of Columbia",
    "England and Wales",
    "British Columbia",
    "Cayman Islands",
    "North Carolina",
    "South Carolina",
    "United Kingdom",
    "Massachusetts",
    "New Hampshire",
    "United States",
    "West Virginia",
    "North Dakota",
    "Pennsylvania",
    "Rhode Island",
    "Saskatchewan",
    "South Africa",
    "South Dakota",
    "Connecticut",
    "Mississippi",
    "Netherlands",
    "New Zealand",
    "Nova Scotia",
    "Switzerland",
    "California",
    "Luxembourg",
    "New Jersey",
    "New Mexico",
    "Washington",
    "Argentina",
    "Australia",
    "Hong Kong",
    "Louisiana",
    "Minnesota",
    "Singapore",
    "Tennessee",
    "Wisconsin",
    "Arkansas",
    "Colorado",
    "Delaware",
    "Illinois",
    "Kentucky",
    "Manitoba",
    "Maryland",
    "Michigan",
    "Missouri",
    "Nebraska",
    "New York",
    "Oklahoma",
    "Scotland",
    "Virginia",
    "Alabama",
    "Alberta",
    "Arizona",
    "Austria",
    "Belgium",
    "Bermuda",
    "Denmark",
    "England",
    "Finland",
    "Florida",
    "Georgia",
    "Germany",
    "Indiana",
    "Ireland",
    "Montana",
    "Ontario",
    "Vermont",
    "Wyoming",
    "Alaska",
    "Brazil",
    "Canada",
    "Cyprus",
    "France",
    "Hawaii",
    "Israel",
    "Kansas",
    "Mexico",
    "Nevada",
    "Norway",
    "Oregon",
    "Quebec",
    "Sweden",
    "Taiwan",
    "Chile",
    "China",
    "Idaho",
    "India",
    "Italy",
    "Japan",
    "Korea",
    "Maine",
    "Spain",
    "Texas",
    "Iowa",
    "Ohio",
    "Utah",
)
_JURISDICTION = re.compile(
    r"\b(" + "|".join(re.escape(j) for j in JURISDICTIONS) + r")\b",
    re.IGNORECASE,
)
_CANONICAL_JURISDICTION = {j.casefold(): j for j in JURISDICTIONS}

_MONTH = (
    r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|"
    r"sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?"
)
#: A written date, complete or with blanks ("this ___ day of ______, 20__").
_DATE = re.compile(
    rf"\b(?:{_MONTH}\s+\d{{1,2}}(?:\s*(?:st|nd|rd|th))?,?\s+\d{{4}}"
    rf"|\d{{1,2}}\s*(?:st|nd|rd|th|t\s?h)?\s+(?:day\s+of\s+)?{_MONTH},?\s+\d{{4}}"
    r"|\d{4}-\d{2}-\d{2}|\d{1,2}/\d{1,2}/\d{2,4})"
    r"|\b(?:this\s+)?_*\s*day\s+of\s+_{2,}\s*,?\s*(?:19|20)?_*\d{0,2}",
    re.IGNORECASE,
)
_TITLE_WORD = re.compile(
    r"\b(AGREEMENT|CONTRACT|AMENDMENT|ADDENDUM|LICENSE|LEASE|ARRANGEMENT)\b", re.IGNORECASE
)
_PREAMBLE_CUE = re.compile(
    r"\b(?:by\s+and\s+(?:between|among)|between|among|entered\s+into|made\s+(?:and\s+entered\s+)?"
    r"(?:as\s+of|on|this)|dated)\b",
    re.IGNORECASE,
)
#: Where a title and a preamble are looked for (characters from the start).
TOP = 3000
#: A party name: capitalised words ending in a company suffix, or an all-caps name.
_PARTY = re.compile(
    r"((?:[A-Z0-9][\w&.'/-]*,?\s+){0,6}?"
    r"(?:Inc|Incorporated|LLC|L\.L\.C|Ltd|Limited|Corporation|Corp|Company|Co|L\.P|LP|LLP|GmbH|"
    r"AG|S\.A|N\.V|B\.V|plc|PLC|N\.A|INC|CORP|CORPORATION|LIMITED|COMPANY|LTD)\b\.?)"
)
_ALIAS = re.compile(r"\(\s*(?:[^()]{0,40}?)[\"\u201c']([^\"\u201d']{2,40})[\"\u201d']\s*\)")


@dataclass(frozen=True)
class Found:
    """A span of the source (``text == source[start:end]``) and the value read from it."""

    start: int
    end: int
    text: str
    value: str = ""


#: A run of upper-case words on one line ("NON-COMPETITION AGREEMENT AMENDMENT NO. 1").
_UPPER_RUN = re.compile(
    r"[A-Z0-9][A-Z0-9'&#.,()/-]*(?![a-z])(?:[ \t]{1,2}[A-Z0-9][A-Z0-9'&#.,()/-]*(?![a-z]))*"
)
_TRAILING = re.compile(r"(?:[ \t]+(?:BETWEEN|BY|AND|AMONG|OF|THE)\b:?)+$")
_LABEL = re.compile(r"^(?:(?:EXHIBIT|APPENDIX|SCHEDULE|ANNEX)\s+[A-Z0-9.()-]+\s*)+")


def title(source: str) -> Found | None:
    """The title near the top: the first run of upper-case words naming the kind of contract
    ("MASTER SERVICES AGREEMENT"), without a leading "EXHIBIT 10.2"; else a short line naming it."""
    for match in _UPPER_RUN.finditer(source, 0, min(len(source), TOP)):
        text = match.group(0)
        label = _LABEL.match(text)
        start = match.start() + (label.end() if label else 0)
        text = _TRAILING.sub("", source[start : match.end()].rstrip(" ,(:")).rstrip(" ,(:")
        kind = _TITLE_WORD.search(text)
        if kind is None or kind.group(0) != kind.group(0).upper() or len(text) > 100:
            continue
        if len(text.split()) >= 2:
            return Found(start, start + len(text), text, text)
    for match in re.finditer(r"[^\n]+", source[:TOP]):
        line = match.group(0).strip()
        if line and len(line) <= 100 and _TITLE_WORD.search(line) and line.istitle():
            start = match.start() + match.group(0).index(line)
            return Found(start, start + len(line), line, line)
    return None


def preamble(source: str, spans: list[tuple[int, int]]) -> Found | None:
    """The first span near the top that names the contracting parties ("by and between"...)."""
    for start, end in spans:
        if start >= TOP:
            break
        text = source[start:end]
        if _PREAMBLE_CUE.search(text) and (_PARTY.search(text) or _ALIAS.search(text)):
            return Found(start, end, text)
    return None


_DAY_OF = re.compile(r"\bday\s+of\b", re.IGNORECASE)


def normalize_date(value: str) -> date | None:
    """A complete calendar date written in ``value`` (ISO, US numeric or with a month name).

    ``None`` when it is not a date or lacks the day, month or year.
    """
    value = _DAY_OF.sub(" ", value).strip()
    if not value or len(value) > 60:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        pass
    try:
        # Parsed with two different defaults: a component missing from the text shows up as a
        # difference, so "January 2018" or "2001" is not mistaken for a full date.
        first = date_parser.parse(value, default=datetime(1, 1, 1))
        second = date_parser.parse(value, default=datetime(2, 2, 2))
    except (ValueError, OverflowError):  # dateutil's ParserError is a ValueError
        return None
    if first.date() != second.date():
        return None
    return first.date()


def dates_in(source: str, start: int, end: int) -> list[Found]:
    """Written dates in ``source[start:end]`` with their ISO value ("" when not a full date)."""
    found: list[Found] = []
    for match in _DATE.finditer(source, start, end):
        text = match.group(0).strip()
        at = match.start() + match.group(0).index(text)
        parsed = normalize_date(re.sub(r"(\d)\s*t\s?h\b", r"\1th", text))
        found.append(Found(at, at + len(text), text, parsed.isoformat() if parsed else ""))
    return found


def agreement_date(source: str, intro: Found | None) -> Found | None:
    """The date in the preamble, else the first date near the top."""
    if intro is not None:
        found = dates_in(source, intro.start, intro.end)
        if found:
            return found[0]
    found = dates_in(source, 0, min(len(source), TOP))
    return found[0] if found else None


def parties(source: str, intro: Found) -> list[Found]:
    """Each party's passage of the preamble (from its name to the next party's), with the name."""
    text = intro.text
    names = [m for m in _PARTY.finditer(text) if len(m.group(1).split()) >= 2]
    if not names:
        aliases = list(_ALIAS.finditer(text))
        return [
            Found(intro.start + m.start(), intro.start + m.end(), m.group(0), m.group(1))
            for m in aliases
        ]
    out: list[Found] = []
    for i, match in enumerate(names):
        start = match.start()
        stop = names[i + 1].start() if i + 1 < len(names) else len(text)
        segment = text[start:stop]
        alias = _ALIAS.search(segment)
        # The passage runs to the alias when there is one ("Acme Inc. ("Acme")"), else the name.
        end = start + (alias.end() if alias else match.end() - start)
        name = re.sub(r"\s+", " ", match.group(1)).strip(" ,")
        out.append(Found(intro.start + start, intro.start + end, text[start:end], name))
    return out


def jurisdiction(text: str) -> str:
    """The jurisdiction a governing-law clause names ("" when none of :data:`JURISDICTIONS`):
    the listed name nearest to a "law"/"laws" ("the laws of the State of X", "X law")."""
    names = list(_JURISDICTION.finditer(text))
    if not names:
        return ""
    laws = [m.start() for m in re.finditer(r"\blaws?\b", text, re.IGNORECASE)]
    if laws:
        nearest = min(names, key=lambda m: min(abs(m.start() - at) for at in laws))
    else:
        nearest = names[0]
    return _CANONICAL_JURISDICTION[nearest.group(1).casefold()]
