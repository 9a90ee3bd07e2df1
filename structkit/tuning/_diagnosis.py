"""``structkit tune diagnosis DATA``: learn the order of code's diagnosis candidates from gold.

DATA is a dataset in the evaluation format (``{"id", "input", "gold": {"icd10": [...]}}`` per
line, as ``scripts/make_diagnosis_benchmark.py --training`` writes from Synthea bundles, or what
``structkit review`` writes). A training example is one candidate code retrieves for a record,
exactly what the head scores when it runs, labelled by whether it matches a gold code (equal, or
one the other's ancestor in ICD-10-CM, the benchmark's rule). Records are split by document with
a fixed seed; one logistic regression with balanced classes; its regularisation is chosen on the
validation records by MRR (then recall@1), against code's order on the same records.

Never used: a record whose input (by content) or gold ``source`` is in an ``exclude`` dataset
(pass the benchmark, ``datasets/diagnosis_real.jsonl``), and any record from the smart-on-fhir
``Buster_Hoeger`` bundle or the healthwallet-datasets repository (kept for independent checks).
"""

from __future__ import annotations

import hashlib
import json
import random
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np

from .._engine import Engine
from .._errors import ConfigurationError, DatasetError, InputError
from .._heads import lines_sha256, write_head
from .._host import host
from .._version import __version__
from ..adapters import load
from ..clinical.candidates import Candidate
from ..clinical.icd10cm import related
from ..evaluation import load_dataset
from ..evaluation._diagnosis_codes import score_coded_differential
from ..tasks.diagnosis import _head as head_mod
from ..tasks.diagnosis import analyse
from ._lora import LoraExample, LoraSettings, train_lora

__all__ = ["DIAGNOSIS_HELD_OUT", "DiagnosisTuneReport", "tune_diagnosis"]

#: Sources never trained on, whatever the data says (kept for independent checks, issue #15).
DIAGNOSIS_HELD_OUT = ("Buster_Hoeger", "healthwallet")
#: Regularisation strengths tried on the validation records.
C_GRID = (0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0)


@dataclass(frozen=True)
class _Record:
    id: str
    sha256: str
    source: str
    gold: list[str]
    candidates: list[Candidate]
    features: list[list[float]]
    texts: list[str]
    labels: list[int]


def _input_bytes(value: Any) -> bytes:
    if isinstance(value, Path):
        return value.read_bytes()
    return str(value).encode("utf-8")


def _excluded(paths: Iterable[str | Path]) -> tuple[set[str], set[str]]:
    """Content hashes and gold sources of the records of the ``exclude`` datasets."""
    hashes: set[str] = set()
    sources: set[str] = set()
    for path in paths:
        for item in load_dataset(path):
            if isinstance(item.input, Path):
                hashes.add(hashlib.sha256(item.input.read_bytes()).hexdigest())
            source = item.gold.get("source")
            if isinstance(source, str) and source:
                sources.add(source)
    return hashes, sources


def _matches(code: str, gold: Sequence[str]) -> bool:
    return any(code == g or related(code, g) for g in gold)


def record_of(
    record_id: str, gold: list[str], analysis: Any, *, sha256: str = "", source: str = ""
) -> _Record:
    """A record as the head sees it: code's candidates in order, their features and texts, and
    the labels gold gives them (the benchmark's matching rule)."""
    ranked = head_mod.code_order(analysis)
    return _Record(
        id=record_id,
        sha256=sha256,
        source=source,
        gold=gold,
        candidates=ranked,
        features=head_mod.code_features(analysis),
        texts=[head_mod.candidate_text(c) for c in ranked],
        labels=[int(_matches(c.code, gold)) for c in ranked],
    )


def load_records(
    data: str | Path, *, exclude: Iterable[str | Path] = ()
) -> tuple[list[_Record], int]:
    """The usable records of ``data`` (gold codes, readable input), and how many were left
    out as held out or excluded."""
    hashes, sources = _excluded(exclude)
    records: list[_Record] = []
    left_out = 0
    for item in load_dataset(data):
        gold = [str(c) for c in item.gold.get("icd10", [])]
        if not gold:
            continue
        raw = _input_bytes(item.input)
        digest = hashlib.sha256(raw).hexdigest()
        source = str(item.gold.get("source", ""))
        name = item.input.name if isinstance(item.input, Path) else ""
        if (
            digest in hashes
            or source in sources
            or any(h in source or h in name for h in DIAGNOSIS_HELD_OUT)
        ):
            left_out += 1
            continue
        try:
            analysis = analyse(load(item.input, record_id=item.id))
        except InputError:
            left_out += 1  # an unreadable record is not training data; the report counts it
            continue
        records.append(record_of(item.id, gold, analysis, sha256=digest, source=source))
    return records, left_out


def split_by_record(
    records: list[_Record], *, seed: int, validation: float
) -> tuple[list[_Record], list[_Record]]:
    """Seeded split by document: no record's candidates are on both sides."""
    ids = sorted(r.id for r in records)
    random.Random(seed).shuffle(ids)
    size = max(1, round(len(ids) * validation))
    held = set(ids[:size])
    return [r for r in records if r.id not in held], [r for r in records if r.id in held]


def _scores(orders: list[list[str]], records: list[_Record]) -> dict[str, float]:
    values = [
        SimpleNamespace(differential=[SimpleNamespace(code=c) for c in order[:5]])
        for order in orders
    ]
    got = score_coded_differential(values, [{"icd10": r.gold} for r in records])
    return {name: float(got[name] or 0.0) for name in ("recall_at1", "recall_at5", "mrr")}


@dataclass
class DiagnosisTuneReport:
    """What a diagnosis tuning run produced and measured on its validation records."""

    out: Path
    kinds: dict[str, Path]
    validation: dict[str, dict[str, float]]
    train_records: int
    validation_records: int
    examples: int
    positive: int
    left_out: int

    def summary(self) -> str:
        figures = "; ".join(
            f"{name} " + ", ".join(f"{k} {v:.3f}" for k, v in got.items())
            for name, got in self.validation.items()
        )
        return (
            f"{self.train_records} training / {self.validation_records} validation records "
            f"({self.left_out} held out or excluded), {self.examples} training examples "
            f"({self.positive} gold conditions); validation: {figures}"
        )


def _fit(train: list[_Record], c: float, seed: int) -> head_mod.DiagnosisHead:
    from scipy import sparse
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    features = np.asarray([f for r in train for f in r.features], dtype=np.float64)
    texts = [t for r in train for t in r.texts]
    labels = np.asarray([y for r in train for y in r.labels])
    if labels.min() == labels.max():
        raise DatasetError("tune diagnosis: the training candidates need both matches and misses")
    mean = features.mean(axis=0)
    scale = features.std(axis=0)
    scale[scale == 0] = 1.0
    vectorizer = TfidfVectorizer(**head_mod.tfidf_settings()).fit(texts)
    design = sparse.hstack(
        [sparse.csr_matrix((features - mean) / scale), vectorizer.transform(texts)], format="csr"
    )
    model = LogisticRegression(C=c, class_weight="balanced", max_iter=5000, random_state=seed).fit(
        design, labels
    )
    vocabulary = [str(w) for w in vectorizer.get_feature_names_out()]
    return head_mod.DiagnosisHead(
        kind="learned",
        vocabulary=vocabulary,
        tensors={
            "idf": np.asarray(vectorizer.idf_, dtype=np.float64),
            "code_mean": mean,
            "code_scale": scale,
            "coef": np.asarray(model.coef_[0], dtype=np.float64),
            "intercept": np.asarray(model.intercept_, dtype=np.float64),
        },
    )


def _head_orders(head: head_mod.DiagnosisHead, records: list[_Record]) -> list[list[str]]:
    orders = []
    for r in records:
        logits = head.logits(r.features, r.texts) if r.candidates else np.zeros(0)
        ranks = sorted(range(len(r.candidates)), key=lambda i: (-logits[i], i))
        orders.append([r.candidates[i].code for i in ranks])
    return orders


def _teacher_orders(
    inputs: dict[str, Any], records: Sequence[_Record], teacher: Engine
) -> dict[str, list[str]]:
    """The teacher's validated order of each record's candidates (the ``model`` mode's answer,
    constrained to code's candidates and verified as every answer is); a record the teacher
    failed is left out (its typed error is counted, never used as a label)."""
    from .._api import run
    from ..tasks.diagnosis import DIAGNOSIS

    outcomes = run(
        DIAGNOSIS,
        [inputs[r.id] for r in records],
        record_ids=[r.id for r in records],
        engine=teacher,
        mode="model",
        temperature=0.0,
    )
    return {
        o.record_id: [item.code for item in o.value.differential]
        for o in outcomes
        if o.value is not None and o.value.ranked_by == "model"
    }


def lora_examples(
    data: str | Path, records: Sequence[_Record], *, teacher: Engine | None = None
) -> tuple[list[LoraExample], dict[str, Any]]:
    """The ``model`` mode's question for each of ``records`` that is asked one (two or more
    candidates), exactly as the task sends it, with the answer to learn: gold's (the candidates
    that match a gold code first, then the others, in code's order, at most five) or, with a
    ``teacher`` engine, the teacher's validated answer. Also what the labels were: their source
    and, from a teacher, how often its first code is not a gold match where one was a candidate,
    and how many records it failed."""
    from .._ask import question_context
    from ..engines import FakeEngine
    from ..tasks.diagnosis import DIAGNOSIS

    assert DIAGNOSIS.questions is not None
    # The question's text does not depend on the engine; its token counts use the tokenizer's
    # length only for the answer budget, which training does not use.
    context = question_context(FakeEngine(lambda r: "{}"), mode="model", grounding=True)
    inputs = {item.id: item.input for item in load_dataset(data)}
    asked = []
    for r in records:
        questions = DIAGNOSIS.questions(load(inputs[r.id], record_id=r.id), context)
        if questions:  # fewer than two candidates: code answers, the model is never asked
            asked.append((r, questions[0]))
    taught = _teacher_orders(inputs, [r for r, _ in asked], teacher) if teacher else {}
    examples, disagree, comparable = [], 0, 0
    for r, question in asked:
        hits = [c.code for c, y in zip(r.candidates, r.labels, strict=True) if y]
        if teacher is None:
            order = hits + [c.code for c in r.candidates if c.code not in hits]
        elif r.id in taught:
            order = taught[r.id]
            if hits:
                comparable += 1
                disagree += order[0] not in hits
        else:
            continue
        answer = json.dumps({"differential": order[:5]}, separators=(",", ":"))
        examples.append(LoraExample(r.id, question.messages, answer))
    labels: dict[str, Any] = {"labels": "gold" if teacher is None else "teacher"}
    if teacher is not None:
        labels["teacher"] = {
            "model": teacher.model_name,
            "engine": type(teacher).__name__,
            "failed_records": len(asked) - len(taught),
            "first_code_not_gold": disagree,
            "compared_with_gold": comparable,
        }
    return examples, labels


def _lora(
    source: Path,
    train: list[_Record],
    val: list[_Record],
    *,
    out: Path,
    data: dict[str, Any],
    settings: LoraSettings,
    teacher: Engine | None,
) -> tuple[Path, dict[str, Any]]:
    # One call over both splits: a teacher answers them in one engine batch; the examples are
    # then split by document as the records were.
    examples, labels = lora_examples(source, [*train, *val], teacher=teacher)
    train_ids = {r.id for r in train}
    train_examples = [e for e in examples if e.document in train_ids]
    val_examples = [e for e in examples if e.document not in train_ids]
    return train_lora(
        train_examples,
        val_examples,
        out=out / "diagnosis-lora",
        task="diagnosis",
        settings=settings,
        data={
            **data,
            "train_examples": len(train_examples),
            "validation_examples": len(val_examples),
            "labels": labels,
        },
    )


def tune_diagnosis(
    data: str | Path,
    *,
    out: str | Path,
    kinds: Sequence[str] = ("learned",),
    seed: int = 0,
    validation: float = 0.2,
    exclude: Iterable[str | Path] = (),
    lora: LoraSettings | None = None,
    teacher: Engine | None = None,
    limit: int | None = None,
) -> DiagnosisTuneReport:
    """Train the diagnosis head (``learned``) and/or a LoRA of the default model (``lora``)
    from gold in ``data``; write ``out/diagnosis-learned``, ``out/diagnosis-lora``.

    ``lora``: how the LoRA trains (default :class:`LoraSettings` with ``seed``); ``teacher``:
    an engine whose validated answers are the LoRA's labels instead of gold's (distillation
    from a stronger model; the manifest says how often it disagrees with gold); ``limit``: use
    only the first records of ``data`` (a short run)."""
    unknown = sorted(set(kinds) - {"learned", "lora"})
    if unknown or not kinds:
        raise ConfigurationError(
            f"tune diagnosis: kinds are 'learned' and 'lora' (the tuned mode asks the model "
            f"from the learned head's order), got {list(kinds)}"
        )
    started = time.perf_counter()
    source = Path(data)
    if not (source.suffix == ".jsonl" and source.is_file()):
        raise DatasetError(f"tune diagnosis: {str(source)!r} is not a .jsonl dataset")
    records, left_out = load_records(source, exclude=exclude)
    records = records[:limit] if limit is not None else records
    if len(records) < 2:
        raise DatasetError("tune diagnosis: need at least two records with ICD-10-CM gold")
    train, val = split_by_record(records, seed=seed, validation=validation)
    repositories = sorted({r.source.split(":", 1)[0] for r in records if ":" in r.source})
    training_data: dict[str, Any] = {
        "source": source.name,
        "sha256": lines_sha256(
            f"{r.id}\t{r.sha256}\t{','.join(r.gold)}" for r in sorted(records, key=lambda r: r.id)
        ),
        "train_records": sorted(r.id for r in train),
        "validation_records": sorted(r.id for r in val),
        "left_out": left_out,
        "repositories": repositories,
    }
    folders: dict[str, Path] = {}
    figures: dict[str, dict[str, float]] = {}
    lora_examples_used = 0
    if "lora" in kinds:
        settings = lora or LoraSettings(seed=seed)
        folders["lora"], got = _lora(
            source,
            train,
            val,
            out=Path(out),
            data=training_data,
            settings=settings,
            teacher=teacher,
        )
        lora_examples_used = int(got["train_examples"])
        figures["lora"] = {
            "validation_loss_before": float(got["losses"][0]["validation_loss"]),
            "validation_loss_after": float(
                min(x["validation_loss"] for x in got["losses"][1:])
                if len(got["losses"]) > 1
                else got["losses"][0]["validation_loss"]
            ),
        }
    if "learned" not in kinds:
        return DiagnosisTuneReport(
            out=Path(out),
            kinds=folders,
            validation=figures,
            train_records=len(train),
            validation_records=len(val),
            examples=lora_examples_used,
            positive=0,
            left_out=left_out,
        )

    code = _scores([[c.code for c in r.candidates] for r in val], val)
    best: tuple[tuple[float, float, float], float, head_mod.DiagnosisHead] | None = None
    for c in C_GRID:
        head = _fit(train, c, seed)
        got = _scores(_head_orders(head, val), val)
        key = (got["mrr"], got["recall_at1"], -c)
        if best is None or key > best[0]:
            best = (key, c, head)
    assert best is not None
    _, chosen_c, head = best
    learned = _scores(_head_orders(head, val), val)
    figures.update(code_order=code, learned=learned)

    from .._prepare import GGUF_SHA256

    manifest: dict[str, Any] = {
        "format": head_mod.FORMAT,
        "task": "diagnosis",
        "kind": "learned",
        "structkit_version": __version__,
        # The head never reads the model; the tuned mode asks this base model from its order.
        "base_model": {"name": "SmolLM2-135M-Instruct", "gguf_sha256": GGUF_SHA256},
        "settings": {
            "C": chosen_c,
            "C_grid": list(C_GRID),
            "seed": seed,
            "validation_share": validation,
            "class_weight": "balanced",
            "chosen_by": "validation MRR, then recall@1",
            "features": [*head_mod.CODE_FEATURES, "tfidf"],
        },
        "training_data": training_data,
        "validation": {"code_order": code, "learned": learned},
        "training": {"seconds": round(time.perf_counter() - started, 1), "host": host()},
        "vocabulary": head.vocabulary,
    }
    folder = write_head(Path(out) / "diagnosis-learned", manifest=manifest, tensors=head.tensors)
    return DiagnosisTuneReport(
        out=Path(out),
        kinds={**folders, "learned": folder},
        validation=figures,
        train_records=len(train),
        validation_records=len(val),
        examples=sum(len(r.labels) for r in train),
        positive=sum(sum(r.labels) for r in train),
        left_out=left_out,
    )
