"""What every wire-format encoder is and returns, and the helpers they share.

An encoder turns one emulator tick (tenant, sensor id, the readings of that sensor at
one time, in canonical units as `sensors_sim.wire` defines them) into the messages a
real device or gateway of that format would send. Encoders restate their format from
its public specification; like the rest of `sensors_sim` they import nothing of the
project's decoders, so a misreading of a spec is not made identically on both sides.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Literal, Protocol, runtime_checkable

from sensors_sim.wire import NativeReading

MessageKind = Literal["mqtt", "http"]


@dataclass(frozen=True, slots=True)
class WireMessage:
    """One message on the wire: an MQTT publish or an HTTP POST.

    `topic_or_path` is the MQTT topic, or the HTTP path to append to the receiver's base
    URL. `readings` is how many of the tick's readings this message carries (bookkeeping
    for the publisher's statistics; it is not sent).
    """

    kind: MessageKind
    topic_or_path: str
    payload: bytes
    headers: dict[str, str] = field(default_factory=dict)
    readings: int = 0


@runtime_checkable
class Encoder(Protocol):
    """A wire format: one emulator tick in, the messages that carry it out."""

    @property
    def name(self) -> str:
        """Format name as `pakhuis sim --format` spells it."""
        ...

    @property
    def kind(self) -> MessageKind:
        """Transport every message of this format uses."""
        ...

    def encode(self, tenant: str, sensor: str, readings: Sequence[NativeReading]) -> list[WireMessage]:
        """Messages for one tick; [] if the format cannot carry any of `readings`."""
        ...

    def fresh(self) -> Encoder:
        """A new encoder with the same options and no per-device state (frame counters)."""
        ...


def parse_time(text: str) -> datetime:
    """A reading's ISO-8601 time as an aware UTC datetime."""
    t = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if t.tzinfo is None or t.utcoffset() is None:
        raise ValueError(f"reading time {text!r} has no timezone")
    return t.astimezone(UTC)


def tick_time(readings: Sequence[NativeReading]) -> datetime:
    """The one time all `readings` of a tick share (emulators read everything at once)."""
    times = {r["time"] for r in readings}
    if len(times) != 1:
        raise ValueError(f"one tick must hold readings of one time, got {sorted(times)}")
    return parse_time(times.pop())


def rfc3339(t: datetime) -> str:
    """RFC 3339 / ISO-8601 UTC with a ``Z`` suffix (microseconds only when non-zero)."""
    return t.astimezone(UTC).isoformat().replace("+00:00", "Z")


def stable_int(*parts: str, bits: int = 64) -> int:
    """A deterministic pseudo-random integer of `bits` bits derived from `parts`.

    Python's hash() is salted per process; identifiers and radio metadata must be the same
    in every run, so they come from SHA-256 instead.
    """
    digest = hashlib.sha256("\x1f".join(parts).encode("utf-8")).digest()
    return int.from_bytes(digest, "big") >> (256 - bits)


def stable_unit(*parts: str) -> float:
    """A deterministic number in [0, 1) derived from `parts`."""
    return stable_int(*parts, bits=53) / float(1 << 53)


def check_topic_level(name: str, value: str) -> str:
    """Refuse an id that would shift MQTT topic levels or act as a wildcard."""
    if not value or any(ch in value for ch in "/+#"):
        raise ValueError(f"{name} id {value!r} must be non-empty and contain no '/', '+' or '#'")
    return value
