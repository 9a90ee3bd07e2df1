"""``structkit eval TASK DATASET``: the evaluation harness on the command line.

The main CLI wires it in with :func:`add_eval_parser` and dispatches to :func:`run_eval`::

    structkit eval diagnosis datasets/diagnosis.jsonl --model A --model B \\
        --setting default --setting "grounding=false" --runs 3 --out reports/diagnosis

writes ``report.md``, ``report.html`` and ``results.json`` into ``--out`` and prints the
Markdown tables on stdout (progress goes to stderr).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import Any

from ._harness import evaluate, parse_setting
from ._report import to_markdown, write_report

__all__ = ["add_eval_parser", "main", "run_eval"]

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def add_eval_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add the ``eval`` command to an ``argparse`` subparsers object; return its parser."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "eval",
        help="evaluate a task on a gold dataset (models x settings x runs) and write a report",
        description="Evaluate a task on a JSONL gold dataset for several models and settings; "
        "write report.md, report.html and results.json, print the Markdown tables.",
    )
    parser.add_argument("task", help="task name: diagnosis, financials, clauses (or your own)")
    parser.add_argument("dataset", help="JSONL dataset, e.g. datasets/diagnosis.jsonl")
    parser.add_argument(
        "--model",
        dest="models",
        action="append",
        default=None,
        help="model to evaluate (repeat for several; loaded one at a time; default: the "
        "packaged default model)",
    )
    parser.add_argument(
        "--setting",
        dest="settings",
        action="append",
        default=None,
        help='run options to compare, e.g. "default", "grounding=false", "format=markdown", '
        '"thinking_budget=0", "temperature=0.7,samples=3" (repeat; default: "default")',
    )
    parser.add_argument(
        "--compare",
        default=None,
        metavar="MODES",
        help="modes to compare side by side, comma-separated, e.g. base,tuned,baseline,learned "
        "(`base`: the base model asked, mode `model`); adds one setting each",
    )
    parser.add_argument(
        "--adapter",
        metavar="DIR",
        default=None,
        help="a tuned adapter folder from `structkit tune` for the learned/tuned modes",
    )
    parser.add_argument("--runs", type=int, default=3, help="runs per model and setting (3)")
    parser.add_argument(
        "--batch-size",
        type=int,
        default=None,
        help="records per engine batch (default: all); 1 measures one-by-one latency",
    )
    parser.add_argument("--limit", type=int, default=None, help="use the first N items only")
    parser.add_argument(
        "--engine",
        default=None,
        choices=("llama.cpp", "vllm"),
        help="engine that runs the models (default: STRUCTKIT_ENGINE, else by platform)",
    )
    parser.add_argument("--out", default="reports/eval", help="output folder (reports/eval)")
    parser.set_defaults(command="eval")
    return parser


#: ``--compare`` names that are not mode names: the base model's own mode.
_COMPARE_ALIASES = {"base": "model"}


def compare_settings(names: str) -> list[dict[str, Any]]:
    """``--compare base,tuned,baseline`` as one ``{"mode": ...}`` setting per name."""
    modes = [_COMPARE_ALIASES.get(n.strip(), n.strip()) for n in names.split(",") if n.strip()]
    if not modes:
        raise ValueError("--compare needs at least one mode")
    return [{"mode": mode} for mode in modes]


def _engine_factory(name: str | None) -> Callable[[str | None], Any]:
    from ..engines import resolve_engine  # light: engines are imported when one is made

    # STRUCTKIT_SERVER_URL selects a server, as for every other command (without --engine).
    return lambda model: resolve_engine(engine=name, model=model, fresh=True)


def run_eval(
    args: argparse.Namespace,
    *,
    engine_factory: Callable[[str | None], Any] | None = None,
) -> int:
    """Run ``structkit eval`` from parsed arguments; returns the exit code.

    ``engine_factory`` (for tests) turns a ``--model`` value into an engine; default: the
    embedded vLLM engine.
    """
    from ._harness import load_dataset

    try:
        # No --setting: the harness's default (every mode of a task that has modes).
        settings = [parse_setting(s) for s in args.settings] if args.settings else None
        if getattr(args, "compare", None):
            settings = (settings or []) + compare_settings(args.compare)
        items = load_dataset(args.dataset, limit=args.limit)
    except (ValueError, OSError) as exc:
        print(f"structkit eval: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if args.runs < 1 or (args.batch_size is not None and args.batch_size < 1):
        print("structkit eval: --runs and --batch-size must be at least 1", file=sys.stderr)
        return EXIT_USAGE
    from ..tasks import with_adapter

    evaluation = evaluate(
        with_adapter(args.task, getattr(args, "adapter", None)),
        items,
        models=args.models or [None],
        settings=settings,
        runs=args.runs,
        batch_size=args.batch_size,
        engine_factory=engine_factory or _engine_factory(getattr(args, "engine", None)),
        name=args.dataset,
        on_progress=lambda line: print(line, file=sys.stderr, flush=True),
    )
    paths = write_report(evaluation, args.out)
    print(to_markdown(evaluation))
    print(f"wrote {paths['markdown']}, {paths['html']}, {paths['json']}", file=sys.stderr)
    return EXIT_OK


def main(argv: list[str] | None = None) -> int:
    """Stand-alone entry point (``python -m structkit.evaluation._cli ...``)."""
    parser = argparse.ArgumentParser(prog="structkit")
    add_eval_parser(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return run_eval(args)


if __name__ == "__main__":
    sys.exit(main())
