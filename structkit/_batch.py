"""Batch jobs live in :mod:`structkit.batch`; this module keeps the old import path."""

from .batch import (
    DIR_SUFFIXES,
    BatchSummary,
    DuplicateIdError,
    export_results,
    neutralize_formulas,
    read_results,
    results_frame,
    run_batch,
)

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
