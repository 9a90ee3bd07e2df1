"""An engine that talks to an OpenAI-compatible server (``vllm serve`` and its peers) over HTTP.

The server does the batching: every request of a batch is sent at once (at most
``max_concurrency`` in flight) and vLLM's continuous batching interleaves them. The answer is
constrained with ``response_format={"type": "json_schema", ...}`` exactly as the embedded engine
constrains it with ``StructuredOutputsParams(json=...)``.

Reasoning models: a server started with ``--reasoning-parser`` returns the thinking in
``message.reasoning`` (``reasoning_content`` on older servers) and only the answer in
``message.content``. The engine rebuilds ``reasoning + "</think>" + content``, the shape the
embedded engine's text has, so :func:`structkit._validate.split_reasoning` splits both the same
way. Thinking without an answer (the budget ran out) is rebuilt without ``</think>``, so it is
reported as :class:`~structkit.ThinkingBudgetError` as on the embedded engine.

Failures are classified (see :class:`ServerEngine`): outages (connection refused or reset,
timeouts, 502/503/504, an aborted or dead engine) are retried until the server has been failing
for ``retry_window`` seconds, which spans a restart; ``429`` is retried ``max_retries`` times; any
other error fails that request only, as ``Completion.error``.

This module gathers the public names; the code lives in ``_server_wire`` (request and response
format, failure classification), ``_server_retry`` (retry policy), ``_server_engine``
(:class:`ServerEngine`), ``_server_stream`` (:class:`StreamEvent`) and
``_server_env`` (:func:`engine_from_env`).
"""

from ._server_engine import ServerEngine, ServerInfo
from ._server_env import engine_from_env
from ._server_stream import StreamEvent
from ._server_wire import PROBE_SCHEMA_NAME, assemble_text

__all__ = [
    "PROBE_SCHEMA_NAME",
    "ServerEngine",
    "ServerInfo",
    "StreamEvent",
    "assemble_text",
    "engine_from_env",
]
