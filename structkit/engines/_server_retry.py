"""The server engine's retry policy: how long to wait before sending a failed request again.

:class:`_Retry` keeps the bookkeeping of one request: outages are retried, with jittered
exponential backoff or as ``Retry-After`` says, until the server has been failing for the
engine's ``retry_window`` (the outage's start is shared by all requests, see
:meth:`ServerEngine._outage_started`); busy answers are retried ``max_retries`` times; fatal
failures are not retried.
"""

from __future__ import annotations

import random
import time
from typing import Protocol

from ._server_wire import _Failure

__all__: list[str] = []


class _RetryPolicy(Protocol):
    """What the retry bookkeeping reads from its engine (a :class:`ServerEngine`)."""

    max_retries: int
    retry_window: float
    backoff: float
    max_backoff: float

    def _outage_started(self, now: float) -> float: ...

    def _count_retry(self) -> None: ...


class _Retry:
    """Retry bookkeeping for one request (see :class:`ServerEngine` for the policy)."""

    def __init__(self, engine: _RetryPolicy):
        self._engine = engine
        self.first: float | None = None
        self.retries = 0
        self._busy = 0

    def delay(self, failure: _Failure) -> float | None:
        """Seconds to wait before the next try, or ``None`` to give up."""
        if failure.kind == "fatal":
            return None
        now = time.monotonic()
        engine = self._engine
        self.first = self.first if self.first is not None else now
        start = self.first
        if failure.kind == "outage":
            start = min(start, engine._outage_started(now))
        else:
            self._busy += 1
            if self._busy > engine.max_retries:
                return None
        remaining = start + engine.retry_window - now
        if remaining <= 0:
            return None
        if failure.retry_after is not None:
            if failure.retry_after > remaining:
                return None
            wait = failure.retry_after
        else:
            exp = min(engine.max_backoff, engine.backoff * 2.0 ** min(self.retries, 30))
            wait = min(remaining, exp * random.uniform(0.5, 1.0))  # "equal jitter"
        self.retries += 1
        engine._count_retry()
        return wait
