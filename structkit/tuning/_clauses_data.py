"""The clauses tuner's data: contracts with their gold, from a CUAD folder (with the held-out
rules) or an evaluation-format dataset, and the seeded splits by contract."""

from __future__ import annotations

import hashlib
import json
import logging
import random
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .._errors import DatasetError
from ..tasks.clauses import _head as head_mod
from ..tasks.clauses import _modes as modes
from ..tasks.clauses import _rank as rank

log = logging.getLogger("structkit")

__all__ = [
    "CUAD_HELD_OUT_NAMES",
    "Contract",
    "Split",
    "cuad_contracts",
    "cuad_split",
    "dataset_contracts",
    "independent_check",
    "independent_contracts",
    "sha256_bytes",
    "slot_span",
    "split_by_contract",
]

#: The four CUAD contracts issue #12 keeps for an independent check (parts of their file names).
CUAD_HELD_OUT_NAMES = (
    "AlliedEsportsEntertainment",
    "BNLFINANCIALCORP",
    "MEDALISTDIVERSIFIEDREIT",
    "TodosMedical",
)


def independent_check(stem: str) -> bool:
    """A CUAD contract kept for an independent check: the sha256 hex digest of its file name
    without ``.txt`` (UTF-8) starts with ``0`` or ``1``."""
    return hashlib.sha256(stem.encode("utf-8")).hexdigest()[0] in "01"


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def independent_contracts(
    folder: Path, *, exclude_texts: Iterable[Path] = (), max_bytes: int = 100_000
) -> list[Path]:
    """The independent check's contracts of a CUAD folder, sorted: those
    :func:`independent_check` keeps that have a gold row in ``master_clauses.csv``, are at most
    ``max_bytes`` long and are not one of ``exclude_texts`` (the evaluation dataset's contracts,
    by bytes or by dataset name, as in :func:`cuad_split`). Never trained on, never used to
    choose a setting: the scripts that report on them all select them here."""
    rules = _Rules.of(folder, exclude_texts)
    out = []
    for path in sorted((folder / "full_contract_txt").glob("*.txt")):
        if not independent_check(path.stem) or not rules.has_gold(path):
            continue
        data = path.read_bytes()
        if len(data) <= max_bytes and not rules.in_evaluation(path, data):
            out.append(path)
    return out


@dataclass(frozen=True)
class _Rules:
    """What a CUAD folder's contract is checked against: the evaluation dataset's contracts (by
    bytes, or by dataset name: the dataset keeps excerpts under ``cuad_<slug>``) and the file
    names with a gold row (11 of CUAD's 510 differ from their CSV row's: no gold)."""

    evaluation: frozenset[str]
    evaluation_names: frozenset[str]
    with_gold: frozenset[str]

    @classmethod
    def of(cls, folder: Path, exclude_texts: Iterable[Path]) -> _Rules:
        from ..evaluation.cuad import read_master_clauses

        exclude = list(exclude_texts)
        return cls(
            frozenset(sha256_bytes(p.read_bytes()) for p in exclude),
            frozenset(p.stem for p in exclude),
            frozenset(
                Path(r.get("Filename", "")).stem.casefold()
                for r in read_master_clauses(folder / "master_clauses.csv")
            ),
        )

    def in_evaluation(self, path: Path, data: bytes) -> bool:
        from ..evaluation.cuad import dataset_name

        return sha256_bytes(data) in self.evaluation or dataset_name(path.name) in (
            self.evaluation_names
        )

    def has_gold(self, path: Path) -> bool:
        return path.stem.casefold() in self.with_gold


@dataclass(frozen=True)
class Split:
    """Contracts (paths) for training and validation, and what was left out and why."""

    train: list[Path]
    validation: list[Path]
    excluded: dict[str, str] = field(default_factory=dict)
    """File name -> reason (evaluation dataset, issue #12, independent check, size)."""


def cuad_split(
    folder: Path,
    *,
    exclude_texts: Iterable[Path] = (),
    seed: int = 0,
    train: int = 236,
    validation: int = 48,
    max_bytes: int = 60_000,
) -> Split:
    """Seeded split by contract of a CUAD folder's ``full_contract_txt/*.txt``.

    Never used: a contract whose bytes or dataset name (``cuad_<slug>``, see
    :func:`structkit.evaluation.cuad.dataset_name`: the dataset keeps excerpts under that name)
    equal one of ``exclude_texts`` (the evaluation dataset's contracts,
    ``datasets/clauses/*.txt``), the four of :data:`CUAD_HELD_OUT_NAMES`, every one that
    :func:`independent_check` keeps, and (for training cost) contracts over ``max_bytes``.
    """
    texts = folder / "full_contract_txt"
    if not texts.is_dir() or not (folder / "master_clauses.csv").is_file():
        raise DatasetError(
            f"{str(folder)!r} is not a CUAD folder"
            " (needs full_contract_txt/ and master_clauses.csv)"
        )
    rules = _Rules.of(folder, exclude_texts)
    excluded: dict[str, str] = {}
    eligible: list[Path] = []
    for path in sorted(texts.glob("*.txt")):
        data = path.read_bytes()
        if rules.in_evaluation(path, data):
            excluded[path.name] = "evaluation dataset"
        elif any(name.casefold() in path.stem.casefold() for name in CUAD_HELD_OUT_NAMES):
            excluded[path.name] = "issue #12"
        elif independent_check(path.stem):
            excluded[path.name] = "independent check"
        elif len(data) > max_bytes:
            excluded[path.name] = "size"
        elif not rules.has_gold(path):
            excluded[path.name] = "no gold row"
        else:
            eligible.append(path)
    random.Random(seed).shuffle(eligible)
    if len(eligible) < train + validation:
        raise DatasetError(
            f"{str(folder)!r}: {len(eligible)} eligible contracts,"
            f" fewer than {train} + {validation}"
        )
    return Split(
        train=sorted(eligible[validation : validation + train]),
        validation=sorted(eligible[:validation]),
        excluded=excluded,
    )


# --- examples -------------------------------------------------------------------------------


@dataclass
class Contract:
    """One contract's slots, their labels, and its gold spans of the ranked categories."""

    name: str
    analysis: modes.Analysis
    slots: list[head_mod.Slot]
    labels: list[int]
    gold: list[Any]
    sha256: str


def _contract(name: str, path: Path, gold_of: Callable[[str], list[Any]], *, k: int) -> Contract:
    from ..adapters import load
    from ..evaluation.cuad import spans_match

    record = load(path, kind="text")
    analysis = modes.analyse(record)
    gold = [g for g in gold_of(analysis.source) if g.clause_type in rank.RANKED_TYPES]
    chosen = head_mod.slots(analysis, k=k)
    labels = [
        int(any(spans_match(slot_span(s), g) for g in gold if g.clause_type == s.clause_type))
        for s in chosen
    ]
    return Contract(name, analysis, chosen, labels, gold, sha256_bytes(path.read_bytes()))


def slot_span(slot: head_mod.Slot) -> Any:
    """A candidate slot as the span the evaluation matches against gold."""
    from ..evaluation.cuad import GoldSpan

    c = slot.candidate
    return GoldSpan(slot.clause_type, c.text, c.start, c.end)


def cuad_contracts(paths: Sequence[Path], csv_path: Path, *, k: int) -> list[Contract]:
    from ..evaluation import cuad

    rows = cuad.read_master_clauses(csv_path)
    out = []
    for path in paths:

        def gold_of(source: str, path: Path = path) -> list[Any]:
            found = cuad.load_gold(csv_path, path.stem + ".pdf", source_text=source, rows=rows)
            return list(found.spans)

        out.append(_contract(path.name, path, gold_of, k=k))
    return out


def dataset_contracts(path: Path, *, k: int) -> list[Contract]:
    """Contracts of an evaluation-format ``.jsonl`` (``input`` relative to the file's folder)."""
    from ..evaluation.cuad import GoldSpan, canonical_category

    out = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
            source = path.parent / item["input"]
            spans = [
                GoldSpan(
                    canonical_category(s["clause_type"]), s["text"], int(s["start"]), int(s["end"])
                )
                for s in item["gold"]["spans"]
            ]
        except (json.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
            raise DatasetError(f"{path.name} line {number}: not a clauses item ({exc})") from None

        def gold_of(_source: str, spans: list[Any] = spans) -> list[Any]:
            return spans

        out.append(_contract(str(item.get("id", number)), source, gold_of, k=k))
    return out


def split_by_contract(
    contracts: list[Contract], *, seed: int, validation: float = 0.25
) -> tuple[list[Contract], list[Contract]]:
    order = list(range(len(contracts)))
    random.Random(seed).shuffle(order)
    n_val = max(1, round(len(contracts) * validation)) if len(contracts) > 1 else 0
    val = {order[i] for i in range(n_val)}
    return (
        [c for i, c in enumerate(contracts) if i not in val],
        [c for i, c in enumerate(contracts) if i in val],
    )


# --- fitting --------------------------------------------------------------------------------
