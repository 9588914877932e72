"""The HTTP API on the real store: resources, filters, the one error shape, the page and outages."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from fastapi.testclient import TestClient

from api import create_app
from pakhuis.quantities import QUANTITIES, Quantity
from pakhuis.reading import DeadLetter, Reading, Rejection
from pakhuis.store import Store
from tests.support import PluggableProxy, bearer, wait_for

pytestmark = pytest.mark.integration

T0 = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)
RECEIVED = T0 + timedelta(hours=1)


def _r(
    tenant: str, sensor: str, quantity: Quantity, minute: int, value: float, time_end: datetime | None = None
) -> Reading:
    return Reading(
        tenant=tenant,
        sensor=sensor,
        quantity=quantity,
        value=value,
        time=T0 + timedelta(minutes=minute),
        received=RECEIVED,
        source_format="native",
        time_end=time_end,
    )


def _seed(store: Store) -> None:
    # The city's own sensors: public as they are (a citizen group's: tests/api/test_privacy_scan.py).
    for tenant in ("haarlem", "delft"):
        store.set_tenant_kind(tenant, "city")
    readings = [
        # haarlem/no2-1: no2 at minutes 0..4 (value = 20 + minute), temperature at 0 and 3.
        *(_r("haarlem", "no2-1", Quantity.NO2, m, 20.0 + m) for m in range(5)),
        _r("haarlem", "no2-1", Quantity.TEMPERATURE, 0, 11.0),
        _r("haarlem", "no2-1", Quantity.TEMPERATURE, 3, 12.5),
        # haarlem/kolk-7: fill level at minutes 1 and 2.
        _r("haarlem", "kolk-7", Quantity.FILL_LEVEL, 2, 40.0),
        _r("haarlem", "kolk-7", Quantity.FILL_LEVEL, 1, 35.0),
        # delft/brug-1: bridge state at minutes 0 and 4; a 4-weekly NO2 tube mean.
        _r("delft", "brug-1", Quantity.BRIDGE_STATE, 0, 0.0),
        _r("delft", "brug-1", Quantity.BRIDGE_STATE, 4, 2.0),
        _r("delft", "tube-3", Quantity.NO2, -60 * 24 * 28, 31.5, time_end=T0),
    ]
    letters = [
        DeadLetter(
            topic="pakhuis/v1/haarlem/no2-1/native",
            payload=b'{"value": "abc"}',
            decoder="native",
            rejections=(Rejection("bad_value", "no2 value 'abc' is not a number"),),
            received=T0 + timedelta(minutes=1),
            tenant="haarlem",
        ),
        DeadLetter(
            topic="pakhuis/v1/delft/brug-1/native",
            payload=b"[1, 2]",
            decoder="native",
            rejections=(
                Rejection("bad_shape", "expected a JSON object", 0),
                Rejection("out_of_range", "deck_angle value 91 is too high", 1),
            ),
            received=T0 + timedelta(minutes=2),
            tenant="delft",
        ),
        DeadLetter(
            topic="garbage",
            payload=b"\xff\xfe not json",
            decoder="unknown",
            rejections=(Rejection("bad_topic", "topic 'garbage' does not match"),),
            received=T0 + timedelta(minutes=3),
            tenant=None,
        ),
    ]
    result = store.write_batch(readings, letters)
    assert result.inserted == len(readings)


@pytest.fixture
def client(store: Store) -> Iterator[TestClient]:
    _seed(store)
    with TestClient(create_app(store)) as test_client:
        yield test_client


@pytest.fixture
def operator_client(client: TestClient, store: Store) -> TestClient:
    """The same app with an operator's key: dead letters are never public (issue 14)."""
    return TestClient(client.app, headers=bearer(store, "operator"))


def _t(text: str) -> datetime:
    parsed = datetime.fromisoformat(text)
    assert parsed.tzinfo is not None, f"{text} has no UTC offset"
    return parsed


def _assert_error(response: Any, status: int, code: str) -> str:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"error"}
    error = body["error"]
    assert {"status", "code", "message"} <= set(error) <= {"status", "code", "message", "hint"}
    assert error["status"] == status
    assert error["code"] == code
    assert isinstance(error["message"], str) and error["message"]
    return str(error["message"])


# -- health, sensors, latest ---------------------------------------------------------------


def test_health(client: TestClient) -> None:
    response = client.get("/health")
    assert response.status_code == 200
    body = response.json()
    # Every component is listed too (tests/api/test_health.py); these two keys are the old shape.
    assert body["status"] == "ok" and body["database"] == "ok"


def test_sensors(client: TestClient) -> None:
    response = client.get("/api/v1/sensors")
    assert response.status_code == 200
    rows = response.json()
    assert [(r["tenant"], r["sensor"]) for r in rows] == [
        ("delft", "brug-1"),
        ("delft", "tube-3"),
        ("haarlem", "kolk-7"),
        ("haarlem", "no2-1"),
    ]
    by_name = {r["sensor"]: r for r in rows}
    assert by_name["no2-1"]["kind"] == "air"
    assert by_name["no2-1"]["quantities"] == ["no2", "temperature"]
    assert by_name["kolk-7"]["kind"] == "drain"
    assert by_name["kolk-7"]["quantities"] == ["fill_level"]
    assert by_name["brug-1"]["kind"] == "bridge"
    assert by_name["brug-1"]["quantities"] == ["bridge_state"]
    for row in rows:
        assert {"tenant", "sensor", "kind", "lon", "lat", "quantities", "created"} <= set(row)
        _t(row["created"])


def test_sensors_filters(client: TestClient) -> None:
    assert [r["sensor"] for r in client.get("/api/v1/sensors", params={"tenant": "delft"}).json()] == [
        "brug-1",
        "tube-3",
    ]
    assert [r["sensor"] for r in client.get("/api/v1/sensors", params={"kind": "drain"}).json()] == ["kolk-7"]
    assert client.get("/api/v1/sensors", params={"tenant": "nobody"}).json() == []
    _assert_error(client.get("/api/v1/sensors", params={"kind": "spaceship"}), 400, "invalid_parameter")


def test_latest_one_row_per_sensor_and_quantity(client: TestClient) -> None:
    response = client.get("/api/v1/latest")
    assert response.status_code == 200
    rows = response.json()
    for row in rows:
        assert {"tenant", "sensor", "quantity", "time", "value", "unit", "kind"} <= set(row)
    keys = [(r["sensor"], r["quantity"]) for r in rows]
    assert len(keys) == len(set(keys))
    latest = {(r["sensor"], r["quantity"]): (_t(r["time"]), r["value"]) for r in rows}
    assert latest == {
        ("no2-1", "no2"): (T0 + timedelta(minutes=4), 24.0),
        ("no2-1", "temperature"): (T0 + timedelta(minutes=3), 12.5),
        ("kolk-7", "fill_level"): (T0 + timedelta(minutes=2), 40.0),
        ("brug-1", "bridge_state"): (T0 + timedelta(minutes=4), 2.0),
        ("tube-3", "no2"): (T0 - timedelta(days=28), 31.5),
    }
    units = {(r["sensor"], r["quantity"]): r["unit"] for r in rows}
    assert units[("no2-1", "no2")] == QUANTITIES[Quantity.NO2].unit
    assert units[("no2-1", "temperature")] == "°C"
    tube = next(r for r in rows if r["sensor"] == "tube-3")
    assert _t(tube["time_end"]) == T0


def test_latest_follows_new_writes(client: TestClient, store: Store) -> None:
    store.write_batch([_r("haarlem", "no2-1", Quantity.NO2, 10, 99.0)])
    # An older reading afterwards does not replace it.
    store.write_batch([_r("haarlem", "no2-1", Quantity.NO2, 7, 1.0)])
    rows = client.get("/api/v1/latest", params={"quantity": "no2", "tenant": "haarlem"}).json()
    assert [(r["sensor"], r["value"]) for r in rows] == [("no2-1", 99.0)]


def test_latest_filters(client: TestClient) -> None:
    rows = client.get("/api/v1/latest", params={"quantity": "no2"}).json()
    assert {r["sensor"] for r in rows} == {"no2-1", "tube-3"}
    rows = client.get("/api/v1/latest", params={"tenant": "haarlem"}).json()
    assert {r["tenant"] for r in rows} == {"haarlem"}
    assert len(rows) == 3
    _assert_error(client.get("/api/v1/latest", params={"quantity": "co2"}), 400, "invalid_parameter")


# -- observations ------------------------------------------------------------------------------


def _obs(client: TestClient, **params: object) -> list[dict[str, Any]]:
    response = client.get("/api/v1/observations", params=params)
    assert response.status_code == 200, response.text
    rows: list[dict[str, Any]] = response.json()
    return rows


def test_observations_in_time_order(client: TestClient) -> None:
    rows = _obs(client)
    assert len(rows) == 12
    times = [_t(r["time"]) for r in rows]
    assert times == sorted(times)
    for row in rows:
        assert {
            "tenant",
            "sensor",
            "quantity",
            "unit",
            "time",
            "time_end",
            "value",
            "quality",
            "source_format",
        } <= set(row)
    kolk = [(r["time"], r["value"]) for r in rows if r["sensor"] == "kolk-7"]
    assert [v for _, v in kolk] == [35.0, 40.0]  # written in reverse, returned in time order


def test_observations_filters(client: TestClient) -> None:
    assert {r["sensor"] for r in _obs(client, sensor="no2-1")} == {"no2-1"}
    assert len(_obs(client, sensor="no2-1")) == 7
    assert {r["tenant"] for r in _obs(client, tenant="delft")} == {"delft"}
    assert len(_obs(client, tenant="delft")) == 3
    rows = _obs(client, quantity="no2", tenant="haarlem")
    assert [r["value"] for r in rows] == [20.0, 21.0, 22.0, 23.0, 24.0]
    assert {r["unit"] for r in rows} == {"µg/m³"}
    assert _obs(client, sensor="no2-1", tenant="delft") == []
    assert _obs(client, quantity="battery") == []


def test_observations_start_inclusive_end_exclusive(client: TestClient) -> None:
    start = (T0 + timedelta(minutes=1)).isoformat()
    end = (T0 + timedelta(minutes=3)).isoformat()
    rows = _obs(client, sensor="no2-1", quantity="no2", start=start, end=end)
    assert [_t(r["time"]) for r in rows] == [T0 + timedelta(minutes=1), T0 + timedelta(minutes=2)]
    assert [r["value"] for r in rows] == [21.0, 22.0]


def test_observations_start_with_offset(client: TestClient) -> None:
    # 11:02+01:00 is 10:02Z.
    rows = _obs(client, sensor="no2-1", quantity="no2", start="2026-11-22T11:02:00+01:00")
    assert [r["value"] for r in rows] == [22.0, 23.0, 24.0]
    rows = _obs(client, sensor="no2-1", quantity="no2", end="2026-11-22T10:02:00Z")
    assert [r["value"] for r in rows] == [20.0, 21.0]


def test_observations_limit(client: TestClient) -> None:
    rows = _obs(client, quantity="no2", tenant="haarlem", limit=2)
    assert [r["value"] for r in rows] == [20.0, 21.0]
    assert len(_obs(client, limit=1)) == 1
    assert len(_obs(client, limit=100_000)) == 12


def test_observations_interval(client: TestClient) -> None:
    [row] = _obs(client, sensor="tube-3")
    assert _t(row["time"]) == T0 - timedelta(days=28)
    assert _t(row["time_end"]) == T0
    assert row["value"] == 31.5
    instant = _obs(client, sensor="kolk-7")[0]
    assert instant["time_end"] is None


@pytest.mark.parametrize(
    ("params", "names"),
    [
        ({"limit": 0}, "limit"),
        ({"limit": 100_001}, "limit"),
        ({"limit": "many"}, "limit"),
        ({"start": "2026-11-22T10:00:00"}, "start"),
        ({"end": "2026-11-22T10:00:00"}, "end"),
        ({"start": "yesterday"}, "start"),
        ({"quantity": "co2"}, "quantity"),
        ({"quantity": "NO 2"}, "quantity"),
        ({"sensor": "s" * 65}, "sensor"),
        ({"start": "2026-11-22T10:05:00Z", "end": "2026-11-22T10:00:00Z"}, "end"),
        ({"start": "2026-11-22T10:05:00Z", "end": "2026-11-22T10:05:00Z"}, "end"),
        ({"start": "2026-11-22T11:05:00+01:00", "end": "2026-11-22T10:05:00Z"}, "end"),
    ],
)
def test_observations_invalid_parameters(client: TestClient, params: dict[str, object], names: str) -> None:
    message = _assert_error(client.get("/api/v1/observations", params=params), 400, "invalid_parameter")
    assert names in message


def test_unknown_path_is_404_in_the_same_shape(client: TestClient) -> None:
    message = _assert_error(client.get("/api/v1/nothing-here"), 404, "not_found")
    assert "/api/v1/nothing-here" in message
    _assert_error(client.get("/api/v2/latest"), 404, "not_found")


def test_wrong_method_is_405_in_the_same_shape(client: TestClient) -> None:
    _assert_error(client.post("/api/v1/latest", json={}), 405, "method_not_allowed")


# -- dead letters ------------------------------------------------------------------------------


def test_deadletters_newest_first(operator_client: TestClient, store: Store) -> None:
    response = operator_client.get("/api/v1/deadletter")
    assert response.status_code == 200
    rows = response.json()
    assert [r["topic"] for r in rows] == [
        "garbage",
        "pakhuis/v1/delft/brug-1/native",
        "pakhuis/v1/haarlem/no2-1/native",
    ]
    for row in rows:
        assert {
            "topic",
            "reason",
            "received",
            "reason_code",
            "details",
            "tenant",
            "payload_bytes",
            "payload_preview",
        } <= set(row)
        _t(row["received"])
    brug = rows[1]
    assert _t(brug["received"]) == T0 + timedelta(minutes=2)
    assert brug["reason"] == "item 0: expected a JSON object; item 1: deck_angle value 91 is too high"
    assert brug["reason_code"] == "bad_shape"
    assert brug["details"] == [
        {"item": 0, "code": "bad_shape", "reason": "expected a JSON object"},
        {"item": 1, "code": "out_of_range", "reason": "deck_angle value 91 is too high"},
    ]
    assert brug["payload_bytes"] == 6
    assert rows[0]["tenant"] is None
    assert rows[0]["payload_bytes"] == len(b"\xff\xfe not json")
    # The bytes are for admins only (issue 14 part 4): an operator sees why, and how many.
    assert {r["payload_preview"] for r in rows} == {""}
    admin = TestClient(operator_client.app, headers=bearer(store, "admin"))
    as_admin = admin.get("/api/v1/deadletter", params={"payload": "true"}).json()
    assert as_admin[1]["payload_preview"] == "[1, 2]" and as_admin[1]["payload_base64"] == "WzEsIDJd"
    assert as_admin[0]["payload_preview"].endswith(" not json")
    assert operator_client.get("/api/v1/deadletter", params={"payload": "true"}).json() == rows


def test_deadletters_filter_by_reason(operator_client: TestClient) -> None:
    rows = operator_client.get("/api/v1/deadletter", params={"reason": "bad_value"}).json()
    assert [r["topic"] for r in rows] == ["pakhuis/v1/haarlem/no2-1/native"]
    # A code that is not the first refusal of its message still matches.
    rows = operator_client.get("/api/v1/deadletter", params={"reason": "out_of_range"}).json()
    assert [r["topic"] for r in rows] == ["pakhuis/v1/delft/brug-1/native"]
    assert operator_client.get("/api/v1/deadletter", params={"reason": "future_time"}).json() == []


def test_deadletters_filter_by_tenant_and_limit(operator_client: TestClient) -> None:
    rows = operator_client.get("/api/v1/deadletter", params={"tenant": "haarlem"}).json()
    assert [r["tenant"] for r in rows] == ["haarlem"]
    rows = operator_client.get("/api/v1/deadletter", params={"limit": 1}).json()
    assert [r["topic"] for r in rows] == ["garbage"]
    _assert_error(operator_client.get("/api/v1/deadletter", params={"limit": 0}), 400, "invalid_parameter")


def test_deadletter_preview_is_bounded(operator_client: TestClient, store: Store) -> None:
    payload = b"x" * 10_000
    store.write_batch(
        [],
        [
            DeadLetter(
                topic="pakhuis/v1/big/s/native",
                payload=payload,
                decoder="native",
                rejections=(Rejection("payload_too_large", "too big"),),
                received=T0 + timedelta(hours=5),
                tenant="big",
            )
        ],
    )
    admin = TestClient(operator_client.app, headers=bearer(store, "admin"))
    [row] = admin.get("/api/v1/deadletter", params={"tenant": "big"}).json()
    assert row["payload_bytes"] == 10_000
    assert 0 < len(row["payload_preview"]) <= 2048


# -- docs and page -----------------------------------------------------------------------------


def test_openapi_lists_the_paths(client: TestClient) -> None:
    response = client.get("/openapi.json")
    assert response.status_code == 200
    paths = set(response.json()["paths"])
    assert {
        "/health",
        "/api/v1/sensors",
        "/api/v1/latest",
        "/api/v1/observations",
        "/api/v1/deadletter",
    } <= paths


def test_page_fetches_latest(client: TestClient) -> None:
    response = client.get("/")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert 'fetch("/api/v1/latest")' in response.text


# -- outages -----------------------------------------------------------------------------------


def test_health_when_store_not_reachable_is_503() -> None:
    # A store that never reached its database: every request is a 503 in the error shape.
    store = Store("postgresql://postgres:pw-s3cret@127.0.0.1:1/x")
    with TestClient(create_app(store)) as client:
        response = client.get("/health")
        message = _assert_error(response, 503, "store_unavailable")
        assert "pw-s3cret" not in response.text
        assert "127.0.0.1:1" in message
        _assert_error(client.get("/api/v1/latest"), 503, "store_unavailable")
        _assert_error(client.get("/api/v1/observations"), 503, "store_unavailable")
        # A key cannot be checked either: an outage, not bad credentials.
        key = {"Authorization": "Bearer pk_1_" + "x" * 43}
        _assert_error(client.get("/api/v1/deadletter", headers=key), 503, "store_unavailable")


def _proxy_target(database_url: str) -> tuple[str, int]:
    parts = urlsplit(database_url)
    socket_dir = parse_qs(parts.query).get("host")
    if socket_dir:  # embedded PostgreSQL listens on a Unix socket
        return socket_dir[0], parts.port or 5432
    return parts.hostname or "127.0.0.1", parts.port or 5432


def test_health_follows_a_database_outage(database_url: str, caplog: pytest.LogCaptureFixture) -> None:
    # A real outage: the store reaches the database through a proxy whose plug is pulled.
    caplog.set_level(logging.CRITICAL, logger="psycopg.pool")
    proxy = PluggableProxy(*_proxy_target(database_url)).start()
    try:
        with (
            Store(proxy.url_for(database_url), acquire_timeout_s=1.0) as store,
            TestClient(create_app(store)) as client,
        ):
            assert client.get("/health").status_code == 200
            proxy.unplug()
            started = time.monotonic()
            response = client.get("/health")
            message = _assert_error(response, 503, "store_unavailable")
            assert time.monotonic() - started < 10, "a health check must not hang on a dead database"
            assert "unreachable" in message
            assert response.json()["error"].get("hint")
            _assert_error(client.get("/api/v1/latest"), 503, "store_unavailable")
            proxy.replug()
            wait_for(
                lambda: client.get("/health").status_code == 200,
                30,
                "/health to recover after the database came back",
            )
    finally:
        proxy.close()
