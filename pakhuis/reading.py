"""The canonical Reading, and what travels from ingest to the stream handlers.

A Reading's identity is (tenant, sensor, quantity, phenomenon time): storing the same reading
twice is a no-op. Values are always in the quantity's canonical unit (see `pakhuis.quantities`).
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from pakhuis.pgtext import clean_text, is_identifier
from pakhuis.quantities import QUANTITIES, Quantity, SensorKind


class QualityLabel(enum.StrEnum):
    RAW = "raw"
    INDICATIVE = "indicative"
    CALIBRATED = "calibrated"
    VALIDATED = "validated"
    SUSPECT = "suspect"


@dataclass(frozen=True, slots=True)
class Reading:
    tenant: str
    sensor: str
    quantity: Quantity
    value: float
    time: datetime
    """Phenomenon time (UTC); for interval observations the start of the interval."""
    received: datetime
    source_format: str
    quality: QualityLabel = QualityLabel.RAW
    time_end: datetime | None = None
    """End of the phenomenon interval (e.g. a 4-weekly diffusion-tube mean); None for instants."""
    metadata: dict[str, Any] | None = field(default=None, hash=False)
    """What the source said beyond the value: gateway and frame counter of a LoRaWAN uplink,
    a SensorThings resultTime, `late: true` for data older than the late threshold."""

    def __post_init__(self) -> None:
        # A naive datetime is ambiguous; the decoders must resolve time zones before this point.
        if self.time.tzinfo is None or self.received.tzinfo is None:
            raise ValueError("Reading times must be timezone-aware (UTC)")
        if self.time_end is not None and self.time_end < self.time:
            raise ValueError("Reading time_end lies before its start")

    @property
    def kind(self) -> SensorKind:
        return QUANTITIES[self.quantity].kind


@dataclass(frozen=True, slots=True)
class Rejection:
    """Why (part of) a message was refused: a stable code and a sentence a person can act on."""

    code: str
    reason: str
    item: int | None = None
    """Index of the refused item in a list payload; None when the whole message was refused."""

    def __post_init__(self) -> None:
        # Reasons quote the payload (a quantity "no2\u0000"): cleaned here, where every reason
        # is made, so no refusal can carry what the database refuses to store.
        object.__setattr__(self, "code", clean_text(self.code)[:64])
        object.__setattr__(self, "reason", clean_text(self.reason)[:2000])

    def describe(self) -> str:
        return self.reason if self.item is None else f"item {self.item}: {self.reason}"


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """A message (or part of one) that was refused, kept with its raw bytes so it can be replayed."""

    topic: str
    payload: bytes
    decoder: str
    rejections: tuple[Rejection, ...]
    received: datetime
    tenant: str | None = None
    payload_size: int | None = None
    """Size of the message as received when `payload` holds only its first bytes (see `capped`)."""

    def __post_init__(self) -> None:
        # The one place every dead letter is made (decoders, stream, Faust): what reaches the
        # database must be storable, or writing the refusal would itself fail.
        object.__setattr__(self, "topic", clean_text(self.topic)[:1000])
        object.__setattr__(self, "decoder", clean_text(self.decoder)[:64])
        if self.tenant is not None and not is_identifier(self.tenant):
            object.__setattr__(self, "tenant", None)  # a look-alike tenant ("demo\n") is no tenant
        if not self.rejections:
            object.__setattr__(self, "rejections", (Rejection("refused", "refused without a reason"),))

    @property
    def original_size(self) -> int:
        return len(self.payload) if self.payload_size is None else self.payload_size

    @property
    def truncated(self) -> bool:
        return self.original_size > len(self.payload)

    def capped(self, max_bytes: int) -> DeadLetter:
        """This letter with at most the first `max_bytes` of its payload (and its original size)."""
        if len(self.payload) <= max_bytes:
            return self
        return replace(self, payload=self.payload[:max_bytes], payload_size=self.original_size)

    @property
    def reason_code(self) -> str:
        return self.rejections[0].code

    @property
    def reason(self) -> str:
        text = "; ".join(r.describe() for r in self.rejections[:20])
        if len(self.rejections) > 20:
            text += f"; and {len(self.rejections) - 20} more"
        return text


@dataclass(slots=True)
class Envelope:
    """One broker message after decoding, handed from ingest to the stream handlers.

    `ack` is called exactly once, after every reading and dead letter in the envelope has been
    handed on durably (written to the store, or produced to Kafka); until then the broker keeps
    the message, so a crash loses nothing.
    """

    readings: list[Reading]
    dead_letter: DeadLetter | None = None
    topic: str = ""
    payload: bytes = field(default=b"", repr=False)
    duplicates: int = 0
    """Repeats recognised while decoding (e.g. a TTN uplink seen before): counted, not stored."""
    """The raw message, kept so a reading the store refuses can still be dead-lettered."""
    ack: Callable[[], None] | None = field(default=None, repr=False)
