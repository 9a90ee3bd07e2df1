"""Metrics: statistics, list-field precision/recall/F1, memory, and the built-in tasks' scorers.

Conventions (the same as :mod:`structkit.evaluation.cuad`):

- **List fields** are scored like CUAD spans, not one-to-one: precision is the share of predicted
  items that match some gold item, recall the share of gold items matched by some prediction.
  An empty prediction scores precision 1 only when the gold is empty too (and likewise recall),
  so empty vs empty is F1 = 1 and empty vs non-empty is F1 = 0. Counts are summed over records
  (micro average) before the rates are taken.
- **Free-text matches** (conditions, red flags, tests) compare normalized text: case-folded,
  punctuation and hyphens turned into spaces, whitespace collapsed; a gold phrase matches when
  it occurs in the prediction as whole words ("st elevation" matches "Anterior ST-elevation").
- **Failed records** (no valid answer) count as wrong / empty predictions, never as skipped.
"""

from __future__ import annotations

import importlib
import json
import math
import re
import statistics
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from .._errors import ConfigurationError
from .._runner import Outcome
from .._validate import split_reasoning, strict_json_loads
from ..tasks.clauses import CLAUSE_TYPES, normalize_date
from . import cuad
from ._diagnosis_codes import score_coded_differential

__all__ = [
    "ACCURACY_METRICS",
    "SCORERS",
    "PeakMemory",
    "Score",
    "answer_is_json",
    "keyword_prf",
    "mean_std",
    "normalize",
    "percentile",
    "phrase_in",
    "score_clauses",
    "score_diagnosis",
    "score_financials",
    "sum_scores",
    "ttft_seconds",
]

#: Precision/recall/F1 counts (shared with the CUAD span scorer).
Score = cuad.Score
Scorer = Callable[[Sequence[Outcome[Any]], Sequence[Mapping[str, Any]]], dict[str, float | None]]
_NON_WORD = re.compile(r"[\W_]+")


# --------------------------------------------------------------------------- statistics


def mean_std(values: Sequence[float]) -> tuple[float, float]:
    """Mean and sample standard deviation (0 for a single value). Raises on no values."""
    if not values:
        raise ConfigurationError("mean_std of no values")
    std = statistics.stdev(values) if len(values) > 1 else 0.0
    return statistics.fmean(values), std


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0-100), interpolating linearly between order statistics
    (NumPy's default). Raises on no values."""
    if not values:
        raise ConfigurationError("percentile of no values")
    if not 0 <= q <= 100:
        raise ConfigurationError("q must be between 0 and 100")
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100
    low, high = math.floor(rank), math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def rate(numerator: int, denominator: int) -> float | None:
    """``numerator / denominator``, or None when there is nothing to count."""
    return numerator / denominator if denominator else None


# --------------------------------------------------------------------------- text matching


def normalize(text: str) -> str:
    """Case-folded words separated by single spaces (punctuation, hyphens, underscores dropped)."""
    return " ".join(_NON_WORD.sub(" ", text.casefold()).split())


def phrase_in(phrase: str, text: str) -> bool:
    """``phrase`` occurs in ``text`` as whole words, after :func:`normalize` on both."""
    p, t = normalize(phrase), normalize(text)
    return bool(p) and f" {p} " in f" {t} "


def keyword_prf(predicted: Sequence[str], gold: Sequence[Sequence[str]]) -> Score:
    """Score free-text list items against gold keyword groups.

    A predicted item matches a group when it contains one of the group's keywords
    (:func:`phrase_in`). See the module docstring for the empty-list conventions.
    """
    return Score(
        predicted=len(predicted),
        gold=len(gold),
        correct_predicted=sum(any(phrase_in(k, p) for g in gold for k in g) for p in predicted),
        found_gold=sum(any(phrase_in(k, p) for p in predicted for k in g) for g in gold),
    )


def sum_scores(scores: Iterable[Score]) -> Score:
    """Micro-average: the counts of several scores added up."""
    items = list(scores)
    return Score(
        predicted=sum(s.predicted for s in items),
        gold=sum(s.gold for s in items),
        correct_predicted=sum(s.correct_predicted for s in items),
        found_gold=sum(s.found_gold for s in items),
    )


def _prf(prefix: str, score: Score) -> dict[str, float | None]:
    return {
        f"{prefix}_precision": score.precision,
        f"{prefix}_recall": score.recall,
        f"{prefix}_f1": score.f1,
    }


# --------------------------------------------------------------------------- engine-level


def answer_is_json(text: str, *, reasoning: bool = False) -> bool:
    """Format compliance: the answer parses as (strict) JSON at all, before any schema check.

    For reasoning models the answer is the text after ``</think>`` (none if it never closed).
    """
    if reasoning:
        _, text, closed = split_reasoning(text)
        if not closed:
            return False
    try:
        strict_json_loads(text)
    except (ValueError, json.JSONDecodeError):
        return False
    return True


#: Keys of ``Completion.metrics`` read as time to first token, in seconds, first found wins.
#: ``first_token_latency`` is vLLM's ``RequestStateStats.first_token_latency`` (request arrival
#: to first token, queueing included); ``ttft_s`` is for other engines.
TTFT_KEYS = ("first_token_latency", "ttft_s")


def ttft_seconds(metrics: Mapping[str, float]) -> float | None:
    """Time to first token from an engine's per-request metrics, or None when not reported."""
    for key in TTFT_KEYS:
        value = metrics.get(key)
        if value is not None and value > 0:
            return float(value)
    return None


class PeakMemory:
    """Peak resident memory (RSS) of this process plus all its children, sampled in a thread.

    vLLM runs its engine core in a child process, so the parent's RSS alone would miss the
    model. Shared pages are counted once per process (an upper bound). Use as a context
    manager; ``peak_bytes`` holds the maximum seen (0 when psutil is not installed).
    """

    def __init__(self, *, interval: float = 0.1):
        self.interval = interval
        self.peak_bytes = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        try:
            self._psutil: Any = importlib.import_module("psutil")
        except ImportError:  # pragma: no cover - psutil comes with vLLM
            self._psutil = None

    def sample(self) -> int:
        """Current RSS of the process tree in bytes (and update the peak)."""
        if self._psutil is None:
            return 0
        process = self._psutil.Process()
        total = 0
        for proc in [process, *process.children(recursive=True)]:
            try:
                total += int(proc.memory_info().rss)
            except (self._psutil.NoSuchProcess, self._psutil.AccessDenied):
                continue
        self.peak_bytes = max(self.peak_bytes, total)
        return total

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            self.sample()

    def __enter__(self) -> PeakMemory:
        self.sample()
        self._thread = threading.Thread(target=self._loop, name="structkit-rss", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        self.sample()


# --------------------------------------------------------------------------- task scorers


def _values(outcomes: Sequence[Outcome[Any]]) -> list[Any]:
    return [o.value if o.ok else None for o in outcomes]


def _condition_ok(condition: str, gold: Mapping[str, Any]) -> bool:
    names = [gold.get("condition") or "", *gold.get("synonyms", [])]
    return any(phrase_in(name, condition) for name in names if name)


def score_diagnosis(
    outcomes: Sequence[Outcome[Any]], golds: Sequence[Mapping[str, Any]]
) -> dict[str, float | None]:
    """Condition accuracy (top-1/top-3), insufficient-information accuracy, red flags and
    recommended tests P/R/F1, and the share of cited evidence that resolved in the record; with
    ICD-10-CM gold (``gold["icd10"]``), recall@5, recall@1, MRR and precision of the coded
    differential."""
    top1 = top3 = with_condition = insufficient_ok = cited = resolved = 0
    flags: list[Score] = []
    tests: list[Score] = []
    for value, gold in zip(_values(outcomes), golds, strict=True):
        conditions = [d.condition for d in value.differential] if value is not None else []
        if gold.get("condition"):
            with_condition += 1
            top1 += bool(conditions) and _condition_ok(conditions[0], gold)
            top3 += any(_condition_ok(c, gold) for c in conditions[:3])
            tests.append(
                keyword_prf(
                    getattr(value, "recommended_tests", []) if value else [],
                    gold.get("recommended_tests", []),
                )
            )
        flags.append(keyword_prf(value.red_flags if value else [], gold.get("red_flags", [])))
        if "icd10" in gold and "insufficient_information" not in gold:
            insufficient_ok += value is not None and not value.insufficient_information
        else:
            insufficient_ok += value is not None and value.insufficient_information == bool(
                gold.get("insufficient_information")
            )
        if value is not None:
            for item in value.differential:
                cited += len(item.evidence)
                resolved += len(item.evidence) - len(item.ungrounded_evidence)
    coded = score_coded_differential(_values(outcomes), golds)  # real-record benchmark gold
    return {
        **coded,
        "condition_top1": rate(top1, with_condition),
        "condition_top3": rate(top3, with_condition),
        "insufficient_acc": rate(insufficient_ok, len(golds)),
        **_prf("red_flags", sum_scores(flags)),
        **_prf("tests", sum_scores(tests)),
        "grounded": rate(resolved, cited),
    }


def _same_amount(a: float | None, b: float) -> bool:
    return a is not None and math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)


def score_financials(
    outcomes: Sequence[Outcome[Any]], golds: Sequence[Mapping[str, Any]]
) -> dict[str, float | None]:
    """Gold (metric, period) values extracted exactly, line-item P/R/F1, statement kind,
    identity-break detection (any identity/subtotal flag), and the share of grounded items.

    Line-item precision judges the items whose (metric, period) the gold has (gold lists the key
    metrics; an item for another metric cannot be judged). ``wrong_grounded`` counts grounded
    items with a gold (metric, period) and a different amount: wrong numbers presented as sourced.
    ``model_questions`` is the mean number of questions asked per statement (question mode)."""
    hits = total = statement_ok = break_ok = items = grounded = wrong_grounded = 0
    asked = 0
    scores: list[Score] = []
    for value, gold in zip(_values(outcomes), golds, strict=True):
        wanted = {
            (metric, normalize(period)): float(amount)
            for metric, by_period in gold.get("values", {}).items()
            for period, amount in by_period.items()
        }
        total += len(wanted)
        if value is None:
            scores.append(Score(predicted=0, gold=len(wanted), correct_predicted=0, found_gold=0))
            continue
        for metric, by_period in gold.get("values", {}).items():
            for period, amount in by_period.items():
                hits += _same_amount(value.value_of(metric, period), float(amount))
        found: set[tuple[str, str]] = set()
        correct = judged = 0
        for item in value.line_items:
            key = (item.metric, normalize(item.period))
            if key not in wanted:
                continue
            judged += 1
            if item.grounded and _same_amount(item.amount, wanted[key]):
                correct += 1
                found.add(key)
            elif item.grounded:
                wrong_grounded += 1
        scores.append(Score(judged, len(wanted), correct, len(found)))
        asked += getattr(value, "model_questions", 0)
        items += len(value.line_items)
        grounded += sum(i.grounded for i in value.line_items)
        statement_ok += value.statement == gold.get("statement")
        detected = any(f.kind in ("identity", "subtotal") for f in value.flags)
        break_ok += detected == bool(gold.get("identity_break"))
    return {
        "value_acc": rate(hits, total),
        **_prf("items", sum_scores(scores)),
        "statement_acc": rate(statement_ok, len(golds)),
        "break_acc": rate(break_ok, len(golds)),
        "grounded": rate(grounded, items),
        "wrong_grounded": float(wrong_grounded),
        "model_questions": rate(asked, len(golds)),
    }


def _value_ok(clause_type: str, gold: str, predicted: str) -> bool:
    if not predicted.strip():
        return False
    if clause_type in ("Agreement Date", "Effective Date", "Expiration Date"):
        expected = normalize_date(gold)
        return expected is not None and normalize_date(predicted) == expected
    g, p = normalize(gold), normalize(predicted)
    # "State of New York" for "New York"; "Müller & Söhne" for "Müller & Söhne GmbH".
    return g == p or phrase_in(g, p) or (len(p) >= 4 and phrase_in(p, g))


def score_clauses(
    outcomes: Sequence[Outcome[Any]], golds: Sequence[Mapping[str, Any]]
) -> dict[str, float | None]:
    """Clause P/R/F1 by (type, overlapping span) over all supported CUAD types (the rule of
    :func:`structkit.evaluation.cuad.spans_match`), normalized-value accuracy (dates, governing law,
    party names), and the share of clause spans verified in the source.

    Also: ``cuad_f1`` (micro F1 over the items whose gold ``source`` is CUAD, i.e. expert
    annotations of real contracts) and, per clause type, ``by_type/<type>/P|R|F1`` (counts
    summed over items), which reports show as a table of their own."""
    scores: list[Score] = []
    real: list[Score] = []
    per_type: dict[str, list[Score]] = {t: [] for t in CLAUSE_TYPES}
    value_hits = value_total = clauses = verified = 0
    for value, gold in zip(_values(outcomes), golds, strict=True):
        predicted = list(value.clauses) if value is not None else []
        spans = [
            cuad.GoldSpan(s["clause_type"], s["text"], s.get("start", -1), s.get("end", -1))
            for s in gold.get("spans", [])
        ]
        report = cuad.score(predicted, spans, types=CLAUSE_TYPES)
        scores.append(report.micro)
        if str(gold.get("source", "")).startswith("CUAD"):
            real.append(report.micro)
        for clause_type, type_score in report.by_type.items():
            per_type[clause_type].append(type_score)
        for clause_type, wanted in gold.get("values", {}).items():
            for expected in wanted:
                value_total += 1
                value_hits += any(
                    c.clause_type == clause_type and _value_ok(clause_type, expected, c.normalized)
                    for c in predicted
                )
        clauses += len(predicted)
        verified += sum(c.verified for c in predicted)
    by_type: dict[str, float | None] = {}
    for clause_type, type_scores in per_type.items():
        total = sum_scores(type_scores)
        if total.gold or total.predicted:
            by_type[f"by_type/{clause_type}/P"] = total.precision
            by_type[f"by_type/{clause_type}/R"] = total.recall
            by_type[f"by_type/{clause_type}/F1"] = total.f1
    return {
        **_prf("clauses", sum_scores(scores)),
        "cuad_f1": sum_scores(real).f1 if real else None,
        "value_acc": rate(value_hits, value_total),
        "grounded": rate(verified, clauses),
        **by_type,
    }


#: Scorers of the built-in tasks, by task name.
SCORERS: dict[str, Scorer] = {
    "diagnosis": score_diagnosis,
    "financials": score_financials,
    "clauses": score_clauses,
}
#: The accuracy metrics plotted (with error bars) in reports, per task.
ACCURACY_METRICS: dict[str, tuple[str, ...]] = {
    "diagnosis": (
        "recall_at5",
        "recall_at1",
        "mrr",
        "code_precision",
        "condition_top1",
        "condition_top3",
        "red_flags_f1",
        "insufficient_acc",
    ),
    "financials": ("value_acc", "items_f1", "statement_acc", "break_acc"),
    "clauses": ("clauses_f1", "cuad_f1", "clauses_precision", "clauses_recall", "value_acc"),
}
