"""The clauses evaluation dataset (written by ``scripts/make_datasets.py``).

Synthetic contracts assembled from clause templates with varied party names (non-ASCII included),
dates and jurisdictions. Gold spans carry exact character offsets computed while assembling the
text (and re-checked on the written file); gold values are the normalized dates (ISO), jurisdiction
and party names. The two CUAD samples are included with their expert gold from CUAD's
master_clauses.csv, read by ``structkit.evaluation.cuad``.
"""

from __future__ import annotations

import random
import re
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
FIX = ROOT / "tests" / "fixtures"
OUT = ROOT / "datasets"  # the shipped CUAD files are copied from here


# fmt: off
DOCUMENTS = ["MASTER SERVICES AGREEMENT", "SUPPLY AGREEMENT", "SOFTWARE LICENSE AGREEMENT",
             "DISTRIBUTION AGREEMENT", "CONSULTING AGREEMENT", "MAINTENANCE AGREEMENT"]
#: (name, short name, where incorporated, entity kind)
PARTIES = [
    ("Müller & Söhne GmbH", "Müller", "German", "limited liability company"),
    ("Société Générale de Logiciels S.A.", "SGL", "French", "société anonyme"),
    ("Øresund Logistics A/S", "Øresund", "Danish", "company"),
    ("São Paulo Tecnologia Ltda.", "SP Tecnologia", "Brazilian", "limited company"),
    ("Dvořák Engineering s.r.o.", "Dvořák", "Czech", "limited liability company"),
    ("Ibáñez Consultores S.L.", "Ibáñez", "Spanish", "limited company"),
    ("Bluewater Analytics, Inc.", "Bluewater", "Delaware", "corporation"),
    ("Harborview Medical Supplies LLC", "Harborview", "New York", "limited liability company"),
    ("Kestrel Software Ltd.", "Kestrel", "English", "private limited company"),
    ("Zhōngshān Precision Parts Co., Ltd.", "Zhōngshān", "Chinese", "company"),
    ("Café Olé Holdings, Inc.", "Café Olé", "California", "corporation"),
    ("Łódź Components sp. z o.o.", "Łódź Components", "Polish", "limited liability company"),
]
#: (how the contract names the law, normalized jurisdiction)
LAWS = [("the State of New York", "New York"), ("England and Wales", "England and Wales"),
        ("the State of Delaware", "Delaware"), ("the Canton of Zürich, Switzerland", "Zürich"),
        ("the Province of Québec", "Québec"), ("the Federal Republic of Germany", "Germany"),
        ("the State of California", "California"), ("Ireland", "Ireland")]
TERRITORIES = ["the European Union", "North America", "Scandinavia", "Brazil", "Japan"]
NUMBERS = {30: "thirty (30)", 60: "sixty (60)", 90: "ninety (90)", 12: "twelve (12)",
           24: "twenty-four (24)", 6: "six (6)"}
DATE_STYLES = ["{month} {day}, {year}", "{day} {month} {year}", "the {nth} day of {month}, {year}"]
MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August",
          "September", "October", "November", "December"]
# fmt: on


def _an(word: str) -> str:
    return f"{'an' if word[0] in 'AEIOU' else 'a'} {word}"


def _date_text(value: date, style: str) -> str:
    day = value.day
    nth = (
        f"{day}{'th' if 10 <= day % 100 <= 20 else {1: 'st', 2: 'nd', 3: 'rd'}.get(day % 10, 'th')}"
    )
    return style.format(month=MONTHS[value.month - 1], day=day, year=value.year, nth=nth)


def _optional_clauses(a: str, b: str, rng: random.Random) -> list[tuple[str, list[str], str]]:
    """(heading, clause types, sentence) for the clauses a contract may have."""
    n = NUMBERS
    territory = rng.choice(TERRITORIES)
    return [
        (
            "Termination",
            ["Termination For Convenience"],
            f"Either party may terminate this Agreement for convenience upon "
            f"{n[rng.choice([30, 60, 90])]} days' prior written notice to the other party.",
        ),
        (
            "Non-Competition",
            ["Non-Compete"],
            f"During the term of this Agreement and for {n[rng.choice([6, 12, 24])]} months "
            f"thereafter, {b} shall not engage in any business that competes with the business of "
            f"{a} in {territory}.",
        ),
        (
            "Exclusivity",
            ["Exclusivity"],
            f"{a} appoints {b} as its exclusive distributor of the Products in {territory}, and "
            f"{a} shall not appoint any other distributor there.",
        ),
        (
            "Assignment",
            ["Anti-Assignment"],
            "Neither party may assign this Agreement or any of its rights hereunder without the "
            "prior written consent of the other party.",
        ),
        (
            "Limitation of Liability",
            ["Cap On Liability"],
            f"In no event shall either party's aggregate liability arising out of this Agreement "
            f"exceed the fees paid by {b} in the {n[rng.choice([6, 12])]} months preceding the "
            f"claim.",
        ),
        (
            "Audit",
            ["Audit Rights"],
            f"{a} may, upon {n[30]} days' written notice, audit the books and records of {b} "
            f"relating to this Agreement once per calendar year.",
        ),
        (
            "Insurance",
            ["Insurance"],
            f"{b} shall maintain commercial general liability insurance with limits of not less "
            f"than EUR {rng.choice(['1,000,000', '2,000,000', '5,000,000'])} per occurrence.",
        ),
        (
            "Change of Control",
            ["Change Of Control"],
            f"{a} may terminate this Agreement if {b} undergoes a change of control.",
        ),
    ]


FILLER: list[tuple[str, list[str], str]] = [
    (
        "Notices",
        [],
        "All notices under this Agreement shall be in writing and delivered to the "
        "addresses set out above.",
    ),
    (
        "Entire Agreement",
        [],
        "This Agreement constitutes the entire agreement between the parties "
        "concerning its subject matter.",
    ),
    ("Payment", [], "Invoices are payable within thirty (30) days of receipt."),
    (
        "Counterparts",
        [],
        "This Agreement may be executed in counterparts, each of which is an original.",
    ),
]


class _Builder:
    """Text assembled piece by piece, recording gold spans at their exact offsets."""

    def __init__(self) -> None:
        self.text = ""
        self.spans: list[dict[str, Any]] = []

    def add(self, piece: str, spans: Sequence[tuple[str, str]] = ()) -> None:
        """Append ``piece``; each (type, substring) becomes a gold span at its offsets."""
        at = len(self.text)
        self.text += piece
        for clause_type, sub in spans:
            start = at + piece.index(sub)
            self.spans.append(
                {"clause_type": clause_type, "text": sub, "start": start, "end": start + len(sub)}
            )


@dataclass
class Contract:
    text: str
    gold: dict[str, Any]


#: Most clauses structkit's answer may hold (structkit.tasks.clauses.MAX_CLAUSES).
MAX_CLAUSES = 12


def make_contract(rng: random.Random, n: int) -> Contract:
    """Contract ``n``: title, parties and dates, term, 3-6 optional clauses (at most 12 gold
    spans in all), governing law, signatures."""
    doc = DOCUMENTS[n % len(DOCUMENTS)]
    (a_name, a, a_where, a_kind), (b_name, b, b_where, b_kind) = rng.sample(PARTIES, 2)
    signed = date(2015, 1, 1) + timedelta(days=rng.randrange(3650))
    effective = signed + timedelta(days=rng.choice([0, 14, 30, 31]))
    expires = effective.replace(year=effective.year + rng.choice([1, 2, 3, 5]))
    law, jurisdiction = rng.choice(LAWS)
    style = rng.choice(DATE_STYLES)
    signed_text = _date_text(signed, style)
    out = _Builder()
    out.add(doc + "\n\n", [("Document Name", doc)])
    parties = (
        f'This {doc.title()} (the "Agreement") is entered into as of {signed_text} by and '
        f'between {a_name}, {_an(a_where)} {a_kind} ("{a}"), and {b_name}, {_an(b_where)} '
        f'{b_kind} ("{b}").'
    )
    out.add(parties, [("Parties", a_name), ("Parties", b_name), ("Agreement Date", signed_text)])
    values: dict[str, list[str]] = {
        "Agreement Date": [signed.isoformat()],
        "Parties": [a_name, b_name],
    }
    section = 0

    def clause(heading: str, types: Sequence[str], sentence: str) -> None:
        nonlocal section
        section += 1
        out.add(f"\n\n{section}. {heading}. ")
        out.add(sentence, [(t, sentence) for t in types])

    if effective != signed:
        clause(
            "Effective Date",
            ["Effective Date"],
            f"This Agreement shall become effective on {_date_text(effective, style)} "
            f'(the "Effective Date").',
        )
        values["Effective Date"] = [effective.isoformat()]
    clause(
        "Term",
        ["Expiration Date"],
        f"The initial term of this Agreement shall expire on {_date_text(expires, style)}.",
    )
    values["Expiration Date"] = [expires.isoformat()]
    if rng.random() < 0.5:
        clause(
            "Renewal",
            ["Renewal Term", "Notice Period To Terminate Renewal"],
            f"Thereafter this Agreement shall renew automatically for successive one-year "
            f"terms unless either party gives notice of non-renewal at least "
            f"{NUMBERS[rng.choice([30, 60, 90])]} days before the end of the current term.",
        )
    optional = _optional_clauses(a, b, rng)
    # At most MAX_CLAUSES (12) gold spans, so that a perfect answer is possible: the spans so
    # far, one optional clause each, and Governing Law.
    room = MAX_CLAUSES - len(out.spans) - 1
    chosen = rng.sample(optional, min(rng.randint(3, 6), room)) + rng.sample(FILLER, 2)
    rng.shuffle(chosen)
    for heading, types, sentence in chosen:
        clause(heading, types, sentence)
    clause(
        "Governing Law",
        ["Governing Law"],
        f"This Agreement shall be governed by and construed in accordance with the laws of "
        f"{law}, without regard to its conflict of laws principles.",
    )
    values["Governing Law"] = [jurisdiction]
    out.add(
        f"\n\nIN WITNESS WHEREOF, the parties have executed this Agreement as of the date "
        f"first written above.\n\n{a_name}     {b_name}\nBy: ____________     "
        f"By: ____________\n"
    )
    return Contract(out.text, {"spans": out.spans, "values": values, "source": "synthetic"})


def cuad_gold(text_path: Path, csv_path: Path, key: str) -> dict[str, Any]:
    """Gold of a CUAD sample: expert spans (located in the text) and normalized answers."""
    from structkit.evaluation import cuad
    from structkit.tasks.clauses import CLAUSE_TYPES, normalize_date

    source = text_path.read_text(encoding="utf-8-sig")  # as structkit's loader reads it
    gold = cuad.load_gold(csv_path, key, source_text=source)
    spans = [
        {"clause_type": s.clause_type, "text": s.text, "start": s.start, "end": s.end}
        for s in gold.spans
        if s.clause_type in CLAUSE_TYPES
    ]
    values: dict[str, list[str]] = {}
    for clause_type in ("Agreement Date", "Effective Date", "Expiration Date"):
        parsed = normalize_date(gold.answers.get(clause_type, ""))
        if parsed is not None and gold.of_type(clause_type):
            values[clause_type] = [parsed.isoformat()]
    if gold.answers.get("Governing Law"):
        values["Governing Law"] = [gold.answers["Governing Law"]]
    names = [
        re.sub(r"\s*\(.*?\)\s*$", "", p).strip() for p in gold.answers.get("Parties", "").split(";")
    ]
    values["Parties"] = [name for name in names if name]
    return {
        "spans": spans,
        "values": values,
        "source": "CUAD v1 (CC BY 4.0, The Atticus Project): master_clauses.csv",
    }


def clause_rows(out: Path) -> list[dict[str, Any]]:
    """24 synthetic contracts, the two CUAD samples and the CUAD contracts of :func:`cuad_rows`."""
    rng = random.Random(20240603)
    folder = out / "clauses"
    folder.mkdir(parents=True, exist_ok=True)
    rows: list[dict[str, Any]] = []
    for n in range(24):
        contract = make_contract(rng, n)
        name = f"contract-{n + 1:02d}.txt"
        path = folder / name
        path.write_text(contract.text, encoding="utf-8", newline="\n")
        written = path.read_text(encoding="utf-8-sig")  # as structkit's loader reads it
        for span in contract.gold["spans"]:
            assert written[span["start"] : span["end"]] == span["text"], (name, span)
        rows.append({"id": name[:-4], "input": f"clauses/{name}", "gold": contract.gold})
    for name, key in (
        ("cuad_netzee_maintenance_agreement.txt", "NETZEE"),
        ("cuad_agape_supply_agreement.txt", "AGAPE"),
    ):
        shutil.copyfile(FIX / "contracts" / name, folder / name)
        gold = cuad_gold(folder / name, FIX / "contracts" / "cuad_clauses_for_samples.csv", key)
        rows.append({"id": name.removesuffix(".txt"), "input": f"clauses/{name}", "gold": gold})
    rows.extend(cuad_rows(out))
    return rows


#: More CUAD contracts (text as in CUAD_v1/full_contract_txt/, gold rows of master_clauses.csv),
#: kept in datasets/clauses/ itself: ``cuad_<slug>.txt`` and ``cuad_master_clauses.csv``.
CUAD_CSV = "cuad_master_clauses.csv"


def _cuad_slug(filename: str) -> str:
    from structkit.evaluation.cuad import dataset_name

    return dataset_name(filename)


def cuad_rows(out: Path) -> list[dict[str, Any]]:
    """The CUAD contracts listed in ``cuad_master_clauses.csv`` (copied when building elsewhere)."""
    from structkit.evaluation import cuad

    folder = out / "clauses"
    if out.resolve() != OUT.resolve():
        shutil.copyfile(OUT / "clauses" / CUAD_CSV, folder / CUAD_CSV)
    rows: list[dict[str, Any]] = []
    for row in cuad.read_master_clauses(folder / CUAD_CSV):
        name = _cuad_slug(row["Filename"]) + ".txt"
        if out.resolve() != OUT.resolve():
            shutil.copyfile(OUT / "clauses" / name, folder / name)
        gold = cuad_gold(folder / name, folder / CUAD_CSV, row["Filename"])
        rows.append({"id": name.removesuffix(".txt"), "input": f"clauses/{name}", "gold": gold})
    return rows
