"""The Things Stack (TTN) v3 application uplinks, as its MQTT integration publishes them.

* topic ``v3/{application}@{tenant}/devices/{sensor}/up``, application ``pakhuis-sim``
  (the TTN device id is the sensor id).
* payload: one JSON ``ApplicationUp`` per sensor per tick::

    {"end_device_ids": {"device_id", "application_ids": {"application_id"}, "dev_eui",
                        "join_eui", "dev_addr"},
     "received_at": <tick time, RFC 3339>,
     "uplink_message": {"session_key_id", "f_port": 1, "f_cnt", "frm_payload",
                        "decoded_payload": {...}, "rx_metadata": [{"gateway_ids":
                        {"gateway_id", "eui"}, "time", "timestamp", "rssi",
                        "channel_rssi", "snr"}], "settings": {"data_rate": {"lora":
                        {"bandwidth", "spreading_factor", "coding_rate"}}, "frequency",
                        "timestamp", "time"}, "received_at"}}

  ``received_at`` (both), ``rx_metadata[].time`` and ``settings.time`` are the tick time:
  the phenomenon time of every value in the uplink.

* ``decoded_payload`` (what a payload formatter of typical LoRaWAN air and drain sensors
  produces), per canonical quantity:

  ============== ================ =====================================================
  quantity       field            unit and conversion from the canonical value
  ============== ================ =====================================================
  no2            ``no2_ppb``      ppb = µg/m³ / 1.9125 (NO2 at 20 °C, 1013 hPa), 2 dec.
  temperature    ``temperature``  °C, 2 decimals
  humidity       ``humidity``     % relative humidity, 2 decimals
  fill_level     ``fill_level``   %, 2 decimals
  sludge_depth   ``sludge_mm``    mm, 1 decimal
  battery        ``battery_mv``   millivolts (integer) = V × 1000
  bridge_state   ``bridge_state`` integer 0 closed, 1 opening, 2 open, 3 closing
  deck_angle     ``deck_angle``   degrees, 2 decimals
  vessel_passage ``vessel_passage`` integer count
  ============== ================ =====================================================

* ``f_cnt`` counts each device's uplinks from 0 within one encoder (one simulator run =
  one LoRaWAN session, as after an OTAA join; ``session_key_id`` and ``dev_addr`` change
  with it). Like The Things Stack, which leaves out fields whose value is 0, the first
  uplink of a session has no ``f_cnt`` key. Deduplicate on (device, session_key_id,
  f_cnt), not on f_cnt alone.
* ``frm_payload`` is base64 of the raw bytes the formatter decoded: per field, in the
  order of ``decoded_payload``, one byte field code (``FIELD_CODES``) and a big-endian
  signed 32-bit integer of value × 100. Receivers should use ``decoded_payload``.
"""

from __future__ import annotations

import base64
import json
import struct
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, Final, Literal

from sensors_sim.formats.base import (
    WireMessage,
    check_topic_level,
    rfc3339,
    stable_int,
    stable_unit,
    tick_time,
)
from sensors_sim.wire import NativeReading

TTN_FORMAT: Final = "ttn"
DEFAULT_APPLICATION: Final = "pakhuis-sim"
F_PORT: Final = 1
#: µg/m³ per ppb of NO2 at 20 °C and 1013.25 hPa (the EU air-quality directive's conditions).
NO2_UGM3_PER_PPB: Final = 1.9125


def _no2_ppb(v: float) -> float:
    return round(v / NO2_UGM3_PER_PPB, 2)


def _two(v: float) -> float:
    return round(v, 2)


def _millivolts(v: float) -> int:
    return round(v * 1000.0)


#: canonical quantity → (decoded_payload field, conversion from the canonical value).
TTN_FIELDS: Final[dict[str, tuple[str, Callable[[float], int | float]]]] = {
    "no2": ("no2_ppb", _no2_ppb),
    "temperature": ("temperature", _two),
    "humidity": ("humidity", _two),
    "fill_level": ("fill_level", _two),
    "sludge_depth": ("sludge_mm", lambda v: round(v, 1)),
    "battery": ("battery_mv", _millivolts),
    "bridge_state": ("bridge_state", lambda v: round(v)),
    "deck_angle": ("deck_angle", _two),
    "vessel_passage": ("vessel_passage", lambda v: round(v)),
}

#: decoded_payload field → its one-byte code in frm_payload.
FIELD_CODES: Final[dict[str, int]] = {field: i + 1 for i, (field, _) in enumerate(TTN_FIELDS.values())}

# EU868 uplink channels (Hz); The Things Stack writes uint64 fields as JSON strings.
_EU868_CHANNELS: Final = (
    868100000,
    868300000,
    868500000,
    867100000,
    867300000,
    867500000,
    867700000,
    867900000,
)


def ttn_topic(tenant: str, sensor: str, application: str = DEFAULT_APPLICATION) -> str:
    check_topic_level("application", application)
    check_topic_level("tenant", tenant)
    check_topic_level("sensor", sensor)
    return f"v3/{application}@{tenant}/devices/{sensor}/up"


def dev_eui(tenant: str, sensor: str) -> str:
    """The device's DevEUI: 16 upper-case hex digits, stable per (tenant, sensor)."""
    return f"70B3D57ED0{stable_int('dev_eui', tenant, sensor, bits=24):06X}"


def frm_payload(decoded: dict[str, int | float]) -> bytes:
    """The raw uplink bytes behind `decoded` (see the module docstring for the layout)."""
    return b"".join(struct.pack(">Bi", FIELD_CODES[k], round(v * 100)) for k, v in decoded.items())


class _Session:
    """One device's LoRaWAN session: its address, key id and frame counter."""

    def __init__(self, tenant: str, sensor: str, first: datetime) -> None:
        seed = first.isoformat()
        self.dev_addr = f"26{stable_int('dev_addr', tenant, sensor, seed, bits=24):06X}"
        key_id = stable_int("session", tenant, sensor, seed, bits=128).to_bytes(16, "big")
        self.session_key_id = base64.b64encode(key_id).decode("ascii")
        self.f_cnt = 0


class TtnEncoder:
    """Encoder of TTN v3 uplinks; keeps a frame counter per device."""

    name = TTN_FORMAT
    kind: Literal["mqtt"] = "mqtt"

    def __init__(self, application: str = DEFAULT_APPLICATION) -> None:
        check_topic_level("application", application)
        self.application = application
        self._sessions: dict[tuple[str, str], _Session] = {}

    def encode(self, tenant: str, sensor: str, readings: Sequence[NativeReading]) -> list[WireMessage]:
        if not readings:
            return []
        t = tick_time(readings)
        decoded: dict[str, int | float] = {}
        for reading in readings:
            if reading["quantity"] not in TTN_FIELDS:
                raise ValueError(f"no TTN payload field for quantity {reading['quantity']!r}")
            field, convert = TTN_FIELDS[reading["quantity"]]
            decoded[field] = convert(reading["value"])

        session = self._sessions.get((tenant, sensor))
        if session is None:
            session = self._sessions[(tenant, sensor)] = _Session(tenant, sensor, t)
        f_cnt = session.f_cnt
        session.f_cnt += 1

        # Radio metadata: plausible, and the same in every run (derived, not drawn).
        gw = 1 + stable_int("gateway", tenant, sensor, bits=16) % 3
        spreading_factor = 7 + stable_int("sf", tenant, sensor, bits=16) % 4
        rssi = round(-118 + 70 * stable_unit("rssi", tenant, sensor, str(f_cnt)))
        snr = round(-12 + 22 * stable_unit("snr", tenant, sensor, str(f_cnt)), 1)
        frequency = _EU868_CHANNELS[stable_int("ch", tenant, sensor, str(f_cnt), bits=16) % 8]
        concentrator_ts = stable_int("ts", tenant, sensor, str(f_cnt), bits=32)
        when = rfc3339(t)

        uplink: dict[str, Any] = {"session_key_id": session.session_key_id, "f_port": F_PORT}
        if f_cnt:  # The Things Stack omits zero-valued fields
            uplink["f_cnt"] = f_cnt
        uplink.update(
            frm_payload=base64.b64encode(frm_payload(decoded)).decode("ascii"),
            decoded_payload=decoded,
            rx_metadata=[
                {
                    "gateway_ids": {"gateway_id": f"pakhuis-gw-{gw:02d}", "eui": f"B827EBFFFE0000{gw:02X}"},
                    "time": when,
                    "timestamp": concentrator_ts,
                    "rssi": rssi,
                    "channel_rssi": rssi,
                    "snr": snr,
                }
            ],
            settings={
                "data_rate": {
                    "lora": {"bandwidth": 125000, "spreading_factor": spreading_factor, "coding_rate": "4/5"}
                },
                "frequency": str(frequency),
                "timestamp": concentrator_ts,
                "time": when,
            },
            received_at=when,
        )
        body = {
            "end_device_ids": {
                "device_id": sensor,
                "application_ids": {"application_id": self.application},
                "dev_eui": dev_eui(tenant, sensor),
                "join_eui": "0000000000000000",
                "dev_addr": session.dev_addr,
            },
            "received_at": when,
            "uplink_message": uplink,
        }
        payload = json.dumps(body, separators=(",", ":"), allow_nan=False).encode("utf-8")
        return [WireMessage("mqtt", ttn_topic(tenant, sensor, self.application), payload, {}, len(readings))]

    def fresh(self) -> TtnEncoder:
        return TtnEncoder(self.application)
