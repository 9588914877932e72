"""build_fleet: ids, determinism, independence of devices, and plausible output."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from sensors_sim import (
    AirQualitySensor,
    BridgeSensor,
    DrainSensor,
    Emulator,
    build_fleet,
    encode_native,
)

NativeChecker = Callable[[bytes], list[dict[str, object]]]
TOPIC = re.compile(r"^pakhuis/v1/([^/+#]+)/([^/+#]+)/native$")


def _payloads(fleet: list[Emulator], times: list[datetime]) -> list[tuple[str, bytes]]:
    return [(e.topic, encode_native(e.readings_at(t))) for t in times for e in fleet]


TIMES = [datetime(2024, 10, 7, tzinfo=UTC) + timedelta(minutes=5 * i) for i in range(200)]


def test_ids_kinds_and_topics() -> None:
    fleet = build_fleet(1, tenant="zaanstad", air=2, drains=3, bridges=1)
    assert [e.sensor_id for e in fleet] == [
        "air-001",
        "air-002",
        "drain-001",
        "drain-002",
        "drain-003",
        "bridge-001",
    ]
    assert [type(e) for e in fleet] == [AirQualitySensor] * 2 + [DrainSensor] * 3 + [BridgeSensor]
    for e in fleet:
        assert isinstance(e, Emulator)
        match = TOPIC.match(e.topic)
        assert match is not None
        assert match.groups() == ("zaanstad", e.sensor_id)


def test_defaults() -> None:
    fleet = build_fleet(1)
    assert {e.tenant for e in fleet} == {"demo"}
    assert len(fleet) == 3 + 5 + 1


def test_same_seed_same_payloads_different_seed_different() -> None:
    a = _payloads(build_fleet(42, air=2, drains=2, bridges=1), TIMES)
    b = _payloads(build_fleet(42, air=2, drains=2, bridges=1), TIMES)
    c = _payloads(build_fleet(43, air=2, drains=2, bridges=1), TIMES)
    assert a == b
    assert a != c


def test_parameters_come_from_the_seed() -> None:
    def trees(seed: int) -> list[float]:
        return [e.tree_factor for e in build_fleet(seed, drains=20) if isinstance(e, DrainSensor)]

    assert trees(1) == trees(1)
    assert trees(1) != trees(2)
    sumps = [e.sump_depth_mm for e in build_fleet(1, drains=20) if isinstance(e, DrainSensor)]
    assert all(300 <= s <= 600 for s in sumps)
    assert any(t == 0 for t in trees(1)) and any(t > 0 for t in trees(1))


def test_growing_the_fleet_keeps_existing_devices() -> None:
    small = build_fleet(5, air=1, drains=2, bridges=1)
    large = build_fleet(5, air=4, drains=9, bridges=2)
    by_id = {e.sensor_id: e for e in large}
    for e in small:
        other = by_id[e.sensor_id]
        assert _payloads([e], TIMES[:50]) == _payloads([other], TIMES[:50])


def test_negative_counts_are_refused() -> None:
    with pytest.raises(ValueError, match=">= 0"):
        build_fleet(1, drains=-1)


def test_every_payload_is_plausible_json_over_a_year(native_checker: NativeChecker) -> None:
    fleet = build_fleet(2024, air=3, drains=4, bridges=2)
    start = datetime(2024, 1, 1, tzinfo=UTC)
    quantities: set[str] = set()
    # Every 4 hours for a year (seasons, battery swaps, cleanings), then a dense stretch
    # so the bridges are caught mid-movement too.
    times = [start + timedelta(hours=h) for h in range(0, 366 * 24, 4)]
    times += [times[-1] + timedelta(seconds=10 * i) for i in range(1, 1000)]
    for t in times:
        for e in fleet:
            readings = e.readings_at(t)
            if not readings:
                continue
            for item in native_checker(encode_native(readings)):
                quantities.add(str(item["quantity"]))
    assert quantities == {
        "no2",
        "temperature",
        "humidity",
        "battery",
        "fill_level",
        "sludge_depth",
        "bridge_state",
        "deck_angle",
        "vessel_passage",
    }
