"""Training a clauses head from gold: ``structkit tune clauses DATA --out DIR``.

The examples are the task's own decisions: for each contract, code's top-``k`` candidates of each
of the 17 ranked categories (exactly the spans the ``model`` mode shows and the ``learned`` /
``tuned`` modes score), each labelled by whether it matches a gold span of that category under
the evaluation's rule (:func:`structkit.evaluation.cuad.spans_match`). Data:

- a CUAD folder (``full_contract_txt/`` and ``master_clauses.csv``), with the held-out rules of
  :func:`cuad_split` applied; or
- a dataset in the evaluation format (``.jsonl``: ``input`` a contract file, ``gold.spans`` with
  offsets), e.g. what ``structkit review`` writes.

Splits are by contract (a contract's candidates all go to one side), seeded. One logistic
regression per category (``scikit-learn``, classes balanced so "no clause" is not swamped); its
regularisation, the probability threshold and the number kept per category are chosen on the
validation contracts by micro span F1 over the ranked categories, and the validation figures of
code's baseline, the learned head and the tuned head are written to the manifest.
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .._errors import ConfigurationError, DatasetError
from .._heads import lines_sha256, write_head
from .._host import host
from .._version import __version__
from ..tasks.clauses import _head as head_mod
from ..tasks.clauses import _modes as modes
from ..tasks.clauses import _rank as rank
from ._clauses_data import (
    Contract,
    Split,
    cuad_contracts,
    cuad_split,
    dataset_contracts,
    sha256_bytes,
    slot_span,
    split_by_contract,
)

__all__ = ["TuneReport", "tune_clauses"]

log = logging.getLogger("structkit")

#: Grid searched on the validation split.
C_GRID = (0.1, 0.3, 1.0, 3.0)
THRESHOLD_GRID = tuple(round(0.30 + 0.05 * i, 2) for i in range(13))  # 0.30 .. 0.90
MAX_PER_TYPE_GRID = (1, 2)
#: Tuned heads: weight of the hidden-state block against the others (a block's own
#: regularisation: its standardised features are multiplied by it), chosen on validation.
HIDDEN_WEIGHT_GRID = (0.1, 0.3, 1.0)


def _progress(label: str, done: int, total: int, started: float, extra: str = "") -> None:
    rate = done / max(time.perf_counter() - started, 1e-9)
    sys.stderr.write(f"\r{label}: {done}/{total} ({rate:.1f}/s){extra}   ")
    if done == total:
        sys.stderr.write("\n")
    sys.stderr.flush()


def embed_contracts(
    contracts: list[Contract], embedder: Any, *, cache: Path | None = None
) -> list[np.ndarray]:
    """The model's hidden states of every slot, contract by contract, with a progress line.

    With ``cache``, each contract's states are kept there (keyed by the contract's and the
    slots' text and the dtype), so an interrupted or repeated run does not compute them again.
    """
    out = []
    started = time.perf_counter()
    for i, c in enumerate(contracts, start=1):
        texts = [head_mod.span_text(s.candidate) for s in c.slots]
        key = sha256_bytes("\x00".join([embedder.dtype, *texts]).encode("utf-8"))
        path = cache / f"{key}.npy" if cache is not None else None
        if path is not None and path.is_file():
            out.append(np.load(path))
        else:
            states = embedder.embed(texts)
            if path is not None:
                path.parent.mkdir(parents=True, exist_ok=True)
                np.save(path, states)
            out.append(states)
        _progress("hidden states (contracts)", i, len(contracts), started)
    return out


def _micro_f1(predicted: list[Any], gold: list[Any]) -> float:
    from ..evaluation.cuad import score

    return score(predicted, gold, types=rank.RANKED_TYPES).micro.f1


def baseline_f1(contracts: list[Contract], threshold: float = modes.BASELINE_THRESHOLD) -> float:
    """Code's baseline (best span when it scores ``threshold``) on the ranked categories."""
    predicted = [
        slot_span(s)
        for c in contracts
        for s in c.slots
        if s.rank == 0 and c.analysis.ranked[s.clause_type][0].score >= threshold
    ]
    return _micro_f1(predicted, [g for c in contracts for g in c.gold])


@dataclass
class _Fitted:
    head: head_mod.ClauseHead
    f1: float
    c: float
    # How much the hidden states weigh against code's features and the words (tuned heads):
    # folded into hidden_scale, recorded in the manifest.
    hidden_weight: float = 1.0


def _head_for(
    kind: str, vocabulary: list[str], tensors: dict[str, np.ndarray], k: int
) -> head_mod.ClauseHead:
    return head_mod.ClauseHead(
        kind=kind, k=k, threshold=0.5, max_per_type=1, vocabulary=vocabulary, tensors=tensors
    )


def fit_head(
    kind: str,
    train: list[Contract],
    val: list[Contract],
    *,
    k: int,
    seed: int,
    hidden_train: list[np.ndarray] | None = None,
    hidden_val: list[np.ndarray] | None = None,
) -> _Fitted:
    """Fit one head of ``kind`` on ``train``; settings chosen on ``val`` by micro span F1."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    texts = [head_mod.span_text(s.candidate) for c in train for s in c.slots]
    vectorizer = TfidfVectorizer(**head_mod.tfidf_settings(), min_df=2, max_features=20000)
    vectorizer.fit(texts)
    vocabulary = [t for t, _ in sorted(vectorizer.vocabulary_.items(), key=lambda kv: kv[1])]
    code = np.asarray(
        [head_mod.code_features(c.analysis, s) for c in train for s in c.slots], dtype=np.float64
    )
    tensors: dict[str, np.ndarray] = {
        "idf": np.asarray(vectorizer.idf_, dtype=np.float64),
        "code_mean": code.mean(axis=0),
        "code_scale": np.where(code.std(axis=0) > 0, code.std(axis=0), 1.0),
    }
    if kind == "tuned":
        assert hidden_train is not None and hidden_val is not None
        hidden = np.concatenate(hidden_train).astype(np.float64)
        tensors["hidden_mean"] = hidden.mean(axis=0)
        tensors["hidden_scale"] = np.where(hidden.std(axis=0) > 0, hidden.std(axis=0), 1.0)
    best: _Fitted | None = None
    for weight in HIDDEN_WEIGHT_GRID if kind == "tuned" else (1.0,):
        block = dict(tensors)
        if kind == "tuned":
            block["hidden_scale"] = tensors["hidden_scale"] / weight
        found = _fit_grid(
            kind, block, vocabulary, train, val, hidden_train, hidden_val, k=k, seed=seed
        )
        found.hidden_weight = weight
        if best is None or found.f1 > best.f1 + 1e-12:
            best = found
    assert best is not None
    return best


def _fit_grid(
    kind: str,
    tensors: dict[str, np.ndarray],
    vocabulary: list[str],
    train: list[Contract],
    val: list[Contract],
    hidden_train: list[np.ndarray] | None,
    hidden_val: list[np.ndarray] | None,
    *,
    k: int,
    seed: int,
) -> _Fitted:
    """One logistic regression per category for each C; the best C, threshold and number kept
    per category on ``val``."""
    from sklearn.linear_model import LogisticRegression

    probe = _head_for(kind, vocabulary, tensors, k)

    def design(contracts: list[Contract], hidden: list[np.ndarray] | None) -> list[Any]:
        return [
            probe.design(c.analysis, c.slots, hidden[i] if hidden is not None else None)
            for i, c in enumerate(contracts)
        ]

    from scipy import sparse

    x_train, x_val = design(train, hidden_train), design(val, hidden_val)

    groups: dict[str, tuple[Any, np.ndarray]] = {}
    for clause_type in rank.RANKED_TYPES:
        rows = [
            (i, j)
            for i, c in enumerate(train)
            for j, s in enumerate(c.slots)
            if s.clause_type == clause_type
        ]
        if rows:
            groups[clause_type] = (
                sparse.vstack([x_train[i][j] for i, j in rows], format="csr"),
                np.asarray([train[i].labels[j] for i, j in rows]),
            )
    width = x_train[0].shape[1]
    best: _Fitted | None = None
    for c_value in C_GRID:
        weights = dict(tensors)
        for clause_type in rank.RANKED_TYPES:
            # A category without both kinds of example in training is never kept.
            coef, intercept = np.zeros(width), np.asarray([-50.0])
            x, y = groups.get(clause_type, (None, np.zeros(0)))
            if x is not None and 0 < y.sum() < len(y):
                model = LogisticRegression(
                    C=c_value, class_weight="balanced", max_iter=3000, random_state=seed
                )
                model.fit(x, y)
                coef, intercept = model.coef_[0], model.intercept_
            weights[f"coef:{clause_type}"] = np.asarray(coef, dtype=np.float64)
            weights[f"intercept:{clause_type}"] = np.asarray(intercept, dtype=np.float64)
        candidate = _head_for(kind, vocabulary, weights, k)
        scored = [_score_slots(candidate, x_val[i], c) for i, c in enumerate(val)]
        gold = [g for c in val for g in c.gold]
        for threshold in THRESHOLD_GRID:
            for per_type in MAX_PER_TYPE_GRID:
                candidate.threshold, candidate.max_per_type = threshold, per_type
                predicted = [slot_span(s) for sc in scored for s in candidate.choose(sc)]
                f1 = _micro_f1(predicted, gold)
                if best is None or f1 > best.f1 + 1e-12:
                    best = _Fitted(
                        head_mod.ClauseHead(
                            kind=kind,
                            k=k,
                            threshold=threshold,
                            max_per_type=per_type,
                            vocabulary=vocabulary,
                            tensors=dict(weights),
                        ),
                        f1,
                        c_value,
                    )
    assert best is not None
    return best


def _score_slots(
    head: head_mod.ClauseHead, matrix: Any, contract: Contract
) -> list[tuple[head_mod.Slot, float]]:
    out = []
    for i, slot in enumerate(contract.slots):
        logit = float(matrix[i].dot(head.tensors[f"coef:{slot.clause_type}"])[0])
        logit += float(head.tensors[f"intercept:{slot.clause_type}"][0])
        out.append((slot, 1.0 / (1.0 + np.exp(-np.clip(logit, -50, 50)))))
    return out


# --- the whole run --------------------------------------------------------------------------


@dataclass
class TuneReport:
    """What a tuning run produced and measured on its validation contracts."""

    out: Path
    kinds: dict[str, Path]
    validation: dict[str, float]
    train_contracts: int
    validation_contracts: int
    examples: int
    positive: int

    def summary(self) -> str:
        figures = ", ".join(f"{name} {f1:.3f}" for name, f1 in self.validation.items())
        return (
            f"{self.train_contracts} training / {self.validation_contracts} validation contracts, "
            f"{self.examples} training examples ({self.positive} clauses); validation micro span "
            f"F1 over the ranked categories: {figures}"
        )


def tune_clauses(
    data: str | Path,
    *,
    out: str | Path,
    kinds: Sequence[str] = ("learned", "tuned"),
    k: int = modes.DEFAULT_K,
    seed: int = 0,
    exclude_texts: Iterable[Path] = (),
    train: int = 236,
    validation: int = 48,
    max_bytes: int = 60_000,
    dtype: str | None = None,
    cache: str | Path | None = None,
) -> TuneReport:
    """Train clauses heads from gold and write one adapter folder per kind under ``out``."""
    unknown = [kind for kind in kinds if kind not in head_mod.HEAD_KINDS]
    if unknown or not kinds:
        raise ConfigurationError(
            f"tune: kinds must be among {head_mod.HEAD_KINDS}, got {list(kinds)}"
        )
    started = time.perf_counter()
    source = Path(data)
    split: Split | None = None
    if source.is_dir():
        split = cuad_split(
            source,
            exclude_texts=exclude_texts,
            seed=seed,
            train=train,
            validation=validation,
            max_bytes=max_bytes,
        )
        csv_path = source / "master_clauses.csv"
        train_set = cuad_contracts(split.train, csv_path, k=k)
        val_set = cuad_contracts(split.validation, csv_path, k=k)
    elif source.suffix == ".jsonl" and source.is_file():
        train_set, val_set = split_by_contract(dataset_contracts(source, k=k), seed=seed)
    else:
        raise DatasetError(
            f"tune clauses: {str(source)!r} is neither a CUAD folder nor a .jsonl dataset"
        )
    if not train_set or not val_set:
        raise DatasetError("tune clauses: need at least two contracts (training and validation)")

    hidden_train = hidden_val = None
    from .._hidden import preferred_dtype

    chosen_dtype = dtype or preferred_dtype()
    if "tuned" in kinds:
        from .._hidden import hidden_states
        from .._prepare import prepare_default_model

        embedder = hidden_states(str(prepare_default_model()), chosen_dtype)
        cache_dir = Path(cache) if cache is not None else None
        hidden_train = embed_contracts(train_set, embedder, cache=cache_dir)
        hidden_val = embed_contracts(val_set, embedder, cache=cache_dir)

    figures = {"code_baseline": baseline_f1(val_set)}
    fitted: dict[str, _Fitted] = {}
    for kind in kinds:
        fitted[kind] = fit_head(
            kind,
            train_set,
            val_set,
            k=k,
            seed=seed,
            hidden_train=hidden_train,
            hidden_val=hidden_val,
        )
        figures[kind] = fitted[kind].f1
    out_dir = Path(out)
    written: dict[str, Path] = {}
    for kind, result in fitted.items():
        written[kind] = write_adapter(
            out_dir / f"clauses-{kind}",
            result,
            data=source,
            data_sha256=lines_sha256(
                f"{c.name}\t{c.sha256}\t{sum(c.labels)}"
                for c in sorted(train_set + val_set, key=lambda c: c.name)
            ),
            split=split,
            train_set=train_set,
            val_set=val_set,
            seed=seed,
            dtype=chosen_dtype,
            figures=figures,
            seconds=time.perf_counter() - started,
        )
    return TuneReport(
        out=out_dir,
        kinds=written,
        validation=figures,
        train_contracts=len(train_set),
        validation_contracts=len(val_set),
        examples=sum(len(c.slots) for c in train_set),
        positive=sum(sum(c.labels) for c in train_set),
    )


def write_adapter(
    folder: Path,
    result: _Fitted,
    *,
    data: Path,
    data_sha256: str,
    split: Split | None,
    train_set: list[Contract],
    val_set: list[Contract],
    seed: int,
    dtype: str,
    figures: dict[str, float],
    seconds: float = 0.0,
) -> Path:
    """Weights (safetensors) and a manifest with provenance; every file's sha256 pinned."""
    from .._prepare import GGUF_SHA256

    head = result.head
    manifest: dict[str, Any] = {
        "format": head_mod.FORMAT,
        "task": "clauses",
        "kind": head.kind,
        "structkit_version": __version__,
        "base_model": {"name": "SmolLM2-135M-Instruct", "gguf_sha256": GGUF_SHA256},
        "embedder": {"dtype": dtype, "pool": "mean", "max_tokens": 128}
        if head.kind == "tuned"
        else None,
        "settings": {
            "k": head.k,
            "threshold": head.threshold,
            "max_per_type": head.max_per_type,
            "C": result.c,
            "hidden_weight": result.hidden_weight if head.kind == "tuned" else None,
            "seed": seed,
            "class_weight": "balanced",
            "features": list(head_mod.CODE_FEATURES)
            + ["tfidf"]
            + (["hidden"] if head.kind == "tuned" else []),
        },
        "training_data": {
            "source": data.name,
            "sha256": data_sha256,
            "train_contracts": sorted(c.name for c in train_set),
            "validation_contracts": sorted(c.name for c in val_set),
            "excluded": len(split.excluded) if split else 0,
            "license": "CUAD v1, CC BY 4.0, The Atticus Project" if split else "",
        },
        "validation": {"micro_span_f1_ranked_categories": figures, "this_head": result.f1},
        # The whole run (hidden states included, all kinds), and where it ran.
        "training": {"seconds": round(seconds, 1), "host": host()},
        "vocabulary": head.vocabulary,
    }
    return write_head(folder, manifest=manifest, tensors=head.tensors)
