"""Tuning the default model's part in a task from gold: ``structkit tune`` / :func:`tune`.

Today one task is tunable, ``clauses``: a head over code's candidates, either ``learned`` (code's
features and the span's words, no model: the baseline the model must beat) or ``tuned`` (the
same plus the default model's hidden states of the span). See :mod:`._clauses`.
"""

from __future__ import annotations

from ._clauses import (
    CUAD_HELD_OUT_NAMES,
    Split,
    TuneReport,
    cuad_split,
    independent_check,
    tune_clauses,
)

__all__ = [
    "CUAD_HELD_OUT_NAMES",
    "Split",
    "TuneReport",
    "cuad_split",
    "independent_check",
    "tune",
    "tune_clauses",
]


def tune(task: str, data: str, *, out: str, **options: object) -> TuneReport:
    """Train ``task``'s adapters from gold in ``data`` into ``out`` (see :func:`tune_clauses`)."""
    from .._errors import ConfigurationError

    if task != "clauses":
        raise ConfigurationError(f"tune: task {task!r} cannot be tuned yet; tunable tasks: clauses")
    return tune_clauses(data, out=out, **options)  # type: ignore[arg-type]
