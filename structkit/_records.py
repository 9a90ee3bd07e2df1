"""Loading a user's record argument into a Python value, with a stable id for errors and output."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from ._errors import RecordParseError
from ._validate import strict_json_loads

__all__ = ["load_record"]

_MAX_FILE_BYTES = 50 * 1024 * 1024


def load_record(source: Any, *, record_id: str) -> tuple[str, Any]:
    """Return (record_id, value). Paths are read as JSON; dicts and lists pass through.

    Raises:
        RecordParseError: the file is missing, too large, or not strict JSON.
    """
    if isinstance(source, (str, os.PathLike)):
        path = Path(source)
        if not path.is_file():
            raise RecordParseError("no such file", record_id=str(source))
        if path.stat().st_size > _MAX_FILE_BYTES:
            raise RecordParseError(
                f"file is larger than {_MAX_FILE_BYTES} bytes", record_id=path.name
            )
        try:
            return path.name, strict_json_loads(path.read_text(encoding="utf-8"))
        except (ValueError, UnicodeDecodeError) as exc:
            # The message of JSONDecodeError holds a position, not content: safe to show.
            raise RecordParseError(f"not valid JSON: {exc}", record_id=path.name) from None
    if isinstance(source, (dict, list)):
        return record_id, source
    raise RecordParseError(f"unsupported record type {type(source).__name__}", record_id=record_id)
