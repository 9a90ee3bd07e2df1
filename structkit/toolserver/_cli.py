"""The ``serve`` and ``mcp`` commands, and ``--via`` for the task commands."""

from __future__ import annotations

import argparse
import importlib
import json
import sys
from typing import Any

from .._errors import ConfigurationError, OutputError, StructkitError

__all__ = ["add_server_parsers", "run_one_via", "run_server_command"]

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
_VIA_OPTIONS = ("mode", "format", "seed", "samples", "max_attempts", "grounding", "temperature")


def _shared(parser: argparse.ArgumentParser, *, port: int) -> None:
    parser.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to listen on (default 127.0.0.1; any other needs STRUCTKIT_API_KEY)",
    )
    parser.add_argument("--port", type=int, default=port, help=f"TCP port (default {port})")
    parser.add_argument(
        "--root",
        default=None,
        metavar="DIR",
        help="let requests name files under DIR (default: record content only)",
    )
    parser.add_argument("--model", default=None, help="model (default: the packaged one)")
    parser.add_argument(
        "--engine",
        default=None,
        choices=("llama.cpp", "vllm"),
        help="engine (default: STRUCTKIT_SERVER_URL, STRUCTKIT_ENGINE, else the platform's)",
    )
    parser.add_argument(
        "--max-queue", type=int, default=64, help="requests waiting at most (default 64)"
    )
    parser.add_argument(
        "--max-batch", type=int, default=32, help="records per engine call at most (default 32)"
    )
    parser.add_argument(
        "--tasks-module",
        action="append",
        default=[],
        metavar="MODULE",
        help="import MODULE first (it registers your own tasks with structkit.register_task)",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="server and engine logs")


def add_server_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    serve = sub.add_parser(
        "serve",
        help="HTTP API over one warm engine (OpenAPI at /openapi.json; Open WebUI tool server)",
    )
    _shared(serve, port=8765)
    serve.add_argument(
        "--cors-origin",
        action="append",
        default=[],
        metavar="ORIGIN",
        help="allow browser calls from ORIGIN (repeatable; default: none)",
    )
    mcp = sub.add_parser("mcp", help="Model Context Protocol server over one warm engine")
    mcp.add_argument(
        "--transport",
        choices=("stdio", "http"),
        default="stdio",
        help="stdio (default; Claude Desktop, IDEs) or Streamable HTTP at /mcp",
    )
    _shared(mcp, port=8766)


def run_server_command(args: argparse.Namespace) -> int:
    from ._run import serve_http, serve_mcp
    from ._security import Exposure
    from ._service import ToolService

    try:
        for module in args.tasks_module:
            importlib.import_module(module)
        exposure = Exposure.checked(host=args.host, port=args.port)
        service = ToolService(
            engine=args.engine,
            model=args.model,
            root=args.root,
            max_queue=args.max_queue,
            max_batch=args.max_batch,
        )
    except (ConfigurationError, ValueError, ImportError) as exc:
        print(f"structkit {args.command}: {type(exc).__name__}: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if args.command == "serve":
        serve_http(service, exposure, cors_origins=args.cors_origin, verbose=args.verbose)
    else:
        serve_mcp(service, exposure, transport=args.transport, verbose=args.verbose)
    return EXIT_OK


def run_one_via(url: str, task: str, args: argparse.Namespace, options: Any) -> int:
    """A task command answered by a running server; prints what the local path prints."""
    from ._client import run_via

    if options.get("model") or options.get("engine"):
        print(
            "structkit: --model/--engine choose a local engine; the server has its own",
            file=sys.stderr,
        )
        return EXIT_USAGE
    sent = {k: options.get(k) for k in _VIA_OPTIONS}
    try:
        answer = run_via(url, task, args.file, options=sent)
    except (StructkitError, OSError) as exc:
        print(f"structkit: {type(exc).__name__}: {exc}", file=sys.stderr)
        if args.show_output and isinstance(exc, OutputError):
            print(exc.raw, file=sys.stderr)
        return EXIT_FAILED
    print(json.dumps(answer["result"], indent=args.indent or None, ensure_ascii=False))
    return EXIT_OK
