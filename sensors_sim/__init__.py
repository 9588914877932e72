"""Device emulators that publish "native" payloads over MQTT.

They restate the wire format themselves (see `sensors_sim.wire`) and import nothing
else of the project, so feeding their output to the decoders is an honest test.
"""

from sensors_sim.air import AirQualitySensor
from sensors_sim.bridge import BridgeSensor
from sensors_sim.drain import DrainSensor
from sensors_sim.emulator import Emulator
from sensors_sim.fleet import build_fleet
from sensors_sim.publisher import PublishStats, SimulatorConnectionError, run_simulation
from sensors_sim.wire import BridgeState, NativeReading, encode_native, native_topic

__all__ = [
    "AirQualitySensor",
    "BridgeSensor",
    "BridgeState",
    "DrainSensor",
    "Emulator",
    "NativeReading",
    "PublishStats",
    "SimulatorConnectionError",
    "build_fleet",
    "encode_native",
    "native_topic",
    "run_simulation",
]
