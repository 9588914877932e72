"""AirQualitySensor: determinism, traffic patterns, dropouts and drift."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from statistics import mean
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from sensors_sim import AirQualitySensor, encode_native

AMS = ZoneInfo("Europe/Amsterdam")


def _times(start: datetime, step: timedelta, n: int) -> list[datetime]:
    return [start + i * step for i in range(n)]


def _payloads(sensor: AirQualitySensor, times: list[datetime]) -> list[bytes]:
    return [encode_native(sensor.readings_at(t)) for t in times]


def _no2(sensor: AirQualitySensor, t: datetime) -> float | None:
    readings = sensor.readings_at(t)
    values = [r["value"] for r in readings if r["quantity"] == "no2"]
    return values[0] if values else None


TIMES = _times(datetime(2024, 3, 4, tzinfo=UTC), timedelta(minutes=10), 500)


def test_same_seed_same_times_give_identical_payloads() -> None:
    a = _payloads(AirQualitySensor("demo", "air-001", np.random.default_rng(7)), TIMES)
    b = _payloads(AirQualitySensor("demo", "air-001", np.random.default_rng(7)), TIMES)
    assert a == b


def test_different_seed_gives_different_payloads() -> None:
    a = _payloads(AirQualitySensor("demo", "air-001", np.random.default_rng(7)), TIMES)
    b = _payloads(AirQualitySensor("demo", "air-001", np.random.default_rng(8)), TIMES)
    assert a != b


def test_stdlib_random_is_accepted_and_deterministic() -> None:
    a = _payloads(AirQualitySensor("demo", "air-001", random.Random(3)), TIMES[:50])
    b = _payloads(AirQualitySensor("demo", "air-001", random.Random(3)), TIMES[:50])
    assert a == b


def test_readings_hold_all_quantities_at_one_time() -> None:
    sensor = AirQualitySensor("demo", "air-001", 1, dropout_probability=0.0)
    t = datetime(2024, 3, 5, 8, tzinfo=UTC)
    readings = sensor.readings_at(t)
    assert [r["quantity"] for r in readings] == ["no2", "temperature", "humidity", "battery"]
    assert {r["time"] for r in readings} == {"2024-03-05T08:00:00Z"}


def test_morning_rush_is_higher_than_night_on_weekdays() -> None:
    sensor = AirQualitySensor("demo", "air-001", 11, dropout_probability=0.0)
    night: list[float] = []
    rush: list[float] = []
    day = datetime(2024, 2, 1, tzinfo=AMS)
    for d in range(60):
        date = day + timedelta(days=d)
        if date.weekday() >= 5:
            continue
        for hour, bucket in ((3, night), (8, rush)):
            value = _no2(sensor, date.replace(hour=hour).astimezone(UTC))
            assert value is not None
            bucket.append(value)
    assert mean(rush) > mean(night) + 15


def test_evening_rush_is_higher_than_midday_and_night() -> None:
    sensor = AirQualitySensor("demo", "air-001", 12, dropout_probability=0.0)
    by_hour: dict[int, list[float]] = {3: [], 12: [], 17: []}
    start = datetime(2024, 4, 1, tzinfo=AMS)
    for d in range(40):
        date = start + timedelta(days=d)
        for hour in sorted(by_hour):
            if date.weekday() < 5:
                value = _no2(sensor, date.replace(hour=hour).astimezone(UTC))
                assert value is not None
                by_hour[hour].append(value)
    assert mean(by_hour[17]) > mean(by_hour[12]) > mean(by_hour[3])


def test_weekdays_are_higher_than_weekends() -> None:
    sensor = AirQualitySensor("demo", "air-001", 13, dropout_probability=0.0)
    weekday: list[float] = []
    weekend: list[float] = []
    t = datetime(2024, 1, 1, tzinfo=UTC)
    for _ in range(8 * 7 * 24):
        value = _no2(sensor, t)
        assert value is not None
        (weekend if t.astimezone(AMS).weekday() >= 5 else weekday).append(value)
        t += timedelta(hours=1)
    assert mean(weekday) > 1.15 * mean(weekend)


def test_dropouts_return_no_readings_occasionally() -> None:
    sensor = AirQualitySensor("demo", "air-001", 5, dropout_probability=0.05)
    results = [sensor.readings_at(t) for t in TIMES]
    empty = sum(1 for r in results if not r)
    assert 5 <= empty <= 60  # about 25 expected out of 500
    assert all(len(r) == 4 for r in results if r)


def test_dropout_does_not_shift_later_readings() -> None:
    # Dropouts only hide a tick: the device keeps evolving, so with and without dropouts
    # the readings that do arrive are identical.
    with_drops = AirQualitySensor("demo", "air-001", 9, dropout_probability=0.3)
    without = AirQualitySensor("demo", "air-001", 9, dropout_probability=0.0)
    got = [(with_drops.readings_at(t), without.readings_at(t)) for t in TIMES[:100]]
    arrived = [(a, b) for a, b in got if a]
    assert 40 <= len(arrived) < 100
    assert all(a == b for a, b in arrived)


def test_drift_accumulates_slowly_only_when_enabled() -> None:
    drifting = AirQualitySensor("demo", "air-001", 21, drift_rate_per_hour=1.0)
    stable = AirQualitySensor("demo", "air-001", 21, drift_rate_per_hour=0.0)
    previous = 0.0
    for t in _times(datetime(2024, 1, 1, tzinfo=UTC), timedelta(hours=1), 30 * 24):
        drifting.readings_at(t)
        stable.readings_at(t)
        # Slow: never more than 0.5 ug/m3 a day, i.e. about 0.021 per hour.
        assert abs(drifting.drift_offset - previous) <= 0.5 / 24 + 1e-9
        previous = drifting.drift_offset
    assert abs(drifting.drift_offset) > 1.0
    assert stable.drift_offset == 0.0


def test_time_must_not_go_backwards_or_be_naive() -> None:
    sensor = AirQualitySensor("demo", "air-001", 1)
    sensor.readings_at(datetime(2024, 1, 2, tzinfo=UTC))
    with pytest.raises(ValueError, match="backwards"):
        sensor.readings_at(datetime(2024, 1, 1, tzinfo=UTC))
    with pytest.raises(ValueError, match="no timezone"):
        sensor.readings_at(datetime(2024, 1, 3))
