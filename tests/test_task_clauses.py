"""Contract clause extraction: grounding in decoding and in code, splitting, CUAD gold scoring.

FakeEngine only: answers are scripted from the request's (grounded) schema.
"""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

import structkit
from structkit._runner import run_task
from structkit._schema import output_schema, unbounded_paths
from structkit.adapters import Record, Section
from structkit.adapters._text import parse_text
from structkit.engines import GenerationRequest
from structkit.evaluation.cuad import GoldSpan, load_gold, parse_span_list, score, spans_match
from structkit.tasks.clauses import (
    CLAUSE_TYPES,
    CLAUSES,
    MAX_SPAN,
    Clause,
    ClauseExtraction,
    candidate_spans,
    locate_span,
    merge_clauses,
    normalize_date,
    postprocess,
)

CONTRACTS = Path(__file__).resolve().parent / "fixtures" / "contracts"
NETZEE = CONTRACTS / "cuad_netzee_maintenance_agreement.txt"
AGAPE = CONTRACTS / "cuad_agape_supply_agreement.txt"
GOLD_CSV = CONTRACTS / "cuad_clauses_for_samples.csv"
CODE_FIELDS = {"start", "end", "verified", "grounding", "issues"}

EXPIRATION = (
    "The maintenance is for a period of one (1) year commencing upon expiration of the initial "
    "one (1) year term of the License/Services Schedule."
)


def answer(*clauses: tuple[str, str, str]) -> str:
    return json.dumps(
        {"clauses": [{"clause_type": t, "text": x, "normalized": n} for t, x, n in clauses]}
    )


def enum_of(request: GenerationRequest) -> list[str]:
    spans: list[str] = request.json_schema["$defs"]["Clause"]["properties"]["text"]["enum"]
    return spans


def run_one(
    record: Any, respond: Any, *, grounding: bool = True, **engine_options: Any
) -> tuple[ClauseExtraction, structkit.FakeEngine]:
    engine = structkit.FakeEngine(respond, **engine_options)
    (outcome,) = run_task(
        CLAUSES, [record], engine=engine, grounding=grounding, max_attempts=1, mode="oneshot"
    )
    return outcome.unwrap(), engine


def text_record(text: str) -> Record:
    return parse_text(text if "\n" in text else text + "\n")


# --- schema -----------------------------------------------------------------------------------


def test_decoding_schema_is_bounded_and_leaves_code_fields_out():
    schema = output_schema(ClauseExtraction)
    assert unbounded_paths(schema) == []
    clause = schema["$defs"]["Clause"]
    assert set(clause["properties"]) == {"clause_type", "text", "normalized"}
    assert set(clause["required"]) == {"clause_type", "text", "normalized"}
    assert clause["additionalProperties"] is False
    assert clause["properties"]["text"]["maxLength"] == MAX_SPAN
    assert clause["properties"]["clause_type"]["enum"] == list(CLAUSE_TYPES)
    assert schema["properties"]["clauses"]["maxItems"] == 12
    assert CLAUSES.schema == schema  # grounding off decodes against the full model schema


def test_clause_types_are_cuad_categories():
    with GOLD_CSV.open(encoding="utf-8-sig", newline="") as handle:
        header = next(csv.reader(handle))
    assert set(CLAUSE_TYPES) <= set(header)


def test_model_written_code_fields_are_rejected_by_the_schema():
    bad = {"clauses": [{"clause_type": "Parties", "text": "x", "normalized": "", "start": 3}]}
    assert list(Draft202012Validator(CLAUSES.schema).iter_errors(bad))


def test_grounded_schema_enumerates_verbatim_candidate_spans():
    record = parse_text(NETZEE)
    schema = CLAUSES.schema_for(record, grounding=True)
    assert unbounded_paths(schema) == []
    Draft202012Validator.check_schema(schema)
    spans = schema["$defs"]["Clause"]["properties"]["text"]["enum"]
    assert EXPIRATION in spans
    assert "MAINTENANCE AGREEMENT" in spans and "NETZEE, INC." in spans
    assert "COMMENCEMENT DATE FOR MAINTENANCE UNDER THIS ADDENDUM:  MARCH 1, 2001" in spans
    assert len(spans) == len(set(spans))
    assert all(s in record.source_text and s == s.strip() for s in spans)
    assert all(len(s) <= MAX_SPAN for s in spans)
    assert "1" not in spans and "By:" not in spans  # page numbers and labels are not clauses
    # The task's base schema is not modified by grounding.
    assert "enum" not in CLAUSES.schema["$defs"]["Clause"]["properties"]["text"]
    assert CLAUSES.schema_for(record, grounding=False) == CLAUSES.schema


def test_candidate_spans_keep_abbreviations_and_cut_long_sentences():
    text = "Acme Inc. of Delaware shall pay U.S. dollars at 9 a.m. Monday. Then it ends. Next!"
    assert candidate_spans(text) == [
        "Acme Inc. of Delaware shall pay U.S. dollars at 9 a.m. Monday.",
        "Then it ends.",
        "Next!",
    ]
    long = "The party shall " + ", ".join(f"do thing number {i}" for i in range(80)) + "."
    pieces = candidate_spans(long, max_length=200)
    assert len(pieces) > 1 and all(len(p) <= 200 for p in pieces)
    assert all(p in long for p in pieces)
    assert "".join(pieces).replace(" ", "") == long.replace(" ", "")  # nothing lost


def test_prompt_lists_every_type_fences_the_contract_and_has_no_system_turn():
    (message,) = CLAUSES.prompt("the contract text", profile=structkit.profile_for("x"))
    assert message["role"] == "user"
    for clause_type in CLAUSE_TYPES:
        assert f"- {clause_type}:" in message["content"]
    assert "copied exactly" in message["content"]
    fenced = r"<<<RECORD-\w+>>>\nthe contract text\n<<<END-RECORD-\w+>>>"
    assert re.search(fenced, message["content"])


# --- grounding in code ------------------------------------------------------------------------


def test_a_copied_sentence_gets_exact_verified_offsets():
    def respond(request: GenerationRequest) -> str:
        assert EXPIRATION in enum_of(request)
        return answer(
            ("Document Name", "MAINTENANCE AGREEMENT", ""),
            ("Expiration Date", EXPIRATION, ""),
            ("Parties", "NETZEE, INC.", "Netzee, Inc."),
        )

    result, engine = run_one(str(NETZEE), respond)
    source = NETZEE.read_text(encoding="utf-8")
    assert len(engine.calls) == 1 and len(engine.calls[0]) == 1
    types = [c.clause_type for c in result.clauses]
    assert types == ["Parties", "Document Name", "Expiration Date"]  # document order
    for clause in result.clauses:
        assert clause.verified and clause.grounding == "exact" and clause.issues == []
        assert source[clause.start : clause.end] == clause.text
    assert result.clauses[0].start == source.index("NETZEE, INC.") == 14


def test_grounded_decoding_rejects_text_that_is_not_in_the_contract():
    def respond(request: GenerationRequest) -> str:
        return answer(("Governing Law", "This Agreement is governed by Texas law.", "Texas"))

    engine = structkit.FakeEngine(respond)
    (outcome,) = run_task(CLAUSES, [str(NETZEE)], engine=engine, max_attempts=1, mode="oneshot")
    assert isinstance(outcome.error, structkit.OutputValidationError)


def test_a_span_with_different_whitespace_is_found_and_mapped_back():
    source = NETZEE.read_text(encoding="utf-8")
    squeezed = "COMMENCEMENT DATE FOR MAINTENANCE UNDER THIS ADDENDUM: MARCH 1, 2001"  # one space
    wrapped = EXPIRATION.replace(" commencing upon ", "\n  commencing\tupon ")
    result, _ = run_one(
        str(NETZEE),
        lambda r: answer(("Effective Date", squeezed, ""), ("Expiration Date", wrapped, "")),
        grounding=False,
    )
    expiration, effective = result.clauses  # in document order
    assert (effective.clause_type, expiration.clause_type) == ("Effective Date", "Expiration Date")
    assert effective.grounding == expiration.grounding == "whitespace-normalized"
    assert effective.verified and expiration.verified
    assert source[effective.start : effective.end] == squeezed.replace(": ", ":  ")
    assert source[expiration.start : expiration.end] == EXPIRATION
    assert effective.normalized == "2001-03-01"  # read from the clause text in code


def test_a_span_that_is_not_in_the_text_is_flagged():
    invented = "This Agreement is governed by the laws of Texas."
    result, _ = run_one(
        str(NETZEE), lambda r: answer(("Governing Law", invented, "Texas")), grounding=False
    )
    (clause,) = result.clauses
    assert (clause.verified, clause.grounding, clause.start, clause.end) == (
        False,
        "not found",
        -1,
        -1,
    )
    assert "clause text not found in the document" in clause.issues
    assert any("Texas" in issue for issue in clause.issues)  # the jurisdiction is not there


NON_ASCII = (
    "Vertrag zwischen Müller GmbH und Café Éclair SARL 🤝.\n\n"
    "Die Parteien vereinbaren: „Dieses Abkommen unterliegt dem Recht der Schweiz.“ "
    "The “Licensee” shall pay 100 € per month 💶.\n\n"
    "Signed on 3 März 2021 by José Núñez."
)


@pytest.mark.parametrize("grounding", [True, False])
def test_offsets_are_right_for_non_ascii_text(grounding):
    spans = candidate_spans(NON_ASCII)
    licence = "The “Licensee” shall pay 100 € per month 💶."
    law = "„Dieses Abkommen unterliegt dem Recht der Schweiz.“"
    assert "Vertrag zwischen Müller GmbH und Café Éclair SARL 🤝." in spans
    assert licence in spans

    def respond(request: GenerationRequest) -> str:
        if grounding:
            assert licence in enum_of(request)
        return answer(
            (
                "Parties",
                "Vertrag zwischen Müller GmbH und Café Éclair SARL 🤝.",
                "Café Éclair SARL",
            ),
            ("License Grant", licence, ""),
            ("Governing Law", "Die Parteien vereinbaren: " + law, "Schweiz"),
        )

    result, _ = run_one(text_record(NON_ASCII), respond, grounding=grounding)
    for clause in result.clauses:
        assert clause.grounding == "exact" and clause.issues == []
        assert NON_ASCII[clause.start : clause.end] == clause.text
    (clause,) = [c for c in result.clauses if c.clause_type == "License Grant"]
    assert clause.start == NON_ASCII.index("The “Licensee”")


def test_whitespace_normalized_offsets_are_right_for_non_ascii_text():
    source = "Préambule 🙂.\n\nLa société  “Zürich   AG”\n shall pay 5 €.\n"
    start, end, how = locate_span("société “Zürich AG” shall pay 5 €.", source)
    assert how == "whitespace-normalized"
    assert source[start:end] == "société  “Zürich   AG”\n shall pay 5 €."
    assert locate_span("absent", source) == (-1, -1, "not found")
    assert locate_span("   ", source) == (-1, -1, "not found")


def test_dates_are_normalized_in_code_and_invalid_ones_flagged():
    record = text_record(
        "This Agreement is dated March 1, 2001 between A Corp and B Corp.\n\n"
        "The term ends on the 15th day of January, 2028.\n\nThe term is ten (10) years."
    )
    value = ClauseExtraction(
        clauses=[
            Clause(
                clause_type="Agreement Date",
                text="This Agreement is dated March 1, 2001 between A Corp and B Corp.",
                normalized="",
            ),
            Clause(
                clause_type="Effective Date",
                text="This Agreement is dated March 1, 2001 between A Corp and B Corp.",
                normalized="03/01/2001",
            ),
            Clause(
                clause_type="Expiration Date",
                text="The term ends on the 15th day of January, 2028.",
                normalized="2028-02-30",
            ),
            Clause(
                clause_type="Expiration Date",
                text="The term is ten (10) years.",
                normalized="10 years",
            ),
            Clause(
                clause_type="Parties",
                text="This Agreement is dated March 1, 2001 between A Corp and B Corp.",
                normalized="C Corp",
            ),
        ]
    )
    agreement, effective, parties, expires, term = postprocess(value, record).clauses
    assert agreement.normalized == effective.normalized == "2001-03-01"
    assert agreement.issues == effective.issues == []
    assert expires.normalized == "2028-01-15"  # the invalid date is replaced by the text's date
    assert any("not a complete date" in i for i in expires.issues)
    assert term.normalized == "" and any("10 years" in i for i in term.issues)
    assert any("does not occur" in i for i in parties.issues)
    assert normalize_date("January 2018") is None and normalize_date("2001") is None
    assert normalize_date("15th day of January 2018") == normalize_date("2018-01-15")


def test_postprocess_drops_exact_duplicates():
    text = "Governed by the laws of England.\n\nGoverned by the laws of England."
    record = text_record(text)
    clause = Clause(
        clause_type="Governing Law", text="Governed by the laws of England.", normalized="England"
    )
    other = clause.model_copy(update={"clause_type": "Exclusivity", "normalized": ""})
    result = postprocess(ClauseExtraction(clauses=[clause, clause, other]), record)
    assert [c.clause_type for c in result.clauses] == ["Governing Law", "Exclusivity"]
    assert all(c.start == 0 for c in result.clauses)


# --- long contracts ---------------------------------------------------------------------------


def long_contract(sections: int = 40) -> str:
    paragraphs = ["MASTER SUPPLY AGREEMENT"]
    for i in range(1, sections + 1):
        paragraphs.append(
            f"{i}. Clause {i}. The Supplier shall deliver batch number {i} to the Buyer within "
            f"{i + 10} days of each written order placed under this section."
        )
        if i % 10 == 0:
            paragraphs.append("This Agreement shall be governed by the laws of England.")
    return "\n\n".join(paragraphs) + "\n"


def test_merge_drops_duplicates_across_parts():
    law = Clause(clause_type="Governing Law", text="Laws of England apply.", normalized="England")
    law_again = law.model_copy(update={"text": "English law governs.", "normalized": " ENGLAND"})
    same_text = law.model_copy(update={"text": "Laws  of England\napply.", "normalized": ""})
    parties = [
        Clause(clause_type="Parties", text=f"Party {i} Ltd", normalized=f"Party {i}")
        for i in range(12)
    ]
    merged = merge_clauses(
        [
            ClauseExtraction(clauses=[law, *parties[:6]]),
            ClauseExtraction(clauses=[law_again, same_text, *parties[3:]]),
        ]
    )
    assert [c.text for c in merged.clauses] == [law.text, *(p.text for p in parties)]


def sectioned(record: Record) -> Record:
    """The same document with one section per paragraph (the unit the runner splits by)."""
    sections = [Section(title=v.key, values=[v]) for v in record.values()]
    return Record(record.record_id, "text", sections, source_text=record.source_text)


@pytest.mark.parametrize("layout", ["as parsed", "one section per paragraph"])
def test_a_long_contract_is_split_into_parts_and_merged_without_duplicates(layout):
    text = long_contract()
    record = text_record(text) if layout == "as parsed" else sectioned(text_record(text))
    profile = structkit.profile_for("x").with_overrides(max_model_len=1600, max_tokens=400)

    def respond(request: GenerationRequest) -> str:
        spans = enum_of(request)
        law = [s for s in spans if "governed by" in s]
        delivery = [s for s in spans if "shall deliver" in s]
        clauses = [("Governing Law", s, "England") for s in law]
        clauses.append(("Exclusivity", delivery[0], ""))
        return answer(*clauses)

    engine = structkit.FakeEngine(respond, profile=profile)
    (outcome,) = run_task(
        CLAUSES, [record], engine=engine, max_attempts=1, max_tokens=400, mode="oneshot"
    )
    result = outcome.unwrap()
    parts = outcome.questions  # one one-shot question per part
    assert parts > 2 and len(engine.calls[0]) == parts
    law = [c for c in result.clauses if c.clause_type == "Governing Law"]
    exclusivity = [c for c in result.clauses if c.clause_type == "Exclusivity"]
    assert len(law) == 1 and law[0].normalized == "England"
    assert law[0].start == text.index("This Agreement shall be governed")
    assert len(exclusivity) == parts  # one distinct sentence per part, none repeated
    assert len({(c.start, c.end) for c in exclusivity}) == parts
    for clause in result.clauses:
        assert clause.verified and text[clause.start : clause.end] == clause.text
    assert [c.start for c in result.clauses] == sorted(c.start for c in result.clauses)


# --- CUAD gold and scoring --------------------------------------------------------------------


def gold_for(path: Path, contract: str) -> tuple[str, Any]:
    source = path.read_text(encoding="utf-8")
    return source, load_gold(GOLD_CSV, contract, source_text=source)


def test_cuad_gold_loader_reads_both_sample_contracts():
    source, netzee = gold_for(NETZEE, "NETZEE")
    assert netzee.filename.startswith("NETZEEINC_11_14_2002")
    parties = {s.text for s in netzee.of_type("Parties")}
    assert parties == {"Bankers Bank", "Netzee", "THE BANKERS BANK", "NETZEE, INC."}
    assert netzee.answers["Parties"] == 'Netzee, inc. ("Netzee"); The Bankers Bank ("Bankers Bank")'
    assert netzee.answers["Renewal Term"] == "successive 1 year"
    (effective,) = netzee.of_type("Effective Date")
    assert source[effective.start : effective.end] == effective.text

    source, agape = gold_for(AGAPE, "AgapeAtpCorp_20191202_10-KA_EX-10.1_11911128_EX-10.1_Supply")
    assert agape.answers["Governing Law"] == "England"
    (law,) = agape.of_type("Governing Law")
    assert law.text == (
        "This agreement shall be governed by the Laws of England (English common and "
        "statutory Law)."
    )
    assert agape.answers["Ip Ownership Assignment"] == "Yes"
    assert agape.answers["Notice Period To Terminate Renewal"] == "6 months"
    for span in [*netzee.spans, *agape.spans]:
        assert span.grounding in ("exact", "whitespace-normalized")
    for span in agape.spans:
        assert " ".join(source[span.start : span.end].split()) == " ".join(span.text.split())


def test_cuad_gold_loader_needs_one_matching_row():
    with pytest.raises(ValueError, match="no row"):
        load_gold(GOLD_CSV, "no such contract")
    with pytest.raises(ValueError, match="several"):
        load_gold(GOLD_CSV, "agreement")


def test_span_lists_are_parsed_without_eval():
    assert parse_span_list("['a', \"b's\"]") == ["a", "b's"]
    assert parse_span_list("") == [] and parse_span_list("[]") == []
    for bad in ("__import__('os').system('true')", "[1, 2]", "{'a': 1}", "['unclosed"):
        with pytest.raises(ValueError):
            parse_span_list(bad)


def test_score_is_one_for_gold_and_zero_for_nothing():
    for path, contract in ((NETZEE, "NETZEE"), (AGAPE, "Agape")):
        _, gold = gold_for(path, contract)
        perfect = score(gold.spans, gold.spans)
        assert perfect.micro.f1 == 1.0 and perfect.macro_f1 == 1.0
        assert all(s.f1 == 1.0 for s in perfect.by_type.values())
        empty = score([], gold.spans)
        assert empty.micro.f1 == 0.0
        assert all(s.f1 == 0.0 and s.recall == 0.0 for s in empty.by_type.values())
        # Without offsets the text rule applies: still perfect.
        unlocated = [GoldSpan(s.clause_type, s.text) for s in gold.spans]
        assert score(unlocated, gold.spans).micro.f1 == 1.0


def test_span_matching_rule():
    def span(start: int, end: int, kind: str = "Parties", text: str = "x") -> GoldSpan:
        return GoldSpan(kind, text, start, end)

    assert spans_match(span(0, 100), span(40, 52))  # a sentence containing a short name
    assert spans_match(span(0, 10), span(5, 20))  # overlap 5 = half of the shorter
    assert not spans_match(span(0, 10), span(6, 20))  # overlap 4 < 5
    assert not spans_match(span(0, 10), span(10, 20))  # touching only
    assert not spans_match(span(0, 100), span(0, 100, kind="Governing Law"))
    assert spans_match(GoldSpan("Parties", "the  NETZEE, INC. shall"), span(3, 15, text="Netzee"))
    assert not spans_match(GoldSpan("Parties", "Acme"), span(3, 15, text="Netzee"))
    report = score([span(0, 10), span(50, 60)], [span(2, 8)], types=["Parties", "Insurance"])
    parties = report.by_type["Parties"]
    assert (parties.precision, parties.recall) == (0.5, 1.0)
    assert report.by_type["Insurance"].f1 == 1.0  # correctly predicted absent


def test_extraction_scored_against_cuad_gold():
    _, gold = gold_for(NETZEE, "NETZEE")
    renewal = gold.of_type("Renewal Term")[0].text

    def respond(request: GenerationRequest) -> str:
        return answer(
            ("Document Name", "MAINTENANCE AGREEMENT", ""),
            ("Parties", "NETZEE, INC.", "Netzee, Inc."),
            ("Renewal Term", renewal, ""),
            ("Governing Law", next(s for s in enum_of(request) if "WITNESS" in s), ""),  # wrong
        )

    result, _ = run_one(str(NETZEE), respond)
    types = ["Document Name", "Parties", "Renewal Term", "Governing Law"]
    report = score(result.clauses, gold.spans, types=types)
    assert report.by_type["Document Name"].f1 == 1.0
    assert report.by_type["Renewal Term"].f1 == 1.0
    assert report.by_type["Parties"].precision == 1.0
    # Gold spans are located at their first occurrence: "Netzee" and "Bankers Bank" in the
    # body, "THE BANKERS BANK" in the signature block; only "NETZEE, INC." is the same span.
    assert report.by_type["Parties"].recall == 0.25
    assert report.by_type["Governing Law"].f1 == 0.0
