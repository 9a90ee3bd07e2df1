"""Command line: ``structkit diagnose FILE`` prints the validated answer as JSON on stdout.

Logs and errors go to stderr. Errors name the record and the problem, never its content; add
``--show-output`` to see what the model produced when an answer is rejected.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from collections.abc import Sequence

from . import _api
from ._config import env
from ._errors import ConfigurationError, OutputError, StructkitError
from ._profiles import DEFAULT_MODEL
from ._settings import RunOptions, Settings
from ._task import task_commands
from .adapters._render import FORMATS
from .engines._select import ENGINE_NAMES
from .tasks import with_adapter

__all__ = ["main"]

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
_DEFAULTS = Settings()  # the CLI's defaults are the library's


def _run_options(parser: argparse.ArgumentParser) -> None:
    """Options of the model and the decoding, shared by every task command and ``batch``."""
    parser.add_argument(
        "--model",
        default=None,
        help=f"model folder, Hugging Face id, or {DEFAULT_MODEL!r} (default; "
        "or set STRUCTKIT_MODEL)",
    )
    parser.add_argument(
        "--engine",
        default=None,
        choices=ENGINE_NAMES,
        help="engine that runs the model (default: STRUCTKIT_ENGINE, else vllm on GPU machines; "
        "on CPU-only ones, for GGUF models such as the default, llama.cpp for jobs under "
        "STRUCTKIT_VLLM_FROM_RECORDS records (100) and vllm from there)",
    )
    parser.add_argument("--max-tokens", type=int, default=None, help="answer token budget")
    parser.add_argument(
        "--temperature",
        type=float,
        default=None,
        help="sampling temperature (default: the model's profile)",
    )
    for flag, name, meaning in (
        ("--attempts", "max_attempts", "samples drawn before giving up on an invalid answer"),
        ("--seed", "seed", "base random seed"),
        ("--samples", "samples", "samples per record, voted per field (self-consistency)"),
    ):
        default = getattr(_DEFAULTS, name)
        parser.add_argument(
            flag, dest=name, type=int, default=default, help=f"{meaning} (default {default})"
        )
    parser.add_argument(
        "--format",
        default=_DEFAULTS.format,
        choices=FORMATS,
        help="how the record is rendered in the prompt (default: the task's)",
    )
    parser.add_argument(
        "--no-grounding",
        dest="grounding",
        action="store_false",
        help="do not constrain copied values to the record while decoding "
        "(answers are still verified)",
    )
    parser.add_argument(
        "--thinking-budget",
        type=int,
        default=None,
        help="reasoning models: thinking tokens before </think> is forced",
    )
    parser.add_argument(
        "--mode",
        default=None,
        help="how the task runs, e.g. 'baseline' for code only without the model "
        "(see `structkit tasks`; default: the task's first mode)",
    )
    parser.add_argument(
        "--adapter",
        metavar="DIR",
        default=None,
        help="an adapter folder from `structkit tune` (clauses: its kind becomes the default "
        "mode; diagnosis: used by --mode learned and tuned)",
    )


def _common(parser: argparse.ArgumentParser) -> None:
    _run_options(parser)
    parser.add_argument("--indent", type=int, default=2, help="JSON indent (0: one line)")
    parser.add_argument(
        "--show-output",
        action="store_true",
        help="on failure, also print the rejected model output (may hold record data)",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="engine logs on stderr")
    parser.add_argument(
        "--via",
        metavar="URL",
        default=None,
        help="send the record to a running `structkit serve` at URL instead of starting an "
        "engine here (default: STRUCTKIT_VIA; its key: STRUCTKIT_API_KEY)",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="structkit",
        description="Ask a local LLM about structured records; get validated JSON answers.",
        epilog="Examples:\n  structkit diagnose examples/patient_record.json\n"
        "  structkit financials examples/income_statement.csv\n"
        "  structkit clauses examples/contract.txt\n"
        "  structkit batch diagnosis patients.jsonl --out results.jsonl --export results.csv",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", required=True)
    for task, spec in task_commands().items():  # every registered task with a command
        command = sub.add_parser(spec.command, help=spec.summary, description=spec.summary)
        command.add_argument("file", help=spec.input_help)
        command.set_defaults(task=task)
        _common(command)
    run = sub.add_parser("run", help="run any registered task on a record file")
    run.add_argument("task", help="task name (see `structkit tasks`)")
    run.add_argument("file", help="record file")
    _common(run)
    _add_batch(sub)
    from .evaluation._cli import add_eval_parser  # light: no engine import

    add_eval_parser(sub)
    from .review._cli import add_review_parsers  # light: the app loads when it runs

    add_review_parsers(sub)
    from .toolserver._cli import add_server_parsers  # light: servers import when they run

    add_server_parsers(sub)
    from .tuning._cli import add_tune_parser  # light: training imports when it runs

    add_tune_parser(sub)
    sub.add_parser("tasks", help="list registered tasks")
    sub.add_parser(
        "prepare-model",
        help="prepare the packaged default model now (done lazily otherwise) and print its folder",
    )
    return parser


_BATCH_DESCRIPTION = """\
Run a task over every record of a big input and write one JSON line per record to --out:
{"id", "status": "ok" or "error", "result", "error": {"type", "message"}, "attempts"}.

The input is read lazily, so files larger than memory work: a CSV file gives a record per row
(or per run of rows sharing --group-by), a JSON Lines file a record per line, a folder a record
per .json/.xml/.csv/.md/.txt file (its id is the path relative to the folder).

The job is resumable. Each line is written whole and flushed to disk after every batch, so an
interrupted job loses at most the batch in flight. Run the same command again: it drops a
partial last line, skips every id that already has a line (ok or error) and appends the rest.
With --retry-failed the error lines are redone; when an id has several lines, the last one wins.
A broken row, a duplicate id or an invalid answer becomes an error line; the job goes on.

Exit status: 0 when no record failed, 1 when any record has an error line, 2 for usage errors.
"""


def _add_batch(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    batch = sub.add_parser(
        "batch",
        help="run a task over a big CSV or JSON Lines file or a folder; resumable",
        description=_BATCH_DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    batch.add_argument("task", help="task name, e.g. diagnosis (see `structkit tasks`)")
    batch.add_argument(
        "input",
        help="a .csv, .jsonl or .parquet file, or a folder of .json/.xml/.csv/.md/.txt files",
    )
    batch.add_argument(
        "--out",
        required=True,
        metavar="OUTPUT",
        help="the JSON Lines file to write; if it exists, the job resumes where it stopped",
    )
    batch.add_argument(
        "--id-column",
        metavar="C",
        help="the column (JSON Lines: the key) that holds each record's id; by default a CSV "
        "row's id is a hash of its cells and a JSON line's id is FILE:LINE",
    )
    batch.add_argument(
        "--group-by",
        metavar="C",
        help="CSV: consecutive rows with the same value in this column form one record",
    )
    batch.add_argument(
        "--batch-size",
        type=int,
        default=32,
        metavar="N",
        help="records sent to the engine at once, and written to disk together (default 32)",
    )
    batch.add_argument(
        "--export",
        metavar="FILE",
        help="also write the final results as a flat table to FILE (.csv, or .parquet when "
        "pyarrow is installed); CSV cells that a spreadsheet would run as formulas are quoted",
    )
    batch.add_argument(
        "--retry-failed",
        action="store_true",
        help="redo the records whose line in --out is an error",
    )
    batch.add_argument(
        "--dry-run",
        action="store_true",
        help="read and render every record and count its prompt tokens without running the "
        "model; writes {id, status: dry-run, prompt_tokens} lines to a fresh --out",
    )
    batch.add_argument(
        "--quiet", action="store_true", help="no progress bar or progress lines on stderr"
    )
    _ray_options(batch)
    _run_options(batch)
    batch.add_argument("-v", "--verbose", action="store_true", help="engine logs on stderr")


def _ray_options(batch: argparse.ArgumentParser) -> None:
    batch.add_argument(
        "--ray",
        nargs="?",
        const="",
        default=None,
        metavar="ADDRESS",
        help="run on Ray Data: a pool of actors, one engine each (needs structkit[ray]); "
        "ADDRESS joins a running cluster (host:port), without it RAY_ADDRESS or a new local one",
    )
    batch.add_argument(
        "--actors",
        type=int,
        default=None,
        metavar="N",
        help="with --ray: engine actors (default: the cluster's CPUs / --cpus-per-actor)",
    )
    batch.add_argument(
        "--cpus-per-actor",
        type=float,
        default=1.0,
        metavar="C",
        help="with --ray: CPUs each actor reserves, also llama.cpp's threads (default 1)",
    )
    batch.add_argument(
        "--gpus-per-actor",
        type=float,
        default=0.0,
        metavar="G",
        help="with --ray: GPUs each actor reserves (1: a vLLM engine per GPU; default 0)",
    )


def _run_batch(args: argparse.Namespace) -> int:
    from .batch import run_batch

    try:
        summary = run_batch(
            with_adapter(args.task, args.adapter),
            args.input,
            args.out,
            id_column=args.id_column,
            group_by=args.group_by,
            batch_size=args.batch_size,
            export=args.export,
            progress=False if args.quiet else None,
            dry_run=args.dry_run,
            retry_failed=args.retry_failed,
            executor="local" if args.ray is None else "ray",
            ray_address=args.ray or None,
            ray_actors=args.actors,
            ray_cpus_per_actor=args.cpus_per_actor,
            ray_gpus_per_actor=args.gpus_per_actor,
            **_task_options(args),
        )
    except ConfigurationError as exc:
        print(f"structkit: {type(exc).__name__}: {exc}", file=sys.stderr)
        return EXIT_USAGE
    earlier = f" ({summary.failed_earlier} failed earlier)" if summary.failed_earlier else ""
    print(
        f"structkit batch: {summary.ok} ok, {summary.failed} failed, {summary.skipped} skipped"
        f"{earlier}, {summary.total} total in {summary.seconds:.1f} s "
        f"({summary.records_per_second:.2f} records/s); results in {summary.output}",
        file=sys.stderr,
    )
    return EXIT_FAILED if summary.failed or summary.failed_earlier else EXIT_OK


def _configure_logging(verbose: bool) -> None:
    os.environ.setdefault("VLLM_LOGGING_STREAM", "ext://sys.stderr")
    if not verbose:
        os.environ.setdefault("VLLM_LOGGING_LEVEL", "WARNING")
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING, stream=sys.stderr, format="%(message)s"
    )
    if not verbose:  # Ray Data logs every dataset's plan at INFO (`batch --ray`)
        logging.getLogger("ray.data").setLevel(logging.WARNING)


def _task_options(args: argparse.Namespace) -> RunOptions:
    """The task options every task command shares (``_run_options``): the engine and model,
    and every :class:`Settings` field, read from the arguments of the same names."""
    options = RunOptions(model=args.model, engine=args.engine)
    options.update(Settings(**{name: getattr(args, name) for name in Settings.names()}).options())  # type: ignore[typeddict-item]
    return options


def _run_one(args: argparse.Namespace, task: str) -> int:
    via = args.via or env("STRUCTKIT_VIA")
    if via:
        if args.adapter is not None:
            raise ConfigurationError("--adapter cannot be used with --via: the server has its own")
        from .toolserver._cli import run_one_via

        return run_one_via(via, task, args, _task_options(args))
    (outcome,) = _api.run(
        with_adapter(task, args.adapter),
        [args.file],
        **_task_options(args),
    )
    if outcome.error is not None:
        print(f"structkit: {type(outcome.error).__name__}: {outcome.error}", file=sys.stderr)
        if args.show_output and isinstance(outcome.error, OutputError):
            print(outcome.error.raw, file=sys.stderr)
        return EXIT_FAILED
    assert outcome.value is not None
    print(
        json.dumps(
            outcome.value.model_dump(mode="json"), indent=args.indent or None, ensure_ascii=False
        )
    )
    return EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``structkit`` command."""
    args = build_parser().parse_args(argv)
    _configure_logging(getattr(args, "verbose", False))
    try:
        if args.command == "tasks":
            from ._task import get_task, task_names

            for name in task_names():
                modes = get_task(name).modes
                print(f"{name}  (modes: {', '.join(modes)})" if modes else name)
            return EXIT_OK
        if args.command == "prepare-model":
            from ._prepare import prepare_default_model

            print(prepare_default_model(verify=True))
            return EXIT_OK
        if args.command == "batch":
            return _run_batch(args)
        if args.command in ("review", "audit"):
            from .review._cli import run_audit_command, run_review_command

            return run_review_command(args) if args.command == "review" else run_audit_command(args)
        if args.command in ("serve", "mcp"):
            from .toolserver._cli import run_server_command

            return run_server_command(args)
        if args.command == "tune":
            from .tuning._cli import run_tune

            return run_tune(args)
        if args.command == "eval":
            from .evaluation._cli import run_eval

            return run_eval(args)
        return _run_one(args, args.task)
    except StructkitError as exc:
        print(f"structkit: {type(exc).__name__}: {exc}", file=sys.stderr)
        return EXIT_FAILED


if __name__ == "__main__":
    sys.exit(main())
