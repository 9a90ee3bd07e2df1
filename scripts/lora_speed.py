"""LoRA training speed and loss by compute dtype, side by side in one run (mean ± std).

    python scripts/lora_speed.py DATA [--records 24] [--steps 6] [--rounds 3]

DATA: a diagnosis dataset in the evaluation format (what ``structkit tune diagnosis`` reads,
e.g. ``scripts/make_diagnosis_benchmark.py --training``'s). The first ``--records`` usable
records (benchmark and held-out sources excluded as ``tune`` does) are split by document; each
round trains ``--steps`` optimizer steps from the same seed in float32 and in bfloat16 autocast
(alternating which goes first) and reports the training steps' tokens/s, each run's wall time
(model load, validation passes, GGUF write included) and the validation loss after them. The
host's CPU and its bfloat16 flags are printed: bfloat16 is only fast where the CPU computes it
(avx512_bf16, AMX).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

from structkit._host import host
from structkit.tuning._diagnosis import load_records, lora_examples, split_by_record
from structkit.tuning._lora import LoraSettings, train_lora

ROOT = Path(__file__).resolve().parents[1]
DTYPES = ("float32", "bfloat16")


def _figure(values: list[float]) -> str:
    spread = statistics.stdev(values) if len(values) > 1 else 0.0
    return f"{statistics.mean(values):.1f} ± {spread:.1f}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data", type=Path)
    parser.add_argument("--records", type=int, default=24)
    parser.add_argument("--steps", type=int, default=6, help="optimizer steps per run (6)")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)

    records, _ = load_records(args.data, exclude=[ROOT / "datasets" / "diagnosis_real.jsonl"])
    train, val = split_by_record(records[: args.records], seed=0, validation=0.25)
    train_examples, _ = lora_examples(args.data, train)
    val_examples, _ = lora_examples(args.data, val)
    print(f"host: {host()}")
    print(f"{len(train_examples)} training / {len(val_examples)} validation questions")
    speed: dict[str, list[float]] = {d: [] for d in DTYPES}
    loss: dict[str, list[float]] = {d: [] for d in DTYPES}
    wall: dict[str, list[float]] = {d: [] for d in DTYPES}
    for round_ in range(args.rounds):
        order = DTYPES if round_ % 2 == 0 else DTYPES[::-1]
        for dtype in order:
            settings = LoraSettings(epochs=1, max_steps=args.steps, dtype=dtype)
            started = time.perf_counter()
            with tempfile.TemporaryDirectory() as folder:
                _, figures = train_lora(
                    train_examples,
                    val_examples,
                    out=Path(folder) / "lora",
                    task="diagnosis",
                    settings=settings,
                    data={"source": args.data.name},
                    progress=False,
                )
            wall[dtype].append(time.perf_counter() - started)
            speed[dtype].append(float(figures["tokens_per_second"]))
            loss[dtype].append(float(figures["losses"][-1]["validation_loss"]))
            print(
                f"round {round_ + 1} {dtype}: {speed[dtype][-1]:.1f} tokens/s, "
                f"validation loss {loss[dtype][-1]:.4f}, {wall[dtype][-1]:.0f} s in all",
                file=sys.stderr,
            )
    print("| dtype | training steps, tokens/s | run in all (s) | validation loss after |")
    print("|---|---|---|---|")
    for dtype in DTYPES:
        print(
            f"| {dtype} | {_figure(speed[dtype])} | {_figure(wall[dtype])} "
            f"| {statistics.mean(loss[dtype]):.4f} |"
        )
    ratio = statistics.mean(speed["bfloat16"]) / statistics.mean(speed["float32"])
    print(f"bfloat16 / float32 speed: {ratio:.2f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
