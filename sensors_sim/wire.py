"""The "native" wire format, written down once for the simulators.

The simulators deliberately do not import the project's own vocabulary or decoders:
if they shared code with `ingest`, a mistake in that code would be made identically on
both sides and no test would notice. So the format is restated here from the design:

* topic ``pakhuis/v1/{tenant}/{sensor}/native``
* payload: a JSON list of ``{"time", "quantity", "value", "unit"}`` objects, one message
  per sensor per tick, holding all of that sensor's quantities at that time.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from datetime import UTC, datetime
from enum import IntEnum
from typing import Final, TypedDict

TOPIC_ROOT: Final = "pakhuis/v1"
NATIVE_FORMAT: Final = "native"
NATIVE_TOPIC_TEMPLATE: Final = TOPIC_ROOT + "/{tenant}/{sensor}/" + NATIVE_FORMAT

NO2: Final = "no2"
TEMPERATURE: Final = "temperature"
HUMIDITY: Final = "humidity"
FILL_LEVEL: Final = "fill_level"
SLUDGE_DEPTH: Final = "sludge_depth"
BRIDGE_STATE: Final = "bridge_state"
DECK_ANGLE: Final = "deck_angle"
VESSEL_PASSAGE: Final = "vessel_passage"
BATTERY: Final = "battery"

#: Canonical unit per quantity; the simulators only ever send canonical units.
UNITS: Final[dict[str, str]] = {
    NO2: "ug/m3",
    TEMPERATURE: "degC",
    HUMIDITY: "%",
    FILL_LEVEL: "%",
    SLUDGE_DEPTH: "mm",
    BRIDGE_STATE: "state",
    DECK_ANGLE: "deg",
    VESSEL_PASSAGE: "count",
    BATTERY: "V",
}

#: Inclusive plausible range per quantity. Emulators clamp to these so that every
#: message they send is one the validator must accept.
RANGES: Final[dict[str, tuple[float, float]]] = {
    NO2: (0.0, 2000.0),
    TEMPERATURE: (-50.0, 60.0),
    HUMIDITY: (0.0, 100.0),
    FILL_LEVEL: (0.0, 100.0),
    SLUDGE_DEPTH: (0.0, 2000.0),
    BRIDGE_STATE: (0.0, 3.0),
    DECK_ANGLE: (-5.0, 90.0),
    VESSEL_PASSAGE: (0.0, 1000.0),
    BATTERY: (0.0, 10.0),
}


class BridgeState(IntEnum):
    """Values of the ``bridge_state`` quantity."""

    CLOSED = 0
    OPENING = 1
    OPEN = 2
    CLOSING = 3


class NativeReading(TypedDict):
    """One object of a native payload (a plain dict at run time)."""

    time: str
    quantity: str
    value: float
    unit: str


def native_topic(tenant: str, sensor: str) -> str:
    """Topic on which `sensor` of `tenant` publishes native payloads."""
    # A '/' or wildcard in an id would silently shift the topic levels the ingest side
    # parses, so refuse it here rather than publish to a topic nobody decodes.
    for name, part in (("tenant", tenant), ("sensor", sensor)):
        if not part or any(ch in part for ch in "/+#"):
            raise ValueError(f"{name} id {part!r} must be non-empty and contain no '/', '+' or '#'")
    return NATIVE_TOPIC_TEMPLATE.format(tenant=tenant, sensor=sensor)


def format_time(t: datetime) -> str:
    """ISO-8601 UTC with a ``Z`` suffix; naive datetimes are refused, not guessed."""
    if t.tzinfo is None or t.utcoffset() is None:
        raise ValueError(f"time {t!r} has no timezone; pass an aware UTC datetime")
    return t.astimezone(UTC).isoformat().replace("+00:00", "Z")


def clamp_to_range(quantity: str, value: float) -> float:
    """Clamp `value` into the plausible range of `quantity`."""
    low, high = RANGES[quantity]
    return min(max(value, low), high)


def make_reading(t: datetime, quantity: str, value: float) -> NativeReading:
    """Build one reading in the canonical unit, checking it is finite and in range."""
    v = float(value)
    low, high = RANGES[quantity]
    if not math.isfinite(v) or not low <= v <= high:
        # An emulator bug, not a simulated fault: fail loudly instead of sending it.
        raise ValueError(f"{quantity}={v!r} outside plausible range [{low}, {high}]")
    return {"time": format_time(t), "quantity": quantity, "value": v, "unit": UNITS[quantity]}


def encode_native(readings: Sequence[NativeReading]) -> bytes:
    """Serialise readings as a native payload (compact UTF-8 JSON list)."""
    # allow_nan=False: NaN/Infinity are not JSON and a decoder would rightly reject them.
    return json.dumps(list(readings), separators=(",", ":"), allow_nan=False).encode("utf-8")
