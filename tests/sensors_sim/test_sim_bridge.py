"""BridgeSensor: the open/close cycle, deck angle and vessel counts."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sensors_sim import BridgeSensor

AMS = ZoneInfo("Europe/Amsterdam")


def _run(sensor: BridgeSensor, start: datetime, hours: float, step_s: int = 5) -> list[dict[str, float]]:
    rows = []
    t = start
    for _ in range(int(hours * 3600 / step_s)):
        readings = sensor.readings_at(t)
        row = {r["quantity"]: r["value"] for r in readings}
        row["t"] = t.timestamp()
        rows.append(row)
        t += timedelta(seconds=step_s)
    return rows


# A Sunday, so no rush-hour lock-out interferes.
SUNDAY = datetime(2024, 6, 2, 10, 0, tzinfo=UTC)


def test_emits_state_angle_and_vessels() -> None:
    readings = BridgeSensor("demo", "bridge-001", 1).readings_at(SUNDAY)
    assert [(r["quantity"], r["unit"]) for r in readings] == [
        ("bridge_state", "state"),
        ("deck_angle", "deg"),
        ("vessel_passage", "count"),
    ]


def test_cycles_closed_opening_open_closing_closed() -> None:
    rows = _run(BridgeSensor("demo", "bridge-001", 2, mean_closed_minutes=20.0), SUNDAY, 6)
    states = [int(r["bridge_state"]) for r in rows]
    runs = [s for i, s in enumerate(states) if i == 0 or s != states[i - 1]]
    assert runs[0] == 0
    for a, b in itertools.pairwise(runs):
        assert b == (a + 1) % 4, f"illegal transition {a} -> {b}"
    assert runs.count(2) >= 3  # several full openings in 6 hours


def test_deck_angle_is_consistent_with_state() -> None:
    sensor = BridgeSensor("demo", "bridge-001", 3, open_angle_deg=75.0, mean_closed_minutes=20.0)
    rows = _run(sensor, SUNDAY, 6)
    for r in rows:
        state, angle = int(r["bridge_state"]), r["deck_angle"]
        if state == 0:
            assert abs(angle) < 1.0
        elif state == 2:
            assert 74.0 <= angle <= 76.0
        else:
            assert -1.0 <= angle <= 76.0
    # Within an opening the deck rises over about a minute; within a closing it falls.
    for moving, direction in ((1, 1), (3, -1)):
        phases: list[list[float]] = [[]]
        for r in rows:
            if int(r["bridge_state"]) == moving:
                phases[-1].append(r["deck_angle"])
            elif phases[-1]:
                phases.append([])
        phases = [p for p in phases if len(p) >= 6]
        assert phases
        for p in phases:
            assert direction * (p[-1] - p[0]) > 40
            assert 45 <= len(p) * 5 <= 85  # duration in seconds


def test_vessels_pass_while_open_and_count_per_opening() -> None:
    rows = _run(BridgeSensor("demo", "bridge-001", 4, mean_closed_minutes=20.0), SUNDAY, 6)
    finals = []
    previous = rows[0]
    for r in rows:
        state, count = int(r["bridge_state"]), r["vessel_passage"]
        if state in (0, 1):
            assert count == 0
        if state == int(previous["bridge_state"]) == 2:
            assert count >= previous["vessel_passage"]  # a counter within the opening
        if state == 0 and int(previous["bridge_state"]) == 3:
            finals.append(previous["vessel_passage"])
        previous = r
    assert finals and all(n >= 1 for n in finals)  # it opened for at least one vessel


def test_no_opening_starts_during_weekday_rush_hour_lockout() -> None:
    sensor = BridgeSensor("demo", "bridge-001", 5, mean_closed_minutes=10.0, min_closed_minutes=1)
    monday = datetime(2024, 6, 3, 5, 0, tzinfo=AMS).astimezone(UTC)
    rows = _run(sensor, monday, 15, step_s=10)
    starts = [
        datetime.fromtimestamp(b["t"], AMS)
        for a, b in itertools.pairwise(rows)
        if int(a["bridge_state"]) == 0 and int(b["bridge_state"]) == 1
    ]
    assert len(starts) > 10
    for s in starts:
        assert not (7 <= s.hour < 9 or 16 <= s.hour < 18), s


def test_stuck_bridge_stays_open_long() -> None:
    sensor = BridgeSensor("demo", "bridge-001", 6, stuck_probability=1.0, mean_closed_minutes=5)
    rows = _run(sensor, SUNDAY, 4, step_s=30)
    open_runs, current = [], 0
    for r in rows:
        if int(r["bridge_state"]) == 2:
            current += 1
        elif current:
            open_runs.append(current * 30 / 60)
            current = 0
    assert open_runs and min(open_runs) >= 45  # minutes


def test_same_seed_same_cycle() -> None:
    a = _run(BridgeSensor("demo", "bridge-001", 7), SUNDAY, 2, step_s=20)
    b = _run(BridgeSensor("demo", "bridge-001", 7), SUNDAY, 2, step_s=20)
    c = _run(BridgeSensor("demo", "bridge-001", 8), SUNDAY, 2, step_s=20)
    assert a == b
    assert a != c


def test_long_gaps_replay_whole_cycles() -> None:
    # A reading a day later must still be a valid state, with the cycles in between played.
    sensor = BridgeSensor("demo", "bridge-001", 8)
    sensor.readings_at(SUNDAY)
    readings = sensor.readings_at(SUNDAY + timedelta(days=1))
    assert sensor.openings > 5
    assert readings[0]["value"] in (0.0, 1.0, 2.0, 3.0)
