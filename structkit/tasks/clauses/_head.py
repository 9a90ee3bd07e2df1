"""A learned chooser among code's clause candidates: the ``learned`` and ``tuned`` modes.

Code ranks a contract's spans per category (:mod:`._clause_rank`); a head trained on gold
(``structkit tune clauses``, :mod:`structkit.tuning`) then gives each of a category's top-``k``
candidates the probability that it is a clause of that category, and the candidates at or above
the head's threshold are kept (at most ``max_per_type``). One logistic regression per category,
over

- code's ranking features (:data:`CODE_FEATURES`: score, rank, heading, cue, position...),
- TF-IDF of the span's words (unigrams and bigrams, vocabulary learned from the training spans),
- for a ``tuned`` head only: the default model's hidden states of the span
  (:mod:`structkit._hidden`).

A ``learned`` head has the first two and never runs the model: it is the learned baseline the
``tuned`` head must beat for the model to have earned its place (the README reports both).

An adapter is a folder read and checked by :mod:`structkit._heads` (manifest with provenance,
weights in safetensors, no pickle).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..._errors import AdapterError
from ..._heads import MANIFEST, file_sha256, fitted_tfidf, read_head
from . import _modes as modes
from . import _rank as rank
from ._rank import Candidate

__all__ = [
    "CODE_FEATURES",
    "HEAD_KINDS",
    "ClauseHead",
    "Slot",
    "code_features",
    "slots",
]

HEAD_KINDS = ("learned", "tuned")
#: Manifest format; a head written by another format is refused, not misread.
FORMAT = 1

CODE_FEATURES = (
    "score",
    "best_score",
    "below_best",
    "gap_to_next",
    "rank_1",
    "rank_2",
    "rank_3_or_lower",
    "heading_matches",
    "has_cue",
    "position",
    "log_length",
)
#: Characters of a span the TF-IDF and the model read (as the model mode shows).
READ_CHARS = modes.SHOWN_CHARS


@dataclass(frozen=True)
class Slot:
    """The ``rank``-th (0-based) candidate of a category."""

    clause_type: str
    rank: int
    candidate: Candidate


def slots(analysis: modes.Analysis, *, k: int) -> list[Slot]:
    """The top-``k`` candidates of every ranked category, in category then rank order."""
    return [
        Slot(clause_type, i, ranked.candidate)
        for clause_type in rank.RANKED_TYPES
        for i, ranked in enumerate(analysis.ranked[clause_type][:k])
    ]


def code_features(analysis: modes.Analysis, slot: Slot) -> list[float]:
    """:data:`CODE_FEATURES` of one slot."""
    ranked = analysis.ranked[slot.clause_type]
    score = ranked[slot.rank].score
    following = ranked[slot.rank + 1].score if slot.rank + 1 < len(ranked) else score - 10.0
    cand = slot.candidate
    heading = bool(cand.heading and rank.HEADINGS[slot.clause_type].search(cand.heading))
    return [
        score,
        ranked[0].score,
        score - ranked[0].score,
        score - following,
        float(slot.rank == 0),
        float(slot.rank == 1),
        float(slot.rank >= 2),
        float(heading),
        float(bool(rank.CUES[slot.clause_type].search(cand.text))),
        cand.start / max(len(analysis.source), 1),
        math.log1p(len(cand.text)),
    ]


def span_text(cand: rank.Candidate) -> str:
    return " ".join(cand.text[:READ_CHARS].split())


@dataclass
class ClauseHead:
    """A trained chooser (see the module docstring). Build with :meth:`load`, or from training."""

    kind: str
    k: int
    threshold: float
    max_per_type: int
    vocabulary: list[str]
    tensors: dict[str, np.ndarray]
    """``idf``, ``code_mean``, ``code_scale``, (tuned) ``hidden_mean``, ``hidden_scale``, and
    ``coef:<type>`` / ``intercept:<type>`` per category."""
    manifest: dict[str, Any] = field(default_factory=dict)
    folder: Path | None = None
    _vectorizer: Any = None

    # --- the artifact -----------------------------------------------------------------------

    @classmethod
    def load(cls, folder: str | Path) -> ClauseHead:
        """Read and check an adapter folder.

        Raises:
            AdapterError: no manifest, a file missing or altered (its sha256 differs from the
                manifest's), another task or format, or a tuned head trained on another base
                model than the default one.
        """
        stored = read_head(
            folder, task="clauses", kinds=HEAD_KINDS, format=FORMAT, model_kinds=("tuned",)
        )
        manifest, tensors, path = stored.manifest, stored.tensors, stored.folder
        settings = manifest.get("settings", {})
        head = cls(
            kind=manifest["kind"],
            k=int(settings.get("k", modes.DEFAULT_K)),
            threshold=float(settings.get("threshold", 0.5)),
            max_per_type=int(settings.get("max_per_type", 1)),
            vocabulary=list(manifest.get("vocabulary", [])),
            tensors=tensors,
            manifest=manifest,
            folder=path,
        )
        head._check_shapes()
        return head

    def _check_shapes(self) -> None:
        width = len(CODE_FEATURES) + len(self.vocabulary) + self.hidden_width
        for clause_type in rank.RANKED_TYPES:
            coef = self.tensors.get(f"coef:{clause_type}")
            if coef is None or coef.shape != (width,):
                raise AdapterError(
                    f"adapter {str(self.folder)!r}: weights of {clause_type!r} missing or of "
                    f"the wrong shape"
                )
        if self.tensors.get("idf", np.zeros(0)).shape != (len(self.vocabulary),):
            raise AdapterError(f"adapter {str(self.folder)!r}: idf does not match the vocabulary")

    @property
    def hidden_width(self) -> int:
        mean = self.tensors.get("hidden_mean")
        return 0 if mean is None else int(mean.shape[0])

    @property
    def sha256(self) -> str:
        """The adapter's identity: the sha256 of its manifest (which pins every file's hash)."""
        if self.folder is None:
            return ""
        return file_sha256(self.folder / MANIFEST)

    # --- answering --------------------------------------------------------------------------

    def _tfidf(self) -> Any:
        if self._vectorizer is None:
            self._vectorizer = fitted_tfidf(tfidf_settings(), self.vocabulary, self.tensors["idf"])
        return self._vectorizer

    def design(
        self, analysis: modes.Analysis, chosen: list[Slot], hidden: np.ndarray | None
    ) -> Any:
        """The feature matrix (sparse, one row per slot) the weights apply to."""
        from scipy import sparse

        code = np.asarray([code_features(analysis, s) for s in chosen], dtype=np.float64)
        code = (code - self.tensors["code_mean"]) / self.tensors["code_scale"]
        blocks = [
            sparse.csr_matrix(code.reshape(len(chosen), len(CODE_FEATURES))),
            self._tfidf().transform([span_text(s.candidate) for s in chosen]),
        ]
        if self.hidden_width:
            assert hidden is not None
            scaled = (hidden - self.tensors["hidden_mean"]) / self.tensors["hidden_scale"]
            blocks.append(sparse.csr_matrix(scaled))
        return sparse.hstack(blocks, format="csr")

    def hidden(self, chosen: list[Slot]) -> np.ndarray | None:
        """The model's hidden states of the slots' spans (``None`` for a learned head)."""
        if not self.hidden_width:
            return None
        from ..._hidden import hidden_states
        from ..._prepare import prepare_default_model

        embedder = hidden_states(str(prepare_default_model()), self.manifest["embedder"]["dtype"])
        return embedder.embed([span_text(s.candidate) for s in chosen])

    def probabilities(self, analysis: modes.Analysis) -> list[tuple[Slot, float]]:
        """Every slot of the contract with the head's probability that it is a clause."""
        chosen = slots(analysis, k=self.k)
        if not chosen:
            return []
        matrix = self.design(analysis, chosen, self.hidden(chosen))
        out: list[tuple[Slot, float]] = []
        for i, slot in enumerate(chosen):
            coef = self.tensors[f"coef:{slot.clause_type}"]
            logit = float(matrix[i].dot(coef)[0]) + float(
                self.tensors[f"intercept:{slot.clause_type}"][0]
            )
            out.append((slot, 1.0 / (1.0 + math.exp(-max(min(logit, 50.0), -50.0)))))
        return out

    def choose(self, scored: list[tuple[Slot, float]]) -> list[Slot]:
        """Per category, the slots at or above the threshold, best first, at most
        ``max_per_type``."""
        kept: list[Slot] = []
        for clause_type in rank.RANKED_TYPES:
            mine = sorted(
                ((p, s) for s, p in scored if s.clause_type == clause_type and p >= self.threshold),
                key=lambda item: (-item[0], item[1].rank),
            )
            kept.extend(s for _, s in mine[: self.max_per_type])
        return kept

    def clauses(self, analysis: modes.Analysis) -> list[dict[str, Any]]:
        """Structure in code, plus the candidates the head keeps (offsets set, values read)."""
        out = modes.structural_clauses(analysis)
        for slot in self.choose(self.probabilities(analysis)):
            out.append(
                modes.ranked_clause(analysis, slot.clause_type, slot.candidate, origin="adapter")
            )
        return out


def tfidf_settings() -> dict[str, Any]:
    """The TF-IDF settings training and answering share."""
    return {"ngram_range": (1, 2), "sublinear_tf": True, "dtype": np.float64}


def shipped_head_dir(kind: str) -> Path:
    """The folder of the head shipped in the package for ``kind`` (learned or tuned)."""
    return Path(__file__).resolve().parents[2] / "tuned" / f"clauses-{kind}"
