"""``structkit tune TASK DATA --out DIR``: train a task's adapters from gold."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

__all__ = ["add_tune_parser", "run_tune"]

_DESCRIPTION = """\
Train adapters for a task from gold, and write one folder per kind under --out, each with its
weights (safetensors) and a manifest (base model and data sha256, settings, validation figures).

clauses: DATA is a CUAD folder (full_contract_txt/ and master_clauses.csv) or a dataset in the
evaluation format (.jsonl). Two kinds: `learned` (code's ranking features and the span's words,
no model) and `tuned` (the same plus the default model's hidden states of each span). Contracts
are split by document (seeded); settings are chosen on the validation contracts. From a CUAD
folder, these are never used: contracts whose text or dataset name (cuad_<slug>.txt) equals a
file under --exclude (pass datasets/clauses), the four CUAD
contracts of issue #12, and those whose file name's sha256 starts with 0 or 1.

Use an adapter with `structkit clauses FILE --adapter DIR/clauses-tuned` (or --mode tuned for
the shipped one).

diagnosis: DATA is a dataset in the evaluation format with ICD-10-CM gold (`icd10`), e.g. what
`scripts/make_diagnosis_benchmark.py --training DIR` writes from Synthea bundles. Two kinds:
`learned` (the default): an order of code's candidate conditions (code's features, the words of
each code, its title and reasons), the regularisation chosen on the validation records by MRR;
`lora`: a LoRA of the default model (PEFT; torch, transformers and peft from the cpu extra)
trained on the model mode's own question with the gold order as its answer (loss on the answer
only; early stopping on the validation loss; resumable per epoch), written in the PEFT form
(vLLM) and as a GGUF LoRA (llama.cpp). Records are split by document (seeded, --validation
share). Never used: records of the datasets under --exclude (pass
datasets/diagnosis_real.jsonl; by content and gold source) and the Buster_Hoeger bundle or
healthwallet-datasets files. Use them with `structkit diagnose FILE --adapter DIR/diagnosis-lora`
(mode `lora`), `--mode learned` (no model) or `--mode tuned` (the model orders from the head's
order).
"""


def add_tune_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    tune = sub.add_parser(
        "tune",
        help="train a task's adapters from gold (clauses, diagnosis)",
        description=_DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    tune.add_argument("task", choices=("clauses", "diagnosis"), help="the task to tune")
    tune.add_argument("data", help="a CUAD folder or an evaluation-format .jsonl")
    tune.add_argument("--out", required=True, metavar="DIR", help="folder for the adapters")
    tune.add_argument(
        "--kinds",
        default=None,
        help="comma-separated: clauses learned, tuned (both); diagnosis learned (default), lora",
    )
    lora = tune.add_argument_group("LoRA (diagnosis --kinds lora)")
    lora.add_argument("--epochs", type=int, default=3, help="at most this many epochs (3)")
    lora.add_argument("--rank", type=int, default=16, help="LoRA rank (16; alpha is twice it)")
    lora.add_argument("--learning-rate", type=float, default=2e-4, help="AdamW (2e-4)")
    lora.add_argument("--max-steps", type=int, default=None, help="stop after N optimizer steps")
    lora.add_argument(
        "--dtype",
        choices=("float32", "bfloat16", "auto"),
        default="float32",
        help="compute dtype (float32; bfloat16: autocast; auto: bfloat16 where the CPU has "
        "avx512_bf16 or AMX)",
    )
    lora.add_argument(
        "--teacher",
        default=None,
        metavar="URL|ENGINE",
        help="label from this engine's validated answers instead of gold: a server URL "
        "(e.g. a `vllm serve` of a larger model) or an engine name (llamacpp, vllm)",
    )
    lora.add_argument("--teacher-model", default=None, help="the teacher's model (its default)")
    tune.add_argument("--seed", type=int, default=0, help="split and fitting seed (0)")
    tune.add_argument("--train", type=int, default=236, help="CUAD: training contracts (236)")
    held = "CUAD: validation contracts (48); diagnosis: validation share (0.2)"
    tune.add_argument("--validation", type=float, help=held)
    tune.add_argument(
        "--exclude",
        action="append",
        default=[],
        metavar="PATH",
        help="clauses: a folder, never train on a contract whose text or dataset name is a "
        ".txt there; diagnosis: a dataset, never train on its records (repeatable)",
    )
    tune.add_argument(
        "--cache", default=None, metavar="DIR", help="keep hidden states here between runs"
    )


def _teacher(value: str | None, model: str | None) -> object:
    """The teacher engine ``--teacher`` names (``None``: labels come from gold)."""
    if value is None:
        return None
    from ..engines import ServerEngine, resolve_engine

    if value.startswith(("http://", "https://")):
        return ServerEngine(value, model=model)
    return resolve_engine(engine=value, model=model, fresh=True)


def run_tune(args: argparse.Namespace) -> int:
    from . import tune

    default_kinds = "learned" if args.task == "diagnosis" else "learned,tuned"
    kinds = [k.strip() for k in (args.kinds or default_kinds).split(",") if k.strip()]
    options: dict[str, object]
    if args.task == "diagnosis":
        from ._lora import LoraSettings

        lora = LoraSettings(
            rank=args.rank,
            alpha=2 * args.rank,
            learning_rate=args.learning_rate,
            epochs=args.epochs,
            max_steps=args.max_steps,
            seed=args.seed,
            dtype=args.dtype,
        )
        options = {
            "exclude": args.exclude,
            "validation": args.validation or 0.2,
            "lora": lora,
            "teacher": _teacher(args.teacher, args.teacher_model),
        }
    else:
        exclude = [p for folder in args.exclude for p in sorted(Path(folder).glob("*.txt"))]
        options = {
            "train": args.train,
            "validation": int(args.validation or 48),
            "exclude_texts": exclude,
            "cache": args.cache,
        }
    report = tune(args.task, args.data, out=args.out, kinds=kinds, seed=args.seed, **options)
    print(report.summary())
    for kind, folder in report.kinds.items():
        print(f"{kind}: {folder}", file=sys.stderr)
        if kind == "lora":
            from .._lora import read_lora

            name = read_lora(folder, task=args.task).name
            print(
                f"  on a vLLM server: --enable-lora --lora-modules {name}={folder}/peft",
                file=sys.stderr,
            )
    return 0
