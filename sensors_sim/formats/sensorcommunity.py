"""Sensor.Community (formerly luftdaten.info) push API, as its ESP8266 firmware posts.

* HTTP ``POST {base}/v1/push-sensor-data/`` with headers ``Content-Type:
  application/json``, ``X-Sensor: esp8266-{chip id}`` and ``X-Pin`` naming the sensor
  type on the board, one POST per pin per tick:

  ===== ================================ ============================================
  X-Pin value_type                       meaning
  ===== ================================ ============================================
  1     ``NO2``                          NO2 in µg/m³ (pin 1 is the PM/SDS011 pin; the
                                         firmware has no NO2 pin, pakhuis reads it here)
  7     ``temperature``, ``humidity``    DHT22: °C and % relative humidity
  ===== ================================ ============================================

  (Real SDS011 PM values would be ``P1`` = PM10 and ``P2`` = PM2.5 on pin 1; the
  emulators do not simulate particulate matter, so they never appear.)
* body: ``{"software_version": "NRZ-2020-133", "sensordatavalues": [{"value_type":
  "NO2", "value": "41.27"}, ...]}`` with every value a STRING with two decimals.
* no timestamp: the receiver stamps readings with its receive time.
* the chip id is a number of at most 8 digits derived from (tenant, sensor) (see
  `chip_id`); the push carries no tenant, so the receiver maps ``X-Sensor`` back to
  tenant and sensor with the table `sensor_community_ids(fleet)` returns.
* battery, drain and bridge quantities have no Sensor.Community representation: they
  are not sent (a drain or bridge tick encodes to no message at all).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Final, Literal, TypedDict

from sensors_sim.formats.base import WireMessage, stable_int
from sensors_sim.wire import NativeReading

SENSOR_COMMUNITY_FORMAT: Final = "sensorcommunity"
PUSH_PATH: Final = "/v1/push-sensor-data/"
SOFTWARE_VERSION: Final = "NRZ-2020-133"

#: X-Pin → {canonical quantity: value_type}, in the order the POSTs are sent.
PINS: Final[dict[str, dict[str, str]]] = {
    "1": {"no2": "NO2"},
    "7": {"temperature": "temperature", "humidity": "humidity"},
}


class SensorCommunityId(TypedDict):
    """How the receiver maps a push's X-Sensor header back to a pakhuis sensor."""

    x_sensor: str
    chip_id: int
    tenant: str
    sensor: str


def chip_id(tenant: str, sensor: str) -> int:
    """The ESP8266 chip id (24 bits, as the real chips have) of `sensor` of `tenant`."""
    return stable_int("esp8266", tenant, sensor, bits=24)


def x_sensor(tenant: str, sensor: str) -> str:
    return f"esp8266-{chip_id(tenant, sensor)}"


def sensor_community_ids(fleet: Iterable[object]) -> list[SensorCommunityId]:
    """X-Sensor of every emulator in `fleet` that sends anything in this format.

    Raises ValueError if two sensors of the fleet would share a chip id (24-bit ids
    collide rarely, but a silent mix-up of two sensors' data must not happen).
    """
    out: list[SensorCommunityId] = []
    seen: dict[int, str] = {}
    for emulator in fleet:
        quantities = getattr(emulator, "quantities", ())
        if not any(q in values for values in PINS.values() for q in quantities):
            continue
        tenant: str = getattr(emulator, "tenant")  # noqa: B009 - any object with these attributes
        sensor: str = getattr(emulator, "sensor_id")  # noqa: B009
        number = chip_id(tenant, sensor)
        if number in seen:
            raise ValueError(f"{tenant}/{sensor} and {seen[number]} share chip id {number}")
        seen[number] = f"{tenant}/{sensor}"
        out.append({"x_sensor": f"esp8266-{number}", "chip_id": number, "tenant": tenant, "sensor": sensor})
    return out


class SensorCommunityEncoder:
    """Encoder of Sensor.Community pushes (stateless)."""

    name = SENSOR_COMMUNITY_FORMAT
    kind: Literal["http"] = "http"

    def encode(self, tenant: str, sensor: str, readings: Sequence[NativeReading]) -> list[WireMessage]:
        by_quantity = {r["quantity"]: r["value"] for r in readings}
        messages = []
        for pin, value_types in PINS.items():
            values = [
                {"value_type": value_type, "value": f"{by_quantity[quantity]:.2f}"}
                for quantity, value_type in value_types.items()
                if quantity in by_quantity
            ]
            if not values:
                continue
            body = {"software_version": SOFTWARE_VERSION, "sensordatavalues": values}
            headers = {
                "Content-Type": "application/json",
                "X-Sensor": x_sensor(tenant, sensor),
                "X-Pin": pin,
            }
            payload = json.dumps(body, separators=(",", ":")).encode("utf-8")
            messages.append(WireMessage("http", PUSH_PATH, payload, headers, len(values)))
        return messages

    def fresh(self) -> SensorCommunityEncoder:
        return SensorCommunityEncoder()
