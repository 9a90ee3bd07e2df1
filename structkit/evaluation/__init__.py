"""Evaluation harness: gold datasets, metrics, runs over models and settings, reports.

    from structkit.evaluation import evaluate, write_report
    result = evaluate("diagnosis", "datasets/diagnosis.jsonl",
                      settings=[{}, {"grounding": False}], runs=3)
    write_report(result, "reports/diagnosis")

On the command line: ``structkit eval TASK DATASET --runs N --out DIR``.
"""

from ._harness import (
    ConfigResult,
    DatasetItem,
    Evaluation,
    RunResult,
    Stat,
    evaluate,
    load_dataset,
    parse_setting,
    setting_label,
)
from ._metrics import (
    ACCURACY_METRICS,
    SCORERS,
    PeakMemory,
    Score,
    answer_is_json,
    keyword_prf,
    mean_std,
    percentile,
    score_clauses,
    score_diagnosis,
    score_financials,
    ttft_seconds,
)
from ._report import accuracy_svg, latency_svg, to_html, to_markdown, write_report

__all__ = [
    "ACCURACY_METRICS",
    "SCORERS",
    "ConfigResult",
    "DatasetItem",
    "Evaluation",
    "PeakMemory",
    "RunResult",
    "Score",
    "Stat",
    "accuracy_svg",
    "answer_is_json",
    "evaluate",
    "keyword_prf",
    "latency_svg",
    "load_dataset",
    "mean_std",
    "parse_setting",
    "percentile",
    "score_clauses",
    "score_diagnosis",
    "score_financials",
    "setting_label",
    "to_html",
    "to_markdown",
    "ttft_seconds",
    "write_report",
]
