"""Tuning (structkit tune clauses): held-out rules, a tiny real training run, the artifact's
checks, and the modes and commands that use it. The tuned head runs the real default model."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
from pathlib import Path

import pytest

import structkit
from structkit import AdapterError, ConfigurationError, cli
from structkit.tasks import with_adapter
from structkit.tuning import (
    CUAD_HELD_OUT_NAMES,
    cuad_split,
    independent_check,
    independent_contracts,
    tune_clauses,
)

ROOT = Path(__file__).resolve().parent.parent
SHIPPED = ROOT / "structkit" / "tuned"
CONTRACT = ROOT / "examples" / "contract.txt"


def _cuad_slug(filename: str) -> str:
    # scripts/dataset_clauses.py names the dataset's CUAD copies this way (no structkit code:
    # the test must not share the rule it checks).
    slug = re.sub(r"[^a-z0-9]+", "_", Path(filename).stem.lower()).strip("_")
    return "cuad_" + slug[:70].strip("_")


def test_independent_check_is_the_sha256_rule() -> None:
    for stem in ("a", "b", "LohaCoLtd_Agreement", "x" * 40):
        first = hashlib.sha256(stem.encode("utf-8")).hexdigest()[0]
        assert independent_check(stem) is (first in "01")


def test_cuad_split_never_uses_held_out_contracts(tmp_path: Path) -> None:
    texts = tmp_path / "full_contract_txt"
    texts.mkdir()
    names = [f"Contract{i:03d}_EX-10.1_Agreement" for i in range(60)] + [
        f"{CUAD_HELD_OUT_NAMES[3]}_EX-10_Marketing Agreement"
    ]
    evaluation_copy = tmp_path / "ours.txt"
    evaluation_copy.write_text("the evaluation contract\n", encoding="utf-8")
    for i, name in enumerate(names):
        body = "the evaluation contract\n" if i == 5 else f"contract number {i}\n"
        (texts / f"{name}.txt").write_text(body, encoding="utf-8")
    rows = "".join(f'"{n}.pdf"\n' for n in names)
    (tmp_path / "master_clauses.csv").write_text("Filename\n" + rows, encoding="utf-8")
    # The dataset keeps some contracts as excerpts under their slugged name: excluded by name.
    excerpted = next(i for i, n in enumerate(names[:-1]) if i != 5 and not independent_check(n))
    excerpt = tmp_path / f"{_cuad_slug(names[excerpted] + '.txt')}.txt"
    excerpt.write_text("an excerpt\n", encoding="utf-8")
    split = cuad_split(tmp_path, exclude_texts=[evaluation_copy, excerpt], train=10, validation=5)
    assert split.excluded[f"{names[excerpted]}.txt"] == "evaluation dataset"
    used = split.train + split.validation
    assert len(used) == 15 and not set(split.train) & set(split.validation)
    for path in used:
        assert not independent_check(path.stem)
        assert CUAD_HELD_OUT_NAMES[3] not in path.name
        assert path.read_text(encoding="utf-8") != "the evaluation contract\n"
    assert split.excluded[f"{names[5]}.txt"] == "evaluation dataset"
    assert split.excluded[f"{names[-1]}.txt"] == "issue #12"
    again = cuad_split(tmp_path, exclude_texts=[evaluation_copy, excerpt], train=10, validation=5)
    assert again == split  # seeded


def test_independent_contracts_are_the_checked_ones_with_gold_and_never_the_dataset(
    tmp_path: Path,
) -> None:
    texts = tmp_path / "full_contract_txt"
    texts.mkdir()
    names = [f"Contract{i:03d}_EX-10.1_Agreement" for i in range(80)]
    kept = [n for n in names if independent_check(n)]
    assert len(kept) >= 5
    no_row, too_long, copied, excerpted = kept[:4]
    evaluation_copy = tmp_path / "ours.txt"
    evaluation_copy.write_text("the evaluation contract\n", encoding="utf-8")
    excerpt = tmp_path / f"{_cuad_slug(excerpted + '.txt')}.txt"
    excerpt.write_text("an excerpt\n", encoding="utf-8")
    for name in names:
        body = "the evaluation contract\n" if name == copied else f"contract {name}\n"
        if name == too_long:
            body = "x" * 2_000
        (texts / f"{name}.txt").write_text(body, encoding="utf-8")
    rows = "".join(f'"{n}.pdf"\n' for n in names if n != no_row)
    (tmp_path / "master_clauses.csv").write_text("Filename\n" + rows, encoding="utf-8")
    found = independent_contracts(
        tmp_path, exclude_texts=[evaluation_copy, excerpt], max_bytes=1_000
    )
    assert [p.stem for p in found] == kept[4:]
    split = cuad_split(tmp_path, exclude_texts=[evaluation_copy, excerpt], train=10, validation=5)
    assert not set(found) & set(split.train + split.validation)


@pytest.mark.parametrize("kind", ["learned", "tuned"])
def test_shipped_adapters_were_trained_on_none_of_the_held_out_contracts(kind: str) -> None:
    manifest = json.loads((SHIPPED / f"clauses-{kind}" / "manifest.json").read_text("utf-8"))
    data = manifest["training_data"]
    ours = {p.stem for p in (ROOT / "datasets" / "clauses").glob("cuad_*.txt")}
    used = data["train_contracts"] + data["validation_contracts"]
    assert len(used) >= 100
    for name in used:
        stem = Path(name).stem
        assert not independent_check(stem), name
        assert not any(h.casefold() in stem.casefold() for h in CUAD_HELD_OUT_NAMES), name
        assert _cuad_slug(name) not in ours, name
    assert manifest["base_model"]["gguf_sha256"] == structkit._prepare.GGUF_SHA256
    assert manifest["structkit_version"] == structkit.__version__


def _tiny_dataset(tmp_path: Path) -> Path:
    lines = (ROOT / "datasets" / "clauses.jsonl").read_text("utf-8").splitlines()
    out = []
    for line in lines[:6]:  # synthetic contracts
        item = json.loads(line)
        item["input"] = str(ROOT / "datasets" / item["input"])
        out.append(json.dumps(item))
    path = tmp_path / "tiny.jsonl"
    path.write_text("\n".join(out) + "\n", encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def tiny_adapters(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    tmp = tmp_path_factory.mktemp("tune")
    report = tune_clauses(_tiny_dataset(tmp), out=tmp / "out", seed=0)
    assert report.train_contracts == 4 and report.validation_contracts == 2
    assert report.examples > 0 and 0 < report.positive < report.examples
    return report.kinds


def test_tiny_training_run_writes_adapters_that_load_and_answer(
    tiny_adapters: dict[str, Path],
) -> None:
    from structkit.tasks.clauses._head import ClauseHead
    from structkit.tasks.clauses._modes import analyse

    record = structkit.adapters.load(CONTRACT)
    learned = ClauseHead.load(tiny_adapters["learned"])
    tuned = ClauseHead.load(tiny_adapters["tuned"])
    assert learned.hidden_width == 0 and tuned.hidden_width == 576
    p_learned = [p for _, p in learned.probabilities(analyse(record))]
    p_tuned = [p for _, p in tuned.probabilities(analyse(record))]
    assert len(p_learned) == len(p_tuned) > 0
    assert p_learned != p_tuned  # the model's hidden states carry weight in the tuned head
    for kind, folder in tiny_adapters.items():
        (outcome,) = structkit.run(with_adapter("clauses", folder), [CONTRACT])
        assert outcome.error is None, outcome.error
        assert outcome.value is not None
        assert all(c.verified for c in outcome.value.clauses)
        assert outcome.audit["mode"] == kind
        assert outcome.audit["adapter"]["sha256"] == ClauseHead.load(folder).sha256
        assert outcome.audit["adapter"]["kind"] == kind


def test_a_corrupt_missing_or_foreign_adapter_is_a_typed_error(
    tiny_adapters: dict[str, Path], tmp_path: Path
) -> None:
    with pytest.raises(AdapterError, match=r"no manifest\.json"):
        structkit.extract_clauses(CONTRACT, adapter=tmp_path / "nothing")
    corrupt = tmp_path / "corrupt"
    shutil.copytree(tiny_adapters["tuned"], corrupt)
    weights = corrupt / "head.safetensors"
    data = bytearray(weights.read_bytes())
    data[-1] ^= 0xFF
    weights.write_bytes(bytes(data))
    with pytest.raises(AdapterError, match=r"corrupt.*head\.safetensors is corrupt"):
        with_adapter("clauses", corrupt)
    foreign = tmp_path / "foreign"
    shutil.copytree(tiny_adapters["tuned"], foreign)
    manifest = json.loads((foreign / "manifest.json").read_text("utf-8"))
    manifest["base_model"]["gguf_sha256"] = "0" * 64
    (foreign / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    with pytest.raises(AdapterError, match="another base model"):
        with_adapter("clauses", foreign)
    with pytest.raises(ConfigurationError, match="no tuned adapters"):
        with_adapter("financials", tiny_adapters["tuned"])
    with pytest.raises(AdapterError, match="not a diagnosis head"):
        with_adapter("diagnosis", tiny_adapters["tuned"])  # another task's head


def test_cli_runs_the_shipped_learned_head_and_names_a_bad_adapter(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    assert cli.main(["clauses", str(CONTRACT), "--mode", "learned"]) == 0
    answer = json.loads(capsys.readouterr().out)
    assert all(c["verified"] for c in answer["clauses"])
    assert cli.main(["clauses", str(CONTRACT), "--adapter", str(tmp_path / "none")]) == 1
    assert "AdapterError" in capsys.readouterr().err


def test_eval_compare_names_become_mode_settings() -> None:
    from structkit.evaluation._cli import compare_settings

    assert compare_settings("base,tuned,baseline") == [
        {"mode": "model"},
        {"mode": "tuned"},
        {"mode": "baseline"},
    ]
    with pytest.raises(ValueError):
        compare_settings(" , ")
