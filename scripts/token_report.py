"""Tokens per record for each rendering format, counted with the default model's tokenizer.

    .venv/bin/python scripts/token_report.py            # Markdown table on stdout

Used to choose each domain's default format from figures rather than taste.
"""

from __future__ import annotations

import argparse
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures"

#: (domain, label, path): the realistic fixtures shipped with the tests.
CASES = [
    ("clinical", "example patient (flat JSON)", ROOT / "examples" / "patient_record.json"),
    ("clinical", "FHIR bundle (own)", FIXTURES / "fhir_bundle_chest_pain.json"),
    ("clinical", "FHIR bundle (Synthea)", FIXTURES / "synthea_r4_clemente_kreiger.json"),
    ("clinical", "C-CDA CCD (HL7 example)", FIXTURES / "hl7_ccd.xml"),
    ("finance", "income statement (Apple)", FIXTURES / "apple_fy2021_2023_income_statement.csv"),
    ("finance", "balance sheet (Apple)", FIXTURES / "apple_fy2023_balance_sheet.csv"),
    ("finance", "Markdown table (own)", FIXTURES / "acme_quarterly_report.md"),
]
FORMATS = ("json", "markdown", "csv", "kv")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default=None, help="tokenizer of this model (default model)")
    args = parser.parse_args()

    from structkit import token_counter
    from structkit.adapters import load, render

    count = token_counter(args.model)
    print("| domain | record | source bytes | " + " | ".join(FORMATS) + " | best |")
    print("|---|---|---|" + "---|" * (len(FORMATS) + 1))
    for domain, label, path in CASES:
        if not path.exists():
            print(f"| {domain} | {label} | missing | " + " | ".join("-" for _ in FORMATS) + " |")
            continue
        record = load(path)
        tokens = {fmt: count(render(record, format=fmt)) for fmt in FORMATS}
        best = min(tokens, key=lambda f: tokens[f])
        cells = " | ".join(str(tokens[f]) for f in FORMATS)
        print(f"| {domain} | {label} | {path.stat().st_size} | {cells} | {best} |")


if __name__ == "__main__":
    main()
