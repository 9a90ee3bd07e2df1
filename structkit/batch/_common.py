"""What a batch job's modules share: the result line, the summary, the inputs it reads."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .._errors import (
    InputError,
)
from ..adapters._record import Record

if TYPE_CHECKING:  # pandas and numpy load when a job needs them, not with `import structkit`
    import pandas as pd


log = logging.getLogger(__name__)

#: File types read from a folder source (one record per file, id = path relative to the folder).
DIR_SUFFIXES = (".json", ".xml", ".csv", ".md", ".txt")
_JSONL_SUFFIXES = (".jsonl", ".ndjson")
_CSV_SUFFIXES = (".csv", ".tsv")
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
