"""XBRL concept -> canonical metric: one table for us-gaap, ifrs-full and the UK FRS 102 taxonomy.

A tagged filing names each fact's concept outright, so placing it needs no model: the concept is
looked up here. Concepts are written ``family:LocalName`` with the family taken from the
taxonomy's namespace (see :func:`structkit.adapters._xbrl.concept_family`), not from the
document's own prefix, which filers choose freely. When several concepts of one metric are
present (``Revenues`` and ``RevenueFromContractWithCustomerExcludingAssessedTax``), the earlier
one in the tuple wins (see :func:`preferred`).
"""

from __future__ import annotations

__all__ = ["CONCEPTS", "concept_metric", "preferred"]

CONCEPTS: dict[str, tuple[str, ...]] = {
    "revenue": (
        "us-gaap:Revenues",
        "us-gaap:RevenueFromContractWithCustomerExcludingAssessedTax",
        "us-gaap:RevenueFromContractWithCustomerIncludingAssessedTax",
        "us-gaap:SalesRevenueNet",
        "us-gaap:SalesRevenueGoodsNet",
        "ifrs-full:Revenue",
        "ifrs-full:RevenueFromContractsWithCustomers",
        "core:TurnoverRevenue",
        "uk-gaap:TurnoverGrossOperatingRevenue",
    ),
    "cost_of_revenue": (
        "us-gaap:CostOfRevenue",
        "us-gaap:CostOfGoodsAndServicesSold",
        "us-gaap:CostOfGoodsSold",
        "ifrs-full:CostOfSales",
        "core:CostSales",
        "uk-gaap:CostSales",
    ),
    "gross_profit": (
        "us-gaap:GrossProfit",
        "ifrs-full:GrossProfit",
        "core:GrossProfitLoss",
        "uk-gaap:GrossProfitLoss",
    ),
    "operating_expenses": (
        "us-gaap:OperatingExpenses",
        "us-gaap:CostsAndExpenses",
        "us-gaap:OperatingCostsAndExpenses",
    ),
    "operating_income": (
        "us-gaap:OperatingIncomeLoss",
        "ifrs-full:ProfitLossFromOperatingActivities",
        "core:OperatingProfitLoss",
        "uk-gaap:OperatingProfitLoss",
    ),
    "pretax_income": (
        "us-gaap:IncomeLossFromContinuingOperationsBeforeIncomeTaxesExtraordinaryItemsNoncontrollingInterest",
        "us-gaap:IncomeLossFromContinuingOperationsBeforeIncomeTaxesMinorityInterestAndIncomeLossFromEquityMethodInvestments",
        "us-gaap:IncomeLossFromContinuingOperationsBeforeIncomeTaxesDomestic",
        "ifrs-full:ProfitLossBeforeTax",
        "core:ProfitLossOnOrdinaryActivitiesBeforeTax",
        "uk-gaap:ProfitLossOnOrdinaryActivitiesBeforeTax",
    ),
    "income_tax": (
        "us-gaap:IncomeTaxExpenseBenefit",
        "ifrs-full:IncomeTaxExpenseContinuingOperations",
        "core:TaxTaxCreditOnProfitOrLossOnOrdinaryActivities",
        "uk-gaap:TaxOnProfitOrLossOnOrdinaryActivities",
    ),
    "net_income": (
        "us-gaap:NetIncomeLoss",
        "us-gaap:ProfitLoss",
        "us-gaap:NetIncomeLossAvailableToCommonStockholdersBasic",
        "ifrs-full:ProfitLossAttributableToOwnersOfParent",
        "ifrs-full:ProfitLoss",
        "core:ProfitLoss",
        "uk-gaap:ProfitLossForPeriod",
    ),
    "eps_basic": (
        "us-gaap:EarningsPerShareBasic",
        "us-gaap:EarningsPerShareBasicAndDiluted",
        "ifrs-full:BasicEarningsLossPerShare",
    ),
    "eps_diluted": (
        "us-gaap:EarningsPerShareDiluted",
        "ifrs-full:DilutedEarningsLossPerShare",
    ),
    "shares_basic": (
        "us-gaap:WeightedAverageNumberOfSharesOutstandingBasic",
        "ifrs-full:WeightedAverageShares",
    ),
    "shares_diluted": (
        "us-gaap:WeightedAverageNumberOfDilutedSharesOutstanding",
        "ifrs-full:AdjustedWeightedAverageShares",
    ),
    "cash_and_equivalents": (
        "us-gaap:CashAndCashEquivalentsAtCarryingValue",
        "us-gaap:Cash",
        "ifrs-full:CashAndCashEquivalents",
        "core:CashBankOnHand",
        "uk-gaap:CashBankInHand",
    ),
    "total_current_assets": (
        "us-gaap:AssetsCurrent",
        "ifrs-full:CurrentAssets",
        "core:CurrentAssets",
        "uk-gaap:CurrentAssets",
    ),
    "total_non_current_assets": ("us-gaap:AssetsNoncurrent", "ifrs-full:NoncurrentAssets"),
    "total_assets": ("us-gaap:Assets", "ifrs-full:Assets"),
    "total_current_liabilities": (
        "us-gaap:LiabilitiesCurrent",
        "ifrs-full:CurrentLiabilities",
    ),
    "total_non_current_liabilities": (
        "us-gaap:LiabilitiesNoncurrent",
        "ifrs-full:NoncurrentLiabilities",
    ),
    "total_liabilities": ("us-gaap:Liabilities", "ifrs-full:Liabilities"),
    "long_term_debt": (
        "us-gaap:LongTermDebtNoncurrent",
        "us-gaap:LongTermDebtAndCapitalLeaseObligations",
        "ifrs-full:NoncurrentPortionOfNoncurrentBorrowings",
        "ifrs-full:LongtermBorrowings",
    ),
    "shareholders_equity": (
        "us-gaap:StockholdersEquity",
        "us-gaap:StockholdersEquityIncludingPortionAttributableToNoncontrollingInterest",
        "ifrs-full:EquityAttributableToOwnersOfParent",
        "ifrs-full:Equity",
        "core:Equity",
        "uk-gaap:ShareholderFunds",
    ),
    "total_liabilities_and_equity": (
        "us-gaap:LiabilitiesAndStockholdersEquity",
        "ifrs-full:EquityAndLiabilities",
    ),
    "noncontrolling_interest": ("us-gaap:MinorityInterest", "ifrs-full:NoncontrollingInterests"),
    "temporary_equity": (
        "us-gaap:TemporaryEquityCarryingAmountIncludingPortionAttributableToNoncontrollingInterests",
        "us-gaap:TemporaryEquityCarryingAmountAttributableToParent",
        "us-gaap:RedeemableNoncontrollingInterestEquityCarryingAmount",
    ),
    "operating_cash_flow": (
        "us-gaap:NetCashProvidedByUsedInOperatingActivities",
        "us-gaap:NetCashProvidedByUsedInOperatingActivitiesContinuingOperations",
        "ifrs-full:CashFlowsFromUsedInOperatingActivities",
        "core:NetCashFlowsFromUsedInOperatingActivities",
    ),
    "investing_cash_flow": (
        "us-gaap:NetCashProvidedByUsedInInvestingActivities",
        "us-gaap:NetCashProvidedByUsedInInvestingActivitiesContinuingOperations",
        "ifrs-full:CashFlowsFromUsedInInvestingActivities",
        "core:NetCashFlowsFromUsedInInvestingActivities",
    ),
    "financing_cash_flow": (
        "us-gaap:NetCashProvidedByUsedInFinancingActivities",
        "us-gaap:NetCashProvidedByUsedInFinancingActivitiesContinuingOperations",
        "ifrs-full:CashFlowsFromUsedInFinancingActivities",
        "core:NetCashFlowsFromUsedInFinancingActivities",
    ),
    "capital_expenditures": (
        "us-gaap:PaymentsToAcquirePropertyPlantAndEquipment",
        "us-gaap:PaymentsToAcquireProductiveAssets",
        "ifrs-full:PurchaseOfPropertyPlantAndEquipmentClassifiedAsInvestingActivities",
        "core:PurchasePropertyPlantEquipment",
    ),
    "depreciation_amortization": (
        "us-gaap:DepreciationDepletionAndAmortization",
        "us-gaap:DepreciationAndAmortization",
        "us-gaap:DepreciationAmortizationAndAccretionNet",
        "ifrs-full:DepreciationAndAmortisationExpense",
    ),
    "dividends_paid": (
        "us-gaap:PaymentsOfDividends",
        "us-gaap:PaymentsOfDividendsCommonStock",
        "ifrs-full:DividendsPaidClassifiedAsFinancingActivities",
        "core:DividendsPaidClassifiedAsFinancingActivities",
    ),
    "share_repurchases": (
        "us-gaap:PaymentsForRepurchaseOfCommonStock",
        "ifrs-full:PaymentsToAcquireOrRedeemEntitysShares",
    ),
    "fx_effect_on_cash": (
        "us-gaap:EffectOfExchangeRateOnCashCashEquivalentsRestrictedCashAndRestrictedCashEquivalents",
        "us-gaap:EffectOfExchangeRateOnCashCashEquivalentsRestrictedCashAndRestrictedCashEquivalentsIncludingDisposalGroupAndDiscontinuedOperations",
        "us-gaap:EffectOfExchangeRateOnCashAndCashEquivalents",
        "ifrs-full:EffectOfExchangeRateChangesOnCashAndCashEquivalents",
    ),
    "net_change_in_cash": (
        "us-gaap:CashCashEquivalentsRestrictedCashAndRestrictedCashEquivalentsPeriodIncreaseDecreaseIncludingExchangeRateEffect",
        "us-gaap:CashAndCashEquivalentsPeriodIncreaseDecrease",
        "ifrs-full:IncreaseDecreaseInCashAndCashEquivalents",
        "core:IncreaseDecreaseInCashCashEquivalents",
    ),
}

_BY_CONCEPT: dict[str, tuple[str, int]] = {
    concept: (metric, rank)
    for metric, concepts in CONCEPTS.items()
    for rank, concept in enumerate(concepts)
}


def concept_metric(concept: str) -> str | None:
    """The canonical metric of a ``family:LocalName`` concept, or None."""
    found = _BY_CONCEPT.get(concept)
    return None if found is None else found[0]


def preferred(concept: str) -> int:
    """Rank of a concept within its metric (0 = first choice); large when unknown."""
    found = _BY_CONCEPT.get(concept)
    return 1_000 if found is None else found[1]
