"""The built-in tasks, registered in one place: the API, the CLI, batch jobs and ``structkit
eval`` all find tasks through the registry (:func:`structkit.get_task`)."""

from .._task import TaskCommand, register_task
from .clauses import CLAUSES
from .diagnosis import DIAGNOSIS
from .financials import FINANCIALS

__all__ = ["BUILTIN_TASKS"]

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
