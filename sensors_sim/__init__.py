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
from sensors_sim.fleet import build_fleet
from sensors_sim.formats import ENCODERS, FORMATS, Encoder, WireMessage, datastreams_for, new_encoder
from sensors_sim.params import SimulationParams
from sensors_sim.publisher import PublishStats, run_simulation
from sensors_sim.wire import BridgeState, NativeReading, encode_native, native_topic

__all__ = [
    "ENCODERS",
    "FORMATS",
    "AirQualitySensor",
    "BridgeSensor",
    "BridgeState",
    "DrainSensor",
    "Emulator",
    "Encoder",
    "NativeReading",
    "PublishStats",
    "SimulationParams",
    "SimulatorConnectionError",
    "WireMessage",
    "build_fleet",
    "datastreams_for",
    "encode_native",
    "native_topic",
    "new_encoder",
    "run_simulation",
]
