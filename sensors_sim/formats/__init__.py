"""Wire-format encoders: one emulator tick in, the messages a real device would send out.

Each format is restated from its public specification in its own module; the module
docstrings list exactly which names and units each one emits, which is what the
decoders in `ingest` must accept:

* ``native``          `sensors_sim.formats.native`
* ``senml``           `sensors_sim.formats.senml` (RFC 8428 JSON)
* ``ttn``             `sensors_sim.formats.ttn` (The Things Stack v3 uplinks)
* ``sta``             `sensors_sim.formats.sta` (OGC SensorThings API v1.1 MQTT creates)
* ``sensorcommunity`` `sensors_sim.formats.sensorcommunity` (luftdaten push API, HTTP)

`ENCODERS` holds one ready encoder per format. Encoders with per-device state (TTN frame
counters) keep it per instance, so a simulation run takes its own with `new_encoder`.
"""

from __future__ import annotations

from typing import Final

from sensors_sim.formats.base import Encoder, MessageKind, WireMessage
from sensors_sim.formats.native import NativeEncoder
from sensors_sim.formats.senml import SenmlEncoder
from sensors_sim.formats.sensorcommunity import (
    SensorCommunityEncoder,
    SensorCommunityId,
    sensor_community_ids,
)
from sensors_sim.formats.sta import DatastreamInfo, StaEncoder, datastream_id, datastreams_for
from sensors_sim.formats.ttn import TtnEncoder

ENCODERS: Final[dict[str, Encoder]] = {
    "native": NativeEncoder(),
    "senml": SenmlEncoder(),
    "ttn": TtnEncoder(),
    "sta": StaEncoder(),
    "sensorcommunity": SensorCommunityEncoder(),
}

FORMATS: Final = tuple(ENCODERS)


def new_encoder(fmt: str) -> Encoder:
    """A fresh encoder of format `fmt` (no frame counters carried over from other runs)."""
    try:
        return ENCODERS[fmt].fresh()
    except KeyError:
        raise ValueError(f"unknown wire format {fmt!r}; choose one of {', '.join(FORMATS)}") from None


__all__ = [
    "ENCODERS",
    "FORMATS",
    "DatastreamInfo",
    "Encoder",
    "MessageKind",
    "NativeEncoder",
    "SenmlEncoder",
    "SensorCommunityEncoder",
    "SensorCommunityId",
    "StaEncoder",
    "TtnEncoder",
    "WireMessage",
    "datastream_id",
    "datastreams_for",
    "new_encoder",
    "sensor_community_ids",
]
