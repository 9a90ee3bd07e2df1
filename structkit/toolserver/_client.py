"""``--via URL``: send a command's record to a running ``structkit serve`` instead of starting
an engine in this process (the engine start is paid once, by the server)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import httpx

from .._config import env
from .._errors import EngineRequestError, RemoteTaskError, ServiceBusyError
from ._security import API_KEY_ENV

__all__ = ["VIA_ENV", "RemoteTaskError", "run_via"]

VIA_ENV = "STRUCTKIT_VIA"
_KIND_BY_SUFFIX = {
    ".json": "json",
    ".xml": "xml",
    ".csv": "csv",
    ".md": "markdown",
    ".txt": "text",
}


def run_via(
    url: str,
    task: str,
    path: str | Path,
    *,
    options: dict[str, Any] | None = None,
    api_key: str | None = None,
    timeout: float = 600.0,
    max_wait: float = 120.0,
) -> dict[str, Any]:
    """The server's answer (``{record_id, result, attempts, audit}``) for one record file.

    The file is read here and sent as content, so the server needs no access to it. A full
    queue (429) is retried after its ``Retry-After`` for up to ``max_wait`` seconds.

    Raises:
        RemoteTaskError: the record has no valid answer, or the server refused a setting.
        EngineRequestError: the server cannot be reached or answered something unexpected.
    """
    file = Path(path)
    body: dict[str, Any] = {
        "content": file.read_text(encoding="utf-8-sig"),
        "id": file.name,
        **{k: v for k, v in (options or {}).items() if v is not None},
    }
    if file.suffix.lower() in _KIND_BY_SUFFIX:
        body["kind"] = _KIND_BY_SUFFIX[file.suffix.lower()]
    key = api_key if api_key is not None else env(API_KEY_ENV)
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    endpoint = f"{url.rstrip('/')}/v1/tasks/{task}"
    deadline = time.monotonic() + max_wait
    with httpx.Client(timeout=timeout, headers=headers) as client:
        while True:
            try:
                response = client.post(endpoint, json=body)
            except httpx.HTTPError as exc:
                raise EngineRequestError(
                    f"structkit server at {url} unreachable: {type(exc).__name__}"
                ) from None
            if response.status_code in (429, 503):
                wait = float(response.headers.get("retry-after", "1"))
                if time.monotonic() + wait > deadline:
                    raise ServiceBusyError("the server stayed busy", retry_after=wait)
                time.sleep(wait)
                continue
            break
    if response.status_code == 200:
        answer: dict[str, Any] = response.json()
        return answer
    try:
        error = response.json().get("error") or {}
    except ValueError:
        error = {}
    if isinstance(error, dict) and "type" in error:
        raise RemoteTaskError(
            str(error["type"]), str(error.get("message", "")), record_id=error.get("record_id")
        )
    raise EngineRequestError(f"structkit server answered HTTP {response.status_code}")
