"""OGC SensorThings API v1.1 Observation creates over MQTT, one message per reading.

* topic ``v1.1/Datastreams('{id}')/Observations``: the Datastream id is the string
  ``"{tenant}:{sensor}:{quantity}"`` (e.g. ``demo:air-001:no2``), written in the topic as
  an OData string literal, in single quotes (a ``'`` inside an id would be doubled; the
  ids used here have none). The receiver must know these Datastreams: register the
  list `datastreams_for(fleet)` returns (id, tenant, sensor, quantity, unit).
* payload: ``{"phenomenonTime": "<ISO 8601 UTC>", "resultTime": "<ISO 8601 UTC>",
  "result": <number>}``, result in the quantity's canonical unit (the Datastream's
  ``unit``: ug/m3, degC, %, %, mm, V, state, deg, count).
* with ``StaEncoder(interval=True)`` the quantities in `interval_quantities` (default
  NO2) are sent as means over a period, as a Palmes diffusion tube's result is:
  ``phenomenonTime`` is the ISO 8601 interval ``"{tick - period}/{tick}"`` (default period
  28 days) and ``resultTime`` the tick time.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import timedelta
from typing import Final, Literal, TypedDict

from sensors_sim.formats.base import WireMessage, parse_time, rfc3339
from sensors_sim.wire import UNITS, NativeReading

STA_FORMAT: Final = "sta"
PALMES_PERIOD: Final = timedelta(days=28)


class DatastreamInfo(TypedDict):
    """A Datastream the receiving side must register before Observations arrive."""

    id: str
    tenant: str
    sensor: str
    quantity: str
    unit: str


def datastream_id(tenant: str, sensor: str, quantity: str) -> str:
    """The deterministic Datastream id of one sensor's quantity."""
    for name, part in (("tenant", tenant), ("sensor", sensor), ("quantity", quantity)):
        if not part or any(ch in part for ch in "/+#:'()"):
            raise ValueError(f"{name} {part!r} cannot be part of a Datastream id")
    return f"{tenant}:{sensor}:{quantity}"


def sta_topic(datastream: str) -> str:
    """MQTT create topic for Observations of `datastream` (a string id, OData-quoted)."""
    return "v1.1/Datastreams('" + datastream.replace("'", "''") + "')/Observations"


def datastreams_for(fleet: Iterable[object]) -> list[DatastreamInfo]:
    """Every Datastream `fleet`'s emulators publish to in the ``sta`` format.

    Each emulator must have ``tenant``, ``sensor_id`` and ``quantities`` (all emulators
    of this package do); the emulators are not advanced.
    """
    out: list[DatastreamInfo] = []
    for emulator in fleet:
        quantities = getattr(emulator, "quantities", None)
        if quantities is None:
            raise TypeError(f"{emulator!r} does not say which quantities it sends (no .quantities)")
        tenant: str = getattr(emulator, "tenant")  # noqa: B009 - any object with these attributes
        sensor: str = getattr(emulator, "sensor_id")  # noqa: B009
        for quantity in quantities:
            out.append(
                {
                    "id": datastream_id(tenant, sensor, quantity),
                    "tenant": tenant,
                    "sensor": sensor,
                    "quantity": quantity,
                    "unit": UNITS[quantity],
                }
            )
    return out


class StaEncoder:
    """Encoder of SensorThings Observation creates (stateless)."""

    name = STA_FORMAT
    kind: Literal["mqtt"] = "mqtt"

    def __init__(
        self,
        *,
        interval: bool = False,
        period: timedelta = PALMES_PERIOD,
        interval_quantities: Iterable[str] = ("no2",),
    ) -> None:
        if period <= timedelta(0):
            raise ValueError("period must be positive")
        self.interval = interval
        self.period = period
        self.interval_quantities = frozenset(interval_quantities)

    def encode(self, tenant: str, sensor: str, readings: Sequence[NativeReading]) -> list[WireMessage]:
        messages = []
        for reading in readings:
            t = parse_time(reading["time"])
            phenomenon = rfc3339(t)
            if self.interval and reading["quantity"] in self.interval_quantities:
                phenomenon = f"{rfc3339(t - self.period)}/{phenomenon}"
            body = {"phenomenonTime": phenomenon, "resultTime": rfc3339(t), "result": reading["value"]}
            payload = json.dumps(body, separators=(",", ":"), allow_nan=False).encode("utf-8")
            topic = sta_topic(datastream_id(tenant, sensor, reading["quantity"]))
            messages.append(WireMessage("mqtt", topic, payload, {}, 1))
        return messages

    def fresh(self) -> StaEncoder:
        return StaEncoder(
            interval=self.interval, period=self.period, interval_quantities=self.interval_quantities
        )
