"""Run the README's first command N times (after set-up) and report exit codes and wall times.

    .venv/bin/python scripts/readme_runs.py --runs 20

Reads the command from the README's first code block (so the figure is for the command the
README really shows), runs it as a user would, from the checkout, one run after another, and
prints each run's exit code and seconds, then the count of exits 0, the mean ± std and the
maximum, and the host. A run that prints nothing on stdout counts as a failure even with exit 0.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))

from bench_engines import fmt_mean_std, host_line  # noqa: E402


def readme_command() -> str:
    """The first line of the README's first ``bash`` block."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    block = text.split("```bash\n", 1)[1].split("```", 1)[0]
    return block.splitlines()[0].strip()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--timeout", type=float, default=600.0)
    args = parser.parse_args()
    command = readme_command()
    print(f"command: {command}\n{host_line()}", flush=True)
    seconds: list[float] = []
    ok = 0
    for run in range(1, args.runs + 1):
        started = time.perf_counter()
        try:
            done = subprocess.run(
                ["bash", "-c", command],
                cwd=ROOT,
                capture_output=True,
                text=True,
                timeout=args.timeout,
                check=False,
            )
            code, printed = done.returncode, bool(done.stdout.strip())
        except subprocess.TimeoutExpired:
            code, printed = -1, False
        took = time.perf_counter() - started
        seconds.append(took)
        good = code == 0 and printed
        ok += good
        print(f"run {run}: exit {code}, {took:.1f} s{'' if good else '  FAILED'}", flush=True)
    print(
        f"\n{ok}/{args.runs} runs exited 0 with an answer; wall time "
        f"{fmt_mean_std(seconds, 1)} s, max {max(seconds):.1f} s"
    )


if __name__ == "__main__":
    main()
