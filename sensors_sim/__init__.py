"""Device emulators that publish their readings in pakhuis's wire formats.

They restate the wire formats themselves (`sensors_sim.wire` for native, one module per
format in `sensors_sim.formats`) and import nothing else of the project, so feeding
their output to the decoders is an honest test.
"""

from sensors_sim.air import AirQualitySensor
from sensors_sim.bridge import BridgeSensor
from sensors_sim.delivery import SimulatorConnectionError
from sensors_sim.drain import DrainSensor
from sensors_sim.emulator import Emulator
from sensors_sim.fleet import PlacedDevice, build_fleet, placed_fleet
from sensors_sim.formats import ENCODERS, FORMATS, Encoder, WireMessage, datastreams_for, new_encoder
from sensors_sim.history import HISTORY, HistoryMessage, HistorySpan, history, span_of
from sensors_sim.params import SimulationParams
from sensors_sim.publisher import PublishStats, run_simulation
from sensors_sim.wire import BridgeState, NativeReading, encode_native, native_topic

__all__ = [
    "ENCODERS",
    "FORMATS",
    "HISTORY",
    "AirQualitySensor",
    "BridgeSensor",
    "BridgeState",
    "DrainSensor",
    "Emulator",
    "Encoder",
    "HistoryMessage",
    "HistorySpan",
    "NativeReading",
    "PlacedDevice",
    "PublishStats",
    "SimulationParams",
    "SimulatorConnectionError",
    "WireMessage",
    "build_fleet",
    "datastreams_for",
    "encode_native",
    "history",
    "native_topic",
    "new_encoder",
    "placed_fleet",
    "run_simulation",
    "span_of",
]
