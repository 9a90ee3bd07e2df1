"""LoRA of the default model: a tiny real training run, its artifact on llama.cpp and vLLM, and
the adapter checks (missing, corrupt, another task or base model: typed errors naming it).

The training run is real (PEFT on the prepared default model, a few optimizer steps on four
records whose gold is the last of code's candidates, so the answer to learn is not code's
order); the engines are real. What is asserted is what the code guarantees: the validation loss
is recorded and the training loss falls, the adapter loads on each engine and is applied (its
answers differ from the base model's on the questions it was trained on), every answer is valid
or a typed failure, and the audit names the adapter. How good a LoRA is belongs in eval.
"""

from __future__ import annotations

import hashlib
import json
import math
import shutil
from pathlib import Path
from typing import Any

import pytest

import structkit
from structkit import AdapterError
from structkit._prepare import GGUF_SHA256
from structkit.tasks.diagnosis import analyse, diagnosis_task
from structkit.tuning import LoraSettings, tune_diagnosis
from structkit.tuning._lora import training_dtype

ROOT = Path(__file__).resolve().parent.parent
RECORDS = [
    ROOT / "examples" / "patient_record.json",
    ROOT / "examples" / "fhir_bundle.json",
    ROOT / "tests" / "fixtures" / "fhir_bundle_chest_pain.json",
    ROOT / "examples" / "ccda_discharge.xml",
]
#: A few optimizer steps at a high rate: enough for the loss to fall on four examples.
TINY = LoraSettings(rank=8, alpha=16, dropout=0.0, learning_rate=1e-3, accumulate=1, epochs=2)


def _tiny_dataset(path: Path) -> Path:
    lines = []
    for n, file in enumerate(RECORDS):
        candidates = sorted(
            analyse(structkit.adapters.load(file)).candidates, key=lambda c: (-c.weight, c.code)
        )
        gold = candidates[-1].code  # the last of code's order: the LoRA must move it up
        lines.append(json.dumps({"id": f"r{n}", "input": str(file), "gold": {"icd10": [gold]}}))
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture(scope="module")
def lora(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("lora")
    report = tune_diagnosis(
        _tiny_dataset(folder / "tiny.jsonl"),
        out=folder / "out",
        kinds=["lora"],
        validation=0.25,
        lora=TINY,
    )
    assert report.kinds == {"lora": folder / "out" / "diagnosis-lora"}
    return report.kinds["lora"]


def _manifest(folder: Path) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((folder / "manifest.json").read_text())
    return loaded


@pytest.mark.engine
def test_tiny_training_run_lowers_the_loss_and_records_its_provenance(lora: Path) -> None:
    manifest = _manifest(lora)
    losses = manifest["validation"]["losses"]
    assert [x["epoch"] for x in losses][:2] == [0, 1]  # before training, then each epoch
    assert all(math.isfinite(x["validation_loss"]) for x in losses)
    # the loss on the same training examples falls
    assert losses[-1]["train_loss"] < losses[0]["train_loss"]
    assert manifest["kind"] == "lora" and manifest["task"] == "diagnosis"
    assert manifest["base_model"]["gguf_sha256"] == GGUF_SHA256
    assert manifest["settings"]["dtype"] == "float32"  # the dtype it computed in
    assert len(manifest["training_data"]["sha256"]) == 64
    assert manifest["settings"]["rank"] == 8
    assert manifest["structkit_version"] == structkit.__version__
    assert set(manifest["files"]) == {
        "peft/adapter_config.json",
        "peft/adapter_model.safetensors",
        "adapter.gguf",
    }
    # Split by document: the validation record is not a training record.
    data = manifest["training_data"]
    assert set(data["train_records"]).isdisjoint(data["validation_records"])


def _orders(engine: Any, task: Any, mode: str) -> list[tuple[str, ...]]:
    outcomes = structkit.run(task, [str(f) for f in RECORDS], engine=engine, mode=mode)
    orders = []
    for outcome in outcomes:
        assert outcome.error is None or isinstance(outcome.error, structkit.StructkitError)
        if outcome.value is not None:
            orders.append(tuple(item.code for item in outcome.value.differential))
    return orders


def _lora_changes_answers(engine: Any, lora: Path) -> None:
    task = diagnosis_task(adapter=lora)
    assert task.modes[0] == "lora"  # a LoRA adapter makes its mode the default
    # LoRA requests first: an engine that starts for them starts with LoRA on, once.
    tuned = _orders(engine, task, "lora")
    base = _orders(engine, task, "model")
    assert tuned and base
    assert tuned != base  # the adapter is applied: answers differ on its training questions
    outcome = structkit.run(task, [str(RECORDS[0])], engine=engine)[0]
    assert outcome.audit is not None and outcome.audit["adapter"]["kind"] == "lora"
    manifest_sha256 = hashlib.sha256((lora / "manifest.json").read_bytes()).hexdigest()
    assert outcome.audit["adapter"]["sha256"] == manifest_sha256


@pytest.mark.engine
@pytest.mark.parametrize("kind", ["llamacpp", "vllm"])
def test_lora_loads_on_each_engine_and_changes_its_answers(lora: Path, kind: str) -> None:
    """llama.cpp applies the GGUF form to the shipped Q4 GGUF; vLLM loads the PEFT form."""
    from structkit.engines import LlamaCppEngine, VLLMEngine

    engine = LlamaCppEngine(parallel=2) if kind == "llamacpp" else VLLMEngine(kv_cache_gib=1.0)
    try:
        _lora_changes_answers(engine, lora)
    finally:
        engine.close()


@pytest.mark.engine
def test_a_new_lora_restarts_llamacpp_without_failing_a_job_in_flight(lora: Path) -> None:
    """A job on the base model runs on one thread while another names a LoRA the server was not
    started with (a restart): no request of either job fails in the engine."""
    import threading
    import time

    from structkit.engines import LlamaCppEngine

    engine = LlamaCppEngine(parallel=2)
    task = diagnosis_task(adapter=lora)
    results: dict[str, list[Any]] = {}

    def job(name: str, mode: str) -> None:
        results[name] = structkit.run(task, [str(f) for f in RECORDS * 3], engine=engine, mode=mode)

    try:
        base = threading.Thread(target=job, args=("base", "model"))
        base.start()
        deadline = time.monotonic() + 120
        while engine._pool is None and time.monotonic() < deadline:  # the base server is up
            time.sleep(0.05)
        job("lora", "lora")
        base.join(timeout=600)
    finally:
        engine.close()
    assert {name: len(got) for name, got in results.items()} == {"base": 12, "lora": 12}
    for outcome in [*results["base"], *results["lora"]]:
        assert not isinstance(outcome.error, structkit.EngineRequestError), outcome.error


# --- adapter checks, on a copy of a LoRA folder made without training (fast) ----------------


@pytest.fixture
def fake_lora(tmp_path: Path) -> Path:
    """A well-formed LoRA folder (the manifest pins each file's sha256): weights are not read
    until an engine loads them, so the checks run on any bytes."""
    folder = tmp_path / "diagnosis-lora"
    (folder / "peft").mkdir(parents=True)
    (folder / "peft" / "adapter_config.json").write_text(json.dumps({"r": 8, "lora_alpha": 16}))
    (folder / "peft" / "adapter_model.safetensors").write_bytes(b"weights")
    (folder / "adapter.gguf").write_bytes(b"gguf")
    files = {
        name: hashlib.sha256((folder / name).read_bytes()).hexdigest()
        for name in ("peft/adapter_config.json", "peft/adapter_model.safetensors", "adapter.gguf")
    }
    manifest = {
        "format": 1,
        "task": "diagnosis",
        "kind": "lora",
        "base_model": {"gguf_sha256": GGUF_SHA256},
        "files": files,
    }
    (folder / "manifest.json").write_text(json.dumps(manifest))
    return folder


def test_a_well_formed_lora_gives_the_lora_mode(fake_lora: Path) -> None:
    task = diagnosis_task(adapter=fake_lora)
    assert task.modes == ("lora", "learned", "model", "tuned", "baseline")
    assert task.adapter is not None
    assert task.adapter("lora")["kind"] == "lora"  # type: ignore[index]
    assert task.adapter("learned")["kind"] == "learned"  # type: ignore[index]


def test_a_corrupt_lora_is_a_typed_error_naming_it(fake_lora: Path) -> None:
    (fake_lora / "adapter.gguf").write_bytes(b"gguf, altered")
    with pytest.raises(AdapterError, match=r"diagnosis-lora.*adapter\.gguf is corrupt"):
        diagnosis_task(adapter=fake_lora)


def test_a_lora_with_a_file_missing_is_a_typed_error(fake_lora: Path) -> None:
    shutil.rmtree(fake_lora / "peft")
    with pytest.raises(AdapterError, match="is missing"):
        diagnosis_task(adapter=fake_lora)


def test_a_lora_of_another_base_model_is_a_typed_error(fake_lora: Path) -> None:
    manifest = _manifest(fake_lora)
    manifest["base_model"]["gguf_sha256"] = "0" * 64
    (fake_lora / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(AdapterError, match="another base model"):
        structkit.diagnose(RECORDS[0], adapter=fake_lora)


def test_a_lora_for_another_task_is_a_typed_error(fake_lora: Path) -> None:
    manifest = _manifest(fake_lora)
    manifest["task"] = "clauses"
    (fake_lora / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(AdapterError, match="not a diagnosis LoRA"):
        diagnosis_task(adapter=fake_lora)


# --- labels from a teacher ---------------------------------------------------------------


def _records(tmp_path: Path) -> tuple[Path, list[Any]]:
    from structkit.tuning._diagnosis import load_records

    data = _tiny_dataset(tmp_path / "tiny.jsonl")
    records, _ = load_records(data)
    return data, records


def test_teacher_labels_are_its_validated_answers_and_disagreement_is_counted(
    tmp_path: Path,
) -> None:
    from structkit.engines import FakeEngine
    from structkit.tuning._diagnosis import lora_examples

    def reverse(request: Any) -> str:  # the candidates in reverse: gold (the last) comes first
        codes = request.json_schema["properties"]["differential"]["items"]["enum"]
        return json.dumps({"differential": list(reversed(codes))[:5]})

    data, records = _records(tmp_path)
    examples, labels = lora_examples(data, records, teacher=FakeEngine(reverse))
    assert labels["labels"] == "teacher" and labels["teacher"]["failed_records"] == 0
    for example, record in zip(examples, records, strict=True):
        order = json.loads(example.answer)["differential"]
        assert set(order) <= {c.code for c in record.candidates}
    assert labels["teacher"]["first_code_not_gold"] == 0  # reversed puts the gold one first
    assert labels["teacher"]["compared_with_gold"] == len(examples)

    def always_first(request: Any) -> str:
        codes = request.json_schema["properties"]["differential"]["items"]["enum"]
        return json.dumps({"differential": codes[:1]})

    _, labels = lora_examples(data, records, teacher=FakeEngine(always_first))
    assert labels["teacher"]["first_code_not_gold"] >= 1

    gold_examples, gold_labels = lora_examples(data, records)
    assert gold_labels == {"labels": "gold"}
    assert [e.messages for e in gold_examples] == [e.messages for e in examples]


def test_a_teacher_answer_that_fails_validation_is_not_a_label(tmp_path: Path) -> None:
    from structkit.engines import FakeEngine
    from structkit.tuning._diagnosis import lora_examples

    data, records = _records(tmp_path)
    examples, labels = lora_examples(data, records, teacher=FakeEngine(lambda r: "not json"))
    assert examples == [] and labels["teacher"]["failed_records"] == len(records)


@pytest.mark.engine
def test_a_real_engine_as_teacher_gives_grounded_labels(tmp_path: Path, real_engine: Any) -> None:
    from structkit.tuning._diagnosis import lora_examples

    data, records = _records(tmp_path)
    examples, labels = lora_examples(data, records, teacher=real_engine)
    assert labels["teacher"]["engine"] == type(real_engine).__name__
    assert len(examples) + labels["teacher"]["failed_records"] == len(records)
    by_id = {r.id: r for r in records}
    for example in examples:
        order = json.loads(example.answer)["differential"]
        assert order and set(order) <= {c.code for c in by_id[example.document].candidates}


def test_a_teacher_labels_both_splits_in_one_run_and_the_split_stays_by_document(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from structkit.engines import FakeEngine
    from structkit.tuning import _diagnosis

    def reverse(request: Any) -> str:
        codes = request.json_schema["properties"]["differential"]["items"]["enum"]
        return json.dumps({"differential": list(reversed(codes))[:5]})

    runs: list[int] = []
    teacher_orders = _diagnosis._teacher_orders

    def counted(inputs: Any, records: Any, teacher: Any) -> Any:
        runs.append(len(records))
        return teacher_orders(inputs, records, teacher)

    trained: dict[str, Any] = {}

    def fake_train(train: Any, validation: Any, **kwargs: Any) -> Any:
        trained.update(train=train, validation=validation, data=kwargs["data"])
        return tmp_path / "out", {
            "train_examples": len(train),
            "losses": [{"validation_loss": 1.0}],
        }

    monkeypatch.setattr(_diagnosis, "_teacher_orders", counted)
    monkeypatch.setattr(_diagnosis, "train_lora", fake_train)
    data, records = _records(tmp_path)
    tune_diagnosis(
        data, out=tmp_path / "out", kinds=["lora"], validation=0.25, teacher=FakeEngine(reverse)
    )
    assert runs == [len(records)]  # one teacher run over the training and validation records
    split = trained["data"]
    assert {e.document for e in trained["train"]} <= set(split["train_records"])
    assert {e.document for e in trained["validation"]} <= set(split["validation_records"])
    assert trained["validation"] and split["labels"]["labels"] == "teacher"


def test_a_lora_dtype_other_than_float32_or_bfloat16_is_a_configuration_error() -> None:
    assert training_dtype(LoraSettings(dtype="bfloat16")) == "bfloat16"
    cpu = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").is_file() else ""
    native = "avx512_bf16" in cpu or "amx_bf16" in cpu
    assert training_dtype(LoraSettings(dtype="auto")) == ("bfloat16" if native else "float32")
    assert training_dtype(LoraSettings()) == "float32"
    with pytest.raises(structkit.ConfigurationError, match="float16"):
        LoraSettings(dtype="float16")
