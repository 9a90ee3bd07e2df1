"""The public functions. Options are keyword-only and shared (:class:`RunOptions`)."""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any, TypedDict, TypeVar

from pydantic import BaseModel
from typing_extensions import Unpack

from . import tasks as _builtin  # noqa: F401  (importing it registers the built-in tasks)
from ._audit import attach_audits, run_audit, utc_now
from ._engine import Engine
from ._runner import Outcome, run_task
from ._task import Task, get_task
from .engines._select import resolve_engine
from .tasks.clauses import CLAUSES, ClauseExtraction, clauses_task
from .tasks.diagnosis import DIAGNOSIS, Diagnosis, diagnosis_task
from .tasks.financials import FINANCIALS, Financials

__all__ = [
    "RunOptions",
    "analyze_financials",
    "diagnose",
    "diagnose_many",
    "extract_clauses",
    "run",
]

M = TypeVar("M", bound=BaseModel)
ModelArg = str | os.PathLike[str] | None


class RunOptions(TypedDict, total=False):
    """Options every task function accepts (all keyword-only).

    Attributes:
        model: model name, folder or Hugging Face id; default: the packaged
            SmolLM2-135M-Instruct (or ``STRUCTKIT_MODEL``).
        engine: an engine to use instead (e.g. ``structkit.FakeEngine`` in tests), or the name
            of a built-in one: ``"llama.cpp"`` or ``"vllm"`` (default: ``STRUCTKIT_ENGINE``,
            else vLLM on GPU machines and llama.cpp for GGUF models on CPU-only ones).
        format: how records are rendered in prompts (``json``, ``markdown``, ``csv``, ``kv``,
            ``text``); default: the task's.
        grounding: constrain copied fields to values present in the record while decoding
            (default True); answers are verified after decoding either way.
        samples: samples per record; above 1, fields are voted on (self-consistency) and
            ``Outcome.agreement`` gives per-field agreement.
        max_attempts: rounds of resampling for records with no valid answer (default 2).
        max_tokens: total generation budget (reasoning models: thinking plus answer).
        temperature: sampling temperature; default from the model's profile.
        thinking_budget: reasoning models: tokens allowed before ``</think>`` is forced.
        seed: base seed, so runs are repeatable (default 0).
        mode: for tasks with modes (``structkit.get_task(name).modes``), which one to run,
            e.g. ``"baseline"`` (code only, no model); default: the task's first mode.
    """

    model: ModelArg
    engine: Engine | str | None
    format: str | None
    grounding: bool
    samples: int
    max_attempts: int
    max_tokens: int | None
    temperature: float | None
    thinking_budget: int | None
    seed: int
    mode: str | None


def _run(
    task: Task[M],
    records: Sequence[Any],
    record_ids: Sequence[str] | None,
    options: RunOptions,
) -> list[Outcome[M]]:
    settings: dict[str, Any] = dict(options)
    engine = resolve_engine(
        engine=settings.pop("engine", None),
        model=settings.pop("model", None),
        records=len(records),
    )
    started = utc_now()
    outcomes = run_task(task, records, engine=engine, record_ids=record_ids, **settings)
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
