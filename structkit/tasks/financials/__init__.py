"""Financial statement -> canonical line items, verified and analysed in code.

The task (:mod:`._task`), its output models (:mod:`._models`), statement tables
(:mod:`._statement`), the label lexicon (:mod:`._lexicon`), XBRL concepts
(:mod:`._xbrl_concepts`), identities (:mod:`._identities`), analysis (:mod:`._analysis`) and
the questions for open metrics (:mod:`._questions`).
"""

from ._analysis import NotAStatementError
from ._identities import check_table
from ._models import (
    METRICS,
    Financials,
    Flag,
    Growth,
    LineItem,
    Metric,
    PeriodCashFlow,
    PeriodRatios,
)
from ._statement import parse_amount, period_sort_key
from ._task import (
    FINANCIALS,
    MAX_CELL_ALTERNATIVES,
    combine_statements,
    grounded_financials_schema,
    verify_financials,
)

__all__ = [
    "FINANCIALS",
    "MAX_CELL_ALTERNATIVES",
    "METRICS",
    "Financials",
    "Flag",
    "Growth",
    "LineItem",
    "Metric",
    "NotAStatementError",
    "PeriodCashFlow",
    "PeriodRatios",
    "check_table",
    "combine_statements",
    "grounded_financials_schema",
    "parse_amount",
    "period_sort_key",
    "verify_financials",
]
