"""Progress of a batch job on stderr: a one-line bar on a terminal, periodic log lines otherwise.

Only counts, rates and times are shown, never record content or ids (ids may be content hashes
or, worse, user-chosen values such as names).
"""

from __future__ import annotations

import os
import time
from typing import TextIO

__all__ = ["Progress", "count_lines"]

#: Seconds between redraws of the terminal bar.
_TTY_REFRESH = 0.2
#: Seconds between log lines when stderr is not a terminal.
LOG_EVERY_SECONDS = 10.0


def count_lines(path: str | os.PathLike[str]) -> int:
    """Lines in a file (a last line without a newline counts), read in 1 MiB blocks: the total
    behind a progress bar's percentage and ETA."""
    count, last = 0, b"\n"
    with open(path, "rb") as handle:
        while block := handle.read(1 << 20):
            count += block.count(b"\n")
            last = block[-1:]
    return count + (last != b"\n")


def _duration(seconds: float) -> str:
    seconds = int(seconds)
    if seconds >= 3600:
        return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"
    if seconds >= 60:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds}s"


class Progress:
    """Counts of a running job, drawn on ``stream`` (``None``: silent).

    ``total`` is an estimate of the number of input records (``None`` when unknown): it only
    feeds the percentage and the ETA. The rate counts records actually worked on, so skipping
    a finished part of a job does not inflate it.
    """

    def __init__(
        self,
        stream: TextIO | None,
        *,
        total: int | None = None,
        label: str = "batch",
        every_seconds: float | None = None,
    ) -> None:
        self._stream = stream
        self._tty = bool(stream is not None and getattr(stream, "isatty", lambda: False)())
        self._every = _TTY_REFRESH if self._tty else (every_seconds or LOG_EVERY_SECONDS)
        self._total = total
        self._label = label
        self._start = time.monotonic()
        self._last_draw = self._start
        self.ok = self.failed = self.skipped = 0

    @property
    def done(self) -> int:
        return self.ok + self.failed + self.skipped

    def rate(self) -> float:
        """Records worked on (not skipped) per second since the start."""
        elapsed = time.monotonic() - self._start
        return (self.ok + self.failed) / elapsed if elapsed > 0 else 0.0

    def update(self, *, ok: int = 0, failed: int = 0, skipped: int = 0) -> None:
        """Add to the counts; redraw when the refresh interval has passed."""
        self.ok += ok
        self.failed += failed
        self.skipped += skipped
        now = time.monotonic()
        if self._stream is not None and now - self._last_draw >= self._every:
            self._last_draw = now
            self._draw(final=False)

    def close(self) -> None:
        """Draw the final state (ends the terminal line)."""
        if self._stream is not None:
            self._draw(final=True)

    def _line(self) -> str:
        done, rate = self.done, self.rate()
        if self._total:
            total = max(self._total, done)
            head = f"{done}/~{total} records ({100 * done // total}%)"
        else:
            head = f"{done} records"
        counts = f"ok {self.ok}, failed {self.failed}, skipped {self.skipped}"
        line = f"{self._label}: {head} [{counts}] {rate:.2f} records/s"
        if self._total and rate > 0 and self._total > done:
            line += f", ETA {_duration((self._total - done) / rate)}"
        return line + f", {_duration(time.monotonic() - self._start)} elapsed"

    def _draw(self, *, final: bool) -> None:
        assert self._stream is not None
        if self._tty:
            self._stream.write("\r" + self._line() + "\x1b[K" + ("\n" if final else ""))
        elif not final:
            self._stream.write(self._line() + "\n")
        self._stream.flush()
