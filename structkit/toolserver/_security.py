"""What makes the tool servers safe to expose: who may connect, which files a request may name.

* **Binding.** Both servers listen on 127.0.0.1 by default. Any other address (``0.0.0.0``, a
  LAN address, a host name) needs an API key; without one the server refuses to start, because a
  record server open to a network without authentication is a data leak waiting to happen.
* **API key.** Clients send ``Authorization: Bearer <key>``; compared in constant time.
* **Paths.** A request may name a file instead of sending its content only when the server was
  started with ``--root``; the path must then be relative to the root or absolute inside it, may
  not contain ``..``, and after resolving symlinks must still lie inside the root.
"""

from __future__ import annotations

import hmac
import ipaddress
import os
from dataclasses import dataclass
from pathlib import Path, PurePosixPath, PureWindowsPath

from .._config import env
from .._errors import ConfigurationError, RecordParseError, UnsafeInputError

__all__ = ["API_KEY_ENV", "Exposure", "PathPolicy", "is_loopback"]

API_KEY_ENV = "STRUCTKIT_API_KEY"
_MIN_KEY_LENGTH = 16


def is_loopback(host: str) -> bool:
    """``host`` only accepts connections from this machine (127.0.0.0/8, ::1, localhost)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a host name: it may resolve to any interface


@dataclass(frozen=True)
class Exposure:
    """Where a server listens and the key its clients must present (None: loopback, no key)."""

    host: str
    port: int
    api_key: str | None

    @classmethod
    def checked(cls, *, host: str, port: int, api_key: str | None = None) -> Exposure:
        """The settings, or :class:`ConfigurationError` when they would expose records.

        ``api_key`` defaults to ``STRUCTKIT_API_KEY``. A non-loopback ``host`` without a key is
        refused, and so is a key shorter than 16 characters.
        """
        key = api_key if api_key is not None else (env(API_KEY_ENV) or None)
        if key is not None and len(key) < _MIN_KEY_LENGTH:
            raise ConfigurationError(f"the API key must be at least {_MIN_KEY_LENGTH} characters")
        if not is_loopback(host) and key is None:
            raise ConfigurationError(
                f"refusing to listen on {host!r} without an API key: anyone who can reach it "
                f"could send records and read answers; set {API_KEY_ENV} (clients then send "
                "'Authorization: Bearer <key>') or listen on 127.0.0.1"
            )
        if not 0 <= port <= 65535:
            raise ConfigurationError(f"port {port} is not a TCP port")
        return cls(host=host, port=port, api_key=key)

    def authorized(self, authorization: str | None) -> bool:
        """Whether an ``Authorization`` header value carries the key (always, without a key)."""
        if self.api_key is None:
            return True
        scheme, _, token = (authorization or "").partition(" ")
        if scheme.lower() != "bearer":
            return False
        return hmac.compare_digest(token.strip().encode(), self.api_key.encode())


@dataclass(frozen=True)
class PathPolicy:
    """Which files a request may name: none without a root, else only files inside it."""

    root: Path | None = None

    @classmethod
    def under(cls, root: str | os.PathLike[str] | None) -> PathPolicy:
        if root is None:
            return cls(None)
        resolved = Path(root).resolve()
        if not resolved.is_dir():
            raise ConfigurationError(f"--root {str(root)!r} is not a folder")
        return cls(resolved)

    def resolve(self, path: str, *, record_id: str | None = None) -> Path:
        """The real file ``path`` names, or a typed error that does not echo a refused path."""
        if self.root is None:
            raise UnsafeInputError(
                "this server accepts record content only, not paths (start it with --root)",
                record_id=record_id,
            )
        if "\x00" in path:
            raise UnsafeInputError("the path contains a NUL byte", record_id=record_id)
        if ".." in PurePosixPath(path).parts or ".." in PureWindowsPath(path).parts:
            raise UnsafeInputError("'..' is not allowed in a path", record_id=record_id)
        candidate = Path(path)
        if not candidate.is_absolute():
            candidate = self.root / candidate
        real = candidate.resolve()  # follows symlinks: one pointing out of the root is refused
        if not real.is_relative_to(self.root):
            raise UnsafeInputError("the path is outside the server's root", record_id=record_id)
        if not real.is_file():
            raise RecordParseError("no such file under the server's root", record_id=record_id)
        return real
