"""The built-in tasks, registered in one place: the API, the CLI, batch jobs and ``structkit
eval`` all find tasks through the registry (:func:`structkit.get_task`)."""

import os
from collections.abc import Callable
from typing import Any

from .._errors import ConfigurationError
from .._task import Task, TaskCommand, get_task, register_task
from .clauses import CLAUSES, clauses_task
from .diagnosis import DIAGNOSIS, diagnosis_task
from .financials import FINANCIALS

__all__ = ["BUILTIN_TASKS", "with_adapter"]

BUILTIN_TASKS = (DIAGNOSIS, FINANCIALS, CLAUSES)

register_task(
    DIAGNOSIS,
    command=TaskCommand(
        "diagnose",
        "differential diagnosis for a patient record (decision support)",
        "patient record: JSON (incl. FHIR Bundle), XML (incl. C-CDA), CSV or Markdown file",
    ),
)
register_task(
    FINANCIALS,
    command=TaskCommand(
        "financials",
        "line items, ratios, cash flow and identity checks for a statement",
        "financial statement: CSV or Markdown table, XBRL instance (.xml) or inline XBRL (.htm)",
    ),
)
register_task(
    CLAUSES,
    command=TaskCommand(
        "clauses",
        "CUAD-style clause extraction with verified offsets",
        "contract: a .txt file",
    ),
)


def with_adapter(task: str | Task[Any], adapter: str | os.PathLike[str] | None) -> Task[Any]:
    """``task`` (a name or a Task) using the tuned ``adapter`` folder (``structkit tune``);
    ``None`` leaves it as it is.

    Raises:
        ConfigurationError: the task has no adapters (today ``clauses`` and ``diagnosis``).
        AdapterError: the folder is not a usable adapter (missing, corrupt, other base model).
    """
    chosen = get_task(task) if isinstance(task, str) else task
    if adapter is None:
        return chosen
    factories: dict[str, Callable[..., Task[Any]]] = {
        "clauses": clauses_task,
        "diagnosis": diagnosis_task,
    }
    if chosen.name not in factories:
        raise ConfigurationError(
            f"task {chosen.name!r} has no tuned adapters (tunable: {', '.join(factories)})"
        )
    return factories[chosen.name](adapter=adapter)
