"""Input adapters: turn JSON/FHIR, XML/C-CDA, CSV, DataFrames and Markdown tables into records.

Adapters never import an engine: token budgets take a ``count_tokens`` callable
(``structkit.token_counter()`` builds one from a model's tokenizer).
"""

from ._json import iter_jsonl, parse_json
from ._load import KINDS, load
from ._record import Record, Section, Value
from ._render import FORMATS, fit_to_budget, render

__all__ = [
    "FORMATS",
    "KINDS",
    "Record",
    "Section",
    "Value",
    "fit_to_budget",
    "iter_jsonl",
    "load",
    "parse_json",
    "render",
]
