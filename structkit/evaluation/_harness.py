"""Run a task over a gold dataset for several models and settings, N runs each.

One engine at a time: for each model an engine is created, every setting is evaluated on it,
and it is closed (``engine.close()``) before the next model is loaded, so a process never holds
two models. Engines passed in by the caller are used as they are and not closed.

Per run, every metric of :mod:`._metrics` is computed; :class:`ConfigResult` then gives each as
mean ± standard deviation over the runs. Run ``i`` uses seed ``setting["seed"] (default 0) + i``.

Before the timed runs on an engine, the first item is sent once, untimed (``warmup``), so the
engine's lazy start-up and first-use costs stay out of the first run. Latency is measured per
record as the wall-clock time of the ``run_task`` call that carried it
(load, render, generate, validate, resample, postprocess). Records are sent ``batch_size`` at a
time (default: the whole dataset in one batch, which is how structkit is meant to be used and
gives the best records/s); with a batch of ``B`` records all ``B`` share one latency, so use
``batch_size=1`` to measure one-by-one latency. Time to first token comes only from the engine's
per-request metrics (``Completion.metrics``); when the engine does not report it, it is n/a.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .._engine import Completion, Engine, EngineWrapper, GenerationRequest
from .._errors import ConfigurationError, DatasetError
from .._runner import Outcome, run_task
from .._settings import PARSERS, Settings
from .._task import Task, get_task
from ._metrics import (
    ACCURACY_METRICS,
    SCORERS,
    PeakMemory,
    answer_is_json,
    mean_std,
    percentile,
    rate,
    ttft_seconds,
)

__all__ = [
    "ConfigResult",
    "DatasetItem",
    "Evaluation",
    "RunResult",
    "Stat",
    "evaluate",
    "load_dataset",
    "parse_setting",
    "setting_label",
]

#: Generic metrics, in report order (task metrics follow).
GENERIC_METRICS = (
    "schema_valid",
    "format_ok",
    "grounded",
    "records_per_s",
    "latency_p50_s",
    "latency_p99_s",
    "ttft_p50_s",
    "ttft_p99_s",
    "peak_rss_mb",
    "prompt_tokens",
    "completion_tokens",
    "attempts",
    "questions",
)


# --------------------------------------------------------------------------- datasets


@dataclass(frozen=True)
class DatasetItem:
    """One gold item: ``input`` is a record (dict), a :class:`~pathlib.Path` or text."""

    id: str
    input: Any
    gold: dict[str, Any]


def load_dataset(path: str | os.PathLike[str], *, limit: int | None = None) -> list[DatasetItem]:
    """Read a JSONL dataset: one ``{"id", "input", "gold"}`` object per line.

    A string ``input`` without a line break that names an existing file relative to the
    dataset's folder becomes that :class:`~pathlib.Path`; other strings are record text.

    Raises:
        ValueError: a line is not such an object, or an id repeats (named by line number).
    """
    source = Path(path)
    items: list[DatasetItem] = []
    seen: set[str] = set()
    with source.open(encoding="utf-8-sig") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                raise DatasetError(f"{source.name} line {number}: not JSON ({exc.msg})") from None
            if not isinstance(row, dict) or not {"id", "input", "gold"} <= row.keys():
                raise DatasetError(f"{source.name} line {number}: needs 'id', 'input' and 'gold'")
            if not isinstance(row["gold"], dict):
                raise DatasetError(f"{source.name} line {number}: 'gold' must be an object")
            item_id = str(row["id"])
            if item_id in seen:
                raise DatasetError(f"{source.name} line {number}: duplicate id {item_id!r}")
            seen.add(item_id)
            items.append(DatasetItem(item_id, _resolve(row["input"], source.parent), row["gold"]))
            if limit is not None and len(items) >= limit:
                break
    return items


def _resolve(value: Any, folder: Path) -> Any:
    if isinstance(value, str) and "\n" not in value and value.strip():
        candidate = folder / value
        if not Path(value).is_absolute() and candidate.is_file():
            return candidate
    return value


# --------------------------------------------------------------------------- settings


def parse_setting(text: str) -> dict[str, Any]:
    """``"grounding=false, temperature=0.7"`` -> ``{"grounding": False, "temperature": 0.7}``.

    ``""`` or ``"default"`` is the baseline (no overrides). Keys are :class:`RunOptions` names
    except ``model``/``engine``.

    Raises:
        ValueError: an unknown key or a value of the wrong type.
    """
    setting: dict[str, Any] = {}
    if text.strip().lower() in ("", "default"):
        return setting
    for part in text.split(","):
        key, sep, raw = part.partition("=")
        key = key.strip().replace("-", "_")
        if not sep or key not in PARSERS:
            known = ", ".join(PARSERS)
            raise ConfigurationError(
                f"bad setting {part.strip()!r}: use key=value with keys {known}"
            )
        try:
            setting[key] = PARSERS[key](raw.strip())
        except ValueError:
            raise ConfigurationError(f"bad value for {key}: {raw.strip()!r}") from None
    return setting


def setting_label(setting: Mapping[str, Any]) -> str:
    """Short label of a setting (``default`` when it overrides nothing)."""
    if not setting:
        return "default"
    return ", ".join(
        f"{k}={str(v).lower() if isinstance(v, bool) else v}" for k, v in setting.items()
    )


# --------------------------------------------------------------------------- results


@dataclass(frozen=True)
class Stat:
    """Mean ± sample standard deviation of one metric over ``n`` runs."""

    mean: float
    std: float
    n: int

    def __str__(self) -> str:
        size = abs(self.mean)
        digits = 0 if size >= 100 else 1 if size >= 10 else 3
        return f"{self.mean:.{digits}f} ± {self.std:.{digits}f}"


@dataclass
class RunResult:
    """One run of one model and setting over the dataset."""

    metrics: dict[str, float | None]
    latencies: list[float] = field(default_factory=list)
    """Per record: seconds of the ``run_task`` call (batch) that carried it."""
    ttfts: list[float] = field(default_factory=list)
    """Per request: time to first token from the engine's metrics (empty: not reported)."""
    seconds: float = 0.0
    """Wall-clock time of the whole run."""


@dataclass
class ConfigResult:
    """All runs of one (model, setting)."""

    model: str
    setting: dict[str, Any]
    runs: list[RunResult] = field(default_factory=list)

    @property
    def label(self) -> str:
        return f"{self.model} [{setting_label(self.setting)}]"

    def stat(self, metric: str) -> Stat | None:
        """Mean ± std of ``metric`` over the runs where it was measured (None: never)."""
        values = [r.metrics[metric] for r in self.runs if r.metrics.get(metric) is not None]
        if not values:
            return None
        mean, std = mean_std([float(v) for v in values if v is not None])
        return Stat(mean, std, len(values))

    def latencies(self) -> list[float]:
        """Every record latency of every run."""
        return [x for r in self.runs for x in r.latencies]


@dataclass
class Evaluation:
    """What :func:`evaluate` returns: every (model, setting) with its runs."""

    task: str
    dataset: str
    items: int
    runs: int
    batch_size: int | None
    configs: list[ConfigResult]
    metrics: list[str]
    """Every metric name, generic first, in report order."""
    accuracy_metrics: tuple[str, ...]
    """The task's accuracy metrics (plotted)."""

    def to_dict(self) -> dict[str, Any]:
        """Plain data (JSON-ready), raw per-run values included."""
        return {
            "task": self.task,
            "dataset": self.dataset,
            "items": self.items,
            "runs": self.runs,
            "batch_size": self.batch_size,
            "metrics": self.metrics,
            "accuracy_metrics": list(self.accuracy_metrics),
            "configs": [
                {
                    "model": c.model,
                    "setting": c.setting,
                    "summary": {
                        m: None if (s := c.stat(m)) is None else {"mean": s.mean, "std": s.std}
                        for m in self.metrics
                    },
                    "runs": [
                        {
                            "metrics": r.metrics,
                            "seconds": r.seconds,
                            "latencies": r.latencies,
                            "ttfts": r.ttfts,
                        }
                        for r in c.runs
                    ],
                }
                for c in self.configs
            ],
        }


# --------------------------------------------------------------------------- evaluation


class _Recorder(EngineWrapper[Engine]):
    """Engine wrapper that keeps every completion (for format compliance and TTFT)."""

    def __init__(self, engine: Engine):
        super().__init__(engine)
        self.completions: list[Completion] = []

    def generate(self, requests: Sequence[GenerationRequest]) -> list[Completion]:
        completions = self._engine.generate(requests)
        self.completions.extend(completions)
        return completions


def _default_engine(model: str | None) -> Engine:
    # The same choice as every other command (STRUCTKIT_SERVER_URL, the default engine).
    from ..engines import resolve_engine

    return resolve_engine(model=model, fresh=True)


def _batches(items: Sequence[DatasetItem], size: int | None) -> Iterator[Sequence[DatasetItem]]:
    step = size or max(len(items), 1)
    for start in range(0, len(items), step):
        yield items[start : start + step]


def _one_run(
    task: Task[Any],
    items: Sequence[DatasetItem],
    engine: Engine,
    settings: Settings,
    batch_size: int | None,
) -> RunResult:
    recorder = _Recorder(engine)
    outcomes: list[Outcome[Any]] = []
    latencies: list[float] = []
    wall = 0.0
    with PeakMemory() as memory:
        for batch in _batches(items, batch_size):
            started = time.perf_counter()
            outcomes += run_task(
                task,
                [i.input for i in batch],
                engine=recorder,
                record_ids=[i.id for i in batch],
                settings=settings,
            )
            seconds = time.perf_counter() - started
            wall += seconds
            latencies += [seconds] * len(batch)
    reasoning = engine.profile.reasoning
    answers = [c for c in recorder.completions if c.error is None]
    ttfts = [t for c in recorder.completions if (t := ttft_seconds(c.metrics)) is not None]
    n = len(items)
    metrics: dict[str, float | None] = {
        "schema_valid": rate(sum(o.ok for o in outcomes), n),
        "format_ok": rate(
            sum(answer_is_json(c.text, reasoning=reasoning) for c in answers), len(answers)
        ),
        "records_per_s": n / wall if wall > 0 else None,
        "latency_p50_s": percentile(latencies, 50) if latencies else None,
        "latency_p99_s": percentile(latencies, 99) if latencies else None,
        "ttft_p50_s": percentile(ttfts, 50) if ttfts else None,
        "ttft_p99_s": percentile(ttfts, 99) if ttfts else None,
        "peak_rss_mb": memory.peak_bytes / 2**20 if memory.peak_bytes else None,
        "prompt_tokens": rate(sum(o.prompt_tokens for o in outcomes), n),
        "completion_tokens": rate(sum(o.completion_tokens for o in outcomes), n),
        "attempts": rate(sum(o.attempts for o in outcomes), n),
        "questions": rate(sum(o.questions for o in outcomes), n),
    }
    scorer = SCORERS.get(task.name)
    if scorer is not None:
        metrics.update(scorer(outcomes, [i.gold for i in items]))
    return RunResult(metrics, latencies, ttfts, wall)


def evaluate(
    task: str | Task[Any],
    dataset: str | os.PathLike[str] | Sequence[DatasetItem],
    *,
    models: Sequence[str | None] | None = None,
    engines: Sequence[Engine] | None = None,
    settings: Sequence[Mapping[str, Any]] | None = None,
    runs: int = 1,
    batch_size: int | None = None,
    engine_factory: Callable[[str | None], Engine] | None = None,
    warmup: bool = True,
    name: str | None = None,
    on_progress: Callable[[str], None] | None = None,
) -> Evaluation:
    """Evaluate ``task`` on ``dataset`` for each model (or engine) and setting, ``runs`` times.

    Args:
        task: a registered task name or a :class:`Task`; the built-in tasks get their
            accuracy metrics, others the generic ones only.
        dataset: a JSONL path (:func:`load_dataset`) or loaded items.
        models: models to load one after the other (``None``: the default model).
        engines: engines to use instead of ``models`` (not closed afterwards).
        settings: :class:`RunOptions` overrides to compare, e.g. ``{"grounding": False}``,
            ``{"format": "markdown"}``, ``{"thinking_budget": 0}``, ``{"temperature": 0.7}``;
            default: one baseline setting ``{}``.
        runs: runs per (model, setting); run ``i`` adds ``i`` to the seed.
        batch_size: records per ``run_task`` call (default: all in one).
        engine_factory: how a model name becomes an engine (default: ``VLLMEngine(model)``).
        warmup: before the timed runs on an engine, send it the first item once (untimed), so
            engine start-up and first-use costs do not land in the first run's latency.
        name: the dataset's name in reports (default: the file name).
        on_progress: called with a line of text after each run.
    """
    if models is not None and engines is not None:
        raise ConfigurationError("give models or engines, not both")
    if runs < 1 or (batch_size is not None and batch_size < 1):
        raise ConfigurationError("runs and batch_size must be at least 1")
    chosen = get_task(task) if isinstance(task, str) else task
    if isinstance(dataset, (str, os.PathLike)):
        items, label = load_dataset(dataset), Path(dataset).name
    else:
        items, label = list(dataset), "dataset"
    # A task with modes (e.g. the model pipeline and its no-model baseline) is compared across
    # all of them by default, so a quality figure never stands without its baseline.
    default = [{"mode": m} for m in chosen.modes] if chosen.modes else [{}]
    overrides = [dict(s) for s in (settings or default)]
    for setting in overrides:
        bad = set(setting) - set(Settings.names())
        if bad:
            raise ConfigurationError(
                f"settings may not set {sorted(bad)}; allowed: {list(Settings.names())}"
            )
    configs: list[ConfigResult] = []

    def run_all(engine: Engine) -> None:
        if warmup and items:
            first = {k: v for k, v in overrides[0].items() if k != "seed"}
            warm = Settings().with_changes({**first, "max_attempts": 1})
            run_task(chosen, [items[0].input], engine=engine, settings=warm)
        for setting in overrides:
            config = ConfigResult(engine.model_name, setting)
            configs.append(config)
            for index in range(runs):
                seed = int(setting.get("seed", 0)) + index
                run_settings = Settings().with_changes({**setting, "seed": seed})
                result = _one_run(chosen, items, engine, run_settings, batch_size)
                config.runs.append(result)
                if on_progress is not None:
                    valid = result.metrics["schema_valid"] or 0.0
                    on_progress(
                        f"{config.label} run {index + 1}/{runs}: "
                        f"{result.seconds:.1f} s, schema-valid {valid:.2f}"
                    )

    if engines is not None:
        for engine in engines:
            run_all(engine)
    else:
        factory = engine_factory or _default_engine
        for model in models or [None]:
            engine = factory(model)
            try:
                run_all(engine)
            finally:
                close = getattr(engine, "close", None)
                if callable(close):
                    close()
    extra = ACCURACY_METRICS.get(chosen.name, ())
    names = list(GENERIC_METRICS)
    for config in configs:
        for run in config.runs:
            names += [m for m in run.metrics if m not in names]
    return Evaluation(
        chosen.name, name or label, len(items), runs, batch_size, configs, names, extra
    )
