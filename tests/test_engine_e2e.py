"""End to end on the real embedded vLLM engine and the packaged default model (not a fake)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

import structkit
from structkit import Diagnosis, ModelNotFoundError, TruncatedOutputError

from .conftest import EXAMPLES, ROOT

pytestmark = pytest.mark.engine


@pytest.fixture(scope="module")
def batch_of_eight(real_engine):
    """Eight variants of the example record in one engine batch (shared by two tests)."""
    record = json.loads((EXAMPLES / "patient_record.json").read_text())
    return structkit.diagnose_many(
        [dict(record, visit=i) for i in range(8)], engine=real_engine, mode="model"
    )


def test_diagnosis_comes_back_validated(batch_of_eight):
    from structkit.clinical.icd10cm import title_of

    result = next(o for o in batch_of_eight if o.ok).value
    assert isinstance(result, Diagnosis) and result.ranked_by == "model"
    # By construction: every condition is a verified ICD-10-CM code with its official title,
    # retrieved from this record (pointers), and the list is coherent (checked by the model class).
    for item in result.differential:
        assert item.verified and title_of(item.code) == item.condition and item.pointers
    assert result.findings.measurements and result.scores  # computed in code, always there


def test_batch_of_eight_returns_eight_results(batch_of_eight):
    outcomes = batch_of_eight
    assert len(outcomes) == 8
    assert [o.record_id for o in outcomes] == [f"#{i}" for i in range(8)]
    for outcome in outcomes:
        assert outcome.ok or isinstance(outcome.error, structkit.OutputError)
        assert outcome.completion_tokens > 0
    assert sum(o.ok for o in outcomes) >= 6  # constrained decoding: nearly always valid


def test_tiny_budget_raises_truncated_with_raw_text(real_engine, patient_record):
    with pytest.raises(TruncatedOutputError) as info:
        structkit.diagnose(
            patient_record, engine=real_engine, max_tokens=3, max_attempts=1, mode="model"
        )
    err = info.value
    assert err.finish_reason == "length" and err.attempts == 1
    assert err.raw.startswith("{")  # the constrained prefix of a JSON answer


def test_invalid_model_path_is_a_clear_error(tmp_path):
    with pytest.raises(ModelNotFoundError, match="no model at"):
        structkit.diagnose({"a": 1}, model=str(tmp_path / "no-such-model"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(ModelNotFoundError, match=r"no config\.json"):
        structkit.diagnose({"a": 1}, model=str(tmp_path / "empty"))


def test_cli_prints_a_validated_diagnosis():
    """The README's main job, as a user runs it (its own process, its own engine)."""
    cli = [sys.executable, "-m", "structkit.cli", "diagnose", str(EXAMPLES / "patient_record.json")]
    proc = subprocess.run(cli, capture_output=True, text=True, cwd=ROOT, timeout=900)
    assert proc.returncode == 0, proc.stderr[-2000:]
    Diagnosis.model_validate(json.loads(proc.stdout))  # stdout is exactly the JSON answer


def test_diagnose_accepts_fhir_ccda_and_dataframe_records(real_engine):
    import pandas as pd

    from .conftest import FIXTURES

    frame = pd.DataFrame([{"age": 71, "sex": "F", "complaint": "dyspnea", "spo2": 88}])
    sources = [
        FIXTURES / "fhir_bundle_chest_pain.json",
        FIXTURES / "ccda_discharge_small.xml",
        frame,
    ]
    outcomes = structkit.diagnose_many(sources, engine=real_engine, mode="model")
    assert [o.record_id for o in outcomes] == [
        "fhir_bundle_chest_pain.json",
        "ccda_discharge_small.xml",
        "#2",
    ]
    assert [o.record.kind for o in outcomes] == ["fhir", "ccda", "table"]
    assert sum(o.ok for o in outcomes) >= 2, [str(o.error) for o in outcomes]
    for outcome in outcomes:
        if outcome.ok:
            pointers = {v.pointer for v in outcome.record.values()}
            for item in outcome.value.differential:
                # every condition was retrieved from this record: its pointers resolve in it
                assert item.verified and item.pointers and set(item.pointers) <= pointers


def test_a_batch_of_long_records_is_chunk_prefilled_without_killing_the_engine(real_engine):
    """Regression: seeded requests + chunked prefill killed vLLM's CPU engine core."""
    from .conftest import FIXTURES

    sources = [
        FIXTURES / "synthea_r4_clemente_kreiger.json",
        FIXTURES / "hl7_ccd.xml",
        FIXTURES / "apple_fy2021_2023_income_statement.csv",
        FIXTURES / "apple_fy2023_balance_sheet.csv",
        EXAMPLES / "patient_record.json",
    ]
    outcomes = structkit.diagnose_many(
        sources, engine=real_engine, max_tokens=3, max_attempts=1, mode="model"
    )
    # the long records yield two or more candidates (code's retrieval), so the engine is asked
    assert any(o.questions for o in outcomes)
    for outcome in outcomes:
        assert not isinstance(outcome.error, structkit.EngineRequestError), outcome.error
        # diagnosis asks the model only to order two or more coded candidates (compact
        # prompts); a record with fewer is answered by code and never reaches the engine
        if outcome.questions:
            assert isinstance(outcome.error, TruncatedOutputError)  # 3 tokens cannot finish
        else:
            assert outcome.ok and len(outcome.value.differential) <= 1
    (alive,) = structkit.diagnose_many(
        [EXAMPLES / "patient_record.json"], engine=real_engine, mode="model"
    )
    assert alive.questions and not isinstance(alive.error, structkit.EngineRequestError)


def test_financials_are_grounded_and_ratios_computed_in_code(real_engine):
    from .conftest import FIXTURES

    path = FIXTURES / "finance" / "small_income_statement.csv"
    (outcome,) = structkit.run("financials", [path], engine=real_engine, max_attempts=2)
    assert outcome.ok, str(outcome.error)
    result = outcome.value
    assert (result.currency, result.scale) == ("USD", "millions")
    # Decoding offers only the table's cells, so every item names a real cell.
    assert result.line_items
    for item in result.line_items:
        assert item.grounded and item.pointer is not None, item
    assert not any(f.kind == "ungrounded" for f in result.flags)
    for ratios in result.ratios:
        revenue = result.value_of("revenue", ratios.period)
        net = result.value_of("net_income", ratios.period)
        if revenue and net is not None:  # computed in code from the grounded cells
            assert ratios.net_margin == pytest.approx(net / revenue)
            if (revenue, net) == (1200, 240):  # the fixture's true FY2024 figures
                assert ratios.net_margin == pytest.approx(0.2)


def test_financials_flag_a_broken_statement(real_engine):
    from .conftest import FIXTURES

    path = FIXTURES / "finance" / "broken_balance_sheet.csv"
    (outcome,) = structkit.run("financials", [path], engine=real_engine, max_attempts=2)
    assert outcome.ok, str(outcome.error)
    assert any(f.kind == "identity" for f in outcome.value.flags)


@pytest.mark.parametrize("mode", ["model", "oneshot"])  # the modes that ask the model
def test_clauses_have_verified_offsets_on_a_real_contract(real_engine, mode):
    import math

    from structkit.tasks.clauses import clauses_task

    from .conftest import FIXTURES

    path = FIXTURES / "contracts" / "cuad_netzee_maintenance_agreement.txt"
    source = path.read_text(encoding="utf-8")
    # Every category asked: the default model's calibrated band is empty (it would ask nothing).
    task = clauses_task(band=(-math.inf, math.inf))
    (outcome,) = structkit.run(task, [path], engine=real_engine, max_attempts=2, mode=mode)
    assert outcome.ok or isinstance(outcome.error, structkit.OutputError), outcome.error
    if mode == "model":
        assert outcome.questions > 0
    result = outcome.value
    for clause in result.clauses if result is not None else []:
        # grounded decoding copies spans from the contract: each is found and verified
        assert clause.verified, clause
        assert " ".join(source[clause.start : clause.end].split()) == " ".join(clause.text.split())


@pytest.fixture(scope="module")
def think_engine():
    """The real engine with vLLM's deepseek_r1 reasoning parser on a think-shaped model."""
    from structkit import VLLMEngine

    from .reasoning_model import PROFILE, make_think_model

    engine = VLLMEngine(make_think_model(), profile=PROFILE)
    yield engine
    engine.close()


def test_reasoning_model_thinks_freely_then_answers_under_the_schema(think_engine, patient_record):
    # The budget forces </think> after 40 thinking tokens; only the answer is constrained.
    # A 135M model sometimes loops inside a bounded string until max_tokens: several records
    # and attempts make "at least one valid answer" a safe expectation.
    outcomes = structkit.diagnose_many(
        [patient_record] * 3,
        engine=think_engine,
        thinking_budget=40,
        max_tokens=700,
        max_attempts=3,
        mode="model",
    )
    assert any(o.ok for o in outcomes), [str(o.error) for o in outcomes]
    for outcome in outcomes:
        if outcome.ok:
            assert outcome.reasoning  # returned separately from the validated answer
            assert not outcome.reasoning.lstrip().startswith("{")  # thinking was not constrained


def test_running_out_of_budget_while_thinking_is_a_clear_outcome(think_engine, patient_record):
    with pytest.raises(structkit.ThinkingBudgetError) as info:
        structkit.diagnose(
            patient_record, engine=think_engine, max_tokens=24, max_attempts=1, mode="model"
        )
    assert info.value.finish_reason == "length" and info.value.reasoning
