"""Tuning diagnosis (structkit tune diagnosis): held-out rules, a tiny real training run, the
artifact's checks, and the learned and tuned modes that use it (FakeEngine for the model)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

import structkit
from structkit import AdapterError, ConfigurationError, FakeEngine, GenerationRequest, cli
from structkit.adapters import load
from structkit.tasks import with_adapter
from structkit.tasks.diagnosis import MODES, analyse, baseline_ranking
from structkit.tuning import DIAGNOSIS_HELD_OUT, tune_diagnosis

ROOT = Path(__file__).resolve().parent.parent
BENCHMARK = ROOT / "datasets" / "diagnosis_real.jsonl"
SHIPPED = ROOT / "structkit" / "tuned" / "diagnosis-learned"
RECORD = ROOT / "examples" / "patient_record.json"


def _never(request: GenerationRequest) -> str:
    raise AssertionError("the model was asked")


def _benchmark_rows() -> list[dict[str, object]]:
    return [json.loads(line) for line in BENCHMARK.read_text(encoding="utf-8").splitlines()]


def _small_dataset(folder: Path, count: int = 16) -> Path:
    """The first ``count`` Synthea records of the benchmark copied as a training set (the
    mechanism's test only: the shipped head never saw them)."""
    lines = []
    for row in _benchmark_rows():
        if not str(row["id"]).startswith("synthea") or len(lines) >= count:
            continue
        source = BENCHMARK.parent / str(row["input"])
        shutil.copy(source, folder / source.name)
        lines.append(json.dumps({**row, "input": source.name}))
    path = folder / "train.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def tiny_head(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("diagnosis-tune")
    report = tune_diagnosis(_small_dataset(folder), out=folder / "out", seed=0, validation=0.25)
    assert report.train_records == 12 and report.validation_records == 4
    assert report.examples > report.positive > 0
    assert set(report.validation) == {"code_order", "learned"}
    return report.kinds["learned"]


def test_tiny_training_run_writes_a_head_with_provenance_that_orders_the_candidates(
    tiny_head: Path,
) -> None:
    manifest = json.loads((tiny_head / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["task"] == "diagnosis" and manifest["kind"] == "learned"
    data = manifest["training_data"]
    assert len(data["train_records"]) == 12 and len(data["validation_records"]) == 4
    assert not set(data["train_records"]) & set(data["validation_records"])  # split by record
    assert manifest["settings"]["C"] in manifest["settings"]["C_grid"]
    assert data["repositories"] == ["smart-on-fhir/generated-sample-data"]

    diagnosis = structkit.diagnose(
        str(RECORD), adapter=tiny_head, mode="learned", engine=FakeEngine(_never)
    )
    assert diagnosis.ranked_by == "adapter"
    candidates = {c.code for c in analyse(load(str(RECORD))).candidates}
    assert {d.code for d in diagnosis.differential} <= candidates  # only code's candidates
    assert all(d.verified and d.pointers for d in diagnosis.differential)
    likelihoods = [d.likelihood for d in diagnosis.differential]
    assert likelihoods == sorted(likelihoods, reverse=True)


def test_the_learned_mode_orders_by_the_head_and_the_audit_names_it(tiny_head: Path) -> None:
    from structkit.tasks.diagnosis._head import DiagnosisHead

    head = DiagnosisHead.load(tiny_head)
    (outcome,) = structkit.run(
        with_adapter("diagnosis", tiny_head),
        [str(RECORD)],
        engine=FakeEngine(_never),
        mode="learned",
    )
    value = outcome.unwrap()
    order = [c.code for c in head.order(analyse(load(str(RECORD))))]
    assert [d.code for d in value.differential] == order[: len(value.differential)]
    assert outcome.audit is not None and outcome.audit["adapter"]["sha256"] == head.sha256


def test_the_tuned_mode_asks_the_model_from_the_heads_order(tiny_head: Path) -> None:
    from structkit.tasks.diagnosis._head import DiagnosisHead

    order = [c.code for c in DiagnosisHead.load(tiny_head).order(analyse(load(str(RECORD))))]
    prompts: list[str] = []

    def last_only(request: GenerationRequest) -> str:
        prompts.append(request.messages[-1]["content"])
        return json.dumps({"differential": [order[-1]]})  # names one code, the head's last

    diagnosis = structkit.diagnose(
        str(RECORD), adapter=tiny_head, mode="tuned", engine=FakeEngine(last_only)
    )
    listed = [
        line.split(":")[0].lstrip("- ") for line in prompts[0].splitlines() if line.startswith("- ")
    ]
    assert listed == order  # the candidates are shown in the head's order
    codes = [d.code for d in diagnosis.differential]
    assert codes[0] == order[-1] and codes[1:] == [c for c in order if c != order[-1]][:4]
    assert diagnosis.ranked_by == "model"


def test_the_default_is_the_shipped_head_and_learned_and_baseline_never_call_the_model() -> None:
    # learned first: the best order measured on the real-record benchmark (README, Diagnosis)
    assert MODES == ("learned", "model", "tuned", "baseline")
    default = structkit.diagnose(str(RECORD), engine=FakeEngine(_never))
    assert default.ranked_by == "adapter"
    for mode in ("learned", "baseline"):
        diagnosis = structkit.diagnose(str(RECORD), mode=mode, engine=FakeEngine(_never))
        assert diagnosis.differential
    expected = baseline_ranking(analyse(load(str(RECORD))).candidates)
    baseline = structkit.diagnose(str(RECORD), mode="baseline", engine=FakeEngine(_never))
    assert [d.code for d in baseline.differential] == [c for c, _ in expected]


def test_excluded_and_held_out_records_are_never_trained_on(tmp_path: Path) -> None:
    data = _small_dataset(tmp_path, count=6)
    rows = [json.loads(line) for line in data.read_text(encoding="utf-8").splitlines()]
    rows[0]["gold"]["source"] = "healthwallet-datasets:synthea_r4_1114198.json"
    rows[1]["gold"]["source"] = "smart-on-fhir/generated-sample-data:R4/Buster_Hoeger_x.json"
    data.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    exclude = tmp_path / "exclude.jsonl"
    exclude.write_text(json.dumps({**rows[2], "gold": {"icd10": ["I10"]}}) + "\n", "utf-8")
    report = tune_diagnosis(data, out=tmp_path / "out", exclude=[exclude], validation=0.34)
    assert report.left_out == 3 and report.train_records + report.validation_records == 3
    manifest = json.loads((report.kinds["learned"] / "manifest.json").read_text("utf-8"))
    used = set(manifest["training_data"]["train_records"]) | set(
        manifest["training_data"]["validation_records"]
    )
    assert not used & {str(r["id"]) for r in rows[:3]}
    assert {"Buster_Hoeger", "healthwallet"} <= set(DIAGNOSIS_HELD_OUT)


def test_the_shipped_head_never_saw_a_benchmark_record() -> None:
    manifest = json.loads((SHIPPED / "manifest.json").read_text(encoding="utf-8"))
    data = manifest["training_data"]
    used = set(data["train_records"]) | set(data["validation_records"])
    benchmark = {str(r["id"]) for r in _benchmark_rows()}
    assert used and not used & benchmark
    assert data["repositories"] == ["smart-on-fhir/generated-sample-data"]
    assert data["left_out"] == 0  # the training set was built without them (make_… --training)


def test_a_corrupt_or_foreign_diagnosis_adapter_is_a_typed_error(
    tiny_head: Path, tmp_path: Path
) -> None:
    broken = tmp_path / "broken"
    shutil.copytree(tiny_head, broken)
    (broken / "head.safetensors").write_bytes(b"not weights")
    with pytest.raises(AdapterError, match="corrupt"):
        with_adapter("diagnosis", broken)
    clauses_head = ROOT / "structkit" / "tuned" / "clauses-learned"
    with pytest.raises(AdapterError, match="not a diagnosis head"):
        structkit.diagnose(str(RECORD), adapter=clauses_head, engine=FakeEngine(_never))
    with pytest.raises(AdapterError, match="no manifest"):
        with_adapter("diagnosis", tmp_path)
    with pytest.raises(ConfigurationError, match="no tuned adapters"):
        with_adapter("financials", tiny_head)


def test_cli_tunes_diagnosis_and_diagnoses_with_the_adapter(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = _small_dataset(tmp_path, count=8)
    code = cli.main(["tune", "diagnosis", str(data), "--out", str(tmp_path / "out")])
    assert code == 0 and "validation" in capsys.readouterr().out
    folder = tmp_path / "out" / "diagnosis-learned"
    code = cli.main(["diagnose", str(RECORD), "--mode", "learned", "--adapter", str(folder)])
    out = capsys.readouterr().out
    assert code == 0 and json.loads(out)["ranked_by"] == "adapter"
