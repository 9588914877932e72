"""API latency of the hot read paths, next to the same SQL through psycopg alone, in one run.

    python -m tests.benchmarks.bench_api                 # embedded PostgreSQL in a temp dir
    PAKHUIS_DATABASE_URL=postgresql://… python -m tests.benchmarks.bench_api   # a new database there

The data: 10,000 sensors with a latest value each, and one NO2 sensor with a year of 5-minute
readings (105,120; its hourly rollup has 8,760 rows). The server is a real `pakhuis api`
process on a free port; clients are httpx connections (keep-alive) in this process.

Per endpoint it prints p50 and p99 of sequential requests, and of 50 clients each sending
requests at the same time, next to the named baseline: the endpoint's SQL executed with
psycopg alone (its own connection in the store's session settings, tuple rows, no JSON),
sequentially and with 50 threads. The 50 clients ask the same question, as the screens of an
operations room do: the API answers requests that arrive together from one computation
started after they arrived (`api/shared_reads.py`), the baseline runs every query.

Goals (issue 12): `GET /api/v1/latest` (10,000 rows) p99 < 50 ms; a year of hourly rollups of
one stream p99 < 100 ms; with 50 concurrent clients p99 < 10× the sequential p99 and no answer
other than 200. The summary says meets/MISSES per goal; the script exits non-zero only when an
answer is wrong (not 200, or not the rows the store holds). Not collected by pytest.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import psycopg

from pakhuis.access.privacy import PrivacyRules
from pakhuis.quantities import Quantity
from pakhuis.reading import Reading
from pakhuis.store import Store
from pakhuis.store.embedded import EmbeddedPostgres
from pakhuis.store.readings import LATEST_SQL, latest_params
from pakhuis.store.rollups import rollup_query
from tests.support import REPO, free_port, wait_for

SENSORS = 10_000
YEAR_STEP = timedelta(minutes=5)
YEAR_SENSOR = "no2-year"
# Undeclared, so a citizen group (issue 14): the public reads it through the privacy rules,
# pseudonyms and all, and filters by the pseudonym the server's secret gives.
TENANT = "bench"
SECRET = "bench-pseudonym-secret-0123456789"
CLIENTS = 50


@dataclass(frozen=True)
class Endpoint:
    name: str
    path: str
    params: dict[str, str]
    rows: int
    sql: str
    sql_params: dict[str, object]
    goal_p99_s: float


@dataclass(frozen=True)
class Latencies:
    """Seconds per request, and the statuses answered."""

    seconds: list[float]
    statuses: dict[int, int]

    def quantile(self, q: float) -> float:
        ordered = sorted(self.seconds)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]

    @property
    def p50(self) -> float:
        return statistics.median(self.seconds)

    @property
    def p99(self) -> float:
        return self.quantile(0.99)


def seed(store: Store, now: datetime) -> None:
    """10,000 sensors with one reading each, and a year of 5-minute NO2 for one more."""
    t0 = time.perf_counter()
    batch = [
        Reading(
            TENANT, f"no2-{i:05d}", Quantity.NO2, 10.0 + i % 40, now - timedelta(seconds=i), now, "native"
        )
        for i in range(SENSORS)
    ]
    store.write_batch(batch)
    start = (now - timedelta(days=365)).replace(minute=0, second=0, microsecond=0)
    year = [
        Reading(TENANT, YEAR_SENSOR, Quantity.NO2, 20.0 + (k % 97) / 4, start + k * YEAR_STEP, now, "native")
        for k in range(int(timedelta(days=365) / YEAR_STEP))
    ]
    for i in range(0, len(year), 5000):
        store.write_batch(year[i : i + 5000])
    store.refresh_rollups()
    print(f"  seeded {SENSORS:,} sensors and {len(year):,} readings in {time.perf_counter() - t0:.1f} s")


def endpoints(store: Store, now: datetime) -> list[Endpoint]:
    start = (now - timedelta(days=365)).replace(minute=0, second=0, microsecond=0)
    end = start + timedelta(days=365)
    shown = PrivacyRules(SECRET.encode()).pseudonym(TENANT, YEAR_SENSOR)
    year = {"tenant": TENANT, "sensor": shown, "quantity": "no2"}
    sql, params = rollup_query(
        "1h",
        store.rollup_mode()[1],
        tenant=TENANT,
        sensor=YEAR_SENSOR,
        quantity=Quantity.NO2,
        start=start,
        end=end,
        limit=10_000,
    )
    return [
        Endpoint(
            "latest (10,000 sensors)",
            "/api/v1/latest",
            {"tenant": TENANT},
            SENSORS + 1,
            LATEST_SQL,
            latest_params(TENANT, None),
            0.050,
        ),
        Endpoint(
            "hourly rollup, a year of one stream",
            "/api/v1/observations",
            {**year, "bucket": "1h", "start": start.isoformat(), "end": end.isoformat(), "limit": "10000"},
            8_760,
            sql,
            params,
            0.100,
        ),
    ]


def sequential(call: Callable[[], int], repeats: int) -> Latencies:
    seconds: list[float] = []
    statuses: dict[int, int] = {}
    for _ in range(repeats):
        t0 = time.perf_counter()
        status = call()
        seconds.append(time.perf_counter() - t0)
        statuses[status] = statuses.get(status, 0) + 1
    return Latencies(seconds, statuses)


def concurrent(make_call: Callable[[], Callable[[], int]], clients: int, each: int) -> Latencies:
    """`clients` threads, each with its own connection, released together, `each` requests each."""
    results: list[Latencies] = []
    gate = threading.Barrier(clients)
    lock = threading.Lock()

    def client() -> None:
        call = make_call()
        call()  # connect (and warm) before the gate: latencies measure requests, not handshakes
        gate.wait()
        got = sequential(call, each)
        with lock:
            results.append(got)

    threads = [threading.Thread(target=client) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    statuses: dict[int, int] = {}
    for r in results:
        for status, n in r.statuses.items():
            statuses[status] = statuses.get(status, 0) + n
    return Latencies([s for r in results for s in r.seconds], statuses)


def http_call(base: str, endpoint: Endpoint, check_rows: bool = False) -> Callable[[], int]:
    client = httpx.Client(base_url=base, timeout=120.0)

    def call() -> int:
        response = client.get(endpoint.path, params=endpoint.params)
        if check_rows and response.status_code == 200 and len(response.json()) != endpoint.rows:
            raise AssertionError(f"{endpoint.path}: {len(response.json())} rows, expected {endpoint.rows}")
        return response.status_code

    return call


def sql_call(url: str, endpoint: Endpoint) -> Callable[[], int]:
    conn = psycopg.connect(url, autocommit=True)
    conn.execute("SET TimeZone = 'UTC'")  # the session the store's pool sets up

    def call() -> int:
        rows = conn.execute(endpoint.sql, endpoint.sql_params).fetchall()
        if len(rows) != endpoint.rows:
            raise AssertionError(f"SQL of {endpoint.name}: {len(rows)} rows, expected {endpoint.rows}")
        return 200

    return call


@contextlib.contextmanager
def database() -> Iterator[str]:
    """A new, empty database: on PAKHUIS_DATABASE_URL's server, else an embedded one."""
    external = os.environ.get("PAKHUIS_DATABASE_URL")
    if external:
        name = f"pakhuis_bench_api_{uuid.uuid4().hex[:8]}"
        with psycopg.connect(external, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        try:
            yield psycopg.conninfo.make_conninfo(external, dbname=name)
        finally:
            with psycopg.connect(external, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        return
    with tempfile.TemporaryDirectory(prefix="pakhuis-bench-api-") as tmp:
        embedded = EmbeddedPostgres(Path(tmp))
        try:
            yield embedded.start()
        finally:
            embedded.stop()


@contextlib.contextmanager
def api_server(url: str) -> Iterator[str]:
    port = free_port()
    env = {
        **os.environ,
        "PAKHUIS_DATABASE_URL": url,
        "PAKHUIS_API_PORT": str(port),
        "PAKHUIS_PSEUDONYM_SECRET": SECRET,
    }
    with tempfile.TemporaryFile() as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "pakhuis", "api"], cwd=REPO, env=env, stdout=log, stderr=log
        )
        base = f"http://127.0.0.1:{port}"
        try:
            wait_for(lambda: _answers(base), 60.0, "the API server")
            yield base
        finally:
            proc.terminate()
            proc.wait(timeout=30)


def _answers(base: str) -> bool:
    try:
        return httpx.get(f"{base}/health/live", timeout=2.0).status_code == 200
    except httpx.HTTPError:
        return False


def line(label: str, got: Latencies, base: Latencies) -> None:
    other = {s: n for s, n in got.statuses.items() if s != 200}
    print(
        f"  {label:<44} p50 {got.p50 * 1000:7.1f} ms  p99 {got.p99 * 1000:7.1f} ms"
        f" | psycopg alone p50 {base.p50 * 1000:6.1f} ms p99 {base.p99 * 1000:6.1f} ms"
        f" → p99 ratio {got.p99 / base.p99:5.1f}×" + (f"  NOT 200: {other}" if other else ""),
        flush=True,
    )


def run(repeats: int, each: int) -> bool:
    now = datetime.now(UTC).replace(microsecond=0)
    verdicts: list[tuple[str, bool]] = []
    with database() as url:
        with Store(url) as store:
            store.migrate()
            seed(store, now)
            eps = endpoints(store, now)
        with api_server(url) as base:
            for ep in eps:
                print(f"\n== {ep.name}: GET {ep.path} ({ep.rows:,} rows)", flush=True)
                http_call(base, ep, check_rows=True)()
                base_seq = sequential(sql_call(url, ep), repeats)
                seq = sequential(http_call(base, ep), repeats)
                line("sequential", seq, base_seq)
                base_con = concurrent(functools.partial(sql_call, url, ep), CLIENTS, each)
                con = concurrent(functools.partial(http_call, base, ep), CLIENTS, each)
                line(f"{CLIENTS} concurrent clients", con, base_con)
                verdicts += [
                    (
                        f"{ep.name}: sequential p99 {seq.p99 * 1000:.1f} ms < {ep.goal_p99_s * 1000:.0f} ms",
                        seq.p99 < ep.goal_p99_s,
                    ),
                    (
                        f"{ep.name}: {CLIENTS} clients p99 {con.p99 * 1000:.1f} ms < 10× sequential p99",
                        con.p99 < 10 * seq.p99,
                    ),
                    (f"{ep.name}: every answer 200 ({con.statuses})", set(con.statuses) == {200}),
                ]
    print("\n== goals")
    for text, ok in verdicts:
        print(f"  {'meets ' if ok else 'MISSES'}  {text}")
    return all(ok for text, ok in verdicts if "every answer" in text)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repeats", type=int, default=200, help="sequential requests per endpoint")
    parser.add_argument("--each", type=int, default=10, help="requests per concurrent client")
    args = parser.parse_args()
    sys.exit(0 if run(args.repeats, args.each) else 1)


if __name__ == "__main__":
    main()
