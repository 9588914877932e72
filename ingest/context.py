"""What every decoder gets and gives: the decode context in, readings and refusals out."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime

from pakhuis.quantities import Quantity
from pakhuis.reading import Reading, Rejection


@dataclass(frozen=True, slots=True)
class Datastream:
    """An OGC SensorThings Datastream: which sensor and quantity its Observations are about."""

    id: str
    tenant: str
    sensor: str
    quantity: Quantity
    unit: str | None = None


@dataclass(frozen=True, slots=True)
class Mappings:
    """Name tables that turn device vocabularies into quantities (see ingest/mappings.json).

    - `names`: a field or record name (lower-cased; SenML names, TTN payload fields,
      Sensor.Community value types) → (quantity, unit or None for canonical).
    - `ttn_profiles`: TTN application id → its own field table, overriding `names`.
    - `ignored`: diagnostic field names that carry no measurement.
    """

    names: dict[str, tuple[Quantity, str | None]] = field(default_factory=dict)
    ttn_profiles: dict[str, dict[str, tuple[Quantity, str | None]]] = field(default_factory=dict)
    # Diagnostic fields devices send next to their measurements (sample counts, RSSI …):
    # skipped on purpose rather than refused as unmapped.
    ignored: frozenset[str] = frozenset()

    def lookup(self, name: str, profile: str | None = None) -> tuple[Quantity, str | None] | None:
        key = name.strip().lower()
        if profile is not None and profile in self.ttn_profiles:
            found = self.ttn_profiles[profile].get(key)
            if found is not None:
                return found
        return self.names.get(key)


@dataclass(frozen=True, slots=True)
class DecodeContext:
    topic: str
    received: datetime
    tenant: str | None = None
    sensor: str | None = None
    max_future_s: float = 300.0
    # Older than this (by phenomenon time) is accepted but flagged late in the reading's metadata.
    late_after_s: float = 7 * 24 * 3600.0
    mappings: Mappings = field(default_factory=Mappings)
    datastreams: Callable[[str], Datastream | None] = field(default=lambda _id: None)


@dataclass(frozen=True, slots=True)
class Decoded:
    readings: list[Reading]
    rejections: list[Rejection]
    tenant: str | None = None
    sensor: str | None = None
    duplicates: int = 0
    """Messages or readings recognised as repeats at decode time (e.g. a TTN uplink counter)."""

    @classmethod
    def from_outcomes(cls, outcomes: Iterable[Reading | Rejection]) -> Decoded:
        """The readings and the refusals among `outcomes`, each kept in message order."""
        readings: list[Reading] = []
        rejections: list[Rejection] = []
        for outcome in outcomes:
            if isinstance(outcome, Rejection):
                rejections.append(outcome)
            else:
                readings.append(outcome)
        return cls(readings, rejections)
