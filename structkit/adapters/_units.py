"""Units of a financial table: currency and scale from arguments, a preamble line or the header."""

from __future__ import annotations

import re
from collections.abc import Iterable

from .._errors import ConfigurationError
from ._cells import SCALES

_CURRENCY_CODE_RE = re.compile(
    r"\b(USD|EUR|GBP|JPY|CHF|CAD|AUD|NZD|CNY|HKD|SGD|INR|KRW|SEK|NOK|DKK|BRL|MXN|ZAR)\b"
)
_CURRENCY_SIGNS = (
    (re.compile(r"US\$|\bU\.?S\.? dollars?\b", re.IGNORECASE), "USD"),
    (re.compile(r"€"), "EUR"),
    (re.compile(r"£"), "GBP"),
    (re.compile(r"\$"), "USD"),  # a bare "$" is the common US convention; say so in the docs
)
_SCALE_RE = re.compile(
    r"\b(?P<word>thousands?|millions?|billions?)\b"
    r"|(?P<k>\b000'?s\b|'000\b|[$€£]\s?000\b)"
    r"|[$€£]\s?(?P<m>mm|mn|m)\b|[$€£]\s?(?P<b>bn|b)\b",
    re.IGNORECASE,
)
# "except per share amounts", "shares in Thousands, $ in Millions": scale words about shares or
# in an exception clause do not describe the money columns.
_EXCEPT_RE = re.compile(r"\bexcept\b.*", re.IGNORECASE | re.DOTALL)
_SHARES_RE = re.compile(
    r"\bshares?\b[^,;)]*?\bin\s+(?:thousands|millions|billions)\b", re.IGNORECASE
)


def _scale_in(text: str) -> str | None:
    text = _SHARES_RE.sub(" ", _EXCEPT_RE.sub(" ", text))
    match = _SCALE_RE.search(text)
    if match is None:
        return None
    if match.group("word"):
        word = match.group("word").lower()
        return word if word.endswith("s") else word + "s"
    if match.group("k"):
        return "thousands"
    return "millions" if match.group("m") else "billions"


def _currency_in(text: str) -> str | None:
    match = _CURRENCY_CODE_RE.search(text)
    if match:
        return match.group(1)
    for pattern, code in _CURRENCY_SIGNS:
        if pattern.search(text):
            return code
    return None


def _detect_units(texts: Iterable[str]) -> tuple[dict[str, str], list[str]]:
    """Currency and scale from preamble lines and headers: the first mention wins."""
    found: dict[str, str] = {}
    issues: list[str] = []
    for text in texts:
        for key, value in (("currency", _currency_in(text)), ("scale", _scale_in(text))):
            if value is None:
                continue
            if key not in found:
                found[key] = value
            elif found[key] != value:
                issues.append(f"{key}: found both {found[key]} and {value}; using {found[key]}")
    return found, issues


def _units_meta(
    preamble: list[str],
    columns: list[str],
    *,
    currency: str | None,
    scale: str | None,
) -> tuple[dict[str, str], list[str]]:
    found, issues = _detect_units([*preamble, *columns])
    for key, given in (("currency", currency), ("scale", scale)):
        if given and found.get(key, given) != given:
            issues.append(f"{key}: the file says {found[key]}; using the argument {given}")
    meta: dict[str, str] = {}
    chosen_currency = currency or found.get("currency")
    chosen_scale = scale or found.get("scale")
    if chosen_currency:
        meta["currency"] = chosen_currency
    if chosen_scale:
        meta["scale"] = chosen_scale
    if preamble:
        # The model sees the original wording too ("except per share amounts" matters).
        meta["preamble"] = " / ".join(preamble)
    return meta, issues


def _check_units(currency: str | None, scale: str | None) -> None:
    if currency is not None and not re.fullmatch(r"[A-Z]{3}", currency):
        raise ConfigurationError(f"currency must be an ISO 4217 code like 'USD', not {currency!r}")
    if scale is not None and scale not in SCALES:
        raise ConfigurationError(f"scale must be one of {', '.join(SCALES)}, not {scale!r}")
