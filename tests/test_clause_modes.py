"""The clauses task's code-first parts: spans, structure, ranking, baseline, questions."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest

import structkit
from structkit import ConfigurationError
from structkit._runner import run_task
from structkit.adapters import load
from structkit.engines import GenerationRequest
from structkit.tasks.clauses import (
    CLAUSE_TYPES,
    CLAUSES,
    ClauseExtraction,
    clauses_task,
    postprocess,
)
from structkit.tasks.clauses import _modes as modes
from structkit.tasks.clauses import _rank as rank
from structkit.tasks.clauses import _values as values

ROOT = Path(__file__).resolve().parent.parent
#: A question band that asks the model about every category with a candidate.
ASK_ALL = (-math.inf, math.inf)
#: The task asking about every category (the default band leaves clear cases to code).
ASKING = clauses_task(band=ASK_ALL)
DATASETS = ROOT / "datasets"

CONTRACT = (
    "Exhibit 10.4\n\nSUPPLY AGREEMENT\n\n"
    'This Supply Agreement (the "Agreement") is entered into as of March 3, 2019 by and between '
    'Acme Widgets, Inc., a Delaware corporation ("Acme"), and Borealis Trading Ltd. '
    '("Borealis").\n\n'
    "1. Term. This Agreement shall continue until December 31, 2021.\n\n"
    "2. Assignment. Neither party may assign this Agreement without the prior written consent "
    "of the other party.\n\n"
    "3. Insurance. Borealis shall maintain general liability insurance of at least $1,000,000.\n\n"
    "4. Governing Law. This Agreement shall be governed by the laws of the State of New York.\n"
)


def test_candidate_offsets_are_verbatim_and_cover_sentences() -> None:
    spans = rank.candidate_offsets(CONTRACT, max_length=80)
    assert spans and all(0 <= s < e <= len(CONTRACT) for s, e in spans)
    texts = [CONTRACT[s:e] for s, e in spans]
    assert all(t == t.strip() and len(t) <= 80 for t in texts)
    assert "This Agreement shall be governed by the laws of the State of New York." in texts


def test_title_preamble_parties_and_date() -> None:
    title = values.title(CONTRACT)
    assert title is not None and title.text == "SUPPLY AGREEMENT"
    assert CONTRACT[title.start : title.end] == title.text
    intro = values.preamble(CONTRACT, rank.candidate_offsets(CONTRACT, max_length=1500))
    assert intro is not None and "by and between" in intro.text
    names = [p.value for p in values.parties(CONTRACT, intro)]
    assert names == ["Acme Widgets, Inc.", "Borealis Trading Ltd."]
    for party in values.parties(CONTRACT, intro):
        assert CONTRACT[party.start : party.end] == party.text
    date = values.agreement_date(CONTRACT, intro)
    assert date is not None and date.value == "2019-03-03"
    assert CONTRACT[date.start : date.end] == "March 3, 2019"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("governed by the laws of the State of New York", "New York"),
        ("construed under the laws of England and Wales", "England and Wales"),
        ("governed by Delaware law, venue in California", "Delaware"),
        ("governed by the laws of Atlantis", ""),
    ],
)
def test_jurisdiction_from_the_list(text: str, expected: str) -> None:
    assert values.jurisdiction(text) == expected


def test_dates_with_blanks_have_no_iso_value() -> None:
    text = "made this ____ day of ________, 20__ and on the 16t h day of May, 2017"
    found = values.dates_in(text, 0, len(text))
    assert [d.value for d in found] == ["", "2017-05-16"]


def test_ranking_puts_the_clause_under_its_heading_first() -> None:
    spans = rank.candidates(CONTRACT, max_length=600)
    ranked = rank.rank_candidates(spans)
    assert set(ranked) == set(rank.RANKED_TYPES)
    for clause_type, heading, words in (
        ("Governing Law", "Governing Law", "governed by the laws"),
        ("Anti-Assignment", "Assignment", "may assign"),
        ("Insurance", "Insurance", "liability insurance"),
    ):
        top = ranked[clause_type][0].candidate
        assert top.heading == heading and words in top.text, clause_type
    # A span without any cue of the category is pushed below every span with one.
    insurance = ranked["Insurance"]
    assert all(r.score < insurance[0].score for r in insurance[1:])


def test_ranking_an_empty_contract() -> None:
    assert rank.rank_candidates([]) == {name: [] for name in rank.RANKED_TYPES}


def test_baseline_returns_verified_spans_with_values() -> None:
    record = load(CONTRACT)
    clauses = modes.baseline_clauses(record)
    value = postprocess(ClauseExtraction.model_validate({"clauses": clauses}), record)
    assert value.clauses and all(c.verified for c in value.clauses)
    for clause in value.clauses:
        assert CONTRACT[clause.start : clause.end] == clause.text
    by_type = {c.clause_type: c for c in value.clauses}
    assert by_type["Governing Law"].normalized == "New York"
    assert by_type["Agreement Date"].normalized == "2019-03-03"
    assert by_type["Document Name"].text == "SUPPLY AGREEMENT"
    parties = sorted(c.normalized for c in value.clauses if c.clause_type == "Parties")
    assert parties == ["Acme Widgets, Inc.", "Borealis Trading Ltd."]


def test_a_higher_threshold_keeps_fewer_ranked_clauses() -> None:
    record = load(CONTRACT)
    low = modes.baseline_clauses(record, threshold=-100.0)
    high = modes.baseline_clauses(record, threshold=100.0)
    structural = modes.structural_clauses(modes.analyse(record))
    assert len(high) == len(structural) < len(low)


def test_question_prompts_offer_exactly_the_shown_candidates() -> None:
    record = load(CONTRACT)
    analysis = modes.analyse(record)
    prompts = modes.question_prompts(record, k=2, band=ASK_ALL)
    assert prompts
    for prompt in prompts:
        clause_type = prompt.key.removeprefix("cat:")
        shown = modes.question_candidates(analysis, clause_type, 2)
        enum = prompt.json_schema["properties"]["choice"]["enum"]
        assert enum == [*(str(i) for i in range(1, len(shown) + 1)), "none"]
        assert prompt.json_schema["additionalProperties"] is False
        # Contract-independent instructions come first: the shared prefix of every prompt.
        assert prompt.content.startswith("You are helping a lawyer review a contract.")
        assert f"Category: {clause_type}:" in prompt.content


def test_assemble_takes_the_chosen_candidate_and_ignores_none() -> None:
    record = load(CONTRACT)
    analysis = modes.analyse(record)
    answers = {
        "cat:Governing Law": {"choice": "1"},
        "cat:Insurance": {"choice": "none"},
        "cat:Anti-Assignment": {"choice": "9"},  # not a shown id: ignored, not an error
    }
    clauses = modes.assemble_clauses(record, answers, k=3, band=ASK_ALL)
    ranked = [c for c in clauses if c["clause_type"] not in ("Document Name", "Parties")]
    chosen = {c["clause_type"]: c for c in ranked}
    expected = modes.question_candidates(analysis, "Governing Law", 3)[0]
    assert chosen["Governing Law"]["start"] == expected.start
    assert chosen["Governing Law"]["normalized"] == "New York"
    assert "Insurance" not in chosen and "Anti-Assignment" not in chosen


def test_dataset_has_enough_cuad_gold_per_category() -> None:
    from structkit.tasks.clauses import CLAUSE_TYPES

    counts = dict.fromkeys(CLAUSE_TYPES, 0)
    contracts = 0
    for line in (DATASETS / "clauses.jsonl").read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        if not row["id"].startswith("cuad_"):
            continue
        contracts += 1
        source = (DATASETS / row["input"]).read_text(encoding="utf-8-sig")
        for span in row["gold"]["spans"]:
            counts[span["clause_type"]] += 1
            if span["start"] >= 0:
                assert source[span["start"] : span["end"]] == span["text"]
    assert contracts >= 22
    assert min(counts.values()) >= 5, counts


# --- the task's modes through the runner (FakeEngine) ----------------------------------------


def _choice_engine(choice: str) -> structkit.FakeEngine:
    def respond(request: GenerationRequest) -> str:
        enum = request.json_schema["properties"]["choice"]["enum"]
        return json.dumps({"choice": choice if choice in enum else "none"})

    return structkit.FakeEngine(respond)


def test_baseline_mode_never_calls_the_model() -> None:
    engine = _choice_engine("1")
    (outcome,) = run_task(CLAUSES, [CONTRACT], engine=engine, mode="baseline")
    value = outcome.unwrap()
    assert engine.calls == [] and outcome.questions == 0
    assert value.clauses and all(c.verified for c in value.clauses)


def test_question_mode_asks_every_record_in_one_engine_call() -> None:
    engine = _choice_engine("1")
    second = str(DATASETS / "clauses" / "cuad_netzee_maintenance_agreement.txt")
    outcomes = run_task(ASKING, [CONTRACT, second], engine=engine, mode="model")
    assert len(engine.calls) == 1  # one generate call for all questions of both records
    asked = sum(o.questions for o in outcomes)
    assert asked == len(engine.calls[0]) > 0
    for outcome in outcomes:
        value = outcome.unwrap()
        source = outcome.record.source_text if outcome.record else None
        assert source is not None
        for clause in value.clauses:
            assert clause.verified and source[clause.start : clause.end] == clause.text
    by_type = {c.clause_type: c for c in outcomes[0].unwrap().clauses}
    assert by_type["Governing Law"].normalized == "New York"


def test_question_mode_answering_none_keeps_only_what_code_found() -> None:
    (outcome,) = run_task(ASKING, [CONTRACT], engine=_choice_engine("none"), mode="model")
    types = {c.clause_type for c in outcome.unwrap().clauses}
    assert types <= {"Document Name", "Parties", "Agreement Date", "Effective Date"}


def test_each_clause_names_who_chose_it() -> None:
    """code for structure and the thresholded ranking, model for its picks, adapter for the
    head's; the review page badges items by it (#25)."""
    structural = {"Document Name", "Parties", "Agreement Date", "Effective Date"}
    (baseline,) = run_task(CLAUSES, [CONTRACT], engine=_choice_engine("1"), mode="baseline")
    assert {c.origin for c in baseline.unwrap().clauses} == {"code"}
    (learned,) = run_task(CLAUSES, [CONTRACT], engine=_choice_engine("1"), mode="learned")
    origins = {c.clause_type: c.origin for c in learned.unwrap().clauses}
    assert "adapter" in origins.values() and set(origins.values()) <= {"code", "adapter"}
    assert all(origins[t] == "code" for t in structural & set(origins))
    (asked,) = run_task(ASKING, [CONTRACT], engine=_choice_engine("1"), mode="model")
    picked = {c.clause_type: c.origin for c in asked.unwrap().clauses}
    assert picked["Governing Law"] == "model"
    assert all(picked[t] == "code" for t in structural & set(picked))
    # what the model writes itself (one-shot) is the model's; the schema never asks for it
    assert "origin" not in json.dumps(CLAUSES.schema_for(load(CONTRACT), grounding=True))
    assert (
        ClauseExtraction.model_validate(
            {"clauses": [{"clause_type": "Parties", "text": "Acme", "normalized": "Acme"}]}
        )
        .clauses[0]
        .origin
        == "model"
    )


def test_modes_and_unknown_modes_are_refused() -> None:
    # The default (first) is the shipped learned head, the best measured (README).
    assert CLAUSES.modes == ("learned", "baseline", "model", "oneshot", "tuned")
    with pytest.raises(ConfigurationError):
        run_task(CLAUSES, [CONTRACT], engine=_choice_engine("1"), mode="nonsense")
    with pytest.raises(ConfigurationError):
        clauses_task(k=0)


def test_k_is_the_number_of_candidates_offered() -> None:
    engine = _choice_engine("none")
    run_task(clauses_task(k=1, band=ASK_ALL), [CONTRACT], engine=engine, mode="model")
    for request in engine.calls[0]:
        assert request.json_schema["properties"]["choice"]["enum"] == ["1", "none"]


def test_eval_compares_every_mode_and_tables_each_type(tmp_path: Path) -> None:
    from structkit.evaluation import evaluate
    from structkit.evaluation._report import to_markdown

    def respond(request: GenerationRequest) -> str:
        if "choice" in request.json_schema.get("properties", {}):
            return json.dumps({"choice": "1"})
        return json.dumps({"clauses": []})

    lines = (DATASETS / "clauses.jsonl").read_text(encoding="utf-8").splitlines()
    subset = tmp_path / "clauses.jsonl"
    subset.write_text("\n".join([lines[0], lines[-1]]) + "\n", encoding="utf-8")
    for line in (lines[0], lines[-1]):
        name = json.loads(line)["input"]
        (tmp_path / "clauses").mkdir(exist_ok=True)
        (tmp_path / name).write_bytes((DATASETS / name).read_bytes())
    evaluation = evaluate(
        "clauses", subset, engines=[structkit.FakeEngine(respond)], runs=1, warmup=False
    )
    assert [c.setting for c in evaluation.configs] == [{"mode": m} for m in CLAUSES.modes]
    baseline = next(c for c in evaluation.configs if c.setting == {"mode": "baseline"})
    stat = baseline.stat("clauses_f1")
    assert stat is not None and stat.mean > 0  # code alone finds some expert spans
    report = to_markdown(evaluation)
    assert "### Per type" in report and "| Governing Law |" in report


def test_ranked_and_structural_types_are_exactly_the_clause_types() -> None:
    structural = ("Document Name", "Parties", "Agreement Date")
    assert set(rank.RANKED_TYPES) | set(structural) == set(CLAUSE_TYPES)
    assert not set(rank.RANKED_TYPES) & set(structural)
    assert list(rank.RANKED_TYPES) == [t for t in CLAUSE_TYPES if t not in structural]


def test_the_band_asks_the_model_only_where_the_ranking_is_unclear() -> None:
    record = load(CONTRACT)
    analysis = modes.analyse(record)
    best = {t: r[0].score for t, r in analysis.ranked.items() if r}
    scores = sorted(set(best.values()))
    assert len(scores) >= 4
    band = (scores[1], scores[-2])  # at least one category below, one above, some inside
    asked = {p.key.removeprefix("cat:") for p in modes.question_prompts(record, k=3, band=band)}
    assert asked == {
        t
        for t, s in best.items()
        if band[0] <= s < band[1] and modes.question_candidates(analysis, t, 3)
    }
    # Every question answered "none": code's clear answers stay, at their best span.
    clauses = modes.assemble_clauses(
        record, {f"cat:{t}": {"choice": "none"} for t in asked}, k=3, band=band
    )
    ranked = {c["clause_type"]: c for c in clauses[len(modes.structural_clauses(analysis)) :]}
    assert set(ranked) == {t for t, s in best.items() if s >= band[1]}
    for clause_type, clause in ranked.items():
        top = analysis.ranked[clause_type][0].candidate
        assert (clause["start"], clause["end"]) == (top.start, top.end)
    # Answered "1": the in-band categories get their first shown candidate too.
    chosen = modes.assemble_clauses(
        record, {f"cat:{t}": {"choice": "1"} for t in asked}, k=3, band=band
    )
    assert len(chosen) == len(clauses) + len(asked)


def test_an_empty_band_is_the_baseline_and_asks_nothing() -> None:
    engine = _choice_engine("1")
    task = clauses_task(band=(modes.BASELINE_THRESHOLD, modes.BASELINE_THRESHOLD))
    (asked,) = run_task(task, [CONTRACT], engine=engine, mode="model")
    (baseline,) = run_task(task, [CONTRACT], engine=engine, mode="baseline")
    assert engine.calls == [] and asked.questions == 0
    assert asked.unwrap() == baseline.unwrap()
    with pytest.raises(ConfigurationError):
        clauses_task(band=(2.0, 1.0))


@pytest.mark.engine
def test_asking_every_category_on_the_real_model_gives_verified_spans(
    real_engine: Any,
) -> None:
    # Guarantees only: a valid answer or a typed error per record, every span at its offsets.
    second = str(DATASETS / "clauses" / "cuad_netzee_maintenance_agreement.txt")
    outcomes = run_task(ASKING, [CONTRACT, second], engine=real_engine, mode="model")
    assert len(outcomes) == 2
    for outcome in outcomes:
        if not outcome.ok:
            assert isinstance(outcome.error, structkit.StructkitError)
            continue
        assert outcome.questions > 0
        source = outcome.record.source_text if outcome.record else None
        assert source is not None
        for clause in outcome.unwrap().clauses:
            assert clause.verified and source[clause.start : clause.end] == clause.text
