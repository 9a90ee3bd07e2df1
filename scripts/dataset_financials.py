"""The financials evaluation datasets (written by ``scripts/make_datasets.py``).

Synthetic statements generated from random but consistent numbers (gross profit = revenue - cost,
operating income = gross profit - opex, assets = liabilities + equity, subtotals add up), with
varied row labels, period headers and scale notes. Some have a deliberate break (one total changed
after the fact). Gold = the canonical metric values per period as printed in the table, the
statement kind, and whether a break exists. The two Apple samples (tests/fixtures) are included
with the gold of tests/fixtures/finance/apple_gold.json.
"""

from __future__ import annotations

import csv
import io
import json
import random
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
FIX = ROOT / "tests" / "fixtures"


INCOME_LABELS: dict[str, list[str]] = {
    "revenue": ["Revenue", "Net sales", "Total revenues", "Net revenues", "Sales"],
    "cost_of_revenue": ["Cost of revenue", "Cost of sales", "Cost of goods sold"],
    "gross_profit": ["Gross profit", "Gross margin"],
    "operating_income": ["Operating income", "Income from operations", "Operating profit"],
    "pretax_income": ["Income before income taxes", "Profit before tax"],
    "income_tax": ["Provision for income taxes", "Income tax expense"],
    "net_income": ["Net income", "Net earnings", "Net profit"],
}
EQUITY_LABELS = [
    ("Total shareholders' equity", "Total liabilities and shareholders' equity"),
    ("Total stockholders' equity", "Total liabilities and stockholders' equity"),
    ("Total equity", "Total liabilities and equity"),
]
PERIODS = [
    ["FY2024", "FY2023", "FY2022"],
    ["2023", "2022"],
    ["Dec. 31, 2023", "Dec. 31, 2022", "Dec. 31, 2021"],
    ["Year ended June 30, 2024", "Year ended June 30, 2023"],
    ["31 March 2024", "31 March 2023"],
    ["Q2 2024", "Q1 2024", "Q4 2023"],
]
#: (preamble line, scale): how the scale is stated, if at all.
SCALES = [
    ("(in thousands)", "thousands"),
    ("(in millions)", "millions"),
    ("USD millions", "millions"),
    ("(in thousands of euros)", "thousands"),
    ("", "units"),
]
COMPANIES = [
    "Northwind Traders",
    "Contoso Ltd",
    "Fabrikam Inc",
    "Tailspin Toys",
    "Litware",
    "Adventure Works",
    "Wingtip Industries",
    "Proseware",
    "Lucerne Publishing",
]
#: Statements with a deliberate break, and its kind.
BREAKS = {
    3: "identity",
    7: "identity",
    11: "subtotal",
    16: "identity",
    20: "subtotal",
    25: "identity",
}


def _fmt(value: int, rng: random.Random, style: int) -> str:
    text = f"{abs(value):,}" if style else str(abs(value))
    return (f"({text})" if rng.random() < 0.7 else f"-{text}") if value < 0 else text


class _Table:
    """Rows of a statement being generated: label -> one amount per period."""

    def __init__(self, periods: list[str]):
        self.periods = periods
        self.rows: list[tuple[str, list[int]]] = []
        self.values: dict[str, dict[str, float]] = {}
        self.row_of: dict[str, int] = {}

    def add(self, label: str, amounts: list[int], metric: str | None = None) -> None:
        if metric is not None:
            self.row_of[metric] = len(self.rows)
            self.values[metric] = dict(zip(self.periods, map(float, amounts), strict=True))
        self.rows.append((label, amounts))


def _income(t: _Table, rng: random.Random, revenue: list[int]) -> None:
    labels = {k: rng.choice(v) for k, v in INCOME_LABELS.items()}
    cost = [int(r * rng.uniform(0.35, 0.7)) for r in revenue]
    gross = [r - c for r, c in zip(revenue, cost, strict=True)]
    rnd = [int(r * rng.uniform(0.04, 0.12)) for r in revenue]
    sga = [int(r * rng.uniform(0.08, 0.18)) for r in revenue]
    opex = [a + b for a, b in zip(rnd, sga, strict=True)]
    operating = [g - o for g, o in zip(gross, opex, strict=True)]
    other = [int(r * rng.uniform(-0.02, 0.01)) for r in revenue]
    pretax = [o + x for o, x in zip(operating, other, strict=True)]
    tax = [int(p * 0.21) for p in pretax]
    t.add(labels["revenue"], revenue, "revenue")
    t.add(labels["cost_of_revenue"], cost, "cost_of_revenue")
    t.add(labels["gross_profit"], gross, "gross_profit")
    t.add("Research and development", rnd)
    t.add("Selling, general and administrative", sga)
    t.add("Total operating expenses", opex, "operating_expenses")
    t.add(labels["operating_income"], operating, "operating_income")
    t.add("Other income (expense), net", other)
    t.add(labels["pretax_income"], pretax, "pretax_income")
    t.add(labels["income_tax"], tax, "income_tax")
    t.add(labels["net_income"], [p - x for p, x in zip(pretax, tax, strict=True)], "net_income")


def _balance(t: _Table, rng: random.Random, revenue: list[int]) -> None:
    equity_label, total_label = rng.choice(EQUITY_LABELS)
    cash = [int(r * rng.uniform(0.1, 0.3)) for r in revenue]
    receivables = [int(r * rng.uniform(0.08, 0.2)) for r in revenue]
    inventory = [int(r * rng.uniform(0.05, 0.15)) for r in revenue]
    current = [sum(x) for x in zip(cash, receivables, inventory, strict=True)]
    ppe = [int(r * rng.uniform(0.3, 0.8)) for r in revenue]
    goodwill = [int(r * rng.uniform(0.05, 0.2)) for r in revenue]
    assets = [sum(x) for x in zip(current, ppe, goodwill, strict=True)]
    payables = [int(a * rng.uniform(0.06, 0.12)) for a in assets]
    accrued = [int(a * rng.uniform(0.04, 0.08)) for a in assets]
    current_liab = [p + a for p, a in zip(payables, accrued, strict=True)]
    debt = [int(a * rng.uniform(0.15, 0.3)) for a in assets]
    liabilities = [c + d for c, d in zip(current_liab, debt, strict=True)]
    stock = [int(a * 0.1) for a in assets]
    retained = [a - li - s for a, li, s in zip(assets, liabilities, stock, strict=True)]
    equity = [s + r for s, r in zip(stock, retained, strict=True)]
    t.add("Cash and cash equivalents", cash, "cash_and_equivalents")
    t.add("Accounts receivable", receivables)
    t.add("Inventories", inventory)
    t.add("Total current assets", current, "total_current_assets")
    t.add("Property and equipment, net", ppe)
    t.add("Goodwill", goodwill)
    t.add("Total assets", assets, "total_assets")
    t.add("Accounts payable", payables)
    t.add("Accrued liabilities", accrued)
    t.add("Total current liabilities", current_liab, "total_current_liabilities")
    t.add("Long-term debt", debt, "long_term_debt")
    t.add("Total liabilities", liabilities, "total_liabilities")
    t.add("Common stock", stock)
    t.add("Retained earnings", retained)
    t.add(equity_label, equity, "shareholders_equity")
    t.add(
        total_label,
        [li + e for li, e in zip(liabilities, equity, strict=True)],
        "total_liabilities_and_equity",
    )


def _break(t: _Table, kind: str, rng: random.Random) -> dict[str, str]:
    """Change one printed total after the fact; return what breaks."""
    wanted = {
        "identity": ("total_assets", "gross_profit"),
        "subtotal": ("total_current_liabilities", "operating_expenses"),
    }[kind]
    metric = next(m for m in wanted if m in t.values)
    at = rng.randrange(len(t.periods))
    period = t.periods[at]
    label, amounts = t.rows[t.row_of[metric]]
    changed = list(amounts)
    changed[at] += max(int(abs(amounts[at]) * rng.uniform(0.03, 0.08)), 7)
    t.rows[t.row_of[metric]] = (label, changed)
    t.values[metric][period] = float(changed[at])
    return {"kind": kind, "metric": metric, "period": period}


@dataclass
class Statement:
    csv: str
    gold: dict[str, Any]


def make_statement(rng: random.Random, n: int) -> Statement:
    """Statement ``n``: income statement, balance sheet or both in one table (by ``n % 3``)."""
    kind = ("income_statement", "balance_sheet", "combined")[n % 3]
    periods = list(rng.choice(PERIODS))
    if rng.random() < 0.25:
        periods.reverse()  # oldest first
    base = rng.randint(5_000, 900_000)
    revenue = [int(base * rng.uniform(0.85, 1.15)) for _ in periods]
    table = _Table(periods)
    if kind != "balance_sheet":
        _income(table, rng, revenue)
    if kind != "income_statement":
        _balance(table, rng, revenue)
    broken = _break(table, BREAKS[n], rng) if n in BREAKS else None
    note, scale = SCALES[n % len(SCALES)]
    company = rng.choice(COMPANIES)
    title = {
        "income_statement": "Consolidated statement of operations",
        "balance_sheet": "Consolidated balance sheet",
        "combined": "Financial highlights",
    }[kind]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([f"{company} - {title}"])
    if note:
        writer.writerow([note])
    style = rng.randrange(2)
    writer.writerow([rng.choice(["Line item", "Item", "Account"]), *periods])
    for label, amounts in table.rows:
        writer.writerow([label, *(_fmt(a, rng, style) for a in amounts)])
    gold = {
        "statement": kind,
        "scale": scale,
        "periods": periods,
        "values": table.values,
        "identity_break": broken is not None,
    }
    if broken:
        gold["break"] = broken
    return Statement(out.getvalue(), gold)


def amount(text: str) -> float:
    """A cell's number (the gold is stored as numbers in the table's units)."""
    from structkit.tasks.financials import parse_amount

    value = parse_amount(text)
    assert value is not None, text
    return float(value)


def synthetic_financial_rows(out: Path) -> list[dict[str, Any]]:
    """28 synthetic statements (6 broken): the identity-break checks."""
    from structkit.adapters import load
    from structkit.tasks.financials import check_table

    rng = random.Random(20240602)
    folder = out / "financials"
    folder.mkdir(parents=True, exist_ok=True)
    rows: list[dict[str, Any]] = []
    for n in range(28):
        statement = make_statement(rng, n)
        name = f"statement-{n + 1:02d}.csv"
        (folder / name).write_text(statement.csv, encoding="utf-8", newline="\n")
        flags = check_table(load(folder / name))
        # Self-check: the deterministic pass agrees with the construction.
        assert bool(flags) == statement.gold["identity_break"], (name, flags)
        rows.append({"id": name[:-4], "input": f"financials/{name}", "gold": statement.gold})
    return rows


def financial_rows(out: Path) -> list[dict[str, Any]]:
    """Real filings: the two Apple samples, 12 statements of 4 filers exported from their SEC
    XBRL filings (edgartools), an XBRL instance and an inline XBRL document."""
    folder = out / "financials"
    folder.mkdir(parents=True, exist_ok=True)
    rows: list[dict[str, Any]] = []
    apple = json.loads((FIX / "finance" / "apple_gold.json").read_text(encoding="utf-8"))
    for name, gold in apple["files"].items():
        shutil.copyfile(FIX / name, folder / name)
        values: dict[str, dict[str, float]] = {}
        for item in gold["items"]:
            values.setdefault(item["metric"], {})[item["period"]] = amount(item["value"])
        rows.append(
            {
                "id": name.removesuffix(".csv"),
                "input": f"financials/{name}",
                "gold": {
                    "statement": gold["statement"],
                    "scale": gold["scale"],
                    "periods": gold["periods"],
                    "values": values,
                    "identity_break": False,
                },
            }
        )
    filings = FIX / "finance" / "filings"
    for row in json.loads((filings / "gold.json").read_text(encoding="utf-8")):
        shutil.copyfile(filings / row["input"], folder / row["input"])
        rows.append({**row, "input": f"financials/{row['input']}"})
    return rows
