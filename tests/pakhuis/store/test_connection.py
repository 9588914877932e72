"""The store speaks the project's errors, never the driver's (`pakhuis/store/connection.py`).

Against the real PostgreSQL of each backend: a database that cannot be reached gives
`StoreUnavailable` (retry later), one that refuses the request gives `StoreRejected` (retrying
cannot help), and the store keeps working once the cause is gone.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import psycopg
import pytest

from pakhuis.errors import PakhuisError, StoreRejected, StoreUnavailable
from pakhuis.quantities import Quantity
from pakhuis.reading import DeadLetter, Reading, Rejection
from pakhuis.store import Store
from tests.support import PluggableProxy

pytestmark = pytest.mark.integration

T0 = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)


def _reading(sensor: str = "s1", seconds: int = 0) -> Reading:
    return Reading("t", sensor, Quantity.NO2, 12.5, T0 + timedelta(seconds=seconds), T0, "native")


def _backwards_interval() -> Reading:
    """A reading the database's CHECK (time_end >= time) refuses; Python's own check bypassed."""
    reading = _reading("bad")
    object.__setattr__(reading, "time_end", T0 - timedelta(hours=1))
    return reading


def _letter(topic: str) -> DeadLetter:
    return DeadLetter(
        topic=topic,
        payload=b"raw",
        decoder="native",
        rejections=(Rejection("bad_json", "not JSON"),),
        received=T0,
        tenant="t",
    )


def _proxy_target(database_url: str) -> tuple[str, int]:
    parts = urlsplit(database_url)
    socket_dir = parse_qs(parts.query).get("host")
    if socket_dir:  # embedded PostgreSQL: a Unix socket directory
        return socket_dir[0], parts.port or 5432
    return parts.hostname or "127.0.0.1", parts.port or 5432


@pytest.fixture
def proxy(database_url: str) -> Iterator[PluggableProxy]:
    plug = PluggableProxy(*_proxy_target(database_url)).start()
    try:
        yield plug
    finally:
        plug.close()


# -- unavailable ---------------------------------------------------------------------------------


def test_no_server_listening_is_store_unavailable() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # bound, not listening: connection refused
        store = Store(f"postgresql://pakhuis:s3cret@127.0.0.1:{port}/pakhuis")
        with pytest.raises(StoreUnavailable) as info:
            store.open(timeout=1.0)
    assert (info.value.status, info.value.code) == (503, "store_unavailable")
    assert "s3cret" not in info.value.message
    assert info.value.hint


def test_lost_database_is_store_unavailable_until_it_returns(
    database_url: str, store: Store, proxy: PluggableProxy
) -> None:
    with Store(proxy.url_for(database_url), acquire_timeout_s=1.0) as remote:
        assert remote.write_batch([_reading(seconds=0)]).inserted == 1

        proxy.unplug()  # drops the pooled connection and refuses new ones
        with pytest.raises(StoreUnavailable) as write:
            remote.write_batch([_reading(seconds=1)])
        with pytest.raises(StoreUnavailable):
            remote.count_observations()
        with pytest.raises(StoreUnavailable):
            remote.ping()
        assert write.value.status == 503
        assert isinstance(write.value.__cause__, psycopg.OperationalError)  # incl. the pool's timeout
        assert store.count_observations() == 1, "nothing of the failed write may be stored"

        proxy.replug()
        # The pool reconnects in the background with its own backoff, which may outlast one
        # acquire timeout: the store must be usable again within a bounded time, not at once.
        deadline = time.monotonic() + 30.0
        while True:
            try:
                remote.ping()
                break
            except StoreUnavailable:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        assert remote.write_batch([_reading(seconds=1)]).inserted == 1
    assert store.count_observations() == 2


# -- rejected ------------------------------------------------------------------------------------


def test_check_constraint_is_store_rejected_and_nothing_is_kept(store: Store) -> None:
    with pytest.raises(StoreRejected) as info:
        store.write_batch([_reading("good"), _backwards_interval()], [_letter("pakhuis/v1/t/bad/native")])
    refused = info.value
    assert (refused.status, refused.code) == (422, "store_rejected")
    assert refused.reason.startswith("CheckViolation: ")
    assert refused.message == f"The database refused the request: {refused.reason}"
    assert isinstance(refused, PakhuisError) and not isinstance(refused, StoreUnavailable)
    # One transaction: the good reading and the dead letter were rolled back with the bad one.
    assert store.count_observations() == 0
    assert store.dead_letters() == []
    assert store.write_batch([_reading("good")]).inserted == 1


def test_text_postgresql_cannot_hold_is_store_rejected(store: Store) -> None:
    # PostgreSQL text cannot hold NUL; Python strings can: in a reading, a filter. (A dead
    # letter's texts are cleaned when it is made, so that refusals can always be kept.)
    with pytest.raises(StoreRejected) as reading:
        store.write_batch([_reading("bad\x00sensor")])
    with pytest.raises(StoreRejected) as read:
        store.observations(sensor="a\x00b")
    for info in (reading, read):
        assert info.value.status == 422
        assert isinstance(info.value.__cause__, psycopg.DataError), info.value.reason
    assert store.count_observations() == 0 and store.dead_letters() == []
    store.write_batch([], [_letter("pakhuis/v1/t/\x00/native")])
    assert [r["topic"] for r in store.dead_letters()] == ["pakhuis/v1/t/\\x00/native"]


def test_a_statement_the_database_cannot_run_is_rejected_as_ours(store: Store, database_url: str) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("DROP TABLE route_plans")
    with pytest.raises(StoreRejected) as info:
        store.route_plan(date(2026, 11, 22))
    # Not the caller's data but a schema the store cannot use: a server error.
    assert (info.value.status, info.value.code) == (500, "store_rejected")
    assert info.value.reason.startswith("UndefinedTable: ")
    store.ping()
