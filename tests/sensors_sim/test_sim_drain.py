"""DrainSensor: filling, cleaning, trees, seasons and sludge depth."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest

from sensors_sim import DrainSensor

NO_CLEANING = {"clean_rate_per_day_when_due": 0.0, "routine_cleanings_per_year": 0.0}


def _fill_series(sensor: DrainSensor, start: datetime, days: int) -> list[float]:
    values = []
    for i in range(days * 4):  # every 6 hours
        readings = sensor.readings_at(start + timedelta(hours=6 * i))
        values.append(next(r["value"] for r in readings if r["quantity"] == "fill_level"))
    return values


def _gain(tree_factor: float, month: int, seed: int) -> float:
    sensor = DrainSensor("demo", "drain-001", seed, tree_factor=tree_factor, initial_fill=0.0, **NO_CLEANING)
    start = datetime(2023, month, 1, tzinfo=UTC)
    sensor.readings_at(start)
    sensor.readings_at(start + timedelta(days=28))
    return sensor.true_fill


def test_fill_rises_over_time_without_cleaning() -> None:
    sensor = DrainSensor("demo", "drain-001", 3, tree_factor=1.0, initial_fill=5.0, **NO_CLEANING)
    series = _fill_series(sensor, datetime(2024, 3, 1, tzinfo=UTC), 60)
    first_week, last_week = series[:28], series[-28:]
    assert sum(last_week) / 28 > sum(first_week) / 28 + 10
    assert sensor.cleanings == 0


def test_fill_resets_to_a_low_level_after_cleaning() -> None:
    sensor = DrainSensor(
        "demo",
        "drain-001",
        4,
        tree_factor=2.0,
        initial_fill=60.0,
        clean_threshold=70.0,
        clean_rate_per_day_when_due=2.0,
        routine_cleanings_per_year=0.0,
    )
    series = _fill_series(sensor, datetime(2024, 10, 1, tzinfo=UTC), 60)
    assert sensor.cleanings >= 1
    assert sensor.last_cleaned is not None
    drops = [(a, b) for a, b in itertools.pairwise(series) if b < a - 30]
    assert drops, "a cleaning must show as a sharp drop in fill"
    for before, after in drops:
        assert before >= 65  # cleaned because it was due (threshold 70, minus noise)
        assert after <= 10  # back to a low level
    assert max(series) <= 100


def test_routine_cleaning_happens_at_random_even_when_not_due() -> None:
    sensor = DrainSensor(
        "demo",
        "drain-001",
        5,
        initial_fill=10.0,
        clean_threshold=99.0,
        clean_rate_per_day_when_due=0.0,
        routine_cleanings_per_year=50.0,
    )
    _fill_series(sensor, datetime(2024, 1, 1, tzinfo=UTC), 60)
    assert sensor.cleanings >= 3  # about 8 expected in 60 days


@pytest.mark.parametrize("month", [4, 10])
def test_drains_near_trees_fill_faster(month: int) -> None:
    seeds = range(10)
    bare = sum(_gain(0.0, month, s) for s in seeds)
    treed = sum(_gain(2.0, month, s) for s in seeds)
    assert treed > 1.5 * bare


def test_autumn_leaf_fall_fills_faster_than_spring() -> None:
    seeds = range(10)
    spring = sum(_gain(1.5, 4, s) for s in seeds)
    autumn = sum(_gain(1.5, 10, s) for s in seeds)
    assert autumn > 2 * spring


def test_sludge_depth_is_fill_times_sump_depth() -> None:
    sensor = DrainSensor("demo", "drain-001", 6, sump_depth_mm=480.0)
    for i in range(50):
        readings = {
            r["quantity"]: r
            for r in sensor.readings_at(datetime(2024, 5, 1, tzinfo=UTC) + timedelta(hours=i))
        }
        assert set(readings) == {"fill_level", "sludge_depth", "battery"}
        assert readings["sludge_depth"]["value"] == pytest.approx(
            readings["fill_level"]["value"] * 480.0 / 100.0
        )
        assert readings["sludge_depth"]["unit"] == "mm"


def test_invalid_parameters_are_refused() -> None:
    with pytest.raises(ValueError, match="tree_factor"):
        DrainSensor("demo", "drain-001", 1, tree_factor=-1.0)
    with pytest.raises(ValueError, match="sump_depth_mm"):
        DrainSensor("demo", "drain-001", 1, sump_depth_mm=0.0)
