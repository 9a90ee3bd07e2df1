"""Contract -> CUAD-style clause extraction, with every clause located in the source text.

How an answer is grounded:

1. **Decoding** (grounding on, the default): the part of the contract in the prompt is cut into
   verbatim candidate spans (sentences, and layout-separated fragments such as signature-block
   names; long sentences are cut at ``;``/``,``/spaces to at most :data:`MAX_SPAN` characters)
   and ``text`` is constrained to an ``enum`` of them, so the model can only copy text that is
   in the input. With grounding off, ``text`` is a free string of at most :data:`MAX_SPAN`.
2. **Postprocess** (always): each span is located in ``record.source_text``, first exactly, then
   with whitespace runs collapsed (offsets mapped back to the original text). ``start``/``end``
   are Python ``str`` offsets (code points, right for non-ASCII text) and are verified:
   ``source_text[start:end]`` equals the span, or equals it once whitespace is collapsed.
   Dates are normalized to ISO ``YYYY-MM-DD`` in code; party names and jurisdictions in
   ``normalized`` must occur in the text. Problems are listed in ``issues``, never hidden.

The fields filled in code (``start``, ``end``, ``verified``, ``grounding``, ``issues``) have
defaults and are left out of the JSON Schema, so the model never writes them.
"""

from __future__ import annotations

import os
import re
from datetime import date

from ..._errors import ConfigurationError
from ..._heads import Heads
from ..._prompt import fence, render_template
from ..._schema import output_schema
from ..._settings import prompt_room
from ..._task import Answers, Question, QuestionContext, Task
from ...adapters._record import Record
from ...adapters._render import fit_to_budget
from . import _modes as modes
from ._head import HEAD_KINDS, ClauseHead, shipped_head_dir
from ._models import (
    DATE_TYPES,
    NAME_TYPES,
    SINGLE_VALUED_TYPES,
    Clause,
    ClauseExtraction,
)
from ._spans import SquashedText, grounded_schema, locate_span, squash
from ._values import normalize_date

__all__ = ["CLAUSES", "MODES", "clauses_task", "merge_clauses", "postprocess"]

# --- dates -------------------------------------------------------------------------------------

_MONTH = (
    r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|"
    r"sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?"
)
_DATE_IN_TEXT = re.compile(
    rf"\b(?:{_MONTH}\s+\d{{1,2}}(?:st|nd|rd|th)?,?\s+\d{{4}}"
    rf"|\d{{1,2}}(?:st|nd|rd|th)?\s+(?:day\s+of\s+)?{_MONTH},?\s+\d{{4}}"
    r"|\d{4}-\d{2}-\d{2}|\d{1,2}/\d{1,2}/\d{2,4})\b",
    re.IGNORECASE,
)


def _dates_in(text: str) -> list[date]:
    found = (normalize_date(m.group(0)) for m in _DATE_IN_TEXT.finditer(text))
    return [d for d in found if d is not None]


def _check_date(clause: Clause, issues: list[str]) -> str:
    in_text = _dates_in(clause.text)
    given = clause.normalized.strip()
    if given:
        parsed = normalize_date(given)
        if parsed is None:
            issues.append(f"normalized value {given[:40]!r} is not a complete date")
        else:
            if in_text and parsed not in in_text:
                issues.append(f"date {parsed.isoformat()} is not the date in the clause text")
            return parsed.isoformat()
    return in_text[0].isoformat() if in_text else ""


# --- postprocess and merge ---------------------------------------------------------------------


def postprocess(value: ClauseExtraction, record: Record) -> ClauseExtraction:
    """Locate and verify every span, normalize dates, check names, drop exact duplicates."""
    source = record.source_text
    if source is None:  # not a text record: search the rendered values instead
        source = "\n\n".join(v.text for v in record.values())
    squashed = SquashedText(source)
    squashed_source_folded = squashed.text.casefold()
    out: list[Clause] = []
    seen: set[tuple[str, int, int, str]] = set()
    for clause in value.clauses:
        if 0 <= clause.start < clause.end <= len(source) and (
            source[clause.start : clause.end] == clause.text
        ):
            # Offsets set in code (question and baseline modes): kept when they check out, so
            # a span that occurs twice stays where it was found.
            start, end, how = clause.start, clause.end, "exact"
        else:
            start, end, how = locate_span(clause.text, source, squashed=squashed)
        verified = how != "not found" and (
            source[start:end] == clause.text or squash(source[start:end]) == squash(clause.text)
        )
        issues: list[str] = []
        normalized = clause.normalized.strip()
        if not verified:
            issues.append("clause text not found in the document")
        if clause.clause_type in DATE_TYPES:
            normalized = _check_date(clause, issues)
        elif (
            clause.clause_type in NAME_TYPES
            and normalized
            and squash(normalized).casefold() not in squashed_source_folded
        ):
            issues.append(f"{normalized[:40]!r} does not occur in the document")
        key = (
            (clause.clause_type, start, end, normalized)
            if verified
            else (clause.clause_type, -1, -1, clause.text + "\0" + normalized)
        )
        if key in seen:
            continue
        seen.add(key)
        out.append(
            clause.model_copy(
                update={
                    "normalized": normalized,
                    "start": start if verified else -1,
                    "end": end if verified else -1,
                    "verified": verified,
                    "grounding": how if verified else "not found",
                    "issues": issues,
                }
            )
        )
    # Document order; clauses that could not be found last, in answer order.
    out.sort(key=lambda c: (c.start < 0, c.start if c.start >= 0 else 0))
    return value.model_copy(update={"clauses": out})


def merge_clauses(parts: list[ClauseExtraction]) -> ClauseExtraction:
    """Join the answers for the parts of a split contract without duplicates.

    A clause is dropped when an earlier one has the same type and text (up to whitespace), or,
    for single-valued types (dates, Governing Law, Document Name), the same non-empty
    ``normalized`` value (case-insensitive). Offsets are not known yet here; ``postprocess``
    drops clauses of the same type found at the same place.
    """
    merged: list[Clause] = []
    seen_text: set[tuple[str, str]] = set()
    seen_value: set[tuple[str, str]] = set()
    for part in parts:
        for clause in part.clauses:
            text_key = (clause.clause_type, squash(clause.text))
            value_key = (clause.clause_type, squash(clause.normalized).casefold())
            if text_key in seen_text:
                continue
            single = clause.clause_type in SINGLE_VALUED_TYPES and value_key[1] != ""
            if single and value_key in seen_value:
                continue
            seen_text.add(text_key)
            if single:
                seen_value.add(value_key)
            merged.append(clause)
    return ClauseExtraction(clauses=merged)


# --- the task: three modes ---------------------------------------------------------------------

#: The task's modes; the first is the default, chosen by measurement (see the README): on the
#: 46 CUAD contracts kept for an independent check the shipped ``learned`` head scores micro span
#: F1 0.647 against code's baseline 0.516 and the ``tuned`` head's 0.640 (the model's hidden
#: states add nothing), and it needs no model. ``learned`` and ``tuned`` are trained heads over
#: code's candidates (:mod:`._clause_head`).
MODES = ("learned", "baseline", "model", "oneshot", "tuned")
#: Answer budget of a one-shot question: up to 12 verbatim sentence-length spans per part.
ONESHOT_TOKENS = 1536


def _oneshot_questions(record: Record, ctx: QuestionContext) -> list[Question]:
    """Today's one-prompt extraction as questions: one per part of the contract that fits."""
    base = output_schema(ClauseExtraction)
    empty = render_template(
        "clauses.jinja", record="", tag="RECORD-0000000000", boxed=ctx.profile.boxed_numeric_answers
    )
    # The answer budget, kept to a quarter of the context for small-context models.
    answer_tokens = min(ONESHOT_TOKENS, ctx.profile.max_model_len // 4)
    budget = prompt_room(
        ctx.profile,
        answer_tokens + ctx.profile.thinking_tokens,
        overhead=ctx.count_tokens(empty) + 16,  # 16: the fence lines around the record
    )
    pieces = fit_to_budget(
        record, budget=budget, count_tokens=ctx.count_tokens, format="text", policy="split"
    )
    questions: list[Question] = []
    for number, (piece, text) in enumerate(pieces, start=1):
        fenced, tag = fence(text)
        content = render_template(
            "clauses.jinja", record=fenced, tag=tag, boxed=ctx.profile.boxed_numeric_answers
        )
        schema = grounded_schema(piece, base) if ctx.grounding else base
        questions.append(
            Question(
                key=f"part:{number}",
                messages=[{"role": "user", "content": content}],
                json_schema=schema,
                max_tokens=answer_tokens,
            )
        )
    return questions


def _all_failed(answers: Answers) -> None:
    """Raise the first failure when no question got a valid answer (the record's typed error).

    With some answers valid, a failed question counts as "no clause found" for its category
    (or part): the record keeps the clauses that were answered.
    """
    if answers.failures and not answers.values:
        raise next(iter(answers.failures.values()))


def clauses_task(
    *,
    k: int = modes.DEFAULT_K,
    threshold: float = modes.BASELINE_THRESHOLD,
    band: tuple[float, float] = modes.QUESTION_BAND,
    adapter: str | os.PathLike[str] | None = None,
) -> Task[ClauseExtraction]:
    """The clauses task with its settings: ``k`` candidates per question, the baseline's
    ``threshold``, the model mode's ``band`` of ranking scores where the model is asked
    (``(-inf, inf)``: every category with a candidate). Modes (``RunOptions["mode"]``, CLI
    ``--mode``):

    - ``learned`` (default): a head trained on CUAD gold (``structkit tune clauses``) scores
      each category's top candidates from code's features and the span's words; no model.
    - ``baseline``: no model; the best-ranked candidate when it scores ``threshold`` or more.
    - ``model``: code ranks candidates per category and keeps its clear answers; for a
      category whose best score is in ``band`` the model picks one of the top ``k`` or "none"
      in one small constrained question.
    - ``oneshot``: the whole contract (or each part) in one prompt; the model lists the clauses
      of all 20 types, its spans constrained to the contract's sentences. For strong models.
    - ``tuned``: the same with the default model's hidden states of each span (the model runs,
      one forward pass per span, no decoding).

    ``adapter``: a head folder written by ``structkit tune`` for the ``learned``/``tuned`` modes
    (default: the heads shipped in the package); with one given, its kind is the default mode.
    A missing, corrupt or mismatched adapter is an ``AdapterError`` naming it.
    """
    if k < 1:
        raise ConfigurationError("clauses: k must be at least 1")
    if band[0] > band[1]:
        raise ConfigurationError("clauses: the question band's lower bound is above its upper")

    heads: Heads[ClauseHead] = Heads(
        adapter, load=ClauseHead.load, shipped=shipped_head_dir, modes={k: k for k in HEAD_KINDS}
    )
    task_modes: tuple[str, ...] = MODES
    kind = heads.given_kind()
    if kind is not None:
        task_modes = (kind, *(m for m in MODES if m != kind))

    def questions(record: Record, ctx: QuestionContext) -> list[Question]:
        if ctx.mode in ("baseline", *HEAD_KINDS):
            return []
        if ctx.mode == "oneshot":
            return _oneshot_questions(record, ctx)
        return [
            Question(
                key=p.key,
                messages=[{"role": "user", "content": p.content}],
                json_schema=p.json_schema,
                max_tokens=16,
            )
            for p in modes.question_prompts(record, k=k, band=band)
        ]

    def assemble(record: Record, answers: Answers) -> ClauseExtraction:
        _all_failed(answers)
        if answers.mode == "oneshot":
            parts = [
                ClauseExtraction.model_validate(answers.values[key])
                for key in sorted(answers.values, key=lambda key: int(key.split(":")[1]))
            ]
            # As on the classic path: parts are merged; one answer is taken as it is.
            return parts[0] if len(parts) == 1 else merge_clauses(parts)  # [] -> no clauses
        if answers.mode == "baseline":
            found = modes.baseline_clauses(record, threshold=threshold)
        elif answers.mode in HEAD_KINDS:
            found = heads.for_mode(answers.mode).clauses(modes.analyse(record))
        else:
            found = modes.assemble_clauses(record, answers.values, k=k, band=band)
        return ClauseExtraction.model_validate({"clauses": found})

    return Task(
        name="clauses",
        template="clauses.jinja",
        output_model=ClauseExtraction,
        format="text",
        grounded_schema=grounded_schema,  # the one-shot mode's schema (also for schema_for)
        postprocess=postprocess,
        modes=task_modes,
        questions=questions,
        assemble=assemble,
        adapter=heads.audit,
    )


CLAUSES: Task[ClauseExtraction] = clauses_task()
"""Contract clause extraction (not registered here; ``structkit.extract_clauses`` uses it)."""
