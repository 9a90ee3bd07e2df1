"""Results files for the review tests, made with FakeEngine (no real engine)."""

from __future__ import annotations

from pathlib import Path

from structkit import FakeEngine, run_batch

from .schema_answers import respond

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = "<script>document.title='pwned'</script><img src=x onerror=\"document.title='pwned'\">"


def contract_results(folder: Path, *, hostile: bool = True) -> Path:
    """Two real contracts (and one whose text holds HTML and script) run through the clauses
    task; returns the results file (its lines' audits name the input folder)."""
    source = folder / "contracts"
    source.mkdir(parents=True)
    for name in ("contract-01.txt", "contract-02.txt"):
        text = (ROOT / "datasets" / "clauses" / name).read_text(encoding="utf-8")
        (source / name).write_text(text, encoding="utf-8")
    if hostile:
        (source / "hostile.txt").write_text(
            f"SERVICES AGREEMENT {SCRIPT}\n\nThis Agreement is governed by the laws of Texas.\n",
            encoding="utf-8",
        )
    out = folder / "clauses.jsonl"
    # One-shot mode: the whole answer is decoded, so every item is a model item to review.
    run_batch("clauses", source, out, engine=FakeEngine(respond), progress=False, mode="oneshot")
    return out


def statement_results(
    folder: Path, names: tuple[str, ...] = ("statement-01.csv", "statement-02.csv")
) -> Path:
    source = folder / "statements"
    source.mkdir(parents=True)
    for name in names:
        text = (ROOT / "datasets" / "financials" / name).read_text(encoding="utf-8")
        (source / name).write_text(text, encoding="utf-8")
    out = folder / "financials.jsonl"
    run_batch("financials", source, out, engine=FakeEngine(respond), progress=False)
    return out
