"""Keyset pages of observations and dead letters: a capped page, a `next` link that continues
exactly after the last row (nothing repeated, nothing skipped), raw payloads only when asked."""

from __future__ import annotations

import base64
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api import create_app
from api.limits import ApiLimits
from pakhuis.quantities import Quantity
from pakhuis.reading import DeadLetter, Reading, Rejection
from pakhuis.store import Store
from tests.support import bearer

pytestmark = pytest.mark.integration

T0 = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)
PAGE = 7


def _seed(store: Store) -> None:
    # Ties in time across tenants, sensors and quantities: the key must order them exactly.
    readings = [
        Reading(
            tenant=tenant,
            sensor=sensor,
            quantity=quantity,
            value=float(minute),
            time=T0 + timedelta(minutes=minute),
            received=T0,
            source_format="native",
        )
        for minute in range(6)
        for tenant in ("delft", "haarlem")
        for sensor in ("a-1", "b-2")
        for quantity in (Quantity.NO2, Quantity.TEMPERATURE)
    ]
    letters = [
        DeadLetter(
            topic=f"pakhuis/v1/t/s{i}/native",
            payload=b"x" * (10 + i) + bytes([i]),
            decoder="native",
            rejections=(Rejection("bad_value" if i % 2 else "bad_shape", f"refusal {i}"),),
            received=T0 + timedelta(seconds=i),
            tenant="haarlem" if i % 3 else "delft",
        )
        for i in range(23)
    ]
    store.write_batch(readings, letters)


@pytest.fixture
def client(store: Store) -> Iterator[TestClient]:
    _seed(store)
    app = create_app(store, limits=ApiLimits(page_max_rows=PAGE))
    # An admin's key: dead letters are never public, and pages of exact rows are tested here.
    with TestClient(app, headers=bearer(store)) as test_client:
        yield test_client


def _next(response: Any) -> str | None:
    link = response.headers.get("link")
    if link is None:
        return None
    found = re.fullmatch(r'<([^>]+)>; rel="next"', link)
    assert found, link
    return found[1]


def _walk(client: TestClient, url: str, params: dict[str, Any]) -> list[list[dict[str, Any]]]:
    pages = []
    response = client.get(url, params=params)
    while True:
        assert response.status_code == 200, response.text
        pages.append(response.json())
        following = _next(response)
        if following is None:
            return pages
        response = client.get(following)


def _key(row: dict[str, Any]) -> tuple[str, ...]:
    return (row["time"], row["tenant"], row["sensor"], row["quantity"])


def test_observation_pages_are_capped_and_the_next_link_walks_every_row_once(
    client: TestClient, store: Store
) -> None:
    pages = _walk(client, "/api/v1/observations", {"limit": 100_000})
    assert all(len(page) == PAGE for page in pages[:-1])
    assert 1 <= len(pages[-1]) <= PAGE
    rows = [row for page in pages for row in page]
    assert len(rows) == 48 == store.count_observations()
    assert len({_key(r) for r in rows}) == 48
    expected = store.observations(limit=1000)
    assert [(r["tenant"], r["sensor"], r["quantity"], r["value"]) for r in rows] == [
        (r["tenant"], r["sensor"], r["quantity"], r["value"]) for r in expected
    ]
    # The same keys as before keyset pages (aggregate fields null), timestamps in UTC.
    assert set(rows[0]) == {
        "tenant", "sensor", "quantity", "unit", "time", "time_end", "value", "quality",
        "source_format", "agg", "count", "coverage",
    }  # fmt: skip
    assert rows[0]["time"] == "2026-11-22T10:00:00Z"


def test_newest_first_pages_walk_every_row_once_in_reverse(client: TestClient) -> None:
    """`order=desc`: the same rows as oldest first, exactly reversed (ties included), over
    pages whose next links keep the order."""
    oldest = [r for page in _walk(client, "/api/v1/observations", {"limit": 100_000}) for r in page]
    pages = _walk(client, "/api/v1/observations", {"limit": 100_000, "order": "desc"})
    assert len(pages) > 2 and all(len(page) == PAGE for page in pages[:-1])
    newest = [r for page in pages for r in page]
    assert newest == oldest[::-1]
    latest_ten = client.get(
        "/api/v1/observations", params={"limit": 5, "order": "desc", "sensor": "a-1"}
    ).json()
    assert [r["time"] for r in latest_ten] == ["2026-11-22T10:05:00Z"] * 4 + ["2026-11-22T10:04:00Z"]


def test_newest_first_is_for_raw_observations_only(client: TestClient) -> None:
    response = client.get("/api/v1/observations", params={"bucket": "1h", "order": "desc"})
    assert response.status_code == 400
    assert "order=desc applies to raw observations" in response.json()["error"]["message"]


def test_a_plain_date_is_local_midnight_in_the_reporting_zone(client: TestClient, store: Store) -> None:
    """Europe/Amsterdam (the default reporting zone): 2026-11-22 begins at 23:00 UTC the day
    before (CET, +01:00)."""
    at = (datetime(2026, 11, 21, 22, 59, tzinfo=UTC), datetime(2026, 11, 21, 23, 0, tzinfo=UTC))
    store.write_batch(
        [Reading("edge", "m", Quantity.NO2, float(i), t, T0, "native") for i, t in enumerate(at)]
    )

    def times(**params: str) -> list[str]:
        response = client.get("/api/v1/observations", params={"tenant": "edge", **params})
        assert response.status_code == 200, response.text
        return [r["time"] for r in response.json()]

    assert times(start="2026-11-22") == ["2026-11-21T23:00:00Z"]
    assert times(end="2026-11-22") == ["2026-11-21T22:59:00Z"]
    assert times(start="2026-11-21", end="2026-11-22T00:00:00+01:00") == ["2026-11-21T22:59:00Z"]
    refused = client.get("/api/v1/observations", params={"start": "2026-02-30"})
    assert refused.status_code == 400
    assert "start" in refused.json()["error"]["message"]


def test_observation_pages_keep_the_filters(client: TestClient) -> None:
    pages = _walk(client, "/api/v1/observations", {"tenant": "haarlem", "quantity": "no2", "limit": 5})
    rows = [row for page in pages for row in page]
    assert [len(p) for p in pages] == [5, 5, 2]
    assert {(r["tenant"], r["quantity"]) for r in rows} == {("haarlem", "no2")}
    assert [r["value"] for r in rows] == sorted(r["value"] for r in rows)


def test_an_exact_last_page_has_no_next_link(client: TestClient) -> None:
    response = client.get("/api/v1/observations", params={"tenant": "delft", "sensor": "a-1", "limit": 6})
    assert len(response.json()) == 6
    assert _next(response) is not None  # 12 rows: one more page
    following = client.get(_next(response) or "")
    assert len(following.json()) == 6 and _next(following) is None


@pytest.mark.parametrize("cursor", ["junk", "1~a~b", "1~a~b~c", "1~a\n~b~1", "1" * 17 + "~a~b~1", "x" * 600])
def test_a_bad_cursor_is_a_400_naming_it(client: TestClient, cursor: str) -> None:
    response = client.get("/api/v1/observations", params={"cursor": cursor})
    assert response.status_code == 400, response.text
    assert "cursor" in response.json()["error"]["message"]


def test_a_well_formed_cursor_continues_after_its_key(client: TestClient) -> None:
    # 10:03 UTC, haarlem/a-1, quantity id 99: after every row of 10:03 but haarlem/b-2's.
    micros = int(T0.timestamp() * 1_000_000) + 3 * 60 * 1_000_000
    rows = client.get("/api/v1/observations", params={"cursor": f"{micros}~haarlem~a-1~99"}).json()
    assert [(r["time"], r["sensor"]) for r in rows[:2]] == [("2026-11-22T10:03:00Z", "b-2")] * 2
    assert rows[2]["time"] == "2026-11-22T10:04:00Z"


@pytest.mark.parametrize("cursor", ["0", "-1", "abc", "1" * 19])
def test_a_bad_dead_letter_cursor_is_a_400(client: TestClient, cursor: str) -> None:
    response = client.get("/api/v1/deadletter", params={"cursor": cursor})
    assert response.status_code == 400 and "cursor" in response.json()["error"]["message"]


def test_dead_letter_pages_walk_newest_first_without_payloads(client: TestClient) -> None:
    pages = _walk(client, "/api/v1/deadletter", {"limit": 10_000})
    rows = [row for page in pages for row in page]
    assert [len(p) for p in pages] == [7, 7, 7, 2]
    assert [r["topic"] for r in rows] == [f"pakhuis/v1/t/s{i}/native" for i in reversed(range(23))]
    assert all(r["payload_base64"] is None for r in rows)
    assert rows[0]["payload_bytes"] == 33 and rows[0]["payload_preview"].startswith("xxx")


def test_dead_letter_pages_keep_the_filters(client: TestClient) -> None:
    rows = [r for p in _walk(client, "/api/v1/deadletter", {"reason": "bad_value", "limit": 3}) for r in p]
    assert len(rows) == 11 and {r["reason_code"] for r in rows} == {"bad_value"}


def test_dead_letter_payloads_only_when_asked(client: TestClient) -> None:
    rows = client.get("/api/v1/deadletter", params={"payload": "true", "limit": 2}).json()
    assert base64.b64decode(rows[0]["payload_base64"]) == b"x" * 32 + bytes([22])
    one = client.get(f"/api/v1/deadletter/{rows[1]['id']}")
    assert one.status_code == 200
    assert base64.b64decode(one.json()["payload_base64"]) == b"x" * 31 + bytes([21])
    missing = client.get("/api/v1/deadletter/999999")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"
