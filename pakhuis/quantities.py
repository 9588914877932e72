"""The closed quantity vocabulary: every value pakhuis stores is one of these, in its unit.

Ids are stable small integers (they are stored in the database's `quantities` table); never
renumber a quantity, only add new ones.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass


class SensorKind(enum.StrEnum):
    AIR = "air"
    DRAIN = "drain"
    BRIDGE = "bridge"
    OTHER = "other"


class Quantity(enum.StrEnum):
    NO2 = "no2"
    PM10 = "pm10"
    PM25 = "pm25"
    TEMPERATURE = "temperature"
    HUMIDITY = "humidity"
    FILL_LEVEL = "fill_level"
    SLUDGE_DEPTH = "sludge_depth"
    WATER_LEVEL = "water_level"
    BRIDGE_STATE = "bridge_state"
    DECK_ANGLE = "deck_angle"
    VESSEL_PASSAGE = "vessel_passage"
    BATTERY = "battery"


@dataclass(frozen=True, slots=True)
class QuantitySpec:
    """What a quantity means: canonical unit, plausible range (inclusive) and sensor kind."""

    quantity: Quantity
    id: int
    unit: str
    description: str
    minimum: float
    maximum: float
    kind: SensorKind
    integral: bool = False

    def plausible(self, value: float) -> bool:
        return self.minimum <= value <= self.maximum


# Plausible ranges are physical or instrumental limits, not alert thresholds: a value outside
# them is a broken sensor or a unit mix-up, so it is dead-lettered rather than stored.
QUANTITIES: dict[Quantity, QuantitySpec] = {
    spec.quantity: spec
    for spec in (
        QuantitySpec(Quantity.NO2, 1, "µg/m³", "nitrogen dioxide concentration", 0.0, 2000.0, SensorKind.AIR),
        QuantitySpec(Quantity.PM10, 2, "µg/m³", "particulate matter < 10 µm", 0.0, 2000.0, SensorKind.AIR),
        QuantitySpec(Quantity.PM25, 3, "µg/m³", "particulate matter < 2.5 µm", 0.0, 2000.0, SensorKind.AIR),
        QuantitySpec(Quantity.TEMPERATURE, 4, "°C", "air temperature", -50.0, 60.0, SensorKind.AIR),
        QuantitySpec(Quantity.HUMIDITY, 5, "%", "relative humidity", 0.0, 100.0, SensorKind.AIR),
        QuantitySpec(Quantity.FILL_LEVEL, 6, "%", "drain sump fill level", 0.0, 100.0, SensorKind.DRAIN),
        QuantitySpec(
            Quantity.SLUDGE_DEPTH, 7, "mm", "sludge depth in the sump", 0.0, 2000.0, SensorKind.DRAIN
        ),
        QuantitySpec(
            Quantity.WATER_LEVEL, 8, "mm", "water level in the drain", 0.0, 5000.0, SensorKind.DRAIN
        ),
        QuantitySpec(
            Quantity.BRIDGE_STATE,
            9,
            "state",
            "0 closed, 1 opening, 2 open, 3 closing",
            0.0,
            3.0,
            SensorKind.BRIDGE,
            integral=True,
        ),
        QuantitySpec(Quantity.DECK_ANGLE, 10, "°", "bridge deck angle", -5.0, 90.0, SensorKind.BRIDGE),
        QuantitySpec(
            Quantity.VESSEL_PASSAGE,
            11,
            "count",
            "vessels passed",
            0.0,
            1000.0,
            SensorKind.BRIDGE,
            integral=True,
        ),
        QuantitySpec(Quantity.BATTERY, 12, "V", "battery voltage", 0.0, 60.0, SensorKind.OTHER),
    )
}


def spec(quantity: Quantity) -> QuantitySpec:
    return QUANTITIES[quantity]


def parse_quantity(name: str) -> Quantity | None:
    """The quantity for a name, case-insensitive; None when it is not in the vocabulary."""
    try:
        return Quantity(name.strip().lower())
    except ValueError:
        return None
