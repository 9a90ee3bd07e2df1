"""Does a LoRA of the default model, tuned on CUAD's own clause questions, add anything?

    python scripts/clauses_lora.py CUAD_FOLDER --out DIR [--questions 480] [--epochs 1]
        [--validation-questions 96] [--dtype float32] [--seed 0]

CUAD_FOLDER holds ``full_contract_txt/`` and ``master_clauses.csv`` (CUAD v1, CC BY 4.0). The
contracts are the shipped clauses head's split (``structkit.tuning.cuad_split``: seed 0, 236
training and 48 validation contracts of at most 60 kB, never a contract of
``datasets/clauses/``, of issue #12 or of the independent check). A training example is the
``model`` mode's own question for a category (its top 3 candidates or "none", exactly as the
task sends it, every category asked) with gold's answer: the first shown candidate that
matches a gold span (CUAD's rule), else "none"; answered and "none" questions are sampled half
and half (seeded). The LoRA is trained as ``structkit tune diagnosis --kinds lora`` trains
(:func:`structkit.tuning._lora.train_lora`: loss on the answer tokens, early stopping on the
validation questions' loss, resumable per epoch), then every question of the 48 validation
contracts and of the independent check's contracts (the 65 whose file-name sha256 starts with
0 or 1, at most 100 kB, with a gold row, not in ``datasets/clauses/``; never trained on, never
used to choose anything) is scored by the LoRA: the probability of each answer (one forward
pass of the prompt, then each answer's tokens). Compared, micro span F1 over the 17 ranked
categories, spans verified by CUAD's matching rule:

- ``baseline``: code's best span when it scores the calibrated threshold;
- ``learned``: the shipped head (no model);
- ``lora``: the LoRA's most probable answer per category;
- ``learned + lora``: the head's logit of each candidate plus ``w * log(p(candidate) /
  p(none))``, then the head's own rule (threshold, at most 2 a category); ``w`` chosen on the
  validation contracts (F1, then the smaller ``w``), ``w = 0`` is the head alone.

Deterministic (no sampling): one run. Prints the figures, the timings and the host.
"""

from __future__ import annotations

import argparse
import copy
import json
import math
import random
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from structkit._ask import question_context
from structkit._host import host
from structkit.adapters import load
from structkit.engines import FakeEngine
from structkit.evaluation import cuad
from structkit.tasks.clauses import _head as head_mod
from structkit.tasks.clauses import _modes as modes
from structkit.tasks.clauses import clauses_task
from structkit.tuning._clauses import _micro_f1, baseline_f1
from structkit.tuning._clauses_data import (
    Contract,
    Split,
    cuad_contracts,
    cuad_split,
    independent_contracts,
    slot_span,
)
from structkit.tuning._lora import _END_OF_TURN, LoraExample, LoraSettings, train_lora

ROOT = Path(__file__).resolve().parents[1]
WEIGHTS = (0.0, 0.25, 0.5, 1.0, 2.0, 4.0)


def _questions(contract: Contract, path: Path) -> list[tuple[str, Any, list[Any], str]]:
    """(category, question, shown candidates, gold answer) for every category with a candidate."""
    context = question_context(FakeEngine(lambda r: "{}"), mode="model", grounding=True)
    task = clauses_task(band=(-math.inf, math.inf))
    assert task.questions is not None
    out = []
    for question in task.questions(load(path, kind="text"), context):
        clause_type = question.key.removeprefix("cat:")
        shown = modes.question_candidates(contract.analysis, clause_type, modes.DEFAULT_K)
        gold = [g for g in contract.gold if g.clause_type == clause_type]
        answer = "none"
        for i, cand in enumerate(shown, start=1):
            span = cuad.GoldSpan(clause_type, cand.text, cand.start, cand.end)
            if any(cuad.spans_match(span, g) for g in gold):
                answer = str(i)
                break
        out.append((clause_type, question, shown, answer))
    return out


def _answer(choice: str) -> str:
    return json.dumps({"choice": choice}, separators=(",", ":"))


def _examples(
    contracts: Sequence[tuple[Contract, Path]], *, limit: int, seed: int
) -> tuple[list[LoraExample], dict[str, int]]:
    """Half answered, half "none" questions (seeded), at most ``limit``."""
    answered, none = [], []
    for contract, path in contracts:
        for _type, question, _shown, answer in _questions(contract, path):
            example = LoraExample(contract.name, question.messages, _answer(answer))
            (none if answer == "none" else answered).append(example)
    rng = random.Random(seed)
    rng.shuffle(answered)
    rng.shuffle(none)
    half = limit // 2
    chosen = answered[:half] + none[: limit - min(half, len(answered))]
    rng.shuffle(chosen)
    return chosen, {"answered": len(answered), "none": len(none), "chosen": len(chosen)}


class _Scorer:
    """The LoRA's probability of each answer of a question (torch + PEFT, no sampling)."""

    def __init__(self, peft_folder: Path, dtype: str) -> None:
        import peft
        import torch
        import transformers

        from structkit._prepare import prepare_default_model

        base_folder = prepare_default_model()
        self.torch, self.dtype = torch, dtype
        self.tokenizer = transformers.AutoTokenizer.from_pretrained(base_folder)
        base = transformers.AutoModelForCausalLM.from_pretrained(base_folder, dtype=torch.float32)
        self.model = peft.PeftModel.from_pretrained(base, peft_folder).eval()

    def probabilities(self, messages: Any, choices: Sequence[str]) -> dict[str, float]:
        torch = self.torch
        prompt = self.tokenizer.apply_chat_template(
            messages, add_generation_prompt=True, tokenize=False
        )
        ids = self.tokenizer(prompt, add_special_tokens=False)["input_ids"]
        answers = [
            self.tokenizer(_answer(c) + _END_OF_TURN, add_special_tokens=False)["input_ids"]
            for c in choices
        ]
        autocast = torch.autocast("cpu", dtype=torch.bfloat16, enabled=self.dtype == "bfloat16")
        with torch.no_grad(), autocast:
            first = self.model(input_ids=torch.tensor([ids]), use_cache=True)
            logp: dict[str, float] = {}
            for choice, target in zip(choices, answers, strict=True):
                past = copy.deepcopy(first.past_key_values)
                out = self.model(
                    input_ids=torch.tensor([target[:-1]]), past_key_values=past, use_cache=True
                )
                logits = torch.cat([first.logits[:, -1:], out.logits], dim=1).float()
                steps = torch.log_softmax(logits[0], dim=-1)
                logp[choice] = float(sum(steps[i, t] for i, t in enumerate(target)))
        top = max(logp.values())
        total = sum(math.exp(v - top) for v in logp.values())
        return {c: math.exp(v - top) / total for c, v in logp.items()}


def _score_contracts(
    scorer: _Scorer, contracts: Sequence[tuple[Contract, Path]], label: str
) -> tuple[list[dict[str, dict[str, Any]]], float]:
    """Per contract: category -> shown candidates and the LoRA's probabilities."""
    out, started, asked = [], time.perf_counter(), 0
    for n, (contract, path) in enumerate(contracts, start=1):
        mine: dict[str, dict[str, Any]] = {}
        for clause_type, question, shown, _ in _questions(contract, path):
            ids = [str(i) for i in range(1, len(shown) + 1)]
            mine[clause_type] = {
                "shown": shown,
                "p": scorer.probabilities(question.messages, [*ids, "none"]),
            }
            asked += 1
        out.append(mine)
        rate = asked / (time.perf_counter() - started)
        sys.stderr.write(f"\r{label}: {n}/{len(contracts)} contracts, {rate:.2f} questions/s  ")
    sys.stderr.write("\n")
    return out, time.perf_counter() - started


def _lora_spans(scored: Sequence[dict[str, Any]]) -> list[Any]:
    spans = []
    for mine in scored:
        for clause_type, q in mine.items():
            best = max(q["p"], key=lambda c: q["p"][c])
            if best != "none":
                c = q["shown"][int(best) - 1]
                spans.append(cuad.GoldSpan(clause_type, c.text, c.start, c.end))
    return spans


def _fused_spans(
    head: head_mod.ClauseHead,
    contracts: Sequence[Contract],
    scored: Sequence[dict[str, Any]],
    w: float,
) -> list[Any]:
    spans = []
    for contract, mine in zip(contracts, scored, strict=True):
        fused = []
        for slot, p in head.probabilities(contract.analysis):
            logit = math.log(max(p, 1e-12) / max(1 - p, 1e-12))
            q = mine.get(slot.clause_type)
            if q is not None and w:
                shown = [c.start for c in q["shown"]]
                if slot.candidate.start in shown:
                    choice = str(shown.index(slot.candidate.start) + 1)
                    logit += w * math.log(max(q["p"][choice], 1e-12) / max(q["p"]["none"], 1e-12))
            fused.append((slot, 1.0 / (1.0 + math.exp(-max(min(logit, 50.0), -50.0)))))
        spans.extend(slot_span(s) for s in head.choose(fused))
    return spans


def _gold(contracts: Sequence[Contract]) -> list[Any]:
    return [g for c in contracts for g in c.gold]


# --- shared with scripts/clauses_lora_pointwise.py ----------------------------------------


def parser(description: str, *, dtype: str) -> argparse.ArgumentParser:
    """The arguments both clauses LoRA scripts take (each adds its sample sizes)."""
    out = argparse.ArgumentParser(description=description)
    out.add_argument("cuad", type=Path)
    out.add_argument("--out", type=Path, required=True)
    out.add_argument("--epochs", type=int, default=1)
    out.add_argument("--dtype", default=dtype, help="training dtype (scoring: bfloat16)")
    out.add_argument("--seed", type=int, default=0)
    out.add_argument("--skip-training", action="store_true", help="score OUT's LoRA")
    return out


Pairs = list[tuple[Contract, Path]]


def cuad_sets(cuad_folder: Path) -> tuple[Split, Pairs, Pairs, Pairs]:
    """The heads' split and its training, validation and independent-check contracts (with
    their paths); prints the host."""
    csv_path = cuad_folder / "master_clauses.csv"
    ours = sorted((ROOT / "datasets/clauses").glob("*.txt"))
    print(f"host: {host()}")
    split = cuad_split(cuad_folder, exclude_texts=ours)
    independent = independent_contracts(cuad_folder, exclude_texts=ours)

    def pairs(paths: list[Path]) -> Pairs:
        return list(zip(cuad_contracts(paths, csv_path, k=3), paths, strict=True))

    return split, pairs(split.train), pairs(split.validation), pairs(independent)


def train(
    folder: Path,
    examples: tuple[list[LoraExample], list[LoraExample]],
    *,
    split: Split,
    args: argparse.Namespace,
    about: dict[str, Any],
) -> None:
    """Train the LoRA on (training, validation) examples into ``folder``, as ``--kinds lora``
    does; ``about`` goes into the manifest's data beside the source and the split."""
    settings = LoraSettings(epochs=args.epochs, seed=args.seed, dtype=args.dtype)
    data = {
        "source": "CUAD_v1 (CC BY 4.0, The Atticus Project)",
        "train_contracts": [p.name for p in split.train],
        "validation_contracts": [p.name for p in split.validation],
        **about,
    }
    started = time.perf_counter()
    _, figures = train_lora(*examples, out=folder, task="clauses", settings=settings, data=data)
    print(f"trained in {time.perf_counter() - started:.0f} s: {json.dumps(figures)}")


def report(
    sets: dict[str, list[Contract]],
    scored: dict[str, Any],
    *,
    fused: Callable[[list[Contract], Any, float], list[Any]],
    alone: Callable[[list[Contract], Any], list[Any]],
    weights: Sequence[float],
) -> None:
    """Choose ``w`` on the first set (F1, then the smaller ``w``) and print every set's micro
    F1: code's baseline, the head alone (``w = 0``), the LoRA alone, the fusion at that ``w``."""
    first = next(iter(sets))
    val_gold = _gold(sets[first])
    by_w = {w: _micro_f1(fused(sets[first], scored[first], w), val_gold) for w in weights}
    best_w = max(weights, key=lambda w: (round(by_w[w], 6), -w))
    print("validation F1 by w: " + ", ".join(f"{w}: {f:.3f}" for w, f in by_w.items()))
    print(f"w chosen on validation: {best_w}")
    print("\n| contracts | baseline (code) | learned (no model) | LoRA alone | learned + LoRA |")
    print("|---|---|---|---|---|")
    for name, contracts in sets.items():
        gold = _gold(contracts)
        row = [
            baseline_f1(contracts),
            _micro_f1(fused(contracts, scored[name], 0.0), gold),
            _micro_f1(alone(contracts, scored[name]), gold),
            _micro_f1(fused(contracts, scored[name], best_w), gold),
        ]
        print(f"| {name} | " + " | ".join(f"{f:.3f}" for f in row) + " |")


def main(argv: list[str] | None = None) -> int:
    cli = parser(__doc__.splitlines()[0], dtype="float32")
    cli.add_argument("--questions", type=int, default=480)
    cli.add_argument("--validation-questions", type=int, default=96)
    args = cli.parse_args(argv)
    split, train_c, val_c, independent = cuad_sets(args.cuad)
    folder = args.out / "clauses-lora"
    if not args.skip_training:
        examples, counts = _examples(train_c, limit=args.questions, seed=args.seed)
        val, val_counts = _examples(val_c, limit=args.validation_questions, seed=args.seed)
        print(f"training questions {counts}; validation questions {val_counts}")
        about = {"questions": counts, "validation_questions": val_counts}
        train(folder, (examples, val), split=split, args=args, about=about)
    scorer = _Scorer(folder / "peft", "bfloat16")
    head = head_mod.ClauseHead.load(head_mod.shipped_head_dir("learned"))
    sets = {"validation (48)": val_c, f"independent check ({len(independent)})": independent}
    scored = {}
    for name, pairs in sets.items():
        scored[name], seconds = _score_contracts(scorer, pairs, name)
        print(f"{name}: scored in {seconds:.0f} s")
    report(
        {name: [c for c, _ in pairs] for name, pairs in sets.items()},
        scored,
        fused=lambda contracts, mine, w: _fused_spans(head, contracts, mine, w),
        alone=lambda _contracts, mine: _lora_spans(mine),
        weights=WEIGHTS,
    )
    answers = [
        max(q["p"], key=lambda c: q["p"][c]) for s in scored.values() for m in s for q in m.values()
    ]
    share = {a: answers.count(a) for a in sorted(set(answers))}
    print(f"LoRA's answers over all scored questions: {share}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
