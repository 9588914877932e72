"""The HTTP API's rollups (`GET /api/v1/observations?bucket=…&agg=…`) and alerts
(`GET /api/v1/alerts`) on the real store, checked against `Store.rollup` / `Store.alerts`."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import psycopg
import pytest
from fastapi.testclient import TestClient

from api import create_app
from pakhuis.quantities import Quantity
from pakhuis.reading import Reading
from pakhuis.store import Store
from stream.alerts import ThresholdAlerts

pytestmark = pytest.mark.integration

AMS = ZoneInfo("Europe/Amsterdam")
# Local midnight ten days ago: old enough for TimescaleDB's explicit refresh, recent enough for
# its retention policy.
_DAY = (datetime.now(UTC) - timedelta(days=10)).date()
DAY0 = datetime(_DAY.year, _DAY.month, _DAY.day, tzinfo=AMS).astimezone(UTC)


def _r(sensor: str, quantity: Quantity, minutes: float, value: float, tenant: str = "haarlem") -> Reading:
    t = DAY0 + timedelta(minutes=minutes)
    return Reading(tenant, sensor, quantity, value, t, t + timedelta(seconds=1), "native")


@pytest.fixture
def client(store: Store, database_url: str) -> Iterator[TestClient]:
    readings = [
        # no2-1: every 5 minutes for 30 hours, values cycling 10..21.5
        *(_r("no2-1", Quantity.NO2, 5 * i, 10.0 + (i % 24) / 2) for i in range(12 * 30)),
        # kolk-7: a few fill levels on the first two hours
        *(
            _r("kolk-7", Quantity.FILL_LEVEL, m, v)
            for m, v in ((3, 40.0), (61, 42.5), (62, 47.0), (119, 51.0))
        ),
        # another tenant
        *(_r("no2-1", Quantity.NO2, 7 * i, 30.0 + i, tenant="delft") for i in range(20)),
    ]
    # The city's own sensors: public as they are (a citizen group's: tests/api/test_privacy_scan.py).
    for tenant in ("haarlem", "delft", "velsen"):
        store.set_tenant_kind(tenant, "city")
    store.write_batch(readings)
    store.refresh_rollups()
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(
            "UPDATE sensors SET expected_interval_s = 300 WHERE name = 'no2-1' AND tenant = 'haarlem'"
        )
    with TestClient(create_app(store)) as test_client:
        yield test_client


def _get(client: TestClient, **params: object) -> list[dict[str, Any]]:
    response = client.get("/api/v1/observations", params=params)
    assert response.status_code == 200, response.text
    rows = response.json()
    assert isinstance(rows, list)
    return rows


def _assert_error(response: Any, status: int, code: str) -> str:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"error"}
    error = body["error"]
    assert {"status", "code", "message"} <= set(error) <= {"status", "code", "message", "hint"}
    assert (error["status"], error["code"]) == (status, code)
    assert isinstance(error["message"], str) and error["message"]
    return str(error["message"])


@pytest.mark.parametrize("bucket", ["1h", "1d"])
@pytest.mark.parametrize("agg", ["mean", "min", "max", "count"])
def test_bucketed_values_match_store_rollup(client: TestClient, store: Store, bucket: str, agg: str) -> None:
    rows = _get(client, bucket=bucket, agg=agg, limit=10_000)
    expected = store.rollup(bucket=bucket, limit=10_000)  # type: ignore[arg-type]
    assert len(rows) == len(expected) > 0
    for row, want in zip(rows, expected, strict=True):
        assert (row["tenant"], row["sensor"], row["quantity"]) == (
            want["tenant"],
            want["sensor"],
            want["quantity"],
        )
        assert datetime.fromisoformat(row["time"]) == want["time"]
        assert row["value"] == float(want[agg])
        assert row["agg"] == agg
        assert row["count"] == want["count"]
        assert row["coverage"] == want["coverage"]
        assert row["unit"] == ("count" if agg == "count" else want["unit"])
        assert row.get("quality") is None and row.get("time_end") is None


def test_hourly_max_for_one_sensor(client: TestClient) -> None:
    rows = _get(client, bucket="1h", agg="max", tenant="haarlem", sensor="no2-1", quantity="no2", limit=100)
    assert len(rows) == 30
    # every hour holds 12 readings with i % 24 cycling through one half of 0..23
    assert [r["value"] for r in rows[:2]] == [10.0 + 11 / 2, 10.0 + 23 / 2]
    assert all(r["count"] == 12 and r["coverage"] == 1.0 for r in rows)
    assert [datetime.fromisoformat(r["time"]) for r in rows[:3]] == [
        DAY0 + timedelta(hours=h) for h in range(3)
    ]
    assert all(r["unit"] == "µg/m³" for r in rows)


def test_bucket_without_agg_gives_the_mean(client: TestClient, store: Store) -> None:
    rows = _get(client, bucket="1d", sensor="kolk-7")
    assert [(r["agg"], r["count"], r["value"]) for r in rows] == [
        ("mean", 4, (40.0 + 42.5 + 47.0 + 51.0) / 4)
    ]
    assert datetime.fromisoformat(rows[0]["time"]) == DAY0
    assert datetime.fromisoformat(rows[0]["time"]).astimezone(AMS).hour == 0
    counted = _get(client, bucket="1h", sensor="kolk-7", agg="count")
    assert [(r["value"], r["unit"]) for r in counted] == [(1.0, "count"), (3.0, "count")]
    # coverage (here from the interval the store learned from the batch) is passed through
    assert [r["coverage"] for r in counted] == [
        x["coverage"] for x in store.rollup(bucket="1h", sensor="kolk-7")
    ]


def test_bucketed_start_and_end_select_buckets(client: TestClient) -> None:
    start = (DAY0 + timedelta(hours=2)).astimezone(AMS).isoformat()  # with a +01:00/+02:00 offset
    end = (DAY0 + timedelta(hours=5)).isoformat()
    rows = _get(client, bucket="1h", sensor="no2-1", tenant="haarlem", start=start, end=end)
    assert [datetime.fromisoformat(r["time"]) for r in rows] == [DAY0 + timedelta(hours=h) for h in (2, 3, 4)]
    days = _get(client, bucket="1d", tenant="haarlem", sensor="no2-1", start=DAY0.isoformat())
    day_hours = (DAY0.astimezone(AMS) + timedelta(days=1)).astimezone(UTC) - DAY0  # wall-clock day
    assert [datetime.fromisoformat(d["time"]) for d in days] == [DAY0, DAY0 + day_hours]
    assert [d["count"] for d in days] == [
        day_hours // timedelta(minutes=5),
        360 - day_hours // timedelta(minutes=5),
    ]
    limited = _get(client, bucket="1h", limit=3)
    assert len(limited) == 3


def test_agg_without_bucket_is_refused(client: TestClient) -> None:
    message = _assert_error(
        client.get("/api/v1/observations", params={"agg": "max"}), 400, "invalid_parameter"
    )
    assert "bucket" in message


@pytest.mark.parametrize(
    "params",
    [
        {"bucket": "2h"},
        {"bucket": "1w", "agg": "mean"},
        {"bucket": "1h", "agg": "median"},
        {"bucket": "1h", "start": "2026-11-01T00:00:00"},  # no offset
        {"bucket": "1d", "start": "2026-11-02T00:00:00+00:00", "end": "2026-11-01T00:00:00+00:00"},
    ],
)
def test_bad_bucket_parameters_are_400_in_the_error_shape(client: TestClient, params: dict[str, str]) -> None:
    _assert_error(client.get("/api/v1/observations", params=params), 400, "invalid_parameter")


def test_alerts_endpoint_lists_open_and_closed_alerts(client: TestClient, store: Store) -> None:
    rule = ThresholdAlerts(store, {"fill_level": 80.0})
    t = DAY0 + timedelta(hours=3)
    drains = [
        Reading("haarlem", "kolk-7", Quantity.FILL_LEVEL, v, t + timedelta(minutes=m), t, "native")
        for m, v in ((0, 85.0), (1, 60.0), (2, 90.0))
    ] + [Reading("velsen", "kolk-1", Quantity.FILL_LEVEL, 99.0, t, t, "native")]
    store.write_batch(drains)
    store.refresh_rollups()
    changed = rule(drains)
    assert sorted(a.state for a in changed) == ["closed", "opened", "opened", "opened"]

    response = client.get("/api/v1/alerts", params={"open": "true"})
    assert response.status_code == 200, response.text
    open_rows = response.json()
    assert [(a["tenant"], a["sensor"], a["rule"], a["closed"]) for a in open_rows] == [
        ("haarlem", "kolk-7", "above", None),
        ("velsen", "kolk-1", "above", None),
    ]  # newest first; same opened time ordered by id descending
    haarlem = open_rows[0]
    assert datetime.fromisoformat(haarlem["opened"]) == t + timedelta(minutes=2)
    assert (haarlem["quantity"], haarlem["value"], haarlem["threshold"]) == ("fill_level", 90.0, 80.0)
    assert haarlem["message"]
    assert {a["id"] for a in open_rows} == {a["id"] for a in store.alerts(open_only=True)}

    everything = client.get("/api/v1/alerts").json()
    assert len(everything) == 3
    closed = [a for a in everything if a["closed"] is not None]
    assert [
        (a["sensor"], datetime.fromisoformat(a["opened"]), datetime.fromisoformat(a["closed"]))
        for a in closed
    ] == [("kolk-7", t, t + timedelta(minutes=1))]
    assert [
        a["sensor"] for a in client.get("/api/v1/alerts", params={"open": "true", "tenant": "velsen"}).json()
    ] == ["kolk-1"]
    assert len(client.get("/api/v1/alerts", params={"limit": 1}).json()) == 1
    assert client.get("/api/v1/alerts", params={"open": "false"}).json() == everything
    _assert_error(client.get("/api/v1/alerts", params={"open": "maybe"}), 400, "invalid_parameter")
