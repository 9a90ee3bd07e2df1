"""``structkit review`` and ``structkit audit``: their arguments and what they run."""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

__all__ = ["add_review_parsers", "run_audit_command", "run_review_command"]

EXIT_OK, EXIT_CHANGED, EXIT_USAGE = 0, 1, 2


def add_review_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    review = sub.add_parser(
        "review",
        help="review a results file: sources with cited parts highlighted, accept/correct answers",
        description=(
            "Start a local review app on 127.0.0.1 for a batch results file: each record's "
            "source with the parts its answers cite highlighted, accept / reject / correct per "
            "answer item. Decisions are appended to RESULTS.review.jsonl as they are made and "
            "the fully reviewed records are written as gold (RESULTS.gold.jsonl) that "
            "`structkit eval TASK GOLD` reads."
        ),
    )
    review.add_argument("results", help="a batch output (JSON Lines)")
    review.add_argument("--source", help="the batch's input folder or file (default: from audits)")
    review.add_argument("--task", help="the task (default: from each line's audit)")
    review.add_argument("--decisions", help="decision log (default: RESULTS.review.jsonl)")
    review.add_argument("--gold", help="gold file written (default: RESULTS.gold.jsonl)")
    review.add_argument("--port", type=int, default=8765, help="port on 127.0.0.1 (0: any)")
    review.add_argument("--static", action="store_true", help="write a read-only page instead")
    review.add_argument("--out", help="with --static: the HTML file to write")
    audit = sub.add_parser(
        "audit",
        help="check a results file's audit records against the current templates and models",
        description=(
            "Compare each line's audit record (template and schema hashes, model weights hash, "
            "engine and structkit versions) with what the current installation would record, "
            "and list what changed. Exit status 0: nothing changed; 1: something changed or "
            "lines have no audit record."
        ),
    )
    audit.add_argument("results", help="a batch output (JSON Lines)")
    audit.add_argument("--json", action="store_true", help="print the changes as JSON")


def run_review_command(args: argparse.Namespace) -> int:
    from ._server import ReviewServer, static_page
    from ._session import ReviewSession

    session = ReviewSession(
        args.results, source=args.source, task=args.task, decisions=args.decisions, gold=args.gold
    )
    if args.static:
        if not args.out:
            print("structkit: --static needs --out FILE.html", file=sys.stderr)
            return EXIT_USAGE
        target = Path(args.out)
        fd, tmp = tempfile.mkstemp(dir=target.parent or ".", prefix=f".{target.name}.")
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(static_page(session))
        os.chmod(tmp, 0o644)  # mkstemp makes it private; the page is for sharing
        os.replace(tmp, target)
        print(f"wrote {target} ({len(session.entries)} records)", file=sys.stderr)
        return EXIT_OK
    try:
        server = ReviewServer(session, port=args.port)
    except OSError as exc:  # e.g. the port is taken
        print(
            f"structkit: cannot listen on 127.0.0.1:{args.port} ({exc.strerror})", file=sys.stderr
        )
        return EXIT_USAGE
    print(
        f"structkit review: {server.url}  (Ctrl+C stops; decisions: "
        f"{session.decisions_path.name}, gold: {session.gold_path.name})",
        file=sys.stderr,
    )
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.close()
    return EXIT_OK


def run_audit_command(args: argparse.Namespace) -> int:
    from .._audit import compare_audits
    from ..batch import read_results

    lines = list(read_results(args.results).values())
    changes, missing = compare_audits(lines)
    if args.json:
        print(
            json.dumps(
                {
                    "lines": len(lines),
                    "changes": [
                        {
                            "field": c.field,
                            "recorded": c.recorded,
                            "current": c.current,
                            "ids": c.ids,
                        }
                        for c in changes
                    ],
                    "no_audit": missing,
                },
                indent=1,
            )
        )
    else:
        print(f"{len(lines)} lines checked")
        for change in changes:
            print("changed: " + change.describe())
        if missing:
            print(f"no audit record: {len(missing)} line(s), e.g. {', '.join(missing[:3])}")
        if not changes and not missing:
            print("unchanged: every line's template, schema, model and versions match")
    return EXIT_CHANGED if changes or missing else EXIT_OK
