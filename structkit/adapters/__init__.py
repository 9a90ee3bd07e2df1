"""Input adapters: turn JSON/FHIR, XML/C-CDA, CSV, DataFrames and Markdown tables into records.

Adapters never import an engine: token budgets take a ``count_tokens`` callable
(``structkit.token_counter()`` builds one from a model's tokenizer).
"""

from .._lazy import lazy_attributes
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
    "from_dataframe",
    "iter_csv_records",
    "iter_jsonl",
    "load",
    "parse_json",
    "read_csv",
    "read_markdown_table",
    "render",
]

# The table readers import pandas: loaded on first use, so `import structkit` stays light.
__getattr__ = lazy_attributes(
    __name__,
    {
        name: "._table"
        for name in ("from_dataframe", "iter_csv_records", "read_csv", "read_markdown_table")
    },
)
