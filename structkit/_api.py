"""The public functions. Options are keyword-only and shared (:class:`RunOptions`)."""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any, TypeVar

from pydantic import BaseModel
from typing_extensions import Unpack

from . import tasks as _builtin  # noqa: F401  (importing it registers the built-in tasks)
from ._audit import attach_audits, run_audit, utc_now
from ._runner import Outcome, run_task
from ._settings import RunOptions, Settings
from ._task import Task, get_task
from .engines._select import resolve_engine
from .tasks.clauses import CLAUSES, ClauseExtraction, clauses_task
from .tasks.diagnosis import DIAGNOSIS, Diagnosis, diagnosis_task
from .tasks.financials import FINANCIALS, Financials

__all__ = [
    "analyze_financials",
    "diagnose",
    "diagnose_many",
    "extract_clauses",
    "run",
]

M = TypeVar("M", bound=BaseModel)


def _run(
    task: Task[M],
    records: Sequence[Any],
    record_ids: Sequence[str] | None,
    options: RunOptions,
) -> list[Outcome[M]]:
    settings = Settings.from_options(options)
    engine = resolve_engine(
        engine=options.get("engine"), model=options.get("model"), records=len(records)
    )
    started = utc_now()
    outcomes = run_task(task, records, engine=engine, record_ids=record_ids, settings=settings)
    attach_audits(outcomes, run_audit(task, engine, settings), started=started)
    return outcomes


def run(
    task: str | Task[Any],
    records: Sequence[Any],
    *,
    record_ids: Sequence[str] | None = None,
    **options: Unpack[RunOptions],
) -> list[Outcome[Any]]:
    """Run a task (by name or object) over records; one batched engine call per attempt.

    Args:
        task: a registered task name (``structkit.task_names()``) or a :class:`Task`.
        records: anything ``structkit.adapters.load`` reads: dicts (incl. FHIR Bundles), XML
            (incl. C-CDA), DataFrames, paths to .json/.xml/.csv/.md/.txt files, text.
        record_ids: ids for the records (default: file names, else ``#<index>``).
        **options: see :class:`RunOptions`.

    Returns:
        One :class:`Outcome` per record, in order; a bad record or a failed answer is an
        outcome with a typed ``error``, never an exception that loses the other records.
    """
    chosen = get_task(task) if isinstance(task, str) else task
    return _run(chosen, records, record_ids, options)


def diagnose(
    record: Any,
    *,
    adapter: str | os.PathLike[str] | None = None,
    **options: Unpack[RunOptions],
) -> Diagnosis:
    """Decision-support differential diagnosis for one patient record.

    ``record`` is anything ``structkit.adapters.load`` reads (a dict, a FHIR Bundle, a C-CDA
    document, a one-row DataFrame, a file path). Findings, early-warning scores and rule red
    flags are computed in code; the differential is a ranking of ICD-10-CM codes retrieved from
    the record (each with its evidence and pointers). Options: :class:`RunOptions`
    (``mode="baseline"``: code ranks the candidates, no model call; ``"learned"``: the shipped
    head's order, no model call; ``"tuned"``: the model orders them from the head's order).
    ``adapter``: a head folder from ``structkit tune diagnosis`` for the learned/tuned modes.

    Raises:
        InputError: the record cannot be read.
        OutputError: no valid answer after ``max_attempts`` (carries the raw output).
        AdapterError: ``adapter`` is not a usable diagnosis head.
    """
    task = DIAGNOSIS if adapter is None else diagnosis_task(adapter=adapter)
    (outcome,) = _run(task, [record], None, options)
    return outcome.unwrap()


def diagnose_many(
    records: Sequence[Any],
    *,
    record_ids: Sequence[str] | None = None,
    adapter: str | os.PathLike[str] | None = None,
    **options: Unpack[RunOptions],
) -> list[Outcome[Diagnosis]]:
    """Diagnose many records in one batched engine call; one :class:`Outcome` per record."""
    task = DIAGNOSIS if adapter is None else diagnosis_task(adapter=adapter)
    return _run(task, records, record_ids, options)


def analyze_financials(statement: Any, **options: Unpack[RunOptions]) -> Financials:
    """Extract key line items per period from a financial statement and analyze them.

    ``statement`` is a CSV path, a DataFrame, a Markdown table or a parsed record (combine
    several statements with ``structkit.tasks.financials.combine_statements``). The model only
    maps metrics to table cells (grounded to the table's labels, periods and values); ratios,
    growth and accounting identity checks are computed in code. Options: :class:`RunOptions`.
    """
    (outcome,) = _run(FINANCIALS, [statement], None, options)
    return outcome.unwrap()


def extract_clauses(
    contract: Any,
    *,
    adapter: str | os.PathLike[str] | None = None,
    **options: Unpack[RunOptions],
) -> ClauseExtraction:
    """Extract CUAD-style clauses from a contract (a .txt path or the text itself).

    Each clause carries its verbatim span and character offsets verified against the source.
    Long contracts are split within the token budget and merged without duplicates.
    ``adapter``: a head folder from ``structkit tune clauses`` (its kind becomes the default
    mode); the ``learned`` and ``tuned`` modes otherwise use the heads shipped in the package.
    Options: :class:`RunOptions`.
    """
    task = CLAUSES if adapter is None else clauses_task(adapter=adapter)
    (outcome,) = _run(task, [contract], None, options)
    return outcome.unwrap()
