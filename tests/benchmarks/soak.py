"""Soak benchmark (not collected by pytest): minutes at a steady rate, RSS of every process.

    python -m tests.benchmarks.soak --minutes 10 --mode embedded
    python -m tests.benchmarks.soak --minutes 10 --mode distributed

embedded:    `pakhuis run` (embedded broker, runner, API) and its embedded PostgreSQL.
distributed: `pakhuis ingest` (to Kafka), `pakhuis stream worker`, `pakhuis api`, and the services
             they use — Mosquitto, Kafka and PostgreSQL, as `.ci/run` starts them (it needs
             PAKHUIS_MQTT_URL, PAKHUIS_KAFKA_URL and PAKHUIS_DATABASE_URL).

A paced QoS 1 publisher sends `--rate` messages/s of `--per-message` readings (times follow the
wall clock, one distinct time per reading) and an API reader asks for the latest values and a
page of observations every second, so every pakhuis process does its normal work. Every
`--sample-s` seconds the RSS of each process (a group: a PostgreSQL server counts all its
processes) is sampled, with psutil if installed, else from /proc. The report gives, per process,
the baseline (idle, before the load), the first and last sample under load, the maximum, and the
growth first → last (goal < 10 %), plus published / acknowledged / stored readings.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import paho.mqtt.client as mqtt
import psycopg
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion

from tests.benchmarks.soak_rss import Group, Sampler, postmaster_group, process_tree
from tests.device_publisher import forget_session
from tests.support import REPO, Broker, free_port, pakhuis_command, running, service_env, wait_for

SENSORS = 40


@dataclass(frozen=True)
class SoakOptions:
    tenant: str
    mode: str
    minutes: float
    rate: float  # messages per second
    per_message: int
    sample_s: float
    workdir: Path


@dataclass
class Deployment:
    """What a soak run measures: its processes (by group), where to publish, how to count rows."""

    broker: Broker
    api_port: int
    groups: Callable[[], list[Group]]
    count_stored: Callable[[str], int]
    alive: Callable[[], list[str]]
    database_url: Callable[[], str]


class PacedPublisher:
    """QoS 1 at a steady rate, at most `window` unacknowledged; counts PUBACKs."""

    def __init__(self, broker: Broker, tenant: str, rate: float, per_message: int, window: int = 100) -> None:
        self.tenant, self.rate, self.per_message, self.window = tenant, rate, per_message, window
        self.sent = 0
        self.acked = 0
        self._inflight = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="soak-publisher", daemon=True)
        v5 = broker.protocol == "5"
        self._client = mqtt.Client(
            callback_api_version=CallbackAPIVersion.VERSION2,
            client_id=f"soak-{uuid.uuid4().hex[:8]}",
            protocol=MQTTProtocolVersion.MQTTv5 if v5 else MQTTProtocolVersion.MQTTv311,
            clean_session=None if v5 else False,
        )
        self._client.max_inflight_messages_set(window)
        self._client.max_queued_messages_set(0)
        self._client.on_publish = self._on_publish
        self._client.connect(broker.host, broker.port)
        self._client.loop_start()

    def _on_publish(self, client: mqtt.Client, userdata: object, mid: int, rc: object, props: object) -> None:
        with self._lock:
            self._inflight -= 1
            self.acked += 1

    def _payload(self, m: int, t0: datetime) -> bytes:
        step = 1.0 / (self.rate * self.per_message)
        return json.dumps(
            [
                {
                    "time": (t0 + timedelta(seconds=(m * self.per_message + k) * step)).isoformat(),
                    "quantity": "no2",
                    "value": float((m + k) % 97),
                }
                for k in range(self.per_message)
            ]
        ).encode()

    def _run(self) -> None:
        t0 = datetime.now(UTC).replace(microsecond=0)
        started = time.monotonic()
        m = 0
        while not self._stop.is_set():
            while self._inflight >= self.window and not self._stop.is_set():
                time.sleep(0.002)
            with self._lock:
                self._inflight += 1
            self._client.publish(
                f"pakhuis/v1/{self.tenant}/s{m % SENSORS:02d}/native", self._payload(m, t0), qos=1
            )
            m += 1
            self.sent = m
            ahead = started + m / self.rate - time.monotonic()
            if ahead > 0:
                time.sleep(ahead)

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 60) -> None:
        self._stop.set()
        self._thread.join(10)
        deadline = time.monotonic() + timeout
        while self.acked < self.sent and time.monotonic() < deadline:
            time.sleep(0.1)
        self._client.disconnect()
        self._client.loop_stop()


class ApiReader:
    """A dashboard: latest values and a page of observations, once a second."""

    def __init__(self, port: int, tenant: str) -> None:
        self._urls = [
            f"http://127.0.0.1:{port}/api/v1/latest?tenant={tenant}",
            f"http://127.0.0.1:{port}/api/v1/observations?tenant={tenant}&limit=1000",
        ]
        self.ok = 0
        self.failed = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="soak-reader", daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(1.0):
            for url in self._urls:
                try:
                    with urllib.request.urlopen(url, timeout=10) as response:
                        response.read()
                        self.ok += 1
                except OSError:
                    self.failed += 1

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(15)


def _count(url: str, tenant: str) -> int:
    with psycopg.connect(url, autocommit=True, connect_timeout=5) as conn:
        row = conn.execute(
            "SELECT count(*) FROM observations o JOIN sensors s ON s.id = o.sensor_id WHERE s.tenant = %s",
            (tenant,),
        ).fetchone()
    return int(row[0]) if row else 0


def _api_up(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health/live", timeout=2) as response:
            return bool(response.status == 200)
    except OSError:
        return False


def _exited(procs: dict[str, subprocess.Popen[bytes]]) -> list[str]:
    return [f"{name} (exit {p.returncode})" for name, p in procs.items() if p.poll() is not None]


@contextmanager
def embedded(options: SoakOptions) -> Iterator[Deployment]:
    api_port, mqtt_port = free_port(), free_port()
    data = options.workdir / "data"
    env = {k: v for k, v in os.environ.items() if not k.startswith("PAKHUIS_")}
    env["PYTHONPATH"] = str(REPO)
    cmd = pakhuis_command(
        "run", "--api-port", str(api_port), "--mqtt-port", str(mqtt_port), "--data-dir", str(data)
    )
    with running(cmd, env, options.workdir, options.workdir / "run.log") as proc:
        wait_for(lambda: _api_up(api_port), 120, "`pakhuis run` to serve its API")
        pgdata = data / "pg"

        def groups() -> list[Group]:
            return [
                Group("pakhuis run", process_tree(proc.pid)),
                postmaster_group("postgres (embedded)", pgdata),
            ]

        def count(tenant: str) -> int:
            return _count(_socket_url(pgdata), tenant)

        yield Deployment(
            Broker("embedded", "127.0.0.1", mqtt_port, "3.1.1"),
            api_port,
            groups,
            count,
            lambda: _exited({"run": proc}),
            lambda: _socket_url(pgdata),
        )


def _socket_url(pgdata: Path) -> str:
    # postmaster.pid: line 4 is the port, line 5 the Unix socket directory.
    lines = (pgdata / "postmaster.pid").read_text().splitlines()
    return f"postgresql://postgres@/pakhuis?host={lines[4]}&port={lines[3]}"


@contextmanager
def distributed(options: SoakOptions) -> Iterator[Deployment]:
    mqtt_url, database_url, kafka_url = (
        os.environ.get(name) for name in ("PAKHUIS_MQTT_URL", "PAKHUIS_DATABASE_URL", "PAKHUIS_KAFKA_URL")
    )
    if not (mqtt_url and database_url and kafka_url):
        raise SystemExit(
            "distributed mode needs PAKHUIS_MQTT_URL, PAKHUIS_DATABASE_URL and PAKHUIS_KAFKA_URL"
        )
    parts = urlsplit(mqtt_url)
    broker = Broker("mosquitto", parts.hostname or "127.0.0.1", parts.port or 1883, "5")
    name = f"pakhuis_soak_{uuid.uuid4().hex[:8]}"
    url = _create_database(database_url, name)
    prefix = f"soak{uuid.uuid4().hex[:8]}"
    api_port = free_port()
    env = service_env(
        broker,
        url,
        PAKHUIS_KAFKA_URL=kafka_url.removeprefix("kafka://"),
        PAKHUIS_KAFKA_PREFIX=prefix,
        PAKHUIS_MQTT_SHARED_GROUP=f"g{prefix}",
        PAKHUIS_MQTT_CLIENT_ID=f"{prefix}-ingest-1",
        # Only this run's messages: the ingest's persistent session must not collect others'.
        PAKHUIS_MQTT_TOPICS=json.dumps([f"pakhuis/v1/{options.tenant}/+/+"]),
        PAKHUIS_DATA_DIR=str(options.workdir / "data"),
    )
    commands = {
        "pakhuis stream worker": pakhuis_command("stream", "worker", "--id", "worker-1"),
        "pakhuis ingest": pakhuis_command("ingest"),
        "pakhuis api": pakhuis_command("api", "--port", str(api_port)),
    }
    try:
        with ExitStack() as stack:
            procs = {
                label: stack.enter_context(
                    running(cmd, env, REPO, options.workdir / f"{label.split()[-1]}.log")
                )
                for label, cmd in commands.items()
            }
            wait_for(lambda: _api_up(api_port), 60, "the API")
            state = Path(os.environ.get("STATE_DIR", "/tmp/pakhuis-mosquitto"))
            kafka_state = Path(os.environ.get("KAFKA_STATE_DIR", "/tmp/pakhuis-kafka"))
            pgdata = Path(os.environ.get("PAKHUIS_SOAK_PGDATA", "/var/lib/postgresql/15/main"))

            def groups() -> list[Group]:
                found = [Group(label, process_tree(p.pid)) for label, p in procs.items()]
                found.append(Group("mosquitto", _pid_file(state / "mosquitto.pid")))
                found.append(Group("kafka", _pid_file(kafka_state / "kafka.pid")))
                found.append(postmaster_group("postgres", pgdata))
                return found

            yield Deployment(
                broker,
                api_port,
                groups,
                lambda tenant: _count(url, tenant),
                lambda: _exited(procs),
                lambda: url,
            )
    finally:
        forget_session(broker, f"{prefix}-ingest-1")
        with psycopg.connect(database_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _pid_file(path: Path) -> list[int]:
    try:
        return [int(path.read_text().split()[0])]
    except (OSError, ValueError, IndexError):
        return []


def _create_database(admin_url: str, name: str) -> str:
    from pakhuis.store import Store

    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = urlunsplit(urlsplit(admin_url)._replace(path=f"/{name}"))
    with Store(url) as store:
        store.migrate()
    return url


@dataclass
class Result:
    samples: Sampler
    published: int = 0
    acknowledged: int = 0
    stored: int = 0
    seconds: float = 0.0
    api_ok: int = 0
    api_failed: int = 0
    died: list[str] = field(default_factory=list)
    max_lag: int = 0  # acknowledged but not yet stored, at the worst sample: does it keep up?
    shared_buffers: str = "?"
    load: tuple[float, ...] = ()  # the machine's load average (1, 5, 15 min) at the end: was it shared?


def soak(options: SoakOptions, deployment: Deployment) -> Result:
    tenant = options.tenant
    sampler = Sampler(deployment.groups, options.sample_s)
    sampler.sample("idle")
    publisher = PacedPublisher(deployment.broker, tenant, options.rate, options.per_message)
    reader = ApiReader(deployment.api_port, tenant)
    started = time.monotonic()
    publisher.start()
    reader.start()
    end = started + options.minutes * 60
    next_sample = started + options.sample_s
    max_lag = 0
    while time.monotonic() < end:
        time.sleep(max(min(next_sample, end) - time.monotonic(), 0))
        if time.monotonic() >= next_sample:
            sampler.sample(f"{time.monotonic() - started:.0f} s")
            next_sample += options.sample_s
            done = publisher.acked * options.per_message
            lag = max(done - deployment.count_stored(tenant), 0)
            max_lag = max(max_lag, lag)
            print(
                f"  {sampler.last_line()} | {done:,} readings acknowledged, {lag:,} not yet stored",
                flush=True,
            )
    publisher.stop()
    seconds = time.monotonic() - started
    reader.stop()
    wanted = publisher.acked * options.per_message
    wait_for(lambda: deployment.count_stored(tenant) >= wanted, 300, "every acknowledged reading stored", 1)
    with psycopg.connect(deployment.database_url(), autocommit=True) as conn:
        row = conn.execute("SHOW shared_buffers").fetchone()
    return Result(
        sampler,
        publisher.sent * options.per_message,
        wanted,
        deployment.count_stored(tenant),
        seconds,
        reader.ok,
        reader.failed,
        deployment.alive(),
        max_lag,
        str(row[0]) if row else "?",
        os.getloadavg(),
    )


def report(options: SoakOptions, result: Result) -> str:
    rate = result.acknowledged / result.seconds if result.seconds else 0.0
    lines = [
        f"[soak] {options.mode}, {options.minutes:g} min at {options.rate:g} msg/s × {options.per_message} "
        f"readings ({rate:,.0f} readings/s acknowledged), RSS every {options.sample_s:g} s "
        f"({len(result.samples.rows) - 1} samples under load; RSS via {result.samples.source}):",
        *result.samples.table(),
        f"[soak] published {result.published:,}, acknowledged {result.acknowledged:,}, "
        f"stored {result.stored:,} readings (at most {result.max_lag:,} behind at a sample); "
        f"API reads {result.api_ok:,} ok, {result.api_failed} failed; "
        f"processes exited: {', '.join(result.died) or 'none'}; load average at the end "
        f"{' / '.join(f'{x:.1f}' for x in result.load)} on {os.cpu_count()} CPUs",
    ]
    for name in result.samples.rows[0][1]:
        if name.startswith("postgres"):
            lines.append(f"[soak] {name} at the last sample (shared_buffers = {result.shared_buffers}):")
            lines += result.samples.breakdown(name)
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tests.benchmarks.soak", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--mode", choices=["embedded", "distributed"], default="embedded")
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--rate", type=float, default=100.0, help="messages per second (default 100)")
    parser.add_argument("--per-message", type=int, default=10, help="readings per message (default 10)")
    parser.add_argument("--sample-s", type=float, default=10.0)
    args = parser.parse_args(argv)
    os.environ.setdefault("NUMBA_CACHE_DIR", str(Path(tempfile.gettempdir()) / "pakhuis-numba-cache"))
    os.environ.setdefault("NUMBA_THREADING_LAYER", "omp")
    with tempfile.TemporaryDirectory(prefix="pakhuis-soak-") as workdir:
        options = SoakOptions(
            f"soak{uuid.uuid4().hex[:6]}",
            args.mode,
            args.minutes,
            args.rate,
            args.per_message,
            args.sample_s,
            Path(workdir),
        )
        start = embedded if options.mode == "embedded" else distributed
        with start(options) as deployment:
            result = soak(options, deployment)
        print(report(options, result), flush=True)
    ok = result.stored >= result.acknowledged and not result.died and result.samples.growth_ok()
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
