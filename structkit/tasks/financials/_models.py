"""The financials task's output models: line items, ratios, growth, flags and their limits.

Used by :mod:`structkit.tasks.financials` (which re-exports the public names).
"""

from __future__ import annotations

from typing import Annotated, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, StringConstraints
from pydantic.json_schema import SkipJsonSchema

from ._statement import _norm

__all__ = [
    "MAX_LABEL_CHARS",
    "MAX_LINE_ITEMS",
    "MAX_NARRATIVE_CHARS",
    "MAX_PERIOD_CHARS",
    "MAX_VALUE_CHARS",
    "METRICS",
    "Financials",
    "Flag",
    "FlagKind",
    "Growth",
    "LineItem",
    "MappedBy",
    "Metric",
    "PeriodCashFlow",
    "PeriodRatios",
]

Metric = Literal[
    "revenue",
    "cost_of_revenue",
    "gross_profit",
    "operating_expenses",
    "operating_income",
    "pretax_income",
    "income_tax",
    "net_income",
    "eps_basic",
    "eps_diluted",
    "cash_and_equivalents",
    "total_current_assets",
    "total_assets",
    "total_current_liabilities",
    "total_liabilities",
    "long_term_debt",
    "shareholders_equity",
    "total_liabilities_and_equity",
    "operating_cash_flow",
    "capital_expenditures",
    "total_non_current_assets",
    "total_non_current_liabilities",
    "shares_basic",
    "shares_diluted",
    "investing_cash_flow",
    "financing_cash_flow",
    "depreciation_amortization",
    "dividends_paid",
    "share_repurchases",
    "fx_effect_on_cash",
    "net_change_in_cash",
    "noncontrolling_interest",
    "temporary_equity",
]
METRICS: tuple[str, ...] = get_args(Metric)

MAX_LABEL_CHARS = 160
MAX_PERIOD_CHARS = 80
MAX_VALUE_CHARS = 40
MAX_LINE_ITEMS = 48  # a combined 3-period statement; small models fill lists to the cap
#: Items code places (every tagged fact of an XBRL filing is one) are not decoded: a higher cap.
MAX_PLACED_ITEMS = 5000
MAX_NARRATIVE_CHARS = 400


# --------------------------------------------------------------------------- models

MappedBy = Literal["xbrl", "lexicon", "model"]


class LineItem(BaseModel):
    """One canonical metric for one period, as found in the table."""

    model_config = ConfigDict(extra="forbid")

    metric: Metric = Field(description="The canonical metric.")
    source_label: Annotated[str, StringConstraints(min_length=1, max_length=MAX_LABEL_CHARS)] = (
        Field(description="The row label exactly as written in the table.")
    )
    period: Annotated[str, StringConstraints(min_length=1, max_length=MAX_PERIOD_CHARS)] = Field(
        description="The period column header exactly as written."
    )
    value: Annotated[str, StringConstraints(min_length=1, max_length=MAX_VALUE_CHARS)] = Field(
        description="The cell text exactly as written, e.g. '383,285' or '(565)'."
    )
    # Filled in code by verify_financials; not part of the decoding schema.
    grounded: SkipJsonSchema[bool] = False
    """True when the (source_label, period) cell exists and holds ``value``."""
    pointer: SkipJsonSchema[str | None] = None
    """The cell's pointer, ``row=<n>;col=<period>``."""
    section: SkipJsonSchema[str | None] = None
    """Title of the table the cell is in (records combining several statements)."""
    amount: SkipJsonSchema[float | None] = None
    """The cell's number in the table's units (see ``Financials.scale``)."""
    mapped_by: SkipJsonSchema[MappedBy] = "model"
    """Who placed the row: ``xbrl`` (the fact's concept), ``lexicon`` (its label) or ``model``."""


class PeriodRatios(BaseModel):
    """Ratios for one period, from grounded amounts; ``None`` when an input is missing."""

    model_config = ConfigDict(extra="forbid")

    period: str
    gross_margin: float | None = None
    operating_margin: float | None = None
    net_margin: float | None = None
    current_ratio: float | None = None
    debt_to_equity: float | None = None
    """Total liabilities / shareholders' equity."""
    return_on_assets: float | None = None
    """Net income / total assets (same period, end-of-period assets)."""
    return_on_equity: float | None = None
    """Net income / shareholders' equity (same period)."""


class PeriodCashFlow(BaseModel):
    """Cash-flow measures of one period, computed in code from grounded amounts."""

    model_config = ConfigDict(extra="forbid")

    period: str
    free_cash_flow: float | None = None
    """Operating cash flow minus capital expenditures (capex counted as a payment)."""
    cash_conversion: float | None = None
    """Operating cash flow / net income; ``None`` when net income is missing or zero."""


class Growth(BaseModel):
    """Change of a metric from one period to the next (0.05 = +5 %)."""

    model_config = ConfigDict(extra="forbid")

    metric: str
    period: str
    previous_period: str
    value: float | None
    """``(current - previous) / |previous|``; ``None`` when the previous amount is zero."""


FlagKind = Literal["ungrounded", "conflict", "identity", "subtotal", "disagreement", "period_order"]


class Flag(BaseModel):
    """Something a reader of the numbers should know about."""

    model_config = ConfigDict(extra="forbid")

    kind: FlagKind
    source: Literal["model", "table"]
    """``model``: about the model's line items; ``table``: found by the deterministic pass."""
    message: str
    period: str | None = None
    check: str | None = None
    """The identity, e.g. ``total_assets = total_liabilities + shareholders_equity``."""
    expected: float | None = None
    """What the right-hand side adds up to."""
    actual: float | None = None
    """What the table says."""
    pointers: list[str] = Field(default_factory=list)


class Financials(BaseModel):
    """The model's mapping of a statement to canonical metrics, plus what code derives from it.

    Only ``statement``, ``line_items`` (metric, source_label, period, value) and ``narrative``
    are decoded; everything else is filled by :func:`verify_financials`.
    """

    model_config = ConfigDict(extra="forbid")

    statement: Literal[
        "income_statement", "balance_sheet", "cash_flow_statement", "combined", "other"
    ] = Field(description="Which statement the table is.")
    line_items: list[LineItem] = Field(
        max_length=MAX_PLACED_ITEMS,
        description="One item per canonical metric and period found in the table.",
    )
    narrative: Annotated[str, StringConstraints(max_length=MAX_NARRATIVE_CHARS)] = Field(
        description="Two sentences on what the statement shows; no computed numbers."
    )
    # Filled in code by verify_financials; not part of the decoding schema.
    currency: SkipJsonSchema[str | None] = None
    scale: SkipJsonSchema[str | None] = None
    """``units``, ``thousands``, ``millions`` or ``billions``: amounts are in these."""
    periods: SkipJsonSchema[list[str]] = Field(default_factory=list)
    """The table's period columns, oldest first when their headers are dates."""
    ratios: SkipJsonSchema[list[PeriodRatios]] = Field(default_factory=list)
    growth: SkipJsonSchema[list[Growth]] = Field(default_factory=list)
    flags: SkipJsonSchema[list[Flag]] = Field(default_factory=list)
    cash_flow: SkipJsonSchema[list[PeriodCashFlow]] = Field(default_factory=list)
    model_questions: SkipJsonSchema[int] = 0
    """Questions sent to the model for this statement; 0 means the model was not called."""
    unmapped_rows: SkipJsonSchema[list[str]] = Field(default_factory=list)
    """Labels of the rows with numbers that no metric was given to."""

    def value_of(self, metric: str, period: str) -> float | None:
        """The grounded amount of ``metric`` in ``period`` (first grounded item), else None."""
        for item in self.line_items:
            if item.grounded and item.metric == metric and _norm(item.period) == _norm(period):
                return item.amount
        return None

    def ratios_for(self, period: str) -> PeriodRatios | None:
        """The ratios of one period."""
        return next((r for r in self.ratios if r.period == period), None)
