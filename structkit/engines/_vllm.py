"""The embedded engine: one in-process ``vllm.LLM`` with schema-constrained decoding.

All vLLM imports live inside this module's functions, so ``import structkit`` stays light and
works where vLLM is not installed (the fake engine, adapters, validation).

vLLM starts its engine core in a *spawned* subprocess: scripts that create a ``VLLMEngine`` at
import time must guard it with ``if __name__ == "__main__":``.
"""

from __future__ import annotations

import logging
import os
import re
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .._config import default_model, env
from .._engine import Completion, GenerationRequest, refuse_tools
from .._errors import EngineUnavailableError, ModelNotFoundError
from .._host import cpu_dtype
from .._prepare import prepare_default_model
from .._profiles import DEFAULT_MODEL, ModelProfile
from ._embedded import EmbeddedEngine
from ._shared import shared_engine

__all__ = ["VLLMEngine", "get_engine", "resolve_model"]

log = logging.getLogger("structkit")

_HF_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")
_DEFAULT_KV_CACHE_GIB = 2.0
#: vLLM's default and smallest usual LoRA rank bound (a larger adapter raises it).
_MIN_LORA_RANK = 16


def resolve_model(model: str | os.PathLike[str] | None) -> tuple[str, str]:
    """Map a user's model argument to (name for profiles, what vLLM loads).

    ``None`` (or ``STRUCTKIT_MODEL``, or the default's name) is the packaged default model,
    prepared on first use. A path must exist and hold a ``config.json``. A ``org/name`` string
    that is not a local path is passed to vLLM as a Hugging Face id.
    """
    chosen = str(model) if model is not None else default_model()
    if chosen == DEFAULT_MODEL:
        return DEFAULT_MODEL, str(prepare_default_model())
    path = Path(chosen).expanduser()
    if path.exists():
        if not (path / "config.json").is_file():
            raise ModelNotFoundError(
                f"{chosen!r} exists but is not a Hugging Face model folder (no config.json)"
            )
        return chosen, str(path.resolve())
    if _HF_ID.match(chosen) and not chosen.startswith((".", "/", "~")):
        return chosen, chosen
    raise ModelNotFoundError(
        f"no model at {chosen!r}: give a local model folder, a Hugging Face id "
        f"(org/name), or {DEFAULT_MODEL!r} for the packaged default"
    )


def _cpu_environment() -> None:
    """vLLM's CPU settings for this host, unless the user set them."""
    # vLLM reserves one core for its front-end by default: on a 2-core host generation then ran
    # on one core (+37 % records/s with none reserved, measured). The offline engine has no
    # separate serving loop that needs a core of its own.
    os.environ.setdefault("VLLM_CPU_NUM_OF_RESERVED_CPU", "0")
    # "auto" binds one OpenMP thread per core of the (now whole) NUMA node.
    os.environ.setdefault("VLLM_CPU_OMP_THREADS_BIND", "auto")


def _on_cpu() -> bool:
    from vllm.platforms import current_platform

    return bool(current_platform.is_cpu())


class VLLMEngine(EmbeddedEngine):
    """An embedded vLLM engine for one model. Start-up is lazy: the first ``generate`` pays it.

    Args:
        model: model name, local folder or Hugging Face id (``None``: the packaged default).
        profile: per-model defaults; looked up from the model name when omitted.
        kv_cache_gib: KV cache size on CPU (vLLM's fraction-of-RAM default fails on small hosts).
        enable_prefix_caching: reuse the shared template prefix across requests.
        structured_outputs_backend: ``xgrammar`` (default), ``guidance``, ``outlines``, ``auto``.
        **llm_kwargs: passed to ``vllm.LLM`` unchanged.
    """

    def __init__(
        self,
        model: str | os.PathLike[str] | None = None,
        *,
        profile: ModelProfile | None = None,
        kv_cache_gib: float | None = None,
        enable_prefix_caching: bool = True,
        structured_outputs_backend: str = "xgrammar",
        **llm_kwargs: Any,
    ):
        name, self._source = resolve_model(model)
        super().__init__(name, profile)
        self._kv_cache_gib = kv_cache_gib
        self._prefix_caching = enable_prefix_caching
        self._backend = structured_outputs_backend
        self._llm_kwargs = llm_kwargs
        self._tokenizer: Any = None
        self._on_cpu = _on_cpu()
        # LoRA is switched on at start (vLLM takes it only then) once a request names an
        # adapter: a later first adapter restarts the engine once. Ids are vLLM's per adapter.
        self._lora_rank: int | None = None
        self._lora_ids: dict[str, int] = {}
        self._lora_lock = threading.Lock()

    @property
    def llm(self) -> Any:
        """The underlying ``vllm.LLM`` (started on first access)."""
        return self._started()

    def _engine_args(self) -> dict[str, Any]:
        on_cpu = self._on_cpu
        dtype = self._profile.dtype
        if dtype == "auto" and on_cpu:
            dtype = cpu_dtype()
        structured: dict[str, Any] = {"backend": self._backend}
        if self._backend in ("xgrammar", "guidance"):
            # Compact JSON: whitespace is where constrained small models loop (vLLM #13260).
            structured["disable_any_whitespace"] = True
        args: dict[str, Any] = {
            "model": self._source,
            "dtype": dtype,
            "max_model_len": self._profile.max_model_len,
            "enable_prefix_caching": self._prefix_caching,
            "structured_outputs_config": structured,
            "seed": 0,
            # Per-request timings (time to first token) for the evaluation harness.
            "disable_log_stats": False,
        }
        if self._profile.reasoning_parser:
            args["reasoning_parser"] = self._profile.reasoning_parser
        if on_cpu:
            gib = self._kv_cache_gib or float(
                env("STRUCTKIT_KV_CACHE_GIB") or _DEFAULT_KV_CACHE_GIB
            )
            args["kv_cache_memory_bytes"] = int(gib * (1 << 30))
        if self._lora_rank is not None:
            args.update(enable_lora=True, max_lora_rank=self._lora_rank, max_loras=4)
        args.update(self._llm_kwargs)
        return args

    def _lora_requests(self, requests: Sequence[GenerationRequest]) -> list[Any] | None:
        """vLLM's ``LoRARequest`` per request (``None`` where it names no adapter), after
        restarting the engine with LoRA on if it runs without it or with a smaller rank."""
        adapters = [r.adapter for r in requests]
        if all(a is None for a in adapters):
            return None
        from vllm.lora.request import LoRARequest

        rank = max(a.rank for a in adapters if a is not None)
        with self._lora_lock:
            if self._lora_rank is None or rank > self._lora_rank:
                self.close()
                self._lora_rank = max(rank, _MIN_LORA_RANK)
                log.info("structkit: vLLM starts with LoRA on (max rank %d)", self._lora_rank)
            for adapter in adapters:
                if adapter is not None and adapter.sha256 not in self._lora_ids:
                    self._lora_ids[adapter.sha256] = len(self._lora_ids) + 1
        return [
            None if a is None else LoRARequest(a.name, self._lora_ids[a.sha256], str(a.peft))
            for a in adapters
        ]

    def _start(self) -> Any:
        # vLLM logs to stdout by default, which corrupts JSON written there by pipelines.
        os.environ.setdefault("VLLM_LOGGING_STREAM", "ext://sys.stderr")
        if self._on_cpu:
            # vLLM 0.32 cannot load its own AOT-compiled artifacts on CPU ("'function' object has
            # no attribute 'finalize_loading'") and recompiles on every start; the classic
            # inductor cache does load, which roughly halves a warm start here.
            os.environ.setdefault("VLLM_USE_AOT_COMPILE", "0")
            _cpu_environment()
        try:
            import vllm
        except ImportError as exc:
            raise EngineUnavailableError(
                "the embedded engine needs vLLM: install structkit[cpu] (CPU) or structkit[gpu]"
            ) from exc
        args = self._engine_args()
        started = time.monotonic()
        log.info("structkit: starting vLLM for %s (first call; this takes a while)", self._name)
        try:
            llm = vllm.LLM(**args)
        except (OSError, ValueError) as exc:
            text = str(exc)
            if any(
                s in text
                for s in (
                    "not a local folder",
                    "Repository Not Found",
                    "404",
                    "does not appear to have",
                    "Can't load",
                    "offline",
                )
            ):
                raise ModelNotFoundError(f"vLLM cannot load model {self._name!r}: {text}") from exc
            raise EngineUnavailableError(
                f"vLLM failed to start for {self._name!r}: {text}"
            ) from exc
        except RuntimeError as exc:
            raise EngineUnavailableError(f"vLLM failed to start for {self._name!r}: {exc}") from exc
        self.startup_seconds = time.monotonic() - started
        log.info("structkit: vLLM ready in %.1f s", self.startup_seconds)
        return llm

    def sampling_params(self, request: GenerationRequest) -> Any:
        """The ``vllm.SamplingParams`` for one request (public so benchmarks can reuse it)."""
        from vllm import SamplingParams
        from vllm.sampling_params import StructuredOutputsParams

        structured = (
            StructuredOutputsParams(json=request.json_schema)
            if request.json_schema is not None
            else None
        )
        extra: dict[str, Any] = {}
        # vLLM 0.32's CPU runner kills the engine core ("CPU Generator does not use offset")
        # when a *seeded* request's prompt is chunk-prefilled, i.e. whenever a batch's new
        # prompt tokens exceed one step's budget. On CPU, requests therefore draw from the
        # engine's own seeded generator (runs stay repeatable; resamples still differ).
        seed = None if self._on_cpu else request.seed
        if request.thinking_budget is not None and self._profile.reasoning:
            extra["thinking_token_budget"] = request.thinking_budget
        if self._profile.repetition_penalty != 1.0:
            extra["repetition_penalty"] = self._profile.repetition_penalty
        if self._profile.frequency_penalty:
            extra["frequency_penalty"] = self._profile.frequency_penalty
        return SamplingParams(
            max_tokens=request.max_tokens,
            temperature=request.temperature,
            top_p=request.top_p,
            seed=seed,
            structured_outputs=structured,
            **extra,
        )

    def generate(self, requests: Sequence[GenerationRequest]) -> list[Completion]:
        """Run all requests in one ``LLM.chat`` call (continuous batching inside vLLM)."""
        refuse_tools(requests, "VLLMEngine")
        if not requests:
            return []
        loras = self._lora_requests(requests)
        llm = self.llm
        params = [self.sampling_params(r) for r in requests]
        conversations = [r.messages for r in requests]
        try:
            outputs = llm.chat(conversations, params, use_tqdm=False, lora_request=loras)
        except Exception as exc:
            if len(requests) == 1:
                return [
                    Completion(text="", finish_reason=None, error=f"{type(exc).__name__}: {exc}")
                ]
            # One bad request must not fail its neighbours: retry them one by one.
            log.warning(
                "structkit: batch of %d failed (%s); retrying one by one",
                len(requests),
                type(exc).__name__,
            )
            return [self.generate([r])[0] for r in requests]
        return [_completion(o) for o in outputs]

    def count_tokens(self, text: str) -> int:
        if self._tokenizer is None:
            from transformers import AutoTokenizer

            self._tokenizer = AutoTokenizer.from_pretrained(self._source)
        return len(self._tokenizer.encode(text, add_special_tokens=False))

    def close(self) -> None:
        """Shut the engine down and free its memory (a later ``generate`` starts it again)."""
        llm = self._take_backend()
        if llm is not None:
            core = getattr(getattr(llm, "llm_engine", None), "engine_core", None)
            shutdown = getattr(core, "shutdown", None)
            if callable(shutdown):
                shutdown()
            del llm
            import gc

            gc.collect()


def _completion(output: Any) -> Completion:
    first = output.outputs[0]
    stats = getattr(output, "metrics", None)  # vLLM's RequestStateStats when stats are on
    metrics = (
        {}
        if stats is None
        else {
            k: float(v)
            for k, v in vars(stats).items()
            if isinstance(v, (int, float)) and not isinstance(v, bool)
        }
    )
    return Completion(
        text=first.text,
        finish_reason=first.finish_reason,
        prompt_tokens=len(output.prompt_token_ids or []),
        completion_tokens=len(first.token_ids or []),
        metrics=metrics,
    )


def get_engine(model: str | os.PathLike[str] | None = None) -> VLLMEngine:
    """The process-wide embedded engine for ``model``, created on first use and then reused.

    One ``vllm.LLM`` per process: asking for a different model replaces the current one.
    """
    name, source = resolve_model(model)
    return shared_engine("vllm", (name, source), lambda: VLLMEngine(model))
