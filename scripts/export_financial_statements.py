"""Export real statements (income, balance sheet, cash flow) from SEC XBRL filings as CSV + gold.

Dev tool, not a structkit dependency: needs ``edgartools`` (MIT) in its own venv::

    python scripts/export_financial_statements.py XBRL_DIR NAME OUT_DIR

The CSV is the statement as edgartools renders it from the filing's presentation linkbase:
the filer's own row labels, headings as rows without numbers, one column per period, amounts in
full units as the filing tags them. Dimensional breakdown rows are left out. The gold is read from
the same filing by *concept* (the us-gaap tag of each row, via structkit's concept table), never
from the labels the lexicon reads, and printed for a hand check against the identities.
"""

from __future__ import annotations

import csv
import importlib.util
import json
import math
import sys
from pathlib import Path

from edgar.xbrl import XBRL

# The concept table alone (structkit's own dependencies need not be in this venv).
_spec = importlib.util.spec_from_file_location(
    "_xbrl_concepts", Path(__file__).parents[1] / "structkit/tasks/financials/_xbrl_concepts.py"
)
assert _spec is not None and _spec.loader is not None
_concepts = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_concepts)
concept_metric, preferred = _concepts.concept_metric, _concepts.preferred

STATEMENTS = {
    "income_statement": "income_statement",
    "balance_sheet": "balance_sheet",
    "cash_flow_statement": "cash_flow_statement",
}


def _amount(value: object) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    number = float(value)  # type: ignore[arg-type]
    return str(int(number)) if number == int(number) else repr(number)


def main() -> None:
    source, name, out = Path(sys.argv[1]), sys.argv[2], Path(sys.argv[3])
    xbrl = XBRL.from_directory(source)
    rows_out = []
    for kind, method in STATEMENTS.items():
        frame = getattr(xbrl.statements, method)().to_dataframe()
        periods = [c for c in frame.columns if c[:4].isdigit()]
        frame = frame[~frame["dimension"].astype(bool)]
        path = out / f"{name}_{kind}.csv"
        gold: dict[str, dict[str, float]] = {}
        ranks: dict[tuple[str, str], int] = {}
        with path.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(["Line item", *periods])
            for _, row in frame.iterrows():
                cells = [_amount(row[p]) for p in periods]
                writer.writerow([row["label"], *cells])
                concept = str(row["concept"]).replace("_", ":", 1)
                metric = concept_metric(concept)
                if metric is None:
                    continue
                for period, cell in zip(periods, cells, strict=True):
                    rank = preferred(concept)
                    if cell and rank < ranks.get((metric, period), 10_000):
                        ranks[(metric, period)] = rank
                        gold.setdefault(metric, {})[period] = float(cell)
        rows_out.append(
            {
                "id": f"{name}_{kind}",
                "input": f"financials/{path.name}",
                "gold": {
                    "statement": kind,
                    "scale": "units",
                    "periods": periods,
                    "values": gold,
                    "identity_break": False,
                },
            }
        )
    for row in rows_out:
        print(json.dumps(row))


if __name__ == "__main__":
    main()
