"""End to end on the real embedded vLLM engine and the packaged default model (not a fake)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

import structkit
from structkit import Diagnosis, ModelNotFoundError, TruncatedOutputError
from structkit._schema import output_schema

from .conftest import EXAMPLES, ROOT

pytestmark = pytest.mark.engine


def test_diagnosis_comes_back_validated(real_engine, patient_record):
    result = structkit.diagnose(patient_record, engine=real_engine)
    assert isinstance(result, Diagnosis)
    import jsonschema

    jsonschema.validate(result.model_dump(mode="json"), output_schema(Diagnosis))


def test_batch_of_eight_returns_eight_results(real_engine, patient_record):
    records = [dict(patient_record, visit=i) for i in range(8)]
    outcomes = structkit.diagnose_many(records, engine=real_engine)
    assert len(outcomes) == 8
    assert [o.record_id for o in outcomes] == [f"#{i}" for i in range(8)]
    for outcome in outcomes:
        assert outcome.ok or isinstance(outcome.error, structkit.OutputError)
        assert outcome.completion_tokens > 0
    assert sum(o.ok for o in outcomes) >= 6  # constrained decoding: nearly always valid


def test_tiny_budget_raises_truncated_with_raw_text(real_engine, patient_record):
    with pytest.raises(TruncatedOutputError) as info:
        structkit.diagnose(patient_record, engine=real_engine, max_tokens=6, max_attempts=1)
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
