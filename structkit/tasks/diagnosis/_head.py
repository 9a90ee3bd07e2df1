"""A learned order of code's diagnosis candidates: the ``learned`` and ``tuned`` modes.

Code retrieves a record's candidate conditions (:mod:`structkit.clinical.candidates`), each a
verified ICD-10-CM code with the reasons it was retrieved for, and ranks them by a hand-set
evidence weight. A head trained on gold (``structkit tune diagnosis``, :mod:`structkit.tuning`)
gives each candidate the probability that it is one of the record's conditions, from

- code's own features of the candidate (:data:`CODE_FEATURES`: weight, rank, reasons by kind,
  pointers, the number of candidates, the patient's age and sex),
- TF-IDF of its code, category, chapter, title and reasons (so a code's prior is learned: a
  record with an obesity-range BMI is more often coded obese than one with a single high value),

one logistic regression over all candidates. It only reorders what code retrieved: every code
it places was verified and carries its evidence and pointers, as in the other modes. No model.
The adapter is a folder read by :mod:`structkit._heads`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..._errors import AdapterError
from ..._heads import fitted_tfidf, read_head
from ...clinical.candidates import Candidate

if TYPE_CHECKING:
    from ._models import Analysis

__all__ = [
    "CODE_FEATURES",
    "FORMAT",
    "HEAD_KINDS",
    "DiagnosisHead",
    "candidate_text",
    "code_features",
    "code_order",
    "shipped_head_dir",
    "tfidf_settings",
]

HEAD_KINDS = ("learned",)
#: Manifest format; a head written by another format is refused, not misread.
FORMAT = 1
#: How a reason starts names the kind of evidence (:mod:`structkit.clinical.candidates`);
#: reasons from a measurement start with the measurement's name.
_REASON_KINDS = ("problem list:", "medication:", "procedure:", "note:", "SIRS")

CODE_FEATURES = (
    "weight",
    "log_weight",
    "share_of_best",
    "rank_1",
    "rank_2",
    "rank_3_or_lower",
    "relative_rank",
    "reasons",
    "problem",
    "medication",
    "procedure",
    "note",
    "score",
    "measurement",
    "log_pointers",
    "candidates",
    "age",
    "male",
)


def code_order(analysis: Analysis) -> list[Candidate]:
    """Code's order: by evidence weight (ties: code order), as the baseline ranks."""
    return sorted(analysis.candidates, key=lambda c: (-c.weight, c.code))


def code_features(analysis: Analysis) -> list[list[float]]:
    """:data:`CODE_FEATURES` of each candidate, in :func:`code_order`."""
    ranked = code_order(analysis)
    best = ranked[0].weight if ranked and ranked[0].weight > 0 else 1.0
    findings = analysis.findings
    rows = []
    for index, cand in enumerate(ranked):
        kinds = [sum(r.startswith(kind) for r in cand.reasons) for kind in _REASON_KINDS]
        rows.append(
            [
                cand.weight,
                math.log1p(cand.weight),
                cand.weight / best,
                float(index == 0),
                float(index == 1),
                float(index >= 2),
                index / len(ranked),
                float(len(cand.reasons)),
                *map(float, kinds),
                float(len(cand.reasons) - sum(kinds)),
                math.log1p(len(cand.pointers)),
                float(len(ranked)),
                (findings.age or 0.0) / 100.0,
                float(findings.sex == "male"),
            ]
        )
    return rows


def candidate_text(cand: Candidate) -> str:
    """What the TF-IDF reads of a candidate: code, category and chapter tokens, title, reasons."""
    token = cand.code.replace(".", "_")
    return f"code_{token} cat_{cand.code[:3]} chap_{cand.code[0]} {cand.title} " + " ".join(
        cand.reasons
    )


def tfidf_settings() -> dict[str, Any]:
    """The TF-IDF settings training and answering share (code tokens kept whole)."""
    return {
        "ngram_range": (1, 1),
        "sublinear_tf": True,
        "token_pattern": r"[A-Za-z0-9_]+",
        "dtype": np.float64,
    }


def shipped_head_dir(kind: str = "learned") -> Path:
    """The folder of the diagnosis head shipped in the package."""
    return Path(__file__).resolve().parents[2] / "tuned" / f"diagnosis-{kind}"


@dataclass
class DiagnosisHead:
    """A trained order of code's candidates (see the module docstring)."""

    kind: str
    vocabulary: list[str]
    tensors: dict[str, np.ndarray]
    """``idf``, ``code_mean``, ``code_scale``, ``coef``, ``intercept``."""
    manifest: dict[str, Any] = field(default_factory=dict)
    folder: Path | None = None
    sha256: str = ""
    _vectorizer: Any = None

    @classmethod
    def load(cls, folder: str | Path) -> DiagnosisHead:
        """Read and check an adapter folder.

        Raises:
            AdapterError: no manifest, a file missing or altered, another task, kind or
                format, or weights of the wrong shape.
        """
        stored = read_head(folder, task="diagnosis", kinds=HEAD_KINDS, format=FORMAT)
        head = cls(
            kind=stored.manifest["kind"],
            vocabulary=list(stored.manifest.get("vocabulary", [])),
            tensors=stored.tensors,
            manifest=stored.manifest,
            folder=stored.folder,
            sha256=stored.sha256,
        )
        width = len(CODE_FEATURES) + len(head.vocabulary)
        shapes = {
            "coef": (width,),
            "intercept": (1,),
            "idf": (len(head.vocabulary),),
            "code_mean": (len(CODE_FEATURES),),
            "code_scale": (len(CODE_FEATURES),),
        }
        for name, shape in shapes.items():
            if name not in head.tensors or head.tensors[name].shape != shape:
                raise AdapterError(
                    f"adapter {str(stored.folder)!r}: {name} is missing or of the wrong shape"
                )
        return head

    def _tfidf(self) -> Any:
        if self._vectorizer is None:
            self._vectorizer = fitted_tfidf(tfidf_settings(), self.vocabulary, self.tensors["idf"])
        return self._vectorizer

    def logits(self, features: list[list[float]], texts: list[str]) -> np.ndarray:
        """The head's logit of each candidate from its :func:`code_features` row and its
        :func:`candidate_text` (training scores validation records with the same call)."""
        from scipy import sparse

        code = np.asarray(features, dtype=np.float64).reshape(len(texts), len(CODE_FEATURES))
        code = (code - self.tensors["code_mean"]) / self.tensors["code_scale"]
        design = sparse.hstack(
            [sparse.csr_matrix(code), self._tfidf().transform(texts)], format="csr"
        )
        return np.asarray(design.dot(self.tensors["coef"]) + self.tensors["intercept"][0])

    def probabilities(self, analysis: Analysis) -> list[tuple[Candidate, float]]:
        """Each candidate (in code's order) with the head's probability that it is a condition
        of the record."""
        ranked = code_order(analysis)
        if not ranked:
            return []
        logits = self.logits(code_features(analysis), [candidate_text(c) for c in ranked])
        return [
            (cand, 1.0 / (1.0 + math.exp(-max(min(float(z), 50.0), -50.0))))
            for cand, z in zip(ranked, logits, strict=True)
        ]

    def order(self, analysis: Analysis) -> list[Candidate]:
        """The candidates, most probable first (ties: code's order)."""
        scored = self.probabilities(analysis)
        ranks = sorted(range(len(scored)), key=lambda i: (-scored[i][1], i))
        return [scored[i][0] for i in ranks]
