"""SenML (RFC 8428) JSON packs, one per sensor per tick, over MQTT.

* topic ``pakhuis/v1/{tenant}/{sensor}/senml``
* payload: a JSON array (a SenML Pack). The first record carries the base fields
  ``bn`` = ``"urn:dev:pakhuis:{sensor}:"``, ``bt`` = the tick time in seconds since the
  Unix epoch (an integer when whole) and ``bver`` = 10, together with its own
  measurement. Every record has ``n`` (the quantity name, so the resolved name is e.g.
  ``urn:dev:pakhuis:air-001:no2``), ``v`` and, where SenML has one, ``u``:

  =============== ========= ================================================
  n               u         v
  =============== ========= ================================================
  no2             ug/m3     µg/m³ (not a SenML registry unit; pakhuis takes it)
  temperature     Cel       °C
  humidity        %RH       relative humidity in %
  fill_level      %         %
  sludge_depth    m         metres: the canonical millimetres / 1000
  battery         V         volts
  bridge_state    (none)    state code 0 closed, 1 opening, 2 open, 3 closing
  deck_angle      deg       degrees
  vessel_passage  count     vessels passed so far in the current opening
  =============== ========= ================================================

* time: a device samples its sensors one after another while it wakes up, so some
  records carry a relative ``t`` (seconds, negative = before ``bt``), and a record's
  time is ``bt + t`` (``t`` omitted = 0). The lags are fixed per quantity:
  battery -60 s, temperature -40 s, humidity -20 s, vessel_passage -10 s, all other
  quantities 0 (at ``bt``). Every current emulator therefore sends at least one record
  with a negative ``t``; the resolved times of one quantity still strictly increase
  from tick to tick whatever the tick interval.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any, Final, Literal

from sensors_sim.formats.base import WireMessage, check_topic_level, tick_time
from sensors_sim.wire import TOPIC_ROOT, NativeReading

SENML_FORMAT: Final = "senml"
SENML_VERSION: Final = 10
BASE_NAME_TEMPLATE: Final = "urn:dev:pakhuis:{sensor}:"

#: quantity → (SenML unit or None, factor from the canonical unit to that unit).
SENML_UNITS: Final[dict[str, tuple[str | None, float]]] = {
    "no2": ("ug/m3", 1.0),
    "temperature": ("Cel", 1.0),
    "humidity": ("%RH", 1.0),
    "fill_level": ("%", 1.0),
    "sludge_depth": ("m", 0.001),
    "battery": ("V", 1.0),
    "bridge_state": (None, 1.0),
    "deck_angle": ("deg", 1.0),
    "vessel_passage": ("count", 1.0),
}

#: Seconds before the base time at which the device samples each quantity.
SAMPLE_LAG_S: Final[dict[str, int]] = {
    "battery": 60,
    "temperature": 40,
    "humidity": 20,
    "vessel_passage": 10,
}

# RFC 8428 section 4.5.1: what a resolved name may look like.
_NAME = re.compile(r"^[A-Za-z0-9][-:./_A-Za-z0-9]*$")


def senml_topic(tenant: str, sensor: str) -> str:
    check_topic_level("tenant", tenant)
    check_topic_level("sensor", sensor)
    return f"{TOPIC_ROOT}/{tenant}/{sensor}/{SENML_FORMAT}"


def _number(x: float) -> int | float:
    """Whole numbers as JSON integers (``1728284400`` rather than ``1728284400.0``)."""
    return int(x) if float(x).is_integer() else float(x)


class SenmlEncoder:
    """Encoder of SenML JSON packs (stateless)."""

    name = SENML_FORMAT
    kind: Literal["mqtt"] = "mqtt"

    def encode(self, tenant: str, sensor: str, readings: Sequence[NativeReading]) -> list[WireMessage]:
        if not readings:
            return []
        t = tick_time(readings)
        base_name = BASE_NAME_TEMPLATE.format(sensor=sensor)
        pack: list[dict[str, Any]] = []
        for reading in readings:
            quantity = reading["quantity"]
            if quantity not in SENML_UNITS:
                raise ValueError(f"no SenML mapping for quantity {quantity!r}")
            if not _NAME.match(base_name + quantity):
                raise ValueError(f"{base_name + quantity!r} is not a valid SenML name (RFC 8428 4.5.1)")
            unit, factor = SENML_UNITS[quantity]
            record: dict[str, Any] = {}
            if not pack:
                record.update(bn=base_name, bt=_number(round(t.timestamp(), 6)), bver=SENML_VERSION)
            record["n"] = quantity
            if unit is not None:
                record["u"] = unit
            record["v"] = _number(reading["value"] * factor)
            lag = SAMPLE_LAG_S.get(quantity, 0)
            if lag:
                record["t"] = -lag
            pack.append(record)
        payload = json.dumps(pack, separators=(",", ":"), allow_nan=False).encode("utf-8")
        return [WireMessage("mqtt", senml_topic(tenant, sensor), payload, {}, len(readings))]

    def fresh(self) -> SenmlEncoder:
        return SenmlEncoder()
