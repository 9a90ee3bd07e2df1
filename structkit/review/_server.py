"""The review app: a small standard-library HTTP server on 127.0.0.1, and the static page.

Safety:
- it binds to loopback only and answers only requests addressed to it by a loopback name
  (``Host`` checked, so a web page cannot reach it through DNS rebinding);
- decisions are accepted only as ``application/json`` POSTs (a cross-site form cannot send
  that without a CORS preflight, which this server never grants);
- the page renders every value with ``textContent`` and is served with a strict
  Content-Security-Policy (scripts from this server only); the static page embeds its data as
  JSON in a ``<script type="application/json">`` with ``<``, ``>`` and ``&`` escaped, and allows
  only its own inline script by hash;
- ``/file/<path>`` serves a source file as plain text only when it is inside the results' folder
  or a source folder; anything else is refused.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import threading
import urllib.parse
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from pathlib import Path
from typing import Any

from ._session import ReviewSession

__all__ = ["ReviewServer", "static_page"]

_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
    "img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
_MAX_BODY = 1 << 20


def _asset(name: str) -> str:
    return resources.files(__package__).joinpath(name).read_text(encoding="utf-8")


def safe_json(value: Any) -> str:
    """JSON that can sit inside a ``<script>`` element: no ``</script>``, no ``<!--``."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def live_page() -> str:
    head = '<link rel="stylesheet" href="/app.css">'
    return (
        _asset("page.html")
        .replace("__HEAD__", head)
        .replace("__BODY__", '<script src="/app.js"></script>')
    )


def static_page(session: ReviewSession) -> str:
    """A self-contained read-only page of every record (decisions so far included)."""
    data = {
        "records": [session.record(n) for n in range(len(session.entries))],
        "facets": session.facets(),
    }
    script = _asset("app.js")
    digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
    css = _asset("app.css")
    style_digest = base64.b64encode(hashlib.sha256(css.encode()).digest()).decode()
    policy = (
        f"default-src 'none'; script-src 'sha256-{digest}'; style-src 'sha256-{style_digest}'; "
        "img-src data:; base-uri 'none'; form-action 'none'"
    )
    head = f'<meta http-equiv="Content-Security-Policy" content="{policy}">\n<style>{css}</style>'
    body = (
        f'<script type="application/json" id="review-data">{safe_json(data)}</script>\n'
        f"<script>{script}</script>"
    )
    return _asset("page.html").replace("__HEAD__", head).replace("__BODY__", body)


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass  # request lines hold record ids; never log them

    # ------------------------------------------------------------------ replies

    def _send(self, status: int, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Content-Security-Policy", _CSP)
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Referrer-Policy", "no-referrer")
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(body)

    def _json(self, value: Any, status: int = HTTPStatus.OK) -> None:
        self._send(status, json.dumps(value).encode(), "application/json; charset=utf-8")

    def _refuse(self, status: int, message: str) -> None:
        self._send(status, message.encode(), "text/plain; charset=utf-8")

    def _host_ok(self) -> bool:
        host = (self.headers.get("Host") or "").rsplit(":", 1)[0].strip("[]").lower()
        return host in ("127.0.0.1", "localhost", "::1")

    # ------------------------------------------------------------------ routes

    def do_GET(self) -> None:
        if not self._host_ok():
            return self._refuse(HTTPStatus.FORBIDDEN, "wrong host")
        url = urllib.parse.urlsplit(self.path)
        query = {k: v[-1] for k, v in urllib.parse.parse_qs(url.query).items()}
        session = self.server.session
        try:
            if url.path in ("/", "/index.html"):
                return self._send(HTTPStatus.OK, live_page().encode(), "text/html; charset=utf-8")
            if url.path == "/favicon.ico":
                return self._send(HTTPStatus.NO_CONTENT, b"", "image/x-icon")
            if url.path == "/app.js":
                return self._send(
                    HTTPStatus.OK, _asset("app.js").encode(), "text/javascript; charset=utf-8"
                )
            if url.path == "/app.css":
                return self._send(
                    HTTPStatus.OK, _asset("app.css").encode(), "text/css; charset=utf-8"
                )
            if url.path == "/api/list":
                return self._json(
                    session.listing(
                        offset=max(0, int(query.get("offset", 0))),
                        limit=min(500, max(1, int(query.get("limit", 50)))),
                        status=query.get("status", ""),
                        task=query.get("task", ""),
                        flag=query.get("flag", ""),
                        review=query.get("review", ""),
                    )
                )
            if url.path.startswith("/api/record/"):
                number = int(url.path.rsplit("/", 1)[1])
                if not 0 <= number < len(session.entries):
                    return self._refuse(HTTPStatus.NOT_FOUND, "no such record")
                return self._json(session.record(number))
            if url.path.startswith("/file/"):
                return self._file(urllib.parse.unquote(url.path[len("/file/") :]))
        except ValueError:
            return self._refuse(HTTPStatus.BAD_REQUEST, "bad request")
        return self._refuse(HTTPStatus.NOT_FOUND, "not found")

    def _file(self, relative: str) -> None:
        session = self.server.session
        path = Path(relative) if os.path.isabs(relative) else session.folder / relative
        if not session.sandbox.allows(path) or not path.is_file():
            return self._refuse(HTTPStatus.FORBIDDEN, "outside the results and their sources")
        self._send(HTTPStatus.OK, path.read_bytes(), "text/plain; charset=utf-8")

    def do_POST(self) -> None:
        if not self._host_ok():
            return self._refuse(HTTPStatus.FORBIDDEN, "wrong host")
        if self.path != "/api/decision":
            return self._refuse(HTTPStatus.NOT_FOUND, "not found")
        if (self.headers.get("Content-Type") or "").split(";")[0].strip() != "application/json":
            return self._refuse(HTTPStatus.UNSUPPORTED_MEDIA_TYPE, "send application/json")
        length = int(self.headers.get("Content-Length") or 0)
        if not 0 < length <= _MAX_BODY:
            return self._refuse(HTTPStatus.BAD_REQUEST, "bad body")
        try:
            body = json.loads(self.rfile.read(length))
            decision = self.server.session.decide(
                record_id=str(body["id"]),
                item=str(body["item"]),
                action=str(body["action"]),
                value=body.get("value"),
            )
        except (ValueError, KeyError, TypeError) as exc:
            return self._refuse(HTTPStatus.BAD_REQUEST, type(exc).__name__)
        self._json(decision)


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, port: int, session: ReviewSession) -> None:
        self.session = session
        super().__init__(("127.0.0.1", port), _Handler)


class ReviewServer:
    """The review app for one session on ``http://127.0.0.1:<port>/`` (port 0: any free one)."""

    def __init__(self, session: ReviewSession, *, port: int = 0) -> None:
        self._server = _Server(port, session)
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/"

    def serve_forever(self) -> None:
        self._server.serve_forever()

    def start(self) -> ReviewServer:
        """Serve from a background thread (tests, notebooks)."""
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join()
