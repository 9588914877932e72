"""Live one-minute tumbling aggregates per sensor and quantity, for the live feed.

Kept in memory by whichever worker owns the sensor's partition: a window is emitted once a
reading of a later minute arrives for that sensor and quantity (or on `flush`). They are a live
view only; durable rollups live in the database, so nothing depends on these surviving a
rebalance.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pakhuis.reading import Reading


@dataclass(slots=True)
class MinuteAggregate:
    tenant: str
    sensor: str
    quantity: str
    minute: datetime
    count: int = 0
    total: float = 0.0
    min: float = field(default=float("inf"))
    max: float = field(default=float("-inf"))

    def add(self, value: float) -> None:
        self.count += 1
        self.total += value
        self.min = min(self.min, value)
        self.max = max(self.max, value)

    @property
    def mean(self) -> float:
        return self.total / self.count

    def to_dict(self) -> dict[str, Any]:
        return {
            "tenant": self.tenant,
            "sensor": self.sensor,
            "quantity": self.quantity,
            "minute": self.minute.isoformat(),
            "count": self.count,
            "mean": self.mean,
            "min": self.min,
            "max": self.max,
        }


class MinuteAggregates:
    def __init__(self) -> None:
        self._open: dict[tuple[str, str, str], MinuteAggregate] = {}

    def __call__(self, readings: Iterable[Reading]) -> list[MinuteAggregate]:
        """Add readings; return the windows they closed."""
        closed: list[MinuteAggregate] = []
        for r in sorted(readings, key=lambda r: r.time):
            minute = r.time.replace(second=0, microsecond=0)
            key = (r.tenant, r.sensor, r.quantity.value)
            window = self._open.get(key)
            if window is not None and minute < window.minute:
                # A late reading for a minute already emitted: the live view skips it.
                continue
            if window is not None and minute > window.minute:
                closed.append(window)
                window = None
            if window is None:
                window = MinuteAggregate(r.tenant, r.sensor, r.quantity.value, minute)
                self._open[key] = window
            window.add(r.value)
        return closed

    def flush(self) -> list[MinuteAggregate]:
        closed = list(self._open.values())
        self._open.clear()
        return closed
