"""Dead letters in the real database: payload cap, keyset pages, retention, storable text."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from pakhuis.errors import InvalidParameter
from pakhuis.reading import DeadLetter, Rejection
from pakhuis.store import Store
from pakhuis.store.deadletters import DEFAULT_MAX_PAYLOAD_BYTES, DEFAULT_RETENTION_DAYS

pytestmark = pytest.mark.integration

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


def _letter(i: int, *, tenant: str = "demo", payload: bytes = b"{}", age_days: float = 0) -> DeadLetter:
    return DeadLetter(
        topic=f"pakhuis/v1/{tenant}/s{i}/native",
        payload=payload,
        decoder="native",
        rejections=(Rejection("bad_json" if i % 2 else "out_of_range", f"reason {i}"),),
        received=NOW - timedelta(days=age_days, seconds=i),
        tenant=tenant,
    )


def test_defaults_come_from_the_settings() -> None:
    assert (DEFAULT_MAX_PAYLOAD_BYTES, DEFAULT_RETENTION_DAYS) == (64 * 1024, 30)


def test_payload_is_capped_keeping_the_first_bytes_and_the_original_size(store: Store) -> None:
    big = bytes(range(256)) * 1200  # 307,200 bytes, as the 300 kB dead letter
    store.write_batch([], [_letter(1, payload=big), _letter(2, payload=b"small")])
    page = store.list_dead_letters(limit=10, with_payload=True)
    by_topic = {r["topic"]: r for r in page.rows}
    cut, whole = by_topic["pakhuis/v1/demo/s1/native"], by_topic["pakhuis/v1/demo/s2/native"]
    assert cut["payload"] == big[: 64 * 1024]
    assert (cut["payload_bytes"], cut["payload_stored_bytes"], cut["payload_truncated"]) == (
        307_200,
        65_536,
        True,
    )
    assert (whole["payload"], whole["payload_bytes"], whole["payload_truncated"]) == (b"small", 5, False)
    # the old listing reports the original size too
    assert {r["payload_bytes"] for r in store.dead_letters()} == {307_200, 5}


def test_cap_is_a_parameter(store: Store) -> None:
    store.write_batch([], [_letter(1, payload=b"x" * 5000)], max_payload_bytes=1000)
    [row] = store.list_dead_letters(limit=1, with_payload=True).rows
    assert (len(row["payload"]), row["payload_bytes"], row["payload_truncated"]) == (1000, 5000, True)


def test_keyset_pages_newest_first_cover_everything_once(store: Store) -> None:
    store.write_batch([], [_letter(i, tenant="a" if i % 3 else "b") for i in range(95)])
    seen: list[int] = []
    after = None
    pages = 0
    while True:
        page = store.list_dead_letters(tenant="a", after_id=after, limit=20)
        pages += 1
        seen += [r["id"] for r in page.rows]
        assert all("payload" not in r and "payload_preview" not in r for r in page.rows)
        assert all(r["tenant"] == "a" for r in page.rows)
        if page.next_after_id is None:
            break
        after = page.next_after_id
    assert len(seen) == len(set(seen)) == sum(1 for i in range(95) if i % 3)
    assert seen == sorted(seen, reverse=True)
    assert pages == 4  # 63 rows: 20 + 20 + 20 + 3


def test_page_filters_and_preview(store: Store) -> None:
    store.write_batch([], [_letter(i, payload=b"0123456789" * 10) for i in range(10)])
    page = store.list_dead_letters(limit=100, reason="bad_json", preview_bytes=4)
    assert len(page.rows) == 5 and page.next_after_id is None
    assert {r["reason_code"] for r in page.rows} == {"bad_json"}
    assert {r["payload_preview"] for r in page.rows} == {b"0123"}
    exact = store.list_dead_letters(limit=5)
    assert len(exact.rows) == 5 and exact.next_after_id == exact.rows[-1]["id"]
    assert store.list_dead_letters(limit=5, after_id=exact.next_after_id).next_after_id is None


@pytest.mark.parametrize("kwargs", [{"limit": 0}, {"limit": 1001}, {"limit": 1, "preview_bytes": 5000}])
def test_page_bounds_are_refused(store: Store, kwargs: dict[str, int]) -> None:
    with pytest.raises(InvalidParameter):
        store.list_dead_letters(**kwargs)  # type: ignore[arg-type]


def test_retention_deletes_only_what_is_older(store: Store) -> None:
    store.write_batch(
        [], [_letter(i, age_days=40) for i in range(25)] + [_letter(100 + i, age_days=29) for i in range(5)]
    )
    assert store.purge_dead_letters(retention_days=30, now=NOW) == 25
    rows = store.list_dead_letters(limit=100).rows
    assert len(rows) == 5 and all(r["received"] > NOW - timedelta(days=30) for r in rows)
    assert store.purge_dead_letters(retention_days=30, now=NOW) == 0


def test_texts_are_cleaned_and_lookalike_tenants_dropped(store: Store) -> None:
    letter = DeadLetter(
        topic="pakhuis/v1/demo\n/s\x00/native",
        payload=b"\x00\xff",
        decoder="nat\x00ive",
        rejections=(Rejection("bad\x00", "quantity 'no2\x00' and \ud800"),),
        received=NOW,
        tenant="demo\n",
    )
    store.write_batch([], [letter])
    [row] = store.list_dead_letters(limit=1, with_payload=True).rows
    assert row["tenant"] is None
    assert row["topic"] == "pakhuis/v1/demo\n/s\\x00/native"
    assert row["reason"] == "quantity 'no2\\x00' and \ufffd" and row["reason_code"] == "bad\\x00"
    assert row["details"][0]["reason"] == row["reason"]
    assert row["payload"] == b"\x00\xff"
