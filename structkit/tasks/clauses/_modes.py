"""The clauses task's code-first modes: a no-model baseline and narrow per-category questions.

Both start from :func:`analyse`: the contract's candidate spans (with offsets), their ranking per
category (:mod:`._clause_rank`), and what the structure gives (:mod:`._clause_values`: title,
preamble, parties, agreement date). Document Name, Parties and Agreement Date always come from
the structure, in code. For the other 17 categories:

- **baseline**: the best-ranked span of a category is kept when its score reaches
  :data:`BASELINE_THRESHOLD` (one number for all categories, calibrated on half of the CUAD
  contracts of ``datasets/clauses.jsonl`` by ``scripts/calibrate_clauses.py``).
- **questions**: code answers where its ranking is clear, as the baseline does: a category whose
  best score reaches the top of :data:`QUESTION_BAND` keeps its best span, one scoring below
  the bottom has no clause. In between, the model is shown the top-``k`` spans of the category
  (those with a cue phrase) and answers which one is a clause of that category, or ``"none"``;
  its answer is constrained to an enum of exactly those ids. The band is calibrated with the
  default model's answers on the calibration half of the CUAD contracts
  (``scripts/calibrate_clauses.py --answers``).

Every returned clause carries the offsets of its span; ``postprocess`` verifies them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ...adapters._record import Record
from . import _rank as rank
from . import _values as values
from ._models import MAX_SPAN

__all__ = [
    "BASELINE_THRESHOLD",
    "DEFAULT_K",
    "DESCRIPTIONS",
    "QUESTION_BAND",
    "Analysis",
    "analyse",
    "asked_types",
    "assemble_clauses",
    "baseline_clauses",
    "question_candidates",
    "structural_clauses",
]

#: Candidates shown per question (``k``).
DEFAULT_K = 3
#: Lowest ranking score the baseline keeps (see the module docstring).
BASELINE_THRESHOLD = 4.5
#: The ranker's best score of a category between these (lower bound included): the model is
#: asked; at or above the upper bound code keeps the best span, below the lower one there is no
#: clause (see the module docstring). Calibrated for the default model (SmolLM2-135M): empty, so
#: it is asked nothing; it answered "1" to all 131 calibration questions (see the README).
QUESTION_BAND: tuple[float, float] = (4.5, 4.5)
#: A candidate is shown to the model only with a score above this (it has a cue phrase).
QUESTION_FLOOR = 0.0

#: One-line definitions shown in the questions (after CUAD's category descriptions).
DESCRIPTIONS: dict[str, str] = {
    "Effective Date": "the date the contract takes effect or commences.",
    "Expiration Date": "when the initial term of the contract ends.",
    "Renewal Term": "renewal or automatic extension of the contract after its initial term.",
    "Notice Period To Terminate Renewal": "the notice a party must give to stop a renewal.",
    "Governing Law": "which state's or country's law governs the contract.",
    "Termination For Convenience": "a party may terminate without cause, just by giving notice.",
    "Non-Compete": "a party may not compete with the other, or work in some field or area.",
    "Exclusivity": "exclusive dealing: e.g. buying only from, or selling only to, the other "
    "party, or an exclusive territory.",
    "Change Of Control": "rights (termination, consent, notice) if a party is merged, acquired "
    "or sold.",
    "Anti-Assignment": "consent or notice is needed to assign or transfer the contract.",
    "License Grant": "one party grants the other a license (to a trademark, software, content).",
    "Ip Ownership Assignment": "intellectual property created by one party becomes the other's.",
    "Audit Rights": "a party may audit or inspect the other's books, records or premises.",
    "Cap On Liability": "a limit on liability for breach (an amount, or excluded damages).",
    "Uncapped Liability": "liability that is not limited, e.g. exceptions to the limitation.",
    "Warranty Duration": "how long a warranty against defects lasts.",
    "Insurance": "insurance a party must maintain.",
}


@dataclass(frozen=True)
class Analysis:
    """What code finds in one contract."""

    source: str
    ranked: dict[str, list[rank.Ranked]]
    title: values.Found | None
    intro: values.Found | None
    date: values.Found | None
    parties: list[values.Found]


def source_of(record: Record) -> str:
    """The text the offsets refer to (as in ``postprocess``)."""
    if record.source_text is not None:
        return record.source_text
    return "\n\n".join(v.text for v in record.values())


def analyse(record: Record) -> Analysis:
    """Candidates ranked per category, and the title block and preamble, of one contract."""
    source = source_of(record)
    spans = rank.candidates(source, max_length=MAX_SPAN)
    # The preamble may be long: look for it among spans cut at a larger limit.
    intro = values.preamble(source, rank.candidate_offsets(source[: values.TOP], max_length=1500))
    return Analysis(
        source=source,
        ranked=rank.rank_candidates(spans),
        title=values.title(source),
        intro=intro,
        date=values.agreement_date(source, intro),
        parties=values.parties(source, intro) if intro else [],
    )


def _clause(
    clause_type: str, found: values.Found, normalized: str = "", origin: str = "code"
) -> dict[str, Any]:
    return {
        "clause_type": clause_type,
        "text": found.text,
        "normalized": normalized[:120],
        "start": found.start,
        "end": found.end,
        "origin": origin,
    }


def structural_clauses(analysis: Analysis) -> list[dict[str, Any]]:
    """Document Name, Parties and Agreement Date from the title block and preamble."""
    out: list[dict[str, Any]] = []
    if analysis.title is not None:
        out.append(_clause("Document Name", analysis.title, analysis.title.value))
    out.extend(_clause("Parties", p, p.value) for p in analysis.parties)
    if analysis.date is not None:
        out.append(_clause("Agreement Date", analysis.date, analysis.date.value))
        # CUAD's experts mark the preamble date as the Effective Date too when the contract
        # takes effect on signing (most do); a separate effective-date clause is ranked below.
        out.append(_clause("Effective Date", analysis.date, analysis.date.value))
    return out


def ranked_clause(
    analysis: Analysis, clause_type: str, cand: rank.Candidate, *, origin: str = "code"
) -> dict[str, Any]:
    """A ranked candidate as a clause, with its value read in code (date, jurisdiction);
    ``origin`` names who chose it (``code``, ``model`` or ``adapter``)."""
    found = values.Found(cand.start, cand.end, cand.text)
    normalized = ""
    if clause_type in ("Effective Date", "Expiration Date"):
        dates = [d for d in values.dates_in(analysis.source, cand.start, cand.end) if d.value]
        normalized = dates[0].value if dates else ""
    elif clause_type == "Governing Law":
        normalized = values.jurisdiction(cand.text)
    return _clause(clause_type, found, normalized, origin)


def baseline_clauses(
    record: Record, *, threshold: float = BASELINE_THRESHOLD
) -> list[dict[str, Any]]:
    """The no-model answer: structure, plus each category's best span when it scores enough."""
    analysis = analyse(record)
    out = structural_clauses(analysis)
    for clause_type, ranked in analysis.ranked.items():
        if ranked and ranked[0].score >= threshold:
            out.append(ranked_clause(analysis, clause_type, ranked[0].candidate))
    return out


def question_candidates(analysis: Analysis, clause_type: str, k: int) -> list[rank.Candidate]:
    """The top-``k`` candidates of a category that are worth asking about."""
    return [r.candidate for r in analysis.ranked[clause_type][:k] if r.score > QUESTION_FLOOR]


def _best_score(analysis: Analysis, clause_type: str) -> float | None:
    ranked = analysis.ranked[clause_type]
    return ranked[0].score if ranked else None


def asked_types(analysis: Analysis, *, k: int, band: tuple[float, float]) -> list[str]:
    """The categories the model is asked about: best score in ``band``, candidates to show."""
    low, high = band
    return [
        clause_type
        for clause_type in rank.RANKED_TYPES
        if (best := _best_score(analysis, clause_type)) is not None
        and low <= best < high
        and question_candidates(analysis, clause_type, k)
    ]


def assemble_clauses(
    record: Record,
    answers: Mapping[str, Any],
    *,
    k: int,
    band: tuple[float, float] = QUESTION_BAND,
    analysis: Analysis | None = None,
) -> list[dict[str, Any]]:
    """Structure, code's clear answers, and the candidates the model chose (``answers``:
    question key -> answer, for the categories of :func:`asked_types`). ``analysis``: the
    record's :func:`analyse`, when already made."""
    analysis = analysis or analyse(record)
    out = structural_clauses(analysis)
    asked = set(asked_types(analysis, k=k, band=band))
    for clause_type in rank.RANKED_TYPES:
        best = _best_score(analysis, clause_type)
        if best is not None and best >= band[1]:
            out.append(
                ranked_clause(analysis, clause_type, analysis.ranked[clause_type][0].candidate)
            )
            continue
        if clause_type not in asked:
            continue
        answer = answers.get(question_key(clause_type))
        choice = answer.get("choice") if isinstance(answer, dict) else None
        shown = question_candidates(analysis, clause_type, k)
        if isinstance(choice, str) and choice.isdigit() and 1 <= int(choice) <= len(shown):
            chosen = shown[int(choice) - 1]
            out.append(ranked_clause(analysis, clause_type, chosen, origin="model"))
    return out


def question_key(clause_type: str) -> str:
    return f"cat:{clause_type}"


#: Characters of a candidate shown in a question (spans are at most MAX_SPAN long).
SHOWN_CHARS = 400


@dataclass(frozen=True)
class Prompt:
    """One question's content and answer schema, before it becomes a runner ``Question``."""

    key: str
    content: str
    json_schema: dict[str, Any]


def question_prompts(
    record: Record, *, k: int, band: tuple[float, float] = QUESTION_BAND
) -> list[Prompt]:
    """One prompt per asked category (:func:`asked_types`): pick one of its top-``k`` spans,
    or "none"."""
    from ..._prompt import fence, render_template

    analysis = analyse(record)
    out: list[Prompt] = []
    for clause_type in asked_types(analysis, k=k, band=band):
        shown = question_candidates(analysis, clause_type, k)
        ids = [str(i) for i in range(1, len(shown) + 1)]
        listing = "\n".join(
            f"[{i}] {' '.join(c.text[:SHOWN_CHARS].split())}"
            for i, c in zip(ids, shown, strict=True)
        )
        passages, tag = fence(listing, label="PASSAGES")
        content = render_template(
            "clause_question.jinja",
            template_dirs=(),
            clause_type=clause_type,
            description=DESCRIPTIONS[clause_type],
            passages=passages,
            tag=tag,
            ids=", ".join(f'"{i}"' for i in [*ids, "none"]),
        )
        schema = {
            "type": "object",
            "properties": {"choice": {"enum": [*ids, "none"]}},
            "required": ["choice"],
            "additionalProperties": False,
        }
        out.append(Prompt(question_key(clause_type), content, schema))
    return out
