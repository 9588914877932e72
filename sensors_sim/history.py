"""A fleet's past, in simulated time: what each device would have sent over the last weeks.

The demo city starts with weeks of history so the planner has series to fit at once. The
emulators are stepped on their own report interval (a drain sensor reports every few hours,
an air sensor hourly, a bridge every few minutes) from `start` to `end`, and the messages come
out in time order across the fleet, as a broker would have delivered them. Afterwards the
emulators stand at `end`, so a live run continues them without a jump.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sensors_sim.emulator import Emulator
from sensors_sim.wire import NativeReading

__all__ = ["HISTORY", "HistoryMessage", "HistorySpan", "history"]


@dataclass(frozen=True, slots=True)
class HistorySpan:
    """How often a kind of device reports in the history, and how far back it goes."""

    interval: timedelta
    span: timedelta


# By emulator class name.
HISTORY: Mapping[str, HistorySpan] = {
    "DrainSensor": HistorySpan(timedelta(hours=12), timedelta(weeks=52)),
    "AirQualitySensor": HistorySpan(timedelta(hours=1), timedelta(weeks=8)),
    "BridgeSensor": HistorySpan(timedelta(minutes=15), timedelta(weeks=2)),
}
_DEFAULT_SPAN = HistorySpan(timedelta(hours=1), timedelta(weeks=1))


def span_of(device: Emulator) -> HistorySpan:
    return HISTORY.get(type(device).__name__, _DEFAULT_SPAN)


@dataclass(frozen=True, slots=True)
class HistoryMessage:
    time: datetime
    device: Emulator
    readings: list[NativeReading]


def _messages(device: Emulator, start: datetime, end: datetime, step: timedelta) -> Iterator[HistoryMessage]:
    t = start
    while t < end:
        readings = device.readings_at(t)
        if readings:
            yield HistoryMessage(t, device, readings)
        t += step


def history(fleet: Sequence[Emulator], starts: Sequence[datetime], end: datetime) -> Iterator[HistoryMessage]:
    """Every message each device of `fleet` sends from its start in `starts` (aware) up to,
    not including, `end`, at its kind's interval, in time order (ties: in fleet order)."""
    if end.tzinfo is None or any(s.tzinfo is None for s in starts):
        raise ValueError("starts and end must be aware datetimes")
    streams = [
        _messages(device, start, end, span_of(device).interval)
        for device, start in zip(fleet, starts, strict=True)
    ]
    return heapq.merge(*streams, key=lambda m: m.time)
