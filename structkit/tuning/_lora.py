"""LoRA on the default model from a task's own questions: training, and the adapter's two forms.

A training example is one question exactly as the task sends it in the ``model`` mode (its chat
messages) and the answer gold implies, as the compact JSON the constrained decoder would write.
The loss is on the answer tokens only (and the end-of-turn token). LoRA (PEFT) on the attention
and MLP projections of every layer: SmolLM2's input and output embeddings are tied, so
``lm_head`` is left alone (llama.cpp's converter refuses an adapter of a tied ``lm_head``).
Examples are split by document (the caller's split); AdamW with a fixed seed; the validation loss
after every epoch stops training when it no longer falls (the best epoch is kept); each epoch
ends with a checkpoint, so a killed run resumes at the next epoch.

The adapter folder holds ``peft/`` (``adapter_config.json`` and ``adapter_model.safetensors``,
which vLLM loads through ``LoRARequest`` and ``vllm serve --lora-modules``), ``adapter.gguf`` (the
same weights as a llama.cpp LoRA, applied to the shipped Q4 GGUF as it is) and ``manifest.json``.
"""

from __future__ import annotations

import contextlib
import json
import math
import random
import shutil
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .._engine import Message
from .._errors import ConfigurationError, DatasetError, MissingExtraError
from .._heads import MANIFEST, file_sha256
from .._host import host
from .._lora import GGUF_FILE, LORA_FORMAT, PEFT_FOLDER
from .._version import __version__

__all__ = [
    "DTYPES",
    "TARGET_MODULES",
    "LoraExample",
    "LoraSettings",
    "train_lora",
    "training_dtype",
    "write_gguf_lora",
]

#: Attention and MLP projections (the embeddings are tied: no ``lm_head``).
TARGET_MODULES = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")
#: SmolLM2's end of turn, which ends every constrained answer.
_END_OF_TURN = "<|im_end|>"
_CHECKPOINT = "checkpoint"
#: Training examples whose loss is measured before training and after each epoch.
_PROBE = 16


@dataclass(frozen=True)
class LoraExample:
    """One question of one document and the answer to learn (compact JSON)."""

    document: str
    messages: list[Message]
    answer: str


@dataclass(frozen=True)
class LoraSettings:
    """How the LoRA is trained (recorded in the manifest)."""

    rank: int = 16
    alpha: int = 32
    dropout: float = 0.05
    learning_rate: float = 2e-4
    accumulate: int = 4
    """Examples per optimizer step (one example per forward pass: no padding)."""
    epochs: int = 3
    max_steps: int | None = None
    """Stop after this many optimizer steps in all (a short run); ``None``: whole epochs."""
    seed: int = 0
    dtype: str = "float32"
    """``float32`` (default); ``bfloat16``: the forward and backward passes under bfloat16
    autocast (the weights, the LoRA and the optimizer stay float32); ``auto``: bfloat16 where
    the CPU computes it (avx512_bf16, AMX), float32 elsewhere (PyTorch emulates it, slowly).
    Measured on a CPU with avx512_bf16 (README, Tuning): bfloat16 steps were 1.47x float32's
    on a short run of short questions but no faster on the whole diagnosis run (same
    validation loss), so float32 stays the default. The manifest records the dtype used."""

    def __post_init__(self) -> None:
        if self.dtype not in DTYPES:
            raise ConfigurationError(
                f"LoRA dtype must be one of {', '.join(DTYPES)}, got {self.dtype!r}"
            )


#: The dtypes LoRA training computes in (``auto``: by the CPU, :func:`training_dtype`).
DTYPES = ("auto", "float32", "bfloat16")


def training_dtype(settings: LoraSettings) -> str:
    """The dtype a training run computes in: ``settings.dtype``, ``auto`` resolved by the CPU."""
    if settings.dtype != "auto":
        return settings.dtype
    from .._hidden import preferred_dtype

    return preferred_dtype()


def _modules() -> tuple[Any, Any, Any]:
    try:
        import peft
        import torch
        import transformers
    except ImportError as exc:
        raise MissingExtraError(
            "LoRA training needs torch, transformers and peft: pip install 'structkit[cpu]'"
        ) from exc
    return torch, transformers, peft


def _encode(tokenizer: Any, example: LoraExample) -> tuple[list[int], list[int]]:
    prompt = tokenizer.apply_chat_template(
        example.messages, add_generation_prompt=True, tokenize=False
    )
    ids = tokenizer(prompt, add_special_tokens=False)["input_ids"]
    target = tokenizer(example.answer + _END_OF_TURN, add_special_tokens=False)["input_ids"]
    return ids + target, [-100] * len(ids) + target  # loss on the answer tokens only


def _loss(model: Any, torch: Any, encoded: Sequence[tuple[list[int], list[int]]]) -> float:
    if not encoded:
        return math.nan
    model.eval()
    with torch.no_grad():
        total = sum(
            float(model(input_ids=torch.tensor([x]), labels=torch.tensor([y])).loss)
            for x, y in encoded
        )
    model.train()
    return total / len(encoded)


def _permute(weights: np.ndarray, heads: int) -> np.ndarray:
    """Rows of a query/key projection in the order llama.cpp's converter stores them (its
    rotary layout): the same permutation applies to a LoRA's ``B`` (the output side)."""
    return (
        weights.reshape(heads, 2, weights.shape[0] // heads // 2, *weights.shape[1:])
        .swapaxes(1, 2)
        .reshape(weights.shape)
    )


def write_gguf_lora(peft_folder: Path, config: dict[str, Any], path: Path) -> Path:
    """Write a PEFT LoRA of a Llama-architecture model as a llama.cpp LoRA GGUF: gguf-py's
    writer and tensor-name map, the layout of llama.cpp's ``convert_lora_to_gguf.py`` (not on
    any package index): ``<tensor>.lora_a`` / ``.lora_b`` in float32, ``adapter.lora.alpha``,
    query and key ``B`` rows permuted as the base GGUF's weights are."""
    import gguf
    from safetensors.numpy import load_file

    adapter = json.loads((peft_folder / "adapter_config.json").read_text(encoding="utf-8"))
    tensors = load_file(str(peft_folder / "adapter_model.safetensors"))
    names = gguf.get_tensor_name_map(gguf.MODEL_ARCH.LLAMA, int(config["num_hidden_layers"]))
    writer = gguf.GGUFWriter(str(path), arch="llama")
    writer.add_string(gguf.Keys.General.TYPE, "adapter")
    writer.add_string(gguf.Keys.Adapter.TYPE, "lora")
    writer.add_float32(gguf.Keys.Adapter.LORA_ALPHA, float(adapter["lora_alpha"]))
    prefix = "base_model.model."
    for name in sorted(tensors):
        if not name.endswith(".lora_A.weight"):
            continue
        module = name[len(prefix) : -len(".lora_A.weight")]
        target = names.get_name(module + ".weight", try_suffixes=(".weight",))
        if target is None:
            raise DatasetError(f"LoRA tensor {name!r} has no llama.cpp name")
        lora_a = tensors[name].astype(np.float32)
        lora_b = tensors[name.replace(".lora_A.", ".lora_B.")].astype(np.float32)
        if module.endswith("q_proj"):
            lora_b = _permute(lora_b, int(config["num_attention_heads"]))
        elif module.endswith("k_proj"):
            lora_b = _permute(lora_b, int(config["num_key_value_heads"]))
        writer.add_tensor(f"{target}.lora_a", np.ascontiguousarray(lora_a))
        writer.add_tensor(f"{target}.lora_b", np.ascontiguousarray(lora_b))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path


def _autocast(torch: Any, dtype: str) -> Any:
    if dtype == "bfloat16":
        return torch.autocast("cpu", dtype=torch.bfloat16)
    return contextlib.nullcontext()


def _progress(total: int, enabled: bool) -> Any:
    from tqdm import tqdm  # type: ignore[import-untyped,unused-ignore]

    return tqdm(total=total, unit="ex", file=sys.stderr, disable=not enabled, leave=False)


def train_lora(
    train: Sequence[LoraExample],
    validation: Sequence[LoraExample],
    *,
    out: Path,
    task: str,
    settings: LoraSettings,
    data: dict[str, Any],
    progress: bool = True,
) -> tuple[Path, dict[str, Any]]:
    """Train a LoRA of the default model on ``train``, stop early on ``validation``, and write
    the adapter folder ``out`` (PEFT and GGUF forms, manifest). Returns the folder and the
    figures the manifest records (validation loss per epoch, tokens/s, seconds).

    ``data``: what the manifest says of the training data (its sha256, documents, license)."""
    torch, transformers, peft = _modules()
    from .._prepare import GGUF_SHA256, prepare_default_model

    if not train:
        raise DatasetError(f"tune {task} lora: no training examples")
    started = time.perf_counter()
    # The LoRA's initial weights and dropout draw from torch's generator; the epoch shuffles
    # use their own seeded ``Random``.
    torch.manual_seed(settings.seed)
    dtype = training_dtype(settings)
    base_folder = prepare_default_model()
    tokenizer = transformers.AutoTokenizer.from_pretrained(base_folder)
    base = transformers.AutoModelForCausalLM.from_pretrained(base_folder, dtype=torch.float32)
    checkpoint = out / _CHECKPOINT
    state_file = checkpoint / "state.json"
    state: dict[str, Any] = {"epoch": 0, "steps": 0, "best": math.inf, "losses": []}
    if state_file.is_file():  # resume: the adapter and optimizer of the last finished epoch
        state = json.loads(state_file.read_text(encoding="utf-8"))
        model = peft.PeftModel.from_pretrained(base, checkpoint / "adapter", is_trainable=True)
    else:
        config = peft.LoraConfig(
            r=settings.rank,
            lora_alpha=settings.alpha,
            lora_dropout=settings.dropout,
            target_modules=list(TARGET_MODULES),
            task_type="CAUSAL_LM",
        )
        model = peft.get_peft_model(base, config)
    model.train()
    trainable = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(trainable, lr=settings.learning_rate)
    if (checkpoint / "optimizer.pt").is_file():
        optimizer.load_state_dict(torch.load(checkpoint / "optimizer.pt", weights_only=True))
    train_encoded = [_encode(tokenizer, e) for e in train]
    val_encoded = [_encode(tokenizer, e) for e in validation]
    # The training loss is measured on the same first training examples before and after each
    # epoch (the running mean of an epoch mixes weights from its start and end).
    probe = train_encoded[:_PROBE]
    if not state["losses"]:
        state["losses"].append(
            {
                "epoch": 0,
                "train_loss": _loss(model, torch, probe),
                "validation_loss": _loss(model, torch, val_encoded),
            }
        )
    best_folder = out / "best"
    # Tokens/s counts the training steps only (not validation, checkpoints or the GGUF write).
    tokens, seen, step_seconds = 0, 0, 0.0
    stop = False
    for epoch in range(int(state["epoch"]) + 1, settings.epochs + 1):
        order = list(range(len(train_encoded)))
        random.Random(settings.seed * 1000 + epoch).shuffle(order)
        bar = _progress(len(order), progress)
        bar.set_description(f"epoch {epoch}/{settings.epochs}")
        recent: list[float] = []
        for n, i in enumerate(order, 1):
            x, y = train_encoded[i]
            tick = time.perf_counter()
            with _autocast(torch, dtype):
                loss = model(input_ids=torch.tensor([x]), labels=torch.tensor([y])).loss
            (loss / settings.accumulate).backward()
            recent = [*recent[-19:], loss.item()]
            if n % settings.accumulate == 0 or n == len(order):
                optimizer.step()
                optimizer.zero_grad()
                state["steps"] += 1
            step_seconds += time.perf_counter() - tick
            tokens, seen = tokens + len(x), seen + 1
            bar.update(1)
            bar.set_postfix(loss=f"{np.mean(recent):.4f}", ex_s=f"{seen / step_seconds:.2f}")
            if settings.max_steps is not None and state["steps"] >= settings.max_steps:
                stop = True
                break
        bar.close()
        val_loss = _loss(model, torch, val_encoded)
        state["losses"].append(
            {
                "epoch": epoch,
                "train_loss": _loss(model, torch, probe),
                "running_loss": float(np.mean(recent)) if recent else math.nan,
                "validation_loss": val_loss,
            }
        )
        improved = not val_encoded or val_loss < state["best"]
        if improved:
            state["best"] = val_loss if val_encoded else math.nan
            model.save_pretrained(best_folder)
        state["epoch"] = epoch
        model.save_pretrained(checkpoint / "adapter")
        torch.save(optimizer.state_dict(), checkpoint / "optimizer.pt")
        state_file.write_text(json.dumps(state), encoding="utf-8")
        if stop or not improved:
            break  # early stop: the validation loss no longer falls (the best epoch is kept)
    if not (best_folder / "adapter_model.safetensors").is_file():
        model.save_pretrained(best_folder)
    peft_folder = out / PEFT_FOLDER
    if peft_folder.exists():
        shutil.rmtree(peft_folder)
    best_folder.rename(peft_folder)
    config = json.loads((Path(base_folder) / "config.json").read_text(encoding="utf-8"))
    write_gguf_lora(peft_folder, config, out / GGUF_FILE)
    elapsed = time.perf_counter() - started
    figures = {
        "losses": state["losses"],
        "steps": state["steps"],
        "train_examples": len(train),
        "validation_examples": len(validation),
        "tokens_per_second": round(tokens / max(step_seconds, 1e-9), 1),
    }
    files = {
        f"{PEFT_FOLDER}/adapter_config.json": file_sha256(peft_folder / "adapter_config.json"),
        f"{PEFT_FOLDER}/adapter_model.safetensors": file_sha256(
            peft_folder / "adapter_model.safetensors"
        ),
        GGUF_FILE: file_sha256(out / GGUF_FILE),
    }
    manifest = {
        "format": LORA_FORMAT,
        "task": task,
        "kind": "lora",
        "structkit_version": __version__,
        "base_model": {"name": "SmolLM2-135M-Instruct", "gguf_sha256": GGUF_SHA256},
        "settings": {
            **vars(settings),
            "dtype": dtype,
            "target_modules": list(TARGET_MODULES),
            "loss": "answer tokens only",
            "chosen_by": "validation loss after each epoch (early stopping)",
        },
        "training_data": data,
        "validation": figures,
        "training": {"seconds": round(elapsed, 1), "host": host()},
        "files": files,
    }
    (out / MANIFEST).write_text(json.dumps(manifest, indent=1) + "\n", encoding="utf-8")
    shutil.rmtree(checkpoint, ignore_errors=True)
    return out, figures
