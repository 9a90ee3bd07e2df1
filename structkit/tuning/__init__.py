"""Tuning the default model's part in a task from gold: ``structkit tune`` / :func:`tune`.

Two tasks are tunable, each with a head over code's candidates:

- ``clauses``: either ``learned`` (code's features and the span's words, no model: the baseline
  the model must beat) or ``tuned`` (the same plus the default model's hidden states of the
  span). See :mod:`._clauses`.
- ``diagnosis``: a ``learned`` order of code's candidate conditions (code's features, the
  code's and reasons' words); the ``tuned`` mode asks the model from that order. Or ``lora``:
  a LoRA of the default model trained on the model mode's own question (:mod:`._lora`), in
  the forms vLLM and llama.cpp load. See :mod:`._diagnosis`.
"""

from __future__ import annotations

from ._clauses import TuneReport, tune_clauses
from ._clauses_data import (
    CUAD_HELD_OUT_NAMES,
    Split,
    cuad_split,
    independent_check,
    independent_contracts,
)
from ._diagnosis import DIAGNOSIS_HELD_OUT, DiagnosisTuneReport, tune_diagnosis
from ._lora import LoraSettings

__all__ = [
    "CUAD_HELD_OUT_NAMES",
    "DIAGNOSIS_HELD_OUT",
    "DiagnosisTuneReport",
    "LoraSettings",
    "Split",
    "TuneReport",
    "cuad_split",
    "independent_check",
    "independent_contracts",
    "tune",
    "tune_clauses",
    "tune_diagnosis",
]


def tune(task: str, data: str, *, out: str, **options: object) -> TuneReport | DiagnosisTuneReport:
    """Train ``task``'s adapters from gold in ``data`` into ``out`` (see :func:`tune_clauses`,
    :func:`tune_diagnosis`)."""
    from .._errors import ConfigurationError

    if task == "clauses":
        return tune_clauses(data, out=out, **options)  # type: ignore[arg-type]
    if task == "diagnosis":
        return tune_diagnosis(data, out=out, **options)  # type: ignore[arg-type]
    raise ConfigurationError(
        f"tune: task {task!r} cannot be tuned yet; tunable tasks: clauses, diagnosis"
    )
