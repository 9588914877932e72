"""The native wire format as the simulators write it."""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone

import pytest

from sensors_sim import encode_native, native_topic
from sensors_sim.wire import BridgeState, format_time, make_reading

NativeChecker = Callable[[bytes], list[dict[str, object]]]


def test_topic_format() -> None:
    assert native_topic("demo", "air-001") == "pakhuis/v1/demo/air-001/native"


@pytest.mark.parametrize("bad", ["", "a/b", "a+", "a#"])
def test_topic_refuses_ids_that_would_shift_topic_levels(bad: str) -> None:
    with pytest.raises(ValueError, match="must be non-empty"):
        native_topic("demo", bad)
    with pytest.raises(ValueError, match="tenant"):
        native_topic(bad, "air-001")


def test_time_is_utc_with_z_whatever_the_input_zone() -> None:
    cet = timezone(timedelta(hours=1))
    assert format_time(datetime(2024, 3, 5, 9, 0, tzinfo=cet)) == "2024-03-05T08:00:00Z"
    assert format_time(datetime(2024, 3, 5, 8, 0, 0, 250000, tzinfo=UTC)) == ("2024-03-05T08:00:00.250000Z")


def test_naive_time_is_refused() -> None:
    with pytest.raises(ValueError, match="no timezone"):
        format_time(datetime(2024, 3, 5, 8, 0))


def test_encode_native_round_trips(native_checker: NativeChecker) -> None:
    t = datetime(2024, 3, 5, 8, 0, tzinfo=UTC)
    readings = [make_reading(t, "no2", 41.5), make_reading(t, "battery", 3.9)]
    payload = encode_native(readings)
    assert isinstance(payload, bytes)
    assert json.loads(payload) == [
        {"time": "2024-03-05T08:00:00Z", "quantity": "no2", "value": 41.5, "unit": "ug/m3"},
        {"time": "2024-03-05T08:00:00Z", "quantity": "battery", "value": 3.9, "unit": "V"},
    ]
    native_checker(payload)


@pytest.mark.parametrize(
    ("quantity", "value"), [("no2", -1.0), ("humidity", 100.5), ("deck_angle", math.nan)]
)
def test_make_reading_refuses_implausible_values(quantity: str, value: float) -> None:
    with pytest.raises(ValueError, match="outside plausible range"):
        make_reading(datetime(2024, 1, 1, tzinfo=UTC), quantity, value)


def test_encode_native_refuses_non_finite_values() -> None:
    bad = {"time": "2024-01-01T00:00:00Z", "quantity": "no2", "value": math.inf, "unit": "ug/m3"}
    with pytest.raises(ValueError):
        encode_native([bad])  # type: ignore[list-item]


def test_bridge_state_codes() -> None:
    assert [int(s) for s in BridgeState] == [0, 1, 2, 3]
    assert [s.name for s in BridgeState] == ["CLOSED", "OPENING", "OPEN", "CLOSING"]
