"""Experiment: fine-tune the default model (LoRA, PEFT) on the diagnosis question, from gold.

The training examples are exactly the questions the ``model`` mode sends (the prompt of facts and
candidates, the answer constrained to the candidate codes); the target answer lists the record's
candidates that match a gold code first (in code's order), then the others, at most five, as
compact JSON. Loss on the answer tokens only; LoRA r=16 on the attention and MLP projections
(the embeddings are tied and left alone); AdamW 2e-4, 4 questions per step, seed 0; records split
by document (a fifth for validation); early stopping on the validation loss after each epoch.
Writes ``OUT/lora`` (the adapter) and ``OUT/SmolLM2-135M-Instruct-diagnosis-lora`` (merged, a
Hugging Face folder vLLM serves; named so structkit's SmolLM2 profile applies), then evaluate:

    pip install peft   # not a structkit dependency: this is an experiment
    python scripts/lora_diagnosis.py train/training.jsonl OUT [EPOCHS]
    structkit eval diagnosis datasets/diagnosis_real.jsonl --engine vllm --setting mode=model \\
        --model smollm2-135m-instruct --model OUT/SmolLM2-135M-Instruct-diagnosis-lora

TRAIN: what ``scripts/make_diagnosis_benchmark.py --training DIR`` writes (never the benchmark).
"""

from __future__ import annotations

import json
import math
import random
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
from peft import LoraConfig, PeftModel, get_peft_model
from transformers import AutoModelForCausalLM, AutoTokenizer

import structkit
from structkit import FakeEngine
from structkit._ask import question_context
from structkit._prepare import prepare_default_model
from structkit.adapters import load
from structkit.clinical.icd10cm import related
from structkit.evaluation import load_dataset
from structkit.tasks.diagnosis import analyse

TARGETS = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]


def examples(path: str) -> list[tuple[str, list[dict[str, str]], str]]:
    """(record id, the model mode's question, the gold-ordered answer) per record asked."""
    context = question_context(FakeEngine(lambda r: "{}"), mode="model", grounding=True)
    assert structkit.DIAGNOSIS.questions is not None
    out = []
    for item in load_dataset(path):
        gold = [str(c) for c in item.gold.get("icd10", [])]
        if not gold:
            continue
        record = load(item.input, record_id=item.id)
        questions = structkit.DIAGNOSIS.questions(record, context)
        if not questions:
            continue  # fewer than two candidates: code answers, the model is never asked
        ranked = sorted(analyse(record).candidates, key=lambda c: (-c.weight, c.code))
        hits = [c.code for c in ranked if any(c.code == g or related(c.code, g) for g in gold)]
        order = hits + [c.code for c in ranked if c.code not in hits]
        answer = json.dumps({"differential": order[:5]}, separators=(",", ":"))
        out.append((item.id, questions[0].messages, answer))
    return out


def tokenize(tok: Any, messages: list[dict[str, str]], answer: str) -> tuple[list[int], list[int]]:
    prompt = tok.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)
    ids = tok(prompt, add_special_tokens=False)["input_ids"]
    target = tok(answer + "<|im_end|>", add_special_tokens=False)["input_ids"]
    return ids + target, [-100] * len(ids) + target  # loss on the answer tokens only


def main() -> None:
    train_path, out_dir = sys.argv[1], Path(sys.argv[2])
    epochs = int(sys.argv[3]) if len(sys.argv) > 3 else 1
    torch.manual_seed(0)
    torch.set_num_threads(max(1, torch.get_num_threads()))
    rows = examples(train_path)
    ids = sorted({r[0] for r in rows})
    random.Random(0).shuffle(ids)
    held = set(ids[: max(1, len(ids) // 5)])
    train = [r for r in rows if r[0] not in held]
    val = [r for r in rows if r[0] in held]
    print(f"{len(train)} training / {len(val)} validation questions", flush=True)
    folder = prepare_default_model()
    tok = AutoTokenizer.from_pretrained(folder)
    base = AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32)
    config = LoraConfig(
        r=16, lora_alpha=32, lora_dropout=0.05, target_modules=TARGETS, task_type="CAUSAL_LM"
    )
    model = get_peft_model(base, config)
    model.print_trainable_parameters()
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=2e-4)
    train_t = [tokenize(tok, m, a) for _, m, a in train]
    val_t = [tokenize(tok, m, a) for _, m, a in val]

    def val_loss() -> float:
        model.eval()
        with torch.no_grad():
            total = sum(
                model(input_ids=torch.tensor([x]), labels=torch.tensor([y])).loss.item()
                for x, y in val_t
            )
        model.train()
        return total / len(val_t)

    print(f"epoch 0 validation loss {val_loss():.4f}", flush=True)
    best, accumulate, started, tokens = math.inf, 4, time.perf_counter(), 0
    for epoch in range(1, epochs + 1):
        order = list(range(len(train_t)))
        random.Random(epoch).shuffle(order)
        losses: list[float] = []
        for n, i in enumerate(order, 1):
            x, y = train_t[i]
            loss = model(input_ids=torch.tensor([x]), labels=torch.tensor([y])).loss
            (loss / accumulate).backward()
            losses.append(loss.item())
            tokens += len(x)
            if n % accumulate == 0 or n == len(order):
                optimizer.step()
                optimizer.zero_grad()
            if n % 40 == 0:
                elapsed = time.perf_counter() - started
                print(
                    f"epoch {epoch} {n}/{len(order)} loss {np.mean(losses[-40:]):.4f} "
                    f"{tokens / elapsed:.0f} tokens/s",
                    flush=True,
                )
        loss_now = val_loss()
        print(f"epoch {epoch} validation loss {loss_now:.4f}", flush=True)
        if loss_now >= best:
            print("early stop: the validation loss rose")
            break
        best = loss_now
        model.save_pretrained(out_dir / "lora")
    fresh = AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32)
    merged = PeftModel.from_pretrained(fresh, out_dir / "lora").merge_and_unload()
    dest = out_dir / "SmolLM2-135M-Instruct-diagnosis-lora"
    merged.save_pretrained(dest)
    tok.save_pretrained(dest)
    print(f"{time.perf_counter() - started:.0f} s; merged model: {dest}", flush=True)


if __name__ == "__main__":
    main()
