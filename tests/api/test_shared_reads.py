"""Identical concurrent reads share a computation (api/shared_reads.py), and no answer comes
from a computation that started before its request arrived."""

from __future__ import annotations

import asyncio
import itertools
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api import create_app
from api.shared_reads import SharedReads
from pakhuis.errors import StoreUnavailable
from pakhuis.store import Store


class Recorder:
    """A computation that records when it started and returns its sequence number."""

    def __init__(self, seconds: float = 0.05) -> None:
        self.seconds = seconds
        self.starts: list[float] = []
        self.counter = itertools.count(1)
        self.fail_with: BaseException | None = None

    async def compute(self) -> tuple[int, float]:
        started = time.perf_counter()
        self.starts.append(started)
        await asyncio.sleep(self.seconds)
        if self.fail_with is not None:
            raise self.fail_with
        return next(self.counter), started


def test_requests_during_a_computation_share_the_next_one_started_after_them() -> None:
    async def scenario() -> None:
        shared, work = SharedReads(), Recorder()
        first = asyncio.ensure_future(shared.get("k", work.compute))
        await asyncio.sleep(0.01)  # the first computation is running now
        asked = time.perf_counter()
        later = [asyncio.ensure_future(shared.get("k", work.compute)) for _ in range(20)]
        results = await asyncio.gather(first, *later)
        assert results[0][0] == 1
        # all twenty waited for a computation of their own, shared: the second, started after them
        assert {r[0] for r in results[1:]} == {2}
        assert all(r[1] >= asked for r in results[1:])
        assert len(work.starts) == 2
        assert shared.in_flight() == 0

    asyncio.run(scenario())


def test_other_keys_do_not_wait() -> None:
    async def scenario() -> None:
        shared, work = SharedReads(), Recorder(0.2)
        t0 = time.perf_counter()
        await asyncio.gather(*(shared.get(k, work.compute) for k in range(10)))
        assert len(work.starts) == 10
        assert time.perf_counter() - t0 < 1.0  # concurrent, not one after the other (2 s)

    asyncio.run(scenario())


def test_a_failure_reaches_every_waiter_and_the_next_request_computes_again() -> None:
    async def scenario() -> None:
        shared, work = SharedReads(), Recorder()
        work.fail_with = StoreUnavailable("the database is down")
        outcomes = await asyncio.gather(
            *(shared.get("k", work.compute) for _ in range(5)), return_exceptions=True
        )
        assert all(isinstance(o, StoreUnavailable) for o in outcomes)
        work.fail_with = None
        assert (await shared.get("k", work.compute))[0] == 1

    asyncio.run(scenario())


def test_a_client_going_away_does_not_cancel_the_others() -> None:
    async def scenario() -> None:
        shared, work = SharedReads(), Recorder(0.1)
        leaving = asyncio.ensure_future(shared.get("k", work.compute))
        staying = asyncio.ensure_future(shared.get("k", work.compute))
        await asyncio.sleep(0.02)
        leaving.cancel()
        assert (await staying)[0] == 1
        assert leaving.cancelled()

    asyncio.run(scenario())


@pytest.mark.integration
def test_latest_under_concurrent_clients_sees_every_write_acknowledged_before_asking(store: Store) -> None:
    """Writes acknowledged before a request was sent are in its answer, while 16 clients ask
    at the same time (their answers shared)."""
    from datetime import UTC, datetime, timedelta

    from pakhuis.quantities import Quantity
    from pakhuis.reading import Reading

    t0 = datetime.now(UTC) - timedelta(hours=1)
    store.set_tenant_kind("t", "city")  # names as they are (a group's would be pseudonyms)
    app = create_app(store)
    with TestClient(app) as client:

        def write_then_read(i: int) -> bool:
            store.write_batch([Reading("t", f"s{i}", Quantity.NO2, float(i), t0, t0, "native")])
            body = client.get("/api/v1/latest", params={"tenant": "t"}).json()
            return f"s{i}" in {row["sensor"] for row in body}

        with ThreadPoolExecutor(16) as pool:
            assert all(pool.map(write_then_read, range(64)))


@pytest.mark.integration
def test_concurrent_identical_requests_share_queries(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    calls = 0
    real = store.latest

    def slow_latest(*args: Any, **kwargs: Any) -> Any:
        nonlocal calls
        calls += 1
        time.sleep(0.2)
        return real(*args, **kwargs)

    monkeypatch.setattr(store, "latest", slow_latest)
    with TestClient(create_app(store)) as client, ThreadPoolExecutor(16) as pool:
        statuses = list(pool.map(lambda _: client.get("/api/v1/latest").status_code, range(16)))
    assert statuses == [200] * 16
    assert calls <= 3, f"{calls} queries for 16 identical requests"
