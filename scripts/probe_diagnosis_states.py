"""Does the default model's representation of a candidate add to the learned diagnosis head?

The clauses task measured a head with the model's hidden states (``tuned``) beside the same head
without them (``learned``). This probe does the same for diagnosis: the shipped head's features
(code's features of each candidate and TF-IDF of its code, title and reasons), then the same plus
the default model's mean-pooled hidden states of the candidate's text (structkit._hidden, as the
clauses head reads), fitted on the same training records with the same regularisation grid and
chosen on the same validation records by MRR; both are then scored once on the real-record
benchmark, which neither saw.

    python scripts/probe_diagnosis_states.py TRAIN.jsonl [--weights 0.1,0.3,1.0]

TRAIN.jsonl: what ``scripts/make_diagnosis_benchmark.py --training DIR`` writes.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
from scipy import sparse
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression

from structkit._hidden import hidden_states, preferred_dtype
from structkit._prepare import prepare_default_model
from structkit.tasks.diagnosis import _head as head_mod
from structkit.tuning._diagnosis import C_GRID, _scores, load_records, split_by_record

ROOT = Path(__file__).resolve().parent.parent
BENCHMARK = ROOT / "datasets" / "diagnosis_real.jsonl"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("train")
    parser.add_argument("--weights", default="0.1,0.3,1.0", help="scales of the hidden block")
    args = parser.parse_args()
    records, _ = load_records(args.train, exclude=[BENCHMARK])
    train, val = split_by_record(records, seed=0, validation=0.2)
    test, _ = load_records(BENCHMARK)
    dtype = preferred_dtype()
    embedder = hidden_states(str(prepare_default_model()), dtype)
    started = time.perf_counter()
    hidden = {
        id(r): embedder.embed(r.texts) if r.texts else np.zeros((0, embedder.width))
        for r in [*train, *val, *test]
    }
    texts_n = sum(len(r.texts) for r in [*train, *val, *test])
    print(f"embedded {texts_n} candidates in {time.perf_counter() - started:.1f} s ({dtype})")

    features = np.asarray([f for r in train for f in r.features], dtype=np.float64)
    mean, scale = features.mean(axis=0), features.std(axis=0)
    scale[scale == 0] = 1.0
    vectorizer = TfidfVectorizer(**head_mod.tfidf_settings()).fit(
        [t for r in train for t in r.texts]
    )
    states = np.vstack([hidden[id(r)] for r in train])
    s_mean, s_scale = states.mean(axis=0), states.std(axis=0) + 1e-6

    def design(rs: list, weight: float | None) -> sparse.csr_matrix:
        code = np.asarray([f for r in rs for f in r.features], dtype=np.float64)
        blocks = [
            sparse.csr_matrix((code - mean) / scale),
            vectorizer.transform([t for r in rs for t in r.texts]),
        ]
        if weight is not None:
            block = (np.vstack([hidden[id(r)] for r in rs]) - s_mean) / s_scale
            blocks.append(sparse.csr_matrix(weight * block))
        return sparse.hstack(blocks, format="csr")

    def orders(model: LogisticRegression, rs: list, weight: float | None) -> list[list[str]]:
        out = []
        for r in rs:
            if not r.candidates:
                out.append([])
                continue
            z = model.decision_function(design([r], weight))
            ranks = sorted(range(len(r.candidates)), key=lambda i: (-z[i], i))
            out.append([r.candidates[i].code for i in ranks])
        return out

    labels = np.asarray([y for r in train for y in r.labels])
    weights: list[float | None] = [None, *(float(w) for w in args.weights.split(","))]
    print("| features | C | validation MRR | benchmark recall@1 | MRR | recall@5 |")
    print("|---|---|---|---|---|---|")
    print(
        "| code's order | | {:.3f} | {recall_at1:.3f} | {mrr:.3f} | {recall_at5:.3f} |".format(
            _scores([[c.code for c in r.candidates] for r in val], val)["mrr"],
            **_scores([[c.code for c in r.candidates] for r in test], test),
        )
    )
    for weight in weights:
        best = None
        for c in C_GRID:
            model = LogisticRegression(
                C=c, class_weight="balanced", max_iter=5000, random_state=0
            ).fit(design(train, weight), labels)
            got = _scores(orders(model, val, weight), val)
            key = (got["mrr"], got["recall_at1"], -c)
            if best is None or key > best[0]:
                best = (key, c, model)
        assert best is not None
        (val_mrr, _, _), c, model = best
        bench = _scores(orders(model, test, weight), test)
        label = "learned (no model)" if weight is None else f"+ model states x{weight:g}"
        print(
            f"| {label} | {c:g} | {val_mrr:.3f} | {bench['recall_at1']:.3f} | {bench['mrr']:.3f} "
            f"| {bench['recall_at5']:.3f} |"
        )


if __name__ == "__main__":
    main()
