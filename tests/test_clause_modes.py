"""The clauses task's code-first parts: spans, structure, ranking, baseline, questions."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from structkit.adapters import load
from structkit.tasks import _clause_modes as modes
from structkit.tasks import _clause_rank as rank
from structkit.tasks import _clause_values as values
from structkit.tasks.clauses import ClauseExtraction, postprocess

ROOT = Path(__file__).resolve().parent.parent
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
    prompts = modes.question_prompts(record, k=2)
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
    clauses = modes.assemble_clauses(record, answers, k=3)
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
