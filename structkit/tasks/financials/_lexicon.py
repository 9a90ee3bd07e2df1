"""Row label -> canonical metric, in code: a lexicon of US GAAP, IFRS and UK wordings.

Real statements name their line items from a small vocabulary ("Net sales", "Revenue",
"Turnover"; "Net cash provided by operating activities", "Cash generated from operations"). Each
metric has patterns, most specific first, matched with ``re.fullmatch`` on the label normalized
by :func:`._statement._norm` (case, punctuation, quotes and spacing do not matter).

Statements also use labels that mean something only under their heading: "Total" under
"Current liabilities:", "Basic" under "Earnings per share:" or under "Shares used in computing
earnings per share:", "Net cash used in" under "Investing activities:". :func:`map_rows` walks the
rows in order and keeps the current heading (a row with no numbers) so those are placed too.

A metric is given to at most one row per table section: the row matching the metric's earliest
pattern, the first such row on a tie. Rows nothing matches are left for the model (question mode)
or unmapped (baseline).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from ._statement import _norm, _Row, _Table

__all__ = ["CONTEXT_LABELS", "LEXICON", "LexiconMatch", "heading_context", "map_rows"]

# Words that make a label about a part, a per-share figure or another entity's share: a label
# with one of them is never the consolidated total the plain wording would be.
_NOT_TOTAL = r"(?!.*\b(?:noncontrolling|non controlling|minority|discontinued|per share)\b)"

_CASH_FLOW = (
    r"(?:total )?(?:net )?(?:cash|cash flows?)(?: flows?)?(?: inflows?| outflows?)?"
    r"(?: (?:provided|generated|used|from|by|in|inflow|outflow|absorbed|received|paid))*"
    r" {kind} activities(?: continuing operations)?"
)

LEXICON: dict[str, tuple[str, ...]] = {
    "revenue": (
        r"total net sales",
        r"total net revenues?",
        r"total revenues?(?: net)?",
        r"total operating revenues?",
        r"total sales",
        r"net sales",
        r"net revenues?",
        r"revenues?(?: net)?",
        r"operating revenues?",
        r"sales(?: revenue)?",
        r"turnover",
        r"revenue from contracts? with customers",
        r"revenues? from operations",
    ),
    "cost_of_revenue": (
        r"total cost of (?:net )?(?:sales|revenues?|goods sold)",
        r"cost of (?:net )?(?:sales|revenues?|goods sold|products sold)",
        r"cost of (?:goods|products) and services sold",
        r"cost of sales and services",
    ),
    "gross_profit": (r"gross profit(?: loss)?", r"gross margin", r"gross loss"),
    "operating_expenses": (
        r"total operating expenses",
        r"total costs and expenses",
        r"operating expenses",
    ),
    "operating_income": (
        r"operating income(?: loss)?",
        r"operating loss(?: income)?",
        r"(?:income|loss|profit)(?: loss| income)? from operations",
        r"operating profit(?: loss)?",
        r"income loss from operations",
        r"earnings from operations",
    ),
    "pretax_income": (
        r"(?:income|earnings|profit|loss)(?: loss| income)?(?: from continuing operations)?"
        r" before (?:provision for )?"
        r"(?:income )?tax(?:es|ation)?(?: expense)?",
        r"(?:profit|loss)(?: loss)? on ordinary activities before tax(?:ation)?",
        r"profit before tax(?:ation)?",
    ),
    "income_tax": (
        r"(?:provision for|benefit from|benefit for)(?: benefit from| provision for)?"
        r" income taxes",
        r"provision for income taxes",
        r"income tax(?:es)?(?: expense| benefit| provision)*(?: benefit| expense)?",
        r"income tax(?:es)?(?: expense)?(?: benefit)? (?:on|from) continuing operations",
        r"tax on (?:profit|loss)(?: on ordinary activities)?",
        r"taxation",
        r"income tax expense",
    ),
    "net_income": (
        # "... attributable to <the company / its shareholders>": the parent's net income (not
        # the noncontrolling interests', not what is left for common stock after preferred).
        r"net (?:income|earnings|profit)(?: loss)? attributable to "
        r"(?!.*\b(?:noncontrolling|non controlling|minority|common stock|preferred)\b).+",
        r"net (?:income|earnings|profit)(?: loss)?",
        r"net loss(?: income)?",
        r"(?:profit|loss)(?: loss| profit)? for the (?:year|period|financial year)",
        r"(?:profit|loss)(?: loss| profit)? for the (?:year|period) attributable to owners of the"
        r" (?:parent|company)",
    ),
    "eps_basic": (
        r"basic (?:net )?(?:income|earnings)(?: loss)? per (?:common |ordinary )?share"
        r"(?: attributable to[\w ]+)?",
        r"(?:basic|basic net income|basic earnings) per (?:common |ordinary )?share",
        r"(?:net )?(?:income|earnings|loss)(?: loss)? per (?:common |ordinary )?share basic",
        r"earnings per share basic",
        r"basic earnings loss per share",
    ),
    "eps_diluted": (
        r"diluted (?:net )?(?:income|earnings)(?: loss)? per (?:common |ordinary )?share"
        r"(?: attributable to[\w ]+)?",
        r"(?:diluted|diluted net income|diluted earnings) per (?:common |ordinary )?share",
        r"(?:net )?(?:income|earnings|loss)(?: loss)? per (?:common |ordinary )?share diluted",
        r"earnings per share diluted",
        r"diluted earnings loss per share",
    ),
    "shares_basic": (
        r"weighted average (?:number of )?(?:common |ordinary )?shares"
        r"(?: outstanding)?(?: used in computing[\w ]*)? basic",
        r"basic weighted average (?:number of )?(?:common |ordinary )?shares(?: outstanding)?",
        r"shares used in computing (?:basic )?(?:net income|earnings) per share basic",
    ),
    "shares_diluted": (
        r"weighted average (?:number of )?(?:common |ordinary )?shares"
        r"(?: outstanding)?(?: used in computing[\w ]*)? diluted",
        r"diluted weighted average (?:number of )?(?:common |ordinary )?shares(?: outstanding)?",
        r"shares used in computing (?:diluted )?(?:net income|earnings) per share diluted",
    ),
    "cash_and_equivalents": (
        r"cash and cash equivalents",
        r"cash and equivalents",
        r"cash",
        r"cash at bank and in hand",
        r"cash and bank balances",
    ),
    "total_current_assets": (r"total current assets",),
    "total_non_current_assets": (
        r"total non current assets",
        r"total noncurrent assets",
        r"total long term assets",
    ),
    "total_assets": (r"total assets",),
    "total_current_liabilities": (
        r"total current liabilities",
        r"creditors amounts falling due within one year",
    ),
    "total_non_current_liabilities": (
        r"total non current liabilities",
        r"total noncurrent liabilities",
        r"total long term liabilities",
    ),
    "total_liabilities": (r"total liabilities",),
    "long_term_debt": (
        r"long term debt(?: net)?(?: (?:net of|less|excluding) current (?:portion|maturities))?"
        r"(?: net)?",
        r"long term debt non current",
        r"term debt non current",
        r"debt due after one year",
        r"non current borrowings",
        r"borrowings non current",
        r"long term borrowings",
        r"debt and finance leases net of current portion",
    ),
    "shareholders_equity": (
        # "Total Oracle Corporation stockholders' equity", "Total common shareholders' equity":
        # the parent's, before a plain "Total stockholders' equity" that includes the NCI.
        r"total (?!liabilities\b)[\w ]+ (?:stockholders|shareholders)(?: equity| deficit)+"
        + _NOT_TOTAL,
        r"total (?:stockholders|shareholders)(?: equity| deficit)+",
        r"total (?:common )?(?:stockholders|shareholders)(?: equity)?(?: deficit)?(?: equity)?",
        r"total equity attributable to (?:owners|equity holders|shareholders) of the"
        r" (?:parent|company)",
        r"total (?:stockholders|shareholders) equity deficit",
        r"total equity(?: deficit)?",
        r"(?:stockholders|shareholders) equity",
        r"total shareholders funds",
        r"shareholders funds",
    ),
    "total_liabilities_and_equity": (
        r"total liabilities(?: redeemable[\w ]*)? and (?:common )?(?:stockholders|shareholders)?"
        r" ?(?:equity|deficit)(?: deficit)?",
        r"total liabilities and equity",
        r"total liabilities (?:stockholders|shareholders) equity",
    ),
    "noncontrolling_interest": (
        r"(?:total )?non ?controlling interests?(?: in (?:consolidated )?subsidiaries)?",
        r"minority interests?",
    ),
    "temporary_equity": (
        r"redeemable non ?controlling interests?(?: in (?:consolidated )?subsidiaries)?",
        r"(?:total )?(?:temporary|mezzanine) equity",
    ),
    "operating_cash_flow": (
        _CASH_FLOW.format(kind="operating"),
        r"cash generated (?:by|from) operations",
        r"net cash (?:inflow|outflow) from operating activities",
    ),
    "investing_cash_flow": (_CASH_FLOW.format(kind="investing"),),
    "financing_cash_flow": (_CASH_FLOW.format(kind="financing"),),
    "capital_expenditures": (
        r"capital expenditures?(?: net)?",
        r"capital investments",
        r"(?:payments?(?: made)? (?:for|to acquire)|purchases? of|acquisitions? of|additions to"
        r"|expenditures? (?:for|on))(?: the)?(?: acquisition of| purchase of)?"
        r" (?:property|premises|fixed assets|tangible (?:fixed )?assets|plant and equipment)\b"
        r"(?!.*\bproceeds\b).*",
    ),
    "depreciation_amortization": (
        r"depreciation(?: depletion)? and amortization(?: expense)?",
        r"depreciation(?: depletion)? and amortisation(?: expense)?",
        r"depreciation amortization and impairment",
        r"depreciation and amortization of [\w ]+",
        r"depreciation and impairment(?: of[\w ]+)?",
    ),
    "dividends_paid": (
        r"(?:cash )?dividends paid(?: to[\w ]+)?",
        r"payments? (?:of|for) (?:cash )?dividends(?: and dividend equivalents)?(?: to[\w ]+)?",
        r"(?:cash )?dividends(?: on common stock)?",
        r"equity dividends paid",
    ),
    "share_repurchases": (
        r"(?:repurchases?|purchases?|buy ?backs?) of (?:common |ordinary |treasury |own )?"
        r"(?:stock|shares)(?: and[\w ]+)?",
        r"payments? for (?:the )?(?:repurchase|purchase) of (?:common |ordinary |treasury |own )?"
        r"(?:stock|shares)",
        r"(?:common|treasury) stock repurchased",
    ),
    "fx_effect_on_cash": (
        r"(?:net )?(?:effects?|impact) of (?:foreign )?(?:currency|exchange|foreign)[\w ]*",
        r"(?:foreign )?exchange (?:gains?|losses?|differences?|rate)[\w ]* on cash[\w ]*",
    ),
    "net_change_in_cash": (
        r"(?:net )?(?:increase|decrease|change)(?: increase| decrease)? in cash\b"
        r"(?!.*\b(?:beginning|end|start)\b).*",
        r"cash(?: cash equivalents)?(?: and)?(?: cash equivalents)?(?: and restricted cash)?"
        r" net (?:increase|decrease|change)(?: increase| decrease)?",
    ),
}

_COMPILED = {m: tuple(re.compile(p) for p in ps) for m, ps in LEXICON.items()}

# A heading (a row with no numbers) says what the rows under it are; "Total" or "Basic" alone
# then means the total or the per-share figure of that heading.
CONTEXT_LABELS: tuple[tuple[str, str], ...] = (
    (r".*\bcurrent assets\b(?<!non current assets)", "current_assets"),
    (r".*\bcurrent liabilities\b(?<!non current liabilities)", "current_liabilities"),
    (r".*\b(?:non current|noncurrent|long term) assets\b", "non_current_assets"),
    (r".*\b(?:non current|noncurrent|long term) liabilities\b", "non_current_liabilities"),
    (r".*\bliabilities and (?:stockholders|shareholders )?\w* ?equity\b", "liabilities"),
    (r".*\b(?:stockholders|shareholders)? ?equity\b.*", "equity"),
    (r".*\bliabilities\b.*", "liabilities"),
    (r"(?:total )?assets\b.*", "assets"),
    (r".*\boperating activities\b.*", "operating"),
    (r".*\binvesting activities\b.*", "investing"),
    (r".*\bfinancing activities\b.*", "financing"),
    (r"(?:weighted average|shares used|number of shares)\b.*", "shares"),
    (r".*\bper (?:common |ordinary )?share\b.*", "eps"),
    (r".*\bshares\b.*", "shares"),
)
_CONTEXT_COMPILED = tuple((re.compile(p), c) for p, c in CONTEXT_LABELS)

_GENERIC_TOTAL = re.compile(r"total(?: net)?")
_GENERIC_CASH = re.compile(
    r"(?:net )?cash(?: flows?)?(?: (?:provided|generated|used|from|by|in|inflow|outflow))*"
)
_TOTAL_BY_CONTEXT = {
    "current_assets": "total_current_assets",
    "non_current_assets": "total_non_current_assets",
    "assets": "total_assets",
    "current_liabilities": "total_current_liabilities",
    "non_current_liabilities": "total_non_current_liabilities",
    "liabilities": "total_liabilities",
    "equity": "shareholders_equity",
}
_CASH_BY_CONTEXT = {
    "operating": "operating_cash_flow",
    "investing": "investing_cash_flow",
    "financing": "financing_cash_flow",
}
_PER_SHARE_BY_CONTEXT = {
    ("eps", "basic"): "eps_basic",
    ("eps", "diluted"): "eps_diluted",
    ("shares", "basic"): "shares_basic",
    ("shares", "diluted"): "shares_diluted",
}
# Lexicon priority of a label placed by its heading: after every explicit wording.
_CONTEXT_PRIORITY = 1000


def heading_context(label: str) -> str | None:
    """What a heading row announces (``current_assets``, ``operating``, ``eps``, ...)."""
    key = _norm(label).removesuffix(" abstract")
    return next((c for pattern, c in _CONTEXT_COMPILED if pattern.fullmatch(key)), None)


# Units some exports append to a label ("Earnings per share (Basic, in dollars per share)").
_UNIT_SUFFIX = re.compile(
    r"(?: in (?:dollars|usd|pence|gbp|eur|euros?|shares|thousands|millions)(?: per share)?"
    r"| (?:usd|dollars|pence) per share)$"
)


_NOTE = re.compile(r" notes? \d+[a-z]?(?: (?:and|to) \d+[a-z]?)*\b")


def _clean(key: str) -> str:
    """The label without the note reference and unit suffix some statements print."""
    return _UNIT_SUFFIX.sub("", _NOTE.sub("", key))


def _explicit(key: str) -> tuple[str, int] | None:
    best: tuple[str, int] | None = None
    for metric, patterns in _COMPILED.items():
        for priority, pattern in enumerate(patterns):
            if pattern.fullmatch(key) and (best is None or priority < best[1]):
                best = (metric, priority)
                break
    return best


def _share_counts(row: _Row) -> bool:
    """Every amount a whole number of at least 100,000: share counts, never a per-share figure."""
    amounts = [c.amount for c in row.cells.values() if c.amount is not None]
    return bool(amounts) and all(a == a.to_integral() and abs(a) >= 100_000 for a in amounts)


def _by_context(key: str, context: str | None, row: _Row) -> str | None:
    words = _clean(key).split()
    if (
        context not in ("eps", "shares")
        and words in (["basic"], ["diluted"])
        and _share_counts(row)
    ):
        return f"shares_{words[0]}"  # "Basic" under no heading, printed as a share count
    if context is None:
        return None
    if _GENERIC_TOTAL.fullmatch(key):
        return _TOTAL_BY_CONTEXT.get(context)
    if _GENERIC_CASH.fullmatch(key):
        return _CASH_BY_CONTEXT.get(context)
    if words and words[0] in ("basic", "diluted") and len(words) <= 3:
        # "Basic (in shares)" / "Basic (in USD per share)" say which figure they are.
        if key.endswith("per share"):
            context = "eps"
        elif key.endswith(" shares"):
            context = "shares"
        return _PER_SHARE_BY_CONTEXT.get((context, words[0]))
    return None


@dataclass(frozen=True)
class LexiconMatch:
    """A row the lexicon placed: which metric, and by which wording (lower = more specific)."""

    metric: str
    row: _Row
    priority: int


_END_OF_CASH_FLOWS = re.compile(r"cash\b.*\bend of (?:the )?(?:year|period)\b.*")


def _amounts(row: _Row) -> tuple[object, ...]:
    return tuple(c.amount for c in row.cells.values())


def _section_matches(rows: Sequence[_Row]) -> tuple[list[LexiconMatch], dict[str, list[_Row]]]:
    best: dict[str, LexiconMatch] = {}
    ties: dict[str, list[_Row]] = {}
    context: str | None = None
    for row in rows:
        key = _norm(row.label)
        has_numbers = any(c.amount is not None for c in row.cells.values())
        if context == "supplemental":
            continue  # headings below the closing balance ("Supplemental ... activities") too
        if not has_numbers:
            context = heading_context(row.label) or context
            continue
        if _END_OF_CASH_FLOWS.fullmatch(key):
            # Below the closing cash balance: supplemental and non-cash disclosures.
            context = "supplemental"
            continue
        found = _explicit(_clean(key))
        if found is None:
            metric = _by_context(key, context, row)
            found = None if metric is None else (metric, _CONTEXT_PRIORITY)
        if found is None:
            continue
        metric, priority = found
        held = best.get(metric)
        if held is None or priority < held.priority:
            best[metric] = LexiconMatch(metric, row, priority)
            ties.pop(metric, None)
        elif priority == held.priority and _amounts(row) != _amounts(held.row):
            # Two rows worded alike with different numbers: code cannot tell which one.
            ties.setdefault(metric, [held.row]).append(row)
    for metric in ties:
        del best[metric]
    # One row per metric, and one metric per row (a row matched twice keeps its best metric).
    by_row: dict[int, LexiconMatch] = {}
    for match in best.values():
        held = by_row.get(id(match.row))
        if held is None or match.priority < held.priority:
            by_row[id(match.row)] = match
    return sorted(by_row.values(), key=lambda m: rows.index(m.row)), ties


def map_rows(table: _Table) -> tuple[list[LexiconMatch], dict[str, list[_Row]]]:
    """The rows of every section the lexicon places, in table order, and the metrics it
    leaves open because several rows are worded alike (metric -> those rows)."""
    matches: list[LexiconMatch] = []
    ties: dict[str, list[_Row]] = {}
    for rows in table.rows:
        found, tied = _section_matches(rows)
        matches.extend(found)
        for metric, candidates in tied.items():
            ties.setdefault(metric, []).extend(candidates)
    return matches, ties
