"""What a batch job's modules share: the result line, the summary, the inputs it reads."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .._errors import (
    DuplicateIdError,
    InputError,
)
from ..adapters._ids import IdSet, id_digest
from ..adapters._record import Record

if TYPE_CHECKING:  # pandas and numpy load when a job needs them, not with `import structkit`
    import pandas as pd


log = logging.getLogger(__name__)

#: File types read from a folder source (one record per file, id = path relative to the folder).
DIR_SUFFIXES = (".json", ".xml", ".csv", ".md", ".txt")
_JSONL_SUFFIXES = (".jsonl", ".ndjson")
_CSV_SUFFIXES = (".csv", ".tsv")
_PARQUET_SUFFIXES = (".parquet",)
#: A chunk also closes after this many lines per engine-bound record (a run of broken rows).
_MAX_CHUNK_FACTOR = 8

Item = Record | InputError | Path  # a Path is loaded only if its id is not skipped
Line = dict[str, Any]


@dataclass
class BatchSummary:
    """What a batch run did. ``ok``/``failed`` count lines written by this run."""

    ok: int
    failed: int
    skipped: int
    """Ids already finished in the output (not redone)."""
    total: int
    seconds: float
    output: Path
    failed_earlier: int = 0
    """Skipped ids whose line is an ``error`` (redo them with ``retry_failed=True``)."""
    dataframe: pd.DataFrame | None = None
    """The flattened results, with ``export="dataframe"``."""

    @property
    def records_per_second(self) -> float:
        """Records worked on (not skipped) per second."""
        return (self.ok + self.failed) / self.seconds if self.seconds > 0 else 0.0


class IdAdmission:
    """Which input records a job runs, by id: the one rule of the local and the Ray executor.

    The first record with an id runs; a later one with the same id becomes a
    :class:`DuplicateIdError` line under ``<id>#dup<n>``. An id already finished in the output is
    skipped (``ok`` and ``error`` lines both count) unless ``retry_failed`` and its last line is
    an error. Feed it one input stream in order.
    """

    def __init__(self, finished: IdSet, failed: set[bytes], *, retry_failed: bool) -> None:
        self._finished, self._failed, self._retry = finished, failed, retry_failed
        self._seen = IdSet()
        self._repeats: dict[str, int] = {}

    def admit(self, rid: str, item: Item) -> tuple[str, Item, str | None]:
        """``(output id, item, skip)``: ``skip`` is None (run it), ``"done"`` or ``"failed"``
        (finished earlier, with an error line last)."""
        out_id, digest = rid, id_digest(rid)
        if digest in self._seen:
            while digest in self._seen:
                self._repeats[rid] = self._repeats.get(rid, 1) + 1
                out_id = f"{rid}#dup{self._repeats[rid]}"
                digest = id_digest(out_id)
            item = DuplicateIdError("an earlier record has the same id", record_id=rid)
        self._seen.add(digest)
        if digest in self._finished and not (self._retry and digest in self._failed):
            return out_id, item, "failed" if digest in self._failed else "done"
        return out_id, item, None
