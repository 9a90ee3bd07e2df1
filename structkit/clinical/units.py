"""Quantities with units: UCUM and record-style unit strings -> pint, converted to a measure's unit.

pint does the arithmetic; this module only translates the unit spellings that clinical records
use (UCUM as in FHIR and C-CDA: ``Cel``, ``mm[Hg]``, ``10*3/uL``, ``[lb_av]``; flat-record
suffixes such as ``_mg_dl`` or ``_bpm``) into pint's. Mass <-> amount conversions (mg/dL <->
mmol/L) are done only for analytes with a fixed molar mass given by the caller (glucose,
creatinine), never guessed.
"""

from __future__ import annotations

import functools
import re
from typing import Any

from .._errors import UnitError

__all__ = ["UnitError", "convert", "pint_unit"]

# UCUM (and common free-text) spellings -> pint expressions. Only spellings seen in FHIR / C-CDA
# vital-sign and lab profiles; anything else is tried as-is by pint.
_UCUM_TO_PINT = {
    "cel": "degC",
    "°c": "degC",
    "c": "degC",
    "degc": "degC",
    "[degf]": "degF",
    "°f": "degF",
    "f": "degF",
    "degf": "degF",
    "mm[hg]": "mmHg",
    "mmhg": "mmHg",
    "/min": "1/min",
    "{beats}/min": "1/min",
    "{breaths}/min": "1/min",
    "bpm": "1/min",
    "beats/min": "1/min",
    "breaths/min": "1/min",
    "%": "percent",
    "percent": "percent",
    "[lb_av]": "lb",
    "lb": "lb",
    "lbs": "lb",
    "[in_i]": "inch",
    "in": "inch",
    "10*3/ul": "1e3/uL",
    "10^3/ul": "1e3/uL",
    "k/ul": "1e3/uL",
    "x10^9/l": "1e9/L",
    "10*9/l": "1e9/L",
    "10^9/l": "1e9/L",
    "10*6/ul": "1e6/uL",
    "10*12/l": "1e12/L",
    "kg/m2": "kg/m**2",
    "kg/m^2": "kg/m**2",
    "meq/l": "mmol/L",  # monovalent ions only (Na, K, Cl, HCO3): the measures that use it
    "ml/min/{1.73_m2}": "mL/min",
    "ml/min/1.73m2": "mL/min",
    "ml/min/1.73 m2": "mL/min",
    "µmol/l": "umol/L",
    "umol/l": "umol/L",
    "mg/dl": "mg/dL",
    "g/dl": "g/dL",
    "ng/ml": "ng/mL",
    "ng/l": "ng/L",
    "mmol/l": "mmol/L",
    "per_l": "1/L",
}


@functools.cache
def _registry() -> Any:
    import pint  # imported lazily: only diagnosis needs it

    return pint.UnitRegistry()


def pint_unit(unit: str) -> str:
    """The pint spelling of a record's unit (UCUM or free text); unknown ones are passed through."""
    key = unit.strip().lower()
    if key in _UCUM_TO_PINT:
        return _UCUM_TO_PINT[key]
    # UCUM annotations in braces ({score}, {cells}) carry no dimension.
    return re.sub(r"\{[^}]*\}", "", unit.strip()) or "dimensionless"


def convert(
    value: float, unit: str, target: str, *, molar_mass_g_per_mol: float | None = None
) -> float:
    """``value`` in ``unit`` expressed in ``target`` (both record spellings are accepted).

    ``molar_mass_g_per_mol`` allows mass concentration <-> amount concentration for one analyte.
    Raises :class:`UnitError` when pint cannot parse a unit or the dimensions do not match.
    """
    source, wanted = pint_unit(unit), pint_unit(target)
    if source == wanted:
        return value
    ureg = _registry()
    try:
        if source in ("degC", "degF"):  # offset units: pint converts them only as plain units
            return float(ureg.Quantity(value, source).to(wanted).magnitude)
        quantity = value * ureg.Quantity(source)
        wanted_quantity = ureg.Quantity(wanted)
        candidates = [quantity]
        if molar_mass_g_per_mol is not None:
            molar_mass = ureg.Quantity(molar_mass_g_per_mol, "g/mol")
            candidates += [quantity * molar_mass, quantity / molar_mass]
        for candidate in candidates:
            if candidate.dimensionality == wanted_quantity.dimensionality:
                return float((candidate / wanted_quantity).to("dimensionless").magnitude)
    except Exception as exc:  # pint raises several unrelated types for bad units
        raise UnitError(f"cannot convert {unit!r} to {target!r}") from exc
    raise UnitError(f"cannot convert {unit!r} to {target!r}: different dimensions")
