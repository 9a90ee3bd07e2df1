"""Reading results back, and exporting them to CSV/Parquet safely (no formula injection)."""

from __future__ import annotations

import importlib.util
import json
import os
import re
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .._errors import (
    ConfigurationError,
)

if TYPE_CHECKING:  # pandas and numpy load when a job needs them, not with `import structkit`
    import pandas as pd

from ._common import Line


def read_results(output: str | os.PathLike[str]) -> dict[str, Line]:
    """The final line per id of a batch output (the last line per id wins), in first-seen order.

    A partial last line (a crashed run) is ignored.
    """
    results: dict[str, Line] = {}
    with open(output, "rb") as handle:
        for raw in handle:
            if raw.endswith(b"\n") and raw.strip():
                line = json.loads(raw)
                results[line["id"]] = line
    return results


def _flatten(value: Any, prefix: str, out: dict[str, Any]) -> dict[str, Any]:
    if isinstance(value, dict) and value:
        for key, child in value.items():
            _flatten(child, f"{prefix}.{key}" if prefix else str(key), out)
    elif isinstance(value, (list, dict)):
        out[prefix] = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    else:
        out[prefix] = value
    return out


def results_frame(output: str | os.PathLike[str]) -> pd.DataFrame:
    """The final results as a DataFrame of one row per id: nested fields become dotted columns
    (``result.summary``, ``error.type``), lists JSON text."""
    rows = [
        _flatten({k: v for k, v in line.items() if v is not None}, "", {})
        for line in read_results(output).values()
    ]
    import pandas as pd

    frame = pd.DataFrame(rows, dtype=object)
    head = [c for c in _HEAD if c in frame.columns]
    return frame[head + [c for c in frame.columns if c not in head]]


_HEAD = ("id", "status", "attempts", "prompt_tokens", "error.type", "error.message")
_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")
#: Cells starting with these are formulas to spreadsheet programs (OWASP: CSV injection).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and value != value)


def _is_number(value: Any) -> bool:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return True
    return isinstance(value, str) and _NUMBER.fullmatch(value) is not None


def _safe_text(value: Any) -> Any:
    if _missing(value):
        return value
    text = value if isinstance(value, str) else str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def neutralize_formulas(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy whose text cells cannot start a spreadsheet formula: ``=1+1`` becomes ``'=1+1``.

    A column whose values all read as numbers stays as it is (``-5`` stays ``-5``); in every
    other column each value is text, and one starting with ``= + - @``, a tab or CR gets a ``'``.
    """
    import pandas as pd

    safe = frame.copy()
    for column in safe.columns:
        values = [v for v in safe[column].tolist() if not _missing(v)]
        if not all(_is_number(v) for v in values):
            safe[column] = safe[column].map(_safe_text)
    safe.columns = pd.Index([_safe_text(str(c)) for c in safe.columns])
    return safe


def _check_export(export: str | os.PathLike[str] | None) -> None:
    """Refuse an export target before the job runs rather than after it."""
    if export is None or export == "dataframe":
        return
    suffix = Path(export).suffix.lower()
    if suffix == ".parquet" and importlib.util.find_spec("pyarrow") is None:
        raise ConfigurationError(
            "exporting to .parquet needs pyarrow (pip install pyarrow); or export to .csv"
        )
    if suffix not in (".csv", ".parquet"):
        raise ConfigurationError(f"cannot export to {Path(export).name!r}: use .csv or .parquet")


def export_results(
    output: str | os.PathLike[str], export: str | os.PathLike[str]
) -> pd.DataFrame | None:
    """Write the final results of ``output`` to a .csv/.parquet file atomically (temp file +
    ``os.replace``), or return them with ``export="dataframe"``."""
    frame = results_frame(output)
    if export == "dataframe":
        return frame.convert_dtypes()
    target = Path(export)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    os.close(fd)
    try:
        if target.suffix.lower() == ".csv":
            neutralize_formulas(frame).to_csv(tmp, index=False)
        else:  # parquet wants one type per column: a column mixing types becomes text
            typed = frame.convert_dtypes()
            for column in typed.select_dtypes(include="object").columns:
                typed[column] = typed[column].map(lambda v: None if _missing(v) else str(v))
            typed.to_parquet(tmp, index=False)
        with open(tmp, "rb") as handle:
            os.fsync(handle.fileno())
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return None
