"""Hourly and daily rollups (`Store.rollup`) against an independent pandas oracle.

Readings go in through `Store.write_batch`, as the stream writes them; the oracle groups the same
readings with pandas: hours in UTC, days from local midnight in Europe/Amsterdam (23 hours on
the spring-forward day, 25 on the fall-back day). On plain PostgreSQL the store keeps rollup
tables itself; on TimescaleDB they are continuous aggregates — both must give the same rows.

Dates are recent on purpose: TimescaleDB's retention policy drops raw chunks older than 400
days (a fresh database runs it at once), and readings older than the continuous-aggregate
policies' look-back (3 / 7 days) exercise the store's explicit refresh.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Sequence
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pandas as pd
import psycopg
import pytest

from pakhuis.quantities import Quantity
from pakhuis.reading import QualityLabel, Reading
from pakhuis.store import Store
from tests.support import shared_data

pytestmark = pytest.mark.integration

AMS = ZoneInfo("Europe/Amsterdam")
TOL = 1e-9
LUCHTMEETNET = shared_data("nl-luchtmeetnet-samenmeten-rivm")


# -- helpers ---------------------------------------------------------------------------------


def _local_midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=AMS).astimezone(UTC)


def _day_seconds(day: date) -> float:
    return (_local_midnight(day + timedelta(days=1)) - _local_midnight(day)).total_seconds()


def _dst_days(now: datetime) -> tuple[date, date]:
    """The latest spring-forward (23 h) and fall-back (25 h) days at least 8 days before `now`:
    2026-03-29 and 2026-10-25 when this was written (2026-11-22)."""
    spring: date | None = None
    autumn: date | None = None
    day = (now - timedelta(days=8)).date()
    while spring is None or autumn is None:
        seconds = _day_seconds(day)
        if seconds == 23 * 3600 and spring is None:
            spring = day
        if seconds == 25 * 3600 and autumn is None:
            autumn = day
        day -= timedelta(days=1)
    return spring, autumn


def _reading(
    t: datetime,
    value: float,
    sensor: str = "no2-1",
    quantity: Quantity = Quantity.NO2,
    tenant: str = "zaanstad",
) -> Reading:
    return Reading(tenant, sensor, quantity, value, t, t + timedelta(seconds=2), "native")


def _oracle(readings: Iterable[Reading], bucket: str) -> pd.DataFrame:
    """mean/min/max/count per tenant, sensor, quantity and bucket, computed with pandas.

    The store keeps the first of several readings with one identity (sensor, quantity, time)."""
    frame = pd.DataFrame(
        [(r.tenant, r.sensor, r.quantity.value, pd.Timestamp(r.time), r.value) for r in readings],
        columns=["tenant", "sensor", "quantity", "time", "value"],
    )
    frame = frame.drop_duplicates(["tenant", "sensor", "quantity", "time"], keep="first")
    utc = frame["time"].dt.tz_convert("UTC")
    if bucket == "1h":
        frame["bucket"] = utc.dt.floor("h")
    else:
        frame["bucket"] = utc.dt.tz_convert("Europe/Amsterdam").dt.normalize().dt.tz_convert("UTC")
    grouped = frame.groupby(["tenant", "sensor", "quantity", "bucket"])["value"]
    result = grouped.agg(["mean", "min", "max", "count"]).reset_index()
    return result.sort_values(["bucket", "tenant", "sensor", "quantity"]).reset_index(drop=True)


def _rows(store: Store, bucket: str, **filters: Any) -> list[dict[str, Any]]:
    # Continuous aggregates catch up with late writes in the periodic refresh (a no-op on
    # plain PostgreSQL, whose rollup tables every write keeps current).
    store.refresh_rollups()
    return store.rollup(bucket=bucket, limit=100_000, **filters)  # type: ignore[arg-type]


def _assert_rollup_matches(store: Store, readings: Sequence[Reading], bucket: str) -> list[dict[str, Any]]:
    expected = _oracle(readings, bucket)
    rows = _rows(store, bucket)
    got = {(r["tenant"], r["sensor"], r["quantity"], pd.Timestamp(r["time"])): r for r in rows}
    want = {(e.tenant, e.sensor, e.quantity, e.bucket): e for e in expected.itertuples(index=False)}
    assert len(got) == len(rows), "a bucket appears twice"
    assert sorted(got) == sorted(want), f"{bucket} buckets differ"
    for key, e in want.items():
        row = got[key]
        assert row["count"] == e.count, (bucket, key)
        assert abs(row["mean"] - e.mean) <= TOL, (bucket, key, row["mean"], e.mean)
        assert abs(row["min"] - e.min) <= TOL, (bucket, key)
        assert abs(row["max"] - e.max) <= TOL, (bucket, key)
    return rows


def _set_expected_interval(database_url: str, sensor: str, seconds: float) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        updated = conn.execute(
            "UPDATE sensors SET expected_interval_s = %s WHERE name = %s", (seconds, sensor)
        ).rowcount
    assert updated == 1


def _materialise_like_the_refresh_policy(store: Store, database_url: str) -> None:
    """What TimescaleDB's hourly refresh policy does every 15 minutes (a no-op for the table
    mode, whose rollups the store keeps itself)."""
    if store.rollup_mode()[0] != "continuous_aggregate":
        return
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(
            "CALL refresh_continuous_aggregate('observations_hourly', "
            "now() - INTERVAL '3 days', now() - INTERVAL '1 hour')"
        )


# -- tests -----------------------------------------------------------------------------------


def test_hourly_and_daily_rollups_match_pandas(store: Store) -> None:
    rng = random.Random(20261122)
    first_day = (datetime.now(UTC) - timedelta(days=14)).date()
    start = _local_midnight(first_day)
    end = _local_midnight(first_day + timedelta(days=3))
    span = int((end - start).total_seconds())
    readings: list[Reading] = []
    series = [
        ("zaanstad", "no2-1", Quantity.NO2),
        ("zaanstad", "no2-1", Quantity.TEMPERATURE),
        ("zaanstad", "kolk-3", Quantity.FILL_LEVEL),
        ("haarlem", "no2-1", Quantity.NO2),  # same sensor name, other tenant
    ]
    for tenant, sensor, quantity in series:
        times = {
            start + timedelta(seconds=rng.randrange(span), microseconds=rng.randrange(10**6))
            for _ in range(600)
        }
        # readings exactly on hour borders and on local midnight
        times |= {start + timedelta(hours=h) for h in range(0, 72, 5)}
        times |= {_local_midnight(first_day + timedelta(days=d)) for d in range(3)}
        for t in times:
            readings.append(_reading(t, round(rng.uniform(0.0, 60.0), 6), sensor, quantity, tenant))
    rng.shuffle(readings)
    for i in range(0, len(readings), 700):  # several batches, in no particular order
        store.write_batch(readings[i : i + 700])

    hourly = _assert_rollup_matches(store, readings, "1h")
    daily = _assert_rollup_matches(store, readings, "1d")
    assert len(daily) == 3 * len(series)
    assert {r["time"] for r in daily} == {_local_midnight(first_day + timedelta(days=d)) for d in range(3)}
    assert all(r["time"].minute == 0 and r["time"].second == 0 for r in hourly)
    # rows come in bucket order
    assert [r["time"] for r in hourly] == sorted(r["time"] for r in hourly)
    # the filters select the same rows as the oracle
    only = _rows(store, "1h", tenant="haarlem", sensor="no2-1", quantity=Quantity.NO2)
    assert len(only) == sum(1 for r in hourly if r["tenant"] == "haarlem")
    window = _rows(store, "1d", start=_local_midnight(first_day + timedelta(days=1)), end=end)
    assert {r["time"] for r in window} == {
        _local_midnight(first_day + timedelta(days=1)),
        _local_midnight(first_day + timedelta(days=2)),
    }


def test_daily_buckets_start_at_local_midnight_on_dst_days(store: Store, database_url: str) -> None:
    spring, autumn = _dst_days(datetime.now(UTC))
    assert _day_seconds(spring) == 82800 and _day_seconds(autumn) == 90000
    readings: list[Reading] = []
    for dst_day in (spring, autumn):
        start = _local_midnight(dst_day - timedelta(days=1))
        end = _local_midnight(dst_day + timedelta(days=2))
        t = start
        while t < end:  # every 120 s: half of the readings a 60 s sensor should send
            readings.append(_reading(t, 10.0 + (t.minute % 7) + t.hour / 100, "every-2min"))
            readings.append(_reading(t, 1.0, "every-2min-capped", Quantity.FILL_LEVEL))
            t += timedelta(seconds=120)
    store.write_batch([r for r in readings if r.time < _local_midnight(autumn - timedelta(days=1))])
    store.write_batch([r for r in readings if r.time >= _local_midnight(autumn - timedelta(days=1))])
    _set_expected_interval(database_url, "every-2min", 60)
    _set_expected_interval(database_url, "every-2min-capped", 300)

    _assert_rollup_matches(store, readings, "1d")
    _assert_rollup_matches(store, readings, "1h")

    daily = {r["time"]: r for r in _rows(store, "1d", sensor="every-2min")}
    for dst_day, hours in ((spring, 23), (autumn, 25)):
        for day in (dst_day - timedelta(days=1), dst_day, dst_day + timedelta(days=1)):
            row = daily[_local_midnight(day)]
            length = _day_seconds(day)
            assert row["count"] == length / 120
            # coverage = count × 60 s / the day's real length (82800 / 86400 / 90000 s)
            assert abs(row["coverage"] - min(1.0, row["count"] * 60 / length)) <= TOL
            assert abs(row["coverage"] - 0.5) <= TOL, (day, row["coverage"])
        midnight = _local_midnight(dst_day)
        assert midnight.hour == (23 if dst_day == spring else 22)  # CET resp. CEST midnight in UTC
        assert daily[midnight]["count"] == hours * 30
    capped = _rows(store, "1d", sensor="every-2min-capped")
    assert len(capped) == 6 and all(abs(r["coverage"] - 1.0) <= TOL for r in capped)

    hourly = _rows(store, "1h", sensor="every-2min")
    assert len(hourly) == (23 + 24 + 24) + (24 + 25 + 24)
    assert all(r["count"] == 30 and abs(r["coverage"] - 0.5) <= TOL for r in hourly)
    # the fall-back day has two distinct UTC hours for local 02:00–03:00
    fall_back = _local_midnight(autumn)
    assert sum(1 for r in hourly if fall_back <= r["time"] < fall_back + timedelta(hours=25)) == 25


def test_readings_exactly_on_bucket_borders(store: Store) -> None:
    _, autumn = _dst_days(datetime.now(UTC))
    midnight = _local_midnight(autumn)  # 22:00 UTC the day before
    next_midnight = _local_midnight(autumn + timedelta(days=1))  # 23:00 UTC: 25 hours later
    assert next_midnight - midnight == timedelta(hours=25)
    readings = [
        _reading(midnight - timedelta(microseconds=1), 1.0),  # previous day, previous hour
        _reading(midnight, 2.0),  # first instant of the day and of its hour
        _reading(midnight + timedelta(hours=3), 4.0),  # 02:00 CET, the repeated local hour's 2nd pass
        _reading(next_midnight - timedelta(microseconds=1), 8.0),  # last instant of the 25 h day
        _reading(next_midnight, 16.0),  # first instant of the next day
    ]
    store.write_batch(readings)
    daily = {r["time"]: (r["count"], r["mean"]) for r in _rows(store, "1d")}
    assert daily == {
        _local_midnight(autumn - timedelta(days=1)): (1, 1.0),
        midnight: (3, (2.0 + 4.0 + 8.0) / 3),
        next_midnight: (1, 16.0),
    }
    hourly = {r["time"]: r["count"] for r in _rows(store, "1h")}
    assert hourly == {
        midnight - timedelta(hours=1): 1,
        midnight: 1,
        midnight + timedelta(hours=3): 1,
        next_midnight - timedelta(hours=1): 1,
        next_midnight: 1,
    }
    _assert_rollup_matches(store, readings, "1h")
    _assert_rollup_matches(store, readings, "1d")


def test_duplicates_written_twice_leave_rollups_unchanged(store: Store) -> None:
    start = _local_midnight((datetime.now(UTC) - timedelta(days=10)).date())
    readings = [_reading(start + timedelta(minutes=7 * i), float(i % 13)) for i in range(500)]
    first = store.write_batch(readings)
    assert first.inserted == 500
    hourly = _assert_rollup_matches(store, readings, "1h")
    daily = _assert_rollup_matches(store, readings, "1d")

    again = store.write_batch(readings)
    assert (again.inserted, again.duplicates) == (0, 500)
    assert _rows(store, "1h") == hourly
    assert _rows(store, "1d") == daily

    # the same identities with other values: the first stored reading stays
    changed = [replace(r, value=r.value + 1000.0) for r in readings[:50]]
    assert store.write_batch(changed).inserted == 0
    assert _rows(store, "1h") == hourly
    assert _rows(store, "1d") == daily

    # a redelivered batch holding one new reading (and a reading twice): only that one counts
    extra = _reading(start + timedelta(minutes=7 * 3, seconds=30), 99.0)
    result = store.write_batch([*readings[:20], extra, extra])
    assert result.inserted == 1
    _assert_rollup_matches(store, [*readings, extra], "1h")
    _assert_rollup_matches(store, [*readings, extra], "1d")
    assert sum(r["count"] for r in _rows(store, "1d")) == 501


def test_late_readings_recompute_older_buckets(store: Store) -> None:
    first_day = (datetime.now(UTC) - timedelta(days=12)).date()
    start = _local_midnight(first_day)
    readings = [_reading(start + timedelta(minutes=10 * i), 20.0 + (i % 9)) for i in range(3 * 144)]
    readings += [_reading(start + timedelta(minutes=10 * i), 5.0, "no2-2") for i in range(3 * 144)]
    store.write_batch(readings)
    _assert_rollup_matches(store, readings, "1d")

    # a day later the newest data arrives, then readings of the first day come in late
    newer = [_reading(start + timedelta(days=3, minutes=10 * i), 30.0) for i in range(144)]
    store.write_batch(newer)
    late = [
        _reading(start + timedelta(hours=5, minutes=5), 500.0),  # into an existing hour
        _reading(start + timedelta(hours=5, minutes=15, seconds=1), 0.0),
        _reading(start + timedelta(hours=26, minutes=7), 250.0),  # second day
        _reading(start + timedelta(days=1, hours=3, minutes=3), 1.0, "no2-2"),
    ]
    result = store.write_batch(late)
    assert result.inserted == 4
    everything = [*readings, *newer, *late]
    hourly = _assert_rollup_matches(store, everything, "1h")
    daily = _assert_rollup_matches(store, everything, "1d")
    day_one = next(r for r in daily if r["time"] == start and r["sensor"] == "no2-1")
    assert day_one["count"] == 146 and day_one["max"] == 500.0
    hour_five = next(r for r in hourly if r["time"] == start + timedelta(hours=5) and r["sensor"] == "no2-1")
    assert (hour_five["count"], hour_five["min"], hour_five["max"]) == (8, 0.0, 500.0)


@pytest.mark.parametrize("local_time", ["00:30", "23:30"])
def test_late_reading_in_the_edge_hours_of_the_25_hour_day(store: Store, local_time: str) -> None:
    """A late reading in the first or last local hour of the fall-back day must be rolled up.

    (With continuous aggregates the store refreshes [oldest - 1 day, newest + 1 day]; a 48-hour
    window around such a reading holds no whole local day, so the refresh fails.)
    """
    _, autumn = _dst_days(datetime.now(UTC))
    start = _local_midnight(autumn - timedelta(days=1))
    readings = [_reading(start + timedelta(minutes=30 * i), 40.0) for i in range(48 + 50 + 48)]
    store.write_batch(readings)
    hour, minute = (int(part) for part in local_time.split(":"))
    late_time = datetime(autumn.year, autumn.month, autumn.day, hour, minute, tzinfo=AMS).astimezone(UTC)
    late = _reading(late_time + timedelta(seconds=1), 400.0)
    result = store.write_batch([late])
    assert result.inserted == 1
    daily = _assert_rollup_matches(store, [*readings, late], "1d")
    the_day = next(r for r in daily if r["time"] == _local_midnight(autumn))
    assert (the_day["count"], the_day["max"]) == (51, 400.0)
    _assert_rollup_matches(store, [*readings, late], "1h")


def test_late_reading_for_an_hour_already_materialised(store: Store, database_url: str) -> None:
    """A reading arriving two hours late (a buffering LoRaWAN node) for an hour the refresh
    policy already materialised must change that hour's rollup right away, as it does when the
    store keeps the rollup tables itself."""
    hour = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(hours=3)
    on_time = [_reading(hour + timedelta(minutes=m), 10.0) for m in range(0, 60, 10)]
    store.write_batch(on_time)
    _materialise_like_the_refresh_policy(store, database_url)
    _assert_rollup_matches(store, on_time, "1h")

    late = _reading(hour + timedelta(minutes=55), 80.0)
    assert store.write_batch([late]).inserted == 1
    row = _rows(store, "1h", start=hour, end=hour + timedelta(hours=1))
    assert [(r["count"], r["max"]) for r in row] == [(7, 80.0)]
    assert abs(row[0]["mean"] - 140.0 / 7) <= TOL


def _luchtmeetnet_no2(station: str, first: str, last: str) -> pd.DataFrame:
    frame = pd.read_csv(
        LUCHTMEETNET / "Voorbeeld_luchtmeetnet.csv", usecols=["station_number", "date", "NO2"]
    )
    frame = frame[(frame["station_number"] == station) & frame["NO2"].notna()].copy()
    # SOURCE.txt: "date" is the start of the hourly mean in Etc/GMT-1 (UTC+1 all year)
    frame["start"] = pd.to_datetime(frame["date"]).dt.tz_localize("Etc/GMT-1")
    frame["csv_day"] = frame["date"].str[:10]
    return frame[(frame["csv_day"] >= first) & (frame["csv_day"] <= last)].sort_values("start")


def test_daily_means_of_real_luchtmeetnet_no2(store: Store, database_url: str) -> None:
    """Six days of hourly NO2 from Luchtmeetnet station NL49007 (Amsterdam), Feb 2020.

    In February Amsterdam keeps CET = UTC+1, the data's own clock, so the hand computation is
    "group by the CSV's date". The series is moved by whole weeks on the local clock to a
    recent period without DST changes (see the module docstring on retention); local days and
    hours stay exactly the data's own.
    """
    frame = _luchtmeetnet_no2("NL49007", "2020-02-05", "2020-02-10")
    assert len(frame) == 6 * 24 - 2  # two hours are NA in the source
    hand = frame.groupby("csv_day")["NO2"].agg(["mean", "count"])
    assert abs(hand.loc["2020-02-05", "mean"] - 53.4) < 1e-9
    assert abs(hand.loc["2020-02-07", "mean"] - 1355.7 / 23) < 1e-9 and hand.loc["2020-02-07", "count"] == 23

    local = frame["start"].dt.tz_convert("Europe/Amsterdam").dt.tz_localize(None)  # wall clock
    weeks = (pd.Timestamp(datetime.now(UTC).date()) - pd.Timestamp("2020-02-11")).days // 7 - 2
    while not all(_day_seconds(date(2020, 2, 5) + timedelta(weeks=weeks, days=d)) == 86400 for d in range(6)):
        weeks -= 1
    shifted = (local + pd.Timedelta(weeks=weeks)).dt.tz_localize("Europe/Amsterdam")
    shift_days = weeks * 7
    readings = [
        Reading(
            tenant="luchtmeetnet",
            sensor="NL49007",
            quantity=Quantity.NO2,
            value=float(value),
            time=t.to_pydatetime().astimezone(UTC),
            time_end=(t + pd.Timedelta(hours=1)).to_pydatetime().astimezone(UTC),
            received=datetime.now(UTC),
            source_format="luchtmeetnet-csv",
            quality=QualityLabel.RAW,  # unvalidated
        )
        for t, value in zip(shifted, frame["NO2"], strict=True)
    ]
    store.write_batch(readings[:70])
    store.write_batch(readings[60:])  # overlapping batch: ten duplicates
    _set_expected_interval(database_url, "NL49007", 3600)

    daily = _rows(store, "1d", sensor="NL49007", quantity=Quantity.NO2)
    assert len(daily) == 6
    for row in daily:
        csv_day = (row["time"].astimezone(AMS).date() - timedelta(days=shift_days)).isoformat()
        assert row["time"].astimezone(AMS).hour == 0  # local midnight
        assert row["count"] == hand.loc[csv_day, "count"], csv_day
        assert abs(row["mean"] - hand.loc[csv_day, "mean"]) <= TOL, csv_day
        assert abs(row["coverage"] - hand.loc[csv_day, "count"] / 24) <= TOL
    oracle = _assert_rollup_matches(store, readings, "1d")
    assert len(oracle) == 6
    hourly = _assert_rollup_matches(store, readings, "1h")
    assert len(hourly) == len(readings) and all(r["count"] == 1 for r in hourly)


def test_coverage_is_none_while_the_interval_is_unknown(store: Store, database_url: str) -> None:
    """`Store.rollup`: coverage is "None when the interval is unknown" — a sensor seen once has
    neither an expected nor a learned interval."""
    t = _local_midnight((datetime.now(UTC) - timedelta(days=9)).date()) + timedelta(hours=6, minutes=15)
    store.write_batch([_reading(t, 12.0, "seen-once")])
    with psycopg.connect(database_url) as conn:
        row = conn.execute(
            "SELECT expected_interval_s, typical_interval_s FROM sensors WHERE name = 'seen-once'"
        ).fetchone()
    assert row == (None, None)
    for bucket in ("1h", "1d"):
        [rollup] = _rows(store, bucket, sensor="seen-once")
        assert rollup["count"] == 1
        assert rollup["coverage"] is None, (bucket, rollup["coverage"])

    _set_expected_interval(database_url, "seen-once", 600)
    [hourly] = _rows(store, "1h", sensor="seen-once")
    assert abs(hourly["coverage"] - 600 / 3600) <= TOL
