"""Build the evaluation datasets in ``datasets/`` (reproducible: fixed seeds, no network).

    .venv/bin/python scripts/make_datasets.py            # rewrites datasets/*.jsonl and files
    .venv/bin/python scripts/make_datasets.py --check    # exit 1 if the files on disk differ

Every line of ``datasets/<task>.jsonl`` is ``{"id", "input", "gold"}``; ``input`` is a record
(dict) or a path relative to the dataset file. How the gold was made is told where each dataset
is built: ``scripts/dataset_diagnosis.py``, ``dataset_financials.py``, ``dataset_clauses.py``.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

# One module a task, beside this script (its folder is on sys.path when it runs); they import
# structkit only inside their functions, so after the path is set.
from dataset_clauses import clause_rows
from dataset_diagnosis import diagnosis_rows
from dataset_financials import financial_rows, synthetic_financial_rows

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "datasets"
sys.path.insert(0, str(ROOT))  # structkit, when run without installing it


def _write_jsonl(path: Path, rows: list[dict[str, Any]]) -> None:
    text = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)
    path.write_text(text, encoding="utf-8", newline="\n")


# --------------------------------------------------------------------------- main


def build(out: Path = OUT) -> dict[str, list[dict[str, Any]]]:
    """Write every dataset and its files into ``out``; return the rows per task."""
    out.mkdir(parents=True, exist_ok=True)
    datasets = {
        "diagnosis": diagnosis_rows(),
        "financials": financial_rows(out),
        "financials_synthetic": synthetic_financial_rows(out),
        "clauses": clause_rows(out),
    }
    for task, rows in datasets.items():
        _write_jsonl(out / f"{task}.jsonl", rows)
    return datasets


def _files(folder: Path) -> dict[str, bytes]:
    """Generated files by relative path (README.md is written by hand)."""
    return {
        str(p.relative_to(folder)): p.read_bytes()
        for p in folder.rglob("*")
        if p.is_file()
        and p.suffix != ".md"
        and not p.name.startswith(_BUILT_ELSEWHERE)
        and not p.parent.name.startswith(_BUILT_ELSEWHERE)
    }


#: Built by other scripts from real records (scripts/make_diagnosis_benchmark.py), not here.
_BUILT_ELSEWHERE = ("diagnosis_real",)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--check",
        action="store_true",
        help="build into a temporary folder and fail if it differs from datasets/",
    )
    args = parser.parse_args()
    if args.check:
        with tempfile.TemporaryDirectory() as tmp:
            build(Path(tmp))
            built, shipped = _files(Path(tmp)), _files(OUT)
        differ = sorted(
            set(built) ^ set(shipped) | {k for k in built if built[k] != shipped.get(k)}
        )
        print("datasets/ is up to date" if not differ else "differs: " + ", ".join(differ))
        return 1 if differ else 0
    for task, rows in build().items():
        print(f"{task}: {len(rows)} items -> datasets/{task}.jsonl")
    return 0


if __name__ == "__main__":
    sys.exit(main())
