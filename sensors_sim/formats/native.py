"""The "native" format: the readings as they are, one MQTT message per sensor per tick.

* topic ``pakhuis/v1/{tenant}/{sensor}/native``
* payload: a JSON list of ``{"time", "quantity", "value", "unit"}`` objects in canonical
  units (see `sensors_sim.wire`), all of one time.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from sensors_sim.formats.base import WireMessage
from sensors_sim.wire import NativeReading, encode_native, native_topic


class NativeEncoder:
    """Encoder of the native format (stateless)."""

    name = "native"
    kind: Literal["mqtt"] = "mqtt"

    def encode(self, tenant: str, sensor: str, readings: Sequence[NativeReading]) -> list[WireMessage]:
        if not readings:
            return []
        return [WireMessage("mqtt", native_topic(tenant, sensor), encode_native(readings), {}, len(readings))]

    def fresh(self) -> NativeEncoder:
        return NativeEncoder()
