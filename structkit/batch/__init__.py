"""Batch jobs: a task over a big CSV, JSON Lines file, folder or DataFrame, durably and resumably.

The output is JSON Lines, one line per input record::

    {"id": "...", "status": "ok" | "error", "result": {...} | null,
     "error": {"type": "...", "message": "..."} | null, "attempts": n, "audit": {...}}

``audit`` says what produced the line (model and weights hash, engine, template and schema
hashes, sampling, timestamps, the input source: :mod:`structkit._audit`).

Input is streamed and sent to the engine ``batch_size`` records at a time. Every line is one
``write()`` of a complete line and each chunk ends with ``fsync``, so a crash leaves at most a
partial *last* line. A rerun drops that partial line, skips every id that already has a line
(``ok`` and ``error`` both count as finished; ``retry_failed=True`` redoes the errors) and
appends the rest. A retried id then has more than one line: **the last line per id wins**
(:func:`read_results` applies that rule). Only a problem with the job itself (a bad option, an
unreadable file) stops it: a broken row, a duplicate id, an invalid answer or an engine failure
for one chunk becomes an ``error`` line and the job goes on.
"""

from .._errors import DuplicateIdError
from ._common import DIR_SUFFIXES, BatchSummary
from ._export import export_results, neutralize_formulas, read_results, results_frame
from ._job import run_batch

__all__ = [
    "DIR_SUFFIXES",
    "BatchSummary",
    "DuplicateIdError",
    "export_results",
    "neutralize_formulas",
    "read_results",
    "results_frame",
    "run_batch",
]
