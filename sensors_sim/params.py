"""What a simulation run is asked to do: where it publishes, in which format, how fast, how long.

`SimulationParams` checks itself on construction, so a bad option is refused before anything
connects.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from sensors_sim.formats import Encoder, new_encoder

MqttProtocol = Literal["3.1.1", "5"]
MQTT_PROTOCOLS: tuple[MqttProtocol, ...] = ("3.1.1", "5")


@dataclass(frozen=True, slots=True)
class SimulationParams:
    """The options of one `run_simulation`.

    Tick k runs at wall-clock offset ``k * interval_s`` and reads the emulators at simulated
    time ``start_time + k * interval_s * speedup`` (start_time None: now, UTC, when the run
    starts), so a run's payloads are reproducible given the fleet seed and start_time. The run
    ends after `duration_s` (None: no limit).

    `fmt` is the wire format: a name in `sensors_sim.formats.FORMATS` (each run takes a fresh
    encoder of it), or an encoder such as ``StaEncoder(interval=True)`` (used as given). Formats
    sent over MQTT use the broker at `host`:`port`, publishing at `qos` with at most
    `max_inflight` messages unacknowledged on the wire; the run pauses while `max_pending` are
    unacknowledged, and at the end waits up to `drain_timeout_s` for the rest. Formats sent over
    HTTP (``sensorcommunity``) POST to `http_base` + path and need no broker.
    """

    host: str
    port: int
    interval_s: float = 1.0
    duration_s: float | None = None
    start_time: datetime | None = None
    speedup: float = 1.0
    fmt: str | Encoder = "native"
    http_base: str | None = None
    http_timeout_s: float = 10.0
    protocol: MqttProtocol = "3.1.1"
    client_id: str | None = None  # None: a fresh id per run, so two simulators never collide
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    qos: Literal[0, 1, 2] = 1
    max_inflight: int = 100
    max_pending: int = 10_000
    connect_timeout_s: float = 10.0
    drain_timeout_s: float = 10.0

    def __post_init__(self) -> None:
        if self.interval_s <= 0:
            raise ValueError("interval_s must be positive")
        if self.speedup <= 0:
            raise ValueError("speedup must be positive")
        if self.start_time is not None and (
            self.start_time.tzinfo is None or self.start_time.utcoffset() is None
        ):
            raise ValueError("start_time must be timezone-aware (UTC)")
        encoder = self.encoder()
        if encoder.kind == "http":
            if self.http_base is None:
                raise ValueError(
                    f"format {encoder.name!r} is sent over HTTP: pass http_base, the receiver's URL"
                )
            if not self.http_base.startswith(("http://", "https://")):
                raise ValueError(f"http_base {self.http_base!r} must be an http:// or https:// URL")
        if self.protocol not in MQTT_PROTOCOLS:
            raise ValueError(f"unsupported MQTT protocol {self.protocol!r}; use '3.1.1' or '5'")
        if self.qos not in (0, 1, 2):
            raise ValueError(f"qos {self.qos!r} must be 0, 1 or 2")
        if self.max_inflight < 1 or self.max_pending < 1:
            raise ValueError("max_inflight and max_pending must be at least 1")
        if self.connect_timeout_s <= 0 or self.http_timeout_s <= 0:
            raise ValueError("connect_timeout_s and http_timeout_s must be positive")
        if self.drain_timeout_s < 0:
            raise ValueError("drain_timeout_s must not be negative")

    def encoder(self) -> Encoder:
        """The run's encoder: a fresh one of the named format, or the encoder given."""
        return new_encoder(self.fmt) if isinstance(self.fmt, str) else self.fmt
