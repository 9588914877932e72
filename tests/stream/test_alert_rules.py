"""Alert rules (`stream.alerts`) on the real store: thresholds on readings, thresholds on hourly
means, and staleness. Readings are stored with `Store.write_batch` first, as the pipeline does.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import psycopg
import pytest

from pakhuis.alerts import Alert, AlertRule
from pakhuis.quantities import Quantity
from pakhuis.reading import Reading
from pakhuis.store import Store
from stream.alerts import HourlyMeanAlerts, StalenessCheck, ThresholdAlerts

pytestmark = pytest.mark.integration

T0 = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)


def _r(
    minute: float,
    value: float,
    sensor: str = "kolk-12",
    quantity: Quantity = Quantity.FILL_LEVEL,
    tenant: str = "castricum",
    base: datetime = T0,
) -> Reading:
    t = base + timedelta(minutes=minute)
    return Reading(tenant, sensor, quantity, value, t, t + timedelta(seconds=5), "native")


def _stored(store: Store, readings: Sequence[Reading]) -> Sequence[Reading]:
    store.write_batch(readings)
    return readings


def _states(alerts: Sequence[Alert]) -> list[tuple[str, str, datetime]]:
    return [(a.sensor, a.state, a.time) for a in alerts]


# -- threshold on readings -------------------------------------------------------------------


def test_rising_drain_raises_exactly_one_alert_at_the_reading_that_reaches_the_level(store: Store) -> None:
    rule = ThresholdAlerts(store, {"fill_level": 80.0})
    rising = _stored(store, [_r(m, v) for m, v in enumerate([70.0, 79.0, 80.0, 85.0, 90.0])])
    alerts = rule(rising)
    assert len(alerts) == 1
    alert = alerts[0]
    assert (alert.tenant, alert.sensor, alert.quantity, alert.rule) == (
        "castricum",
        "kolk-12",
        "fill_level",
        AlertRule.ABOVE,
    )
    assert alert.state == "opened"
    assert alert.time == T0 + timedelta(minutes=2)  # the 80 reading
    assert (alert.value, alert.threshold) == (80.0, 80.0)
    assert "80" in alert.message
    assert alert.id > 0

    # the same readings again (a redelivered batch): nothing new
    assert rule(rising) == []
    assert rule(list(reversed(rising))) == []
    still_above = _stored(store, [_r(5, 95.0), _r(6, 81.0)])
    assert rule(still_above) == []

    open_now = store.alerts(open_only=True)
    assert [(a["id"], a["sensor"], a["rule"], a["opened"], a["closed"]) for a in open_now] == [
        (alert.id, "kolk-12", "above", T0 + timedelta(minutes=2), None)
    ]
    assert open_now[0]["value"] == 80.0 and open_now[0]["threshold"] == 80.0


def test_falling_below_closes_and_rising_again_opens_a_second(store: Store) -> None:
    rule = ThresholdAlerts(store, {"fill_level": 80.0})
    [opened] = rule(_stored(store, [_r(0, 70.0), _r(1, 85.0)]))
    [closed] = rule(_stored(store, [_r(2, 79.9)]))
    assert (closed.id, closed.state, closed.time) == (opened.id, "closed", T0 + timedelta(minutes=2))
    assert closed.value == 85.0  # the alert's value stays the one that opened it
    assert store.alerts(open_only=True) == []
    assert rule(_stored(store, [_r(3, 60.0)])) == []  # below, nothing open: nothing to do

    [second] = rule(_stored(store, [_r(4, 80.0)]))
    assert second.state == "opened" and second.id != opened.id
    assert second.time == T0 + timedelta(minutes=4)
    everything = store.alerts()
    assert [(a["id"], a["closed"] is None) for a in everything] == [(second.id, True), (opened.id, False)]
    assert [a["id"] for a in store.alerts(open_only=True)] == [second.id]


def test_a_batch_that_rises_and_falls_yields_opened_and_closed(store: Store) -> None:
    rule = ThresholdAlerts(store, {"fill_level": 80.0})
    batch = _stored(store, [_r(0, 50.0), _r(1, 82.0), _r(2, 88.0), _r(3, 40.0)])
    alerts = rule(batch)
    assert [(a.state, a.time) for a in alerts] == [
        ("opened", T0 + timedelta(minutes=1)),
        ("closed", T0 + timedelta(minutes=3)),
    ]
    assert alerts[0].id == alerts[1].id
    assert store.alerts(open_only=True) == []
    [row] = store.alerts()
    assert (row["opened"], row["closed"]) == (T0 + timedelta(minutes=1), T0 + timedelta(minutes=3))
    # processed again: the same crossing is still one alert, nothing reopens
    assert rule(batch) == []
    assert len(store.alerts()) == 1


def test_unordered_readings_in_one_batch_are_walked_in_time_order(store: Store) -> None:
    rule = ThresholdAlerts(store, {"fill_level": 80.0})
    # in list order this would open at the 90 (minute 4) and then "close" at minute 0
    batch = _stored(store, [_r(4, 90.0), _r(0, 70.0), _r(3, 85.0), _r(1, 79.0), _r(5, 60.0)])
    alerts = rule(batch)
    assert [(a.state, a.time, a.value) for a in alerts] == [
        ("opened", T0 + timedelta(minutes=3), 85.0),
        ("closed", T0 + timedelta(minutes=5), 85.0),
    ]


def test_thresholds_are_per_sensor_and_only_for_configured_quantities(store: Store) -> None:
    rule = ThresholdAlerts(store, {"fill_level": 80.0})
    batch = _stored(
        store,
        [
            _r(0, 81.0, sensor="kolk-1"),
            _r(1, 60.0, sensor="kolk-2"),
            _r(2, 99.0, sensor="kolk-2"),
            _r(0, 81.0, sensor="kolk-1", tenant="velsen"),
            _r(0, 500.0, sensor="no2-1", quantity=Quantity.NO2),  # no threshold for no2 here
            _r(0, 1999.0, sensor="kolk-3", quantity=Quantity.SLUDGE_DEPTH),
        ],
    )
    alerts = rule(batch)
    assert sorted((a.tenant, a.sensor, a.state, a.time) for a in alerts) == [
        ("castricum", "kolk-1", "opened", T0),
        ("castricum", "kolk-2", "opened", T0 + timedelta(minutes=2)),
        ("velsen", "kolk-1", "opened", T0),
    ]
    assert rule([_r(9, 500.0, sensor="no2-1", quantity=Quantity.NO2)]) == []
    with pytest.raises(ValueError, match="ozone"):
        ThresholdAlerts(store, {"ozone": 1.0})


# -- threshold on hourly means ---------------------------------------------------------------


def test_hourly_mean_above_opens_once_and_a_lower_hour_closes_it(store: Store) -> None:
    rule = HourlyMeanAlerts(store, {"no2": 200.0})
    h1 = T0 + timedelta(hours=1)
    h2 = T0 + timedelta(hours=2)

    def no2(t: datetime, value: float) -> Reading:
        return Reading("amsterdam", "no2-9", Quantity.NO2, value, t, t, "native")

    # hour 0: mean exactly 200 does not exceed the limit
    assert rule(_stored(store, [no2(T0 + timedelta(minutes=m), 200.0) for m in (0, 30)])) == []

    # hour 1: single readings above and below, mean 210
    first = [no2(h1 + timedelta(minutes=m), v) for m, v in ((0, 250.0), (20, 170.0), (40, 210.0))]
    alerts = rule(_stored(store, first))
    assert [(a.rule, a.state, a.time) for a in alerts] == [(AlertRule.HOURLY_MEAN_ABOVE, "opened", h1)]
    assert alerts[0].value is not None and abs(alerts[0].value - 210.0) < 1e-9
    assert alerts[0].threshold == 200.0 and alerts[0].quantity == "no2"
    # more readings of the same hour, still above: no second alert; replay: none either
    assert rule(_stored(store, [no2(h1 + timedelta(minutes=50), 230.0)])) == []
    assert rule(first) == []
    assert len(store.alerts(open_only=True)) == 1

    # hour 2: mean 150 closes it at the start of that hour
    closed = rule(_stored(store, [no2(h2 + timedelta(minutes=m), v) for m, v in ((5, 100.0), (35, 200.0))]))
    assert [(a.id, a.state, a.time) for a in closed] == [(alerts[0].id, "closed", h2)]
    assert store.alerts(open_only=True) == []


def test_hourly_mean_batch_spanning_hours_is_evaluated_in_hour_order(store: Store) -> None:
    rule = HourlyMeanAlerts(store, {"no2": 200.0})
    readings = [
        Reading("amsterdam", "no2-9", Quantity.NO2, v, T0 + timedelta(hours=h, minutes=1), T0, "native")
        for h, v in ((2, 150.0), (0, 150.0), (1, 260.0), (3, 240.0))
    ]
    alerts = rule(_stored(store, readings))
    assert [(a.state, a.time) for a in alerts] == [
        ("opened", T0 + timedelta(hours=1)),
        ("closed", T0 + timedelta(hours=2)),
        ("opened", T0 + timedelta(hours=3)),
    ]
    assert [a["opened"] for a in store.alerts(open_only=True)] == [T0 + timedelta(hours=3)]


def test_late_reading_pushing_an_already_materialised_hour_over_the_limit(
    store: Store, database_url: str
) -> None:
    """A reading that arrives hours late (a buffering node) and lifts that hour's mean above the
    limit must raise the alert, whether the store keeps rollup tables or TimescaleDB keeps
    continuous aggregates that its refresh policy has already materialised."""
    rule = HourlyMeanAlerts(store, {"no2": 200.0})
    hour = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(hours=3)

    def no2(minute: int, value: float) -> Reading:
        t = hour + timedelta(minutes=minute)
        return Reading("amsterdam", "no2-late", Quantity.NO2, value, t, t, "native")

    assert rule(_stored(store, [no2(0, 190.0), no2(30, 190.0)])) == []
    if store.rollup_mode()[0] == "continuous_aggregate":
        # what the hourly refresh policy does every 15 minutes
        with psycopg.connect(database_url, autocommit=True) as conn:
            conn.execute(
                "CALL refresh_continuous_aggregate('observations_hourly', "
                "now() - INTERVAL '3 days', now() - INTERVAL '1 hour')"
            )
    alerts = rule(_stored(store, [no2(50, 400.0)]))  # mean (190 + 190 + 400) / 3 = 260
    assert [(a.state, a.time) for a in alerts] == [("opened", hour)]
    assert alerts[0].value is not None and abs(alerts[0].value - 260.0) < 1e-9


# -- staleness -------------------------------------------------------------------------------


def _typical_interval(database_url: str, sensor: str) -> float | None:
    with psycopg.connect(database_url) as conn:
        row = conn.execute("SELECT typical_interval_s FROM sensors WHERE name = %s", (sensor,)).fetchone()
    assert row is not None
    return None if row[0] is None else float(row[0])


def test_sensor_silent_for_longer_than_three_intervals_becomes_stale(store: Store, database_url: str) -> None:
    check = StalenessCheck(store, 3.0)
    start = T0
    readings = [
        Reading(
            "haarlem",
            "pm-4",
            Quantity.PM10,
            12.0,
            start + timedelta(seconds=60 * i),
            start + timedelta(seconds=60 * i + 2),
            "native",
        )
        for i in range(10)
    ]
    # a quiet neighbour that keeps sending throughout
    store.write_batch(readings[:6])
    store.write_batch(readings[6:])
    interval = _typical_interval(database_url, "pm-4")
    assert interval is not None and abs(interval - 60.0) < 1e-6
    last_received = readings[-1].received

    def busy_neighbour(at: datetime) -> None:
        store.write_batch(
            [
                Reading("haarlem", "busy", Quantity.PM10, 1.0, at - timedelta(seconds=s), at, "native")
                for s in (0, 60)
            ]
        )

    busy_neighbour(last_received + timedelta(seconds=170))
    assert check(last_received + timedelta(seconds=60)) == []
    assert check(last_received + timedelta(seconds=180)) == []  # exactly 3 × 60 s: not yet
    assert store.alerts(open_only=True) == []

    now = last_received + timedelta(seconds=181)
    alerts = check(now)
    assert [(a.sensor, a.rule, a.state, a.time, a.quantity) for a in alerts] == [
        ("pm-4", AlertRule.STALE, "opened", now, None)
    ]
    assert alerts[0].value is not None and abs(alerts[0].value - 181.0) < 1e-6
    assert alerts[0].threshold is not None and abs(alerts[0].threshold - 180.0) < 1e-6
    assert check(now + timedelta(seconds=30)) == []  # sweeping again: still one alert
    open_now = store.alerts(open_only=True)
    assert [(a["sensor"], a["rule"], a["quantity"]) for a in open_now] == [("pm-4", "stale", None)]

    # new data closes it, and the write says so
    back = Reading(
        "haarlem",
        "pm-4",
        Quantity.PM10,
        13.0,
        now + timedelta(seconds=10),
        now + timedelta(seconds=11),
        "native",
    )
    result = store.write_batch([back])
    assert [(a.id, a.sensor, a.rule, a.state) for a in result.alerts] == [
        (alerts[0].id, "pm-4", AlertRule.STALE, "closed")
    ]
    assert store.alerts(open_only=True) == []
    assert check(now + timedelta(seconds=60)) == []


def test_expected_interval_wins_over_the_learned_one(store: Store, database_url: str) -> None:
    check = StalenessCheck(store, 3.0)
    readings = [
        Reading(
            "haarlem",
            "tube-1",
            Quantity.NO2,
            20.0,
            T0 + timedelta(seconds=60 * i),
            T0 + timedelta(seconds=60 * i),
            "native",
        )
        for i in range(5)
    ]
    store.write_batch(readings)
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("UPDATE sensors SET expected_interval_s = 3600 WHERE name = 'tube-1'")
    last = readings[-1].received
    assert check(last + timedelta(hours=2)) == []
    [alert] = check(last + timedelta(hours=3, seconds=1))
    assert alert.threshold == 3 * 3600.0


def test_redelivered_old_batch_does_not_end_a_stale_alert(store: Store) -> None:
    """A duplicate of readings sent before the sensor went silent is not new data: the sensor
    is still silent, so its stale alert stays open (and is not re-raised by the next sweep)."""
    check = StalenessCheck(store, 3.0)
    readings = [
        Reading(
            "haarlem",
            "pm-5",
            Quantity.PM10,
            12.0,
            T0 + timedelta(seconds=60 * i),
            T0 + timedelta(seconds=60 * i),
            "native",
        )
        for i in range(10)
    ]
    store.write_batch(readings)
    now = readings[-1].received + timedelta(minutes=10)
    [opened] = check(now)
    redelivered = store.write_batch(readings[-3:])
    assert redelivered.inserted == 0
    assert redelivered.alerts == ()
    assert [a["id"] for a in store.alerts(open_only=True)] == [opened.id]
    assert check(now + timedelta(minutes=1)) == []
