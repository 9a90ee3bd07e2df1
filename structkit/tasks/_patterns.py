"""Tables of case-insensitive regular expressions, written as text and compiled once."""

from __future__ import annotations

import re
from collections.abc import Mapping

__all__ = ["compiled"]


def compiled(patterns: Mapping[str, str]) -> dict[str, re.Pattern[str]]:
    """Each pattern of a ``{name: regular expression}`` table compiled, case-insensitive."""
    return {name: re.compile(pattern, re.IGNORECASE) for name, pattern in patterns.items()}
