"""Unit conversion to each quantity's canonical unit.

Spellings are normalised (case, µ/u, superscripts) and then looked up; a unit that is not in
the table is refused, never guessed. Factors and their sources:

- NO2 ppb → µg/m³: × 1.9125 (molar mass 46.0055 g/mol, molar volume 24.055 l at 20 °C and
  101.3 kPa, the reference conditions of EU directive 2008/50/EC); ppm → × 1912.5.
- °F → °C: (F − 32) × 5/9; K → °C: K − 273.15.
- fill fraction 0–1 → %: × 100.
- mV → V: / 1000.
"""

from __future__ import annotations

from collections.abc import Callable

from pakhuis.quantities import QUANTITIES, Quantity

NO2_PPB_TO_UGM3 = 1.9125

Converter = Callable[[float], float]


def _identity(value: float) -> float:
    return value


def _scale(factor: float) -> Converter:
    def convert(value: float) -> float:
        return value * factor

    return convert


def normalise_unit(unit: str) -> str:
    text = unit.strip().lower().replace(" ", "")
    for old, new in (("μ", "u"), ("µ", "u"), ("³", "3"), ("°", "deg"), ("^", ""), ("**", "")):
        text = text.replace(old, new)
    return text


_MASS_CONCENTRATION = {"ug/m3": _identity, "ugm-3": _identity, "ug.m-3": _identity, "mg/m3": _scale(1000.0)}
_PERCENT = {"%": _identity, "percent": _identity, "pct": _identity}

CONVERSIONS: dict[Quantity, dict[str, Converter]] = {
    Quantity.NO2: {
        **_MASS_CONCENTRATION,
        "ppb": _scale(NO2_PPB_TO_UGM3),
        "ppm": _scale(NO2_PPB_TO_UGM3 * 1000.0),
    },
    Quantity.PM10: dict(_MASS_CONCENTRATION),
    Quantity.PM25: dict(_MASS_CONCENTRATION),
    Quantity.TEMPERATURE: {
        "degc": _identity,
        "c": _identity,
        "cel": _identity,
        "celsius": _identity,
        "degf": lambda f: (f - 32.0) * 5.0 / 9.0,
        "f": lambda f: (f - 32.0) * 5.0 / 9.0,
        "k": lambda k: k - 273.15,
        "kelvin": lambda k: k - 273.15,
    },
    Quantity.HUMIDITY: {**_PERCENT, "%rh": _identity, "rh": _identity},
    Quantity.FILL_LEVEL: {**_PERCENT, "/": _scale(100.0), "fraction": _scale(100.0), "ratio": _scale(100.0)},
    Quantity.SLUDGE_DEPTH: {"mm": _identity, "cm": _scale(10.0), "m": _scale(1000.0)},
    Quantity.WATER_LEVEL: {"mm": _identity, "cm": _scale(10.0), "m": _scale(1000.0)},
    Quantity.BRIDGE_STATE: {"state": _identity, "": _identity, "1": _identity},
    Quantity.DECK_ANGLE: {"deg": _identity, "degree": _identity, "degrees": _identity},
    Quantity.VESSEL_PASSAGE: {"count": _identity, "1": _identity, "": _identity},
    Quantity.BATTERY: {"v": _identity, "volt": _identity, "mv": _scale(0.001)},
}


class UnknownUnit(ValueError):
    pass


def to_canonical(quantity: Quantity, value: float, unit: str | None) -> float:
    """The value in the quantity's canonical unit; `None` means it already is."""
    if unit is None:
        return value
    table = CONVERSIONS[quantity]
    key = normalise_unit(unit)
    if key == normalise_unit(QUANTITIES[quantity].unit):
        return value
    convert = table.get(key)
    if convert is None:
        known = ", ".join(sorted(k for k in table if k))
        raise UnknownUnit(
            f"unit {unit!r} is not known for {quantity.value} (canonical "
            f"{QUANTITIES[quantity].unit}; accepted: {known})"
        )
    return convert(value)
