"""Patient record -> findings, early-warning scores and a coded differential (decision support).

The task (:mod:`._task`), its output models (:mod:`._models`) and the learned order of code's
candidates (:mod:`._head`). Findings, scores and candidates are :mod:`structkit.clinical`'s.
"""

from ._models import Diagnosis, DifferentialItem
from ._task import DIAGNOSIS, MODES, analyse, baseline_ranking, diagnosis_task, urgent_findings

__all__ = [
    "DIAGNOSIS",
    "MODES",
    "Diagnosis",
    "DifferentialItem",
    "analyse",
    "baseline_ranking",
    "diagnosis_task",
    "urgent_findings",
]
