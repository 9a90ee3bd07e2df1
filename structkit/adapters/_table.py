"""Tables: pandas DataFrames, CSV files (incl. financial statements) and Markdown pipe tables.

Every table becomes a :class:`Section` with ``columns`` and ``rows`` of :class:`Value`; a cell's
pointer is ``row=<n>;col=<name>`` with ``n`` the 1-based data row of the source (blank lines and
the header are not data rows), so ``pointer -> cell`` works on the original file.

CSV is read with the standard :mod:`csv` module rather than ``pandas.read_csv`` because the job
is to keep the user's text exactly and to refuse what is malformed, and pandas works against both:
it turns "NA"/"None"/"null" into NaN and "00123" into 123 unless told otherwise, silently renames
duplicate headers to ``id.1``, pads short rows with NaN, may silently move a column into the
index when every row is one field too long, and stops the whole read on one bad line. The csv
module hands back strings only, reports each row with the lines it came from, and keeps going
after a bad row, which is what :func:`iter_csv_records` needs for batch jobs.

Financial statements (line items in the first column, periods in the others) get their units in
``Record.meta``: ``{"currency": "USD", "scale": "millions"}`` from the ``currency=``/``scale=``
arguments, else from a preamble line above the header such as "(in thousands)" or "USD in
millions, except per share", else from the header cells. Numbers stay text: "(565)" and "-565"
are kept as written; scale is stated, never applied.
"""

from __future__ import annotations

# The table adapter is split by concern; this module keeps the names importable from one place.
from ._cells import DTYPES, KIND, MAX_BYTES, SCALES, cell_pointer, parse_pointer
from ._csv import read_csv
from ._csv_batches import iter_csv_records
from ._dataframe import from_dataframe, to_dataframe
from ._markdown import read_markdown_table

__all__ = [
    "DTYPES",
    "KIND",
    "MAX_BYTES",
    "SCALES",
    "cell_pointer",
    "from_dataframe",
    "iter_csv_records",
    "parse_pointer",
    "read_csv",
    "read_markdown_table",
    "to_dataframe",
]
