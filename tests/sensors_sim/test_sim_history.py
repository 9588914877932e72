"""A fleet's history: time order, each kind's interval and span, determinism, and a live run
that continues where the history ends."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import pytest

from sensors_sim import HISTORY, DrainSensor, Emulator, PlacedDevice, history, placed_fleet, span_of

END = datetime(2026, 12, 8, 12, tzinfo=UTC)
DEVICES = [
    PlacedDevice("drain", "kolk-001", tree_factor=1.5),
    PlacedDevice("drain", "kolk-002"),
    PlacedDevice("air", "no2-1", traffic="busy"),
    PlacedDevice("air", "no2-2", traffic="quiet"),
    PlacedDevice("bridge", "brug-1"),
]


def _starts(fleet: Sequence[Emulator]) -> list[datetime]:
    return [END - span_of(device).span for device in fleet]


def test_messages_come_in_time_order_at_each_kinds_interval() -> None:
    fleet = placed_fleet(1, "demo", DEVICES)
    messages = list(history(fleet, _starts(fleet), END))
    times = [m.time for m in messages]
    assert times == sorted(times)
    for device in fleet:
        own = [m.time for m in messages if m.device is device]
        span = span_of(device)
        assert own[0] == END - span.span
        assert own[-1] < END
        # Air sensors drop a message now and then; the others report at every step.
        gaps = {b - a for a, b in itertools.pairwise(own)}
        assert min(gaps) == span.interval
        if not device.sensor_id.startswith("no2"):
            assert gaps == {span.interval}
            assert len(own) == span.span // span.interval


def test_the_same_seed_gives_the_same_history_and_another_seed_another() -> None:
    def values(seed: int) -> list[float]:
        fleet = placed_fleet(seed, "demo", DEVICES)
        return [r["value"] for m in history(fleet, _starts(fleet), END) for r in m.readings]

    assert values(1) == values(1)
    assert values(1) != values(2)


def test_a_drain_under_trees_fills_faster_than_one_in_the_open() -> None:
    fleet = placed_fleet(1, "demo", DEVICES)
    under, open_ = fleet[0], fleet[1]
    assert isinstance(under, DrainSensor) and isinstance(open_, DrainSensor)
    assert under.tree_factor == 1.5 and open_.tree_factor == 0.0
    assert under.fill_rate_per_day(11) > 2 * open_.fill_rate_per_day(11)
    # A year of history under trees: the crew came by more than once.
    list(history(fleet, _starts(fleet), END))
    assert under.cleanings > 1


def test_the_live_run_continues_where_the_history_ends() -> None:
    fleet = placed_fleet(1, "demo", DEVICES)
    last: dict[str, float] = {}
    for m in history(fleet, _starts(fleet), END):
        for r in m.readings:
            if r["quantity"] == "fill_level":
                last[m.device.sensor_id] = r["value"]
    drain = fleet[0]
    assert isinstance(drain, DrainSensor)
    after = {r["quantity"]: r["value"] for r in drain.readings_at(END + timedelta(seconds=5))}
    # Five seconds later the sump holds what it held (measurement noise: 0.7 % sd).
    assert abs(after["fill_level"] - last["kolk-001"]) < 5.0
    with pytest.raises(ValueError, match="time went backwards"):
        drain.readings_at(END - timedelta(days=1))


def test_every_kind_of_the_demo_has_a_history_span() -> None:
    assert set(HISTORY) == {"DrainSensor", "AirQualitySensor", "BridgeSensor"}
    # The fill model needs the seasons: a year of fill readings.
    assert HISTORY["DrainSensor"].span >= timedelta(weeks=52)


def test_naive_times_are_refused() -> None:
    fleet = placed_fleet(1, "demo", DEVICES[:1])
    with pytest.raises(ValueError, match="aware"):
        list(history(fleet, [datetime(2026, 1, 1)], END))
