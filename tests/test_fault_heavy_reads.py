"""Fault case (issue 11 part 7, embedded): 200 concurrent heavy reads during ingest.

`pakhuis run` as a subprocess (free ports, a fresh data dir). A steady QoS 1 stream is
published while 200 clients at once ask for `GET /api/v1/observations?limit=100000` (a full
page of a preloaded table). The API's reads have their own connection pool, so the ingest's
registry lookups and the runner's writes keep their connections: every acknowledged message is
stored, once. `/health` is polled throughout and must stay 200 (every component is up); then
the embedded PostgreSQL is stopped under the running service and `/health` must turn 503
naming the database, and `/health/live` stay 200.

Prints the figures (published, acknowledged, stored, duplicates, read statuses, /health
latencies). Bounded: about a minute.
"""

from __future__ import annotations

import json
import os
import re
import signal
import threading
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion

from tests.support import Broker, free_port, pakhuis_command, publish_messages, running, wait_for

pytestmark = pytest.mark.integration

READERS = 200
STREAM_MESSAGES = 1500
STREAM_RATE = 100.0  # messages per second
PRELOAD_READINGS = 20_000


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PAKHUIS_")}
    env.update({"PYTHONUNBUFFERED": "1", "PAKHUIS_LOG_LEVEL": "WARNING"})
    return env


def _status(url: str, timeout: float = 5.0) -> int:
    try:
        return httpx.get(url, timeout=timeout).status_code
    except httpx.HTTPError:
        return 0


def _count(base: str, tenant: str) -> tuple[int, int]:
    """(rows, distinct identities) of a tenant's observations, following the `Link` pages."""
    url: str | None = f"{base}/api/v1/observations?tenant={tenant}&limit=10000"
    rows, identities = 0, set()
    while url is not None:
        response = httpx.get(url, timeout=60)
        assert response.status_code == 200, response.text[:300]
        for row in response.json():
            rows += 1
            identities.add((row["sensor"], row["quantity"], row["time"]))
        match = re.search(r"<([^>]+)>;\s*rel=\"next\"", response.headers.get("link", ""))
        url = match[1] if match else None
    return rows, len(identities)


@dataclass
class _Publisher:
    """QoS 1, the client's default in-flight window; counts the broker's PUBACKs."""

    broker: Broker
    messages: list[tuple[str, bytes]]
    rate: float
    acked: int = 0
    published: int = 0
    done: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        client = mqtt.Client(
            callback_api_version=CallbackAPIVersion.VERSION2,
            client_id=f"heavy-pub-{uuid.uuid4().hex[:6]}",
            protocol=MQTTProtocolVersion.MQTTv311,
        )
        lock = threading.Lock()

        def on_publish(*args: object) -> None:
            with lock:
                self.acked += 1

        client.on_publish = on_publish
        client.max_queued_messages_set(0)
        client.connect(self.broker.host, self.broker.port)
        client.loop_start()
        try:
            infos = []
            started = time.monotonic()
            for i, (topic, payload) in enumerate(self.messages):
                infos.append(client.publish(topic, payload, qos=1))
                self.published += 1
                ahead = started + (i + 1) / self.rate - time.monotonic()
                if ahead > 0:
                    time.sleep(ahead)
            for info in infos:
                info.wait_for_publish(120)
        finally:
            client.disconnect()
            client.loop_stop()
            self.done.set()


@dataclass
class _HealthWatch:
    base: str
    samples: list[tuple[int, float, str]] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        with httpx.Client(timeout=30) as client:
            while not self.stop.is_set():
                started = time.monotonic()
                try:
                    response = client.get(f"{self.base}/health")
                    self.samples.append((response.status_code, time.monotonic() - started, response.text))
                except httpx.HTTPError as exc:
                    self.samples.append((0, time.monotonic() - started, repr(exc)))
                self.stop.wait(0.25)


def _heavy_read(base: str) -> tuple[int, int, float]:
    started = time.monotonic()
    try:
        response = httpx.get(f"{base}/api/v1/observations?limit=100000", timeout=120)
        return response.status_code, len(response.content), time.monotonic() - started
    except httpx.HTTPError:
        return 0, 0, time.monotonic() - started


def _native(i: int) -> bytes:
    return json.dumps(
        {
            "time": f"2024-05-01T{i // 3600:02d}:{i // 60 % 60:02d}:{i % 60:02d}Z",
            "quantity": "no2",
            "value": i,
        }
    ).encode()


def _preload() -> list[tuple[str, bytes]]:
    """PRELOAD_READINGS readings in messages of 500 (a native list), one second apart."""
    per_message = 500
    messages = []
    for m in range(PRELOAD_READINGS // per_message):
        items = []
        for j in range(per_message):
            t = m * per_message + j
            stamp = f"2024-04-{1 + t // 86400:02d}T{t // 3600 % 24:02d}:{t // 60 % 60:02d}:{t % 60:02d}Z"
            items.append({"time": stamp, "quantity": "no2", "value": float(j)})
        messages.append((f"pakhuis/v1/bulk/bulk-{m % 4}/native", json.dumps(items).encode()))
    return messages


def _postmaster_pid(data_dir: Path) -> int:
    return int((data_dir / "pg" / "postmaster.pid").read_text().split()[0])


def test_heavy_reads_do_not_stop_ingest_and_health_tells_the_truth(tmp_path: Path) -> None:
    api_port, mqtt_port = free_port(), free_port()
    data_dir = tmp_path / "data"
    base = f"http://127.0.0.1:{api_port}"
    broker = Broker("embedded", "127.0.0.1", mqtt_port, "3.1.1")
    log = tmp_path / "run.log"
    cmd = pakhuis_command(
        "run", "--api-port", str(api_port), "--mqtt-port", str(mqtt_port), "--data-dir", str(data_dir)
    )
    postmaster: int | None = None
    with running(cmd, _env(), cwd=tmp_path, log=log) as proc:
        try:
            wait_for(lambda: _status(f"{base}/health") == 200, 120, "pakhuis run to be healthy")
            # A table worth reading: each heavy read gets a full page (PAKHUIS_API_PAGE_MAX_ROWS).
            publish_messages(broker, _preload())
            wait_for(lambda: _count(base, "bulk")[0] == PRELOAD_READINGS, 60, "the preload to be stored")

            stream = [(f"pakhuis/v1/heavy/h-{i % 20}/native", _native(i)) for i in range(STREAM_MESSAGES)]
            publisher = _Publisher(broker, stream, STREAM_RATE)
            watch = _HealthWatch(base)
            threads = [threading.Thread(target=publisher.run), threading.Thread(target=watch.run)]
            for thread in threads:
                thread.start()
            time.sleep(2.0)  # the stream is flowing before the reads arrive
            started = time.monotonic()
            with ThreadPoolExecutor(READERS) as pool:
                reads = list(pool.map(lambda _i: _heavy_read(base), range(READERS)))
            reads_s = time.monotonic() - started
            assert publisher.done.wait(120), "the publisher did not finish"
            watch.stop.set()
            for thread in threads:
                thread.join(30)

            # Everything acknowledged is stored, once.
            wait_for(lambda: _count(base, "heavy")[0] >= publisher.acked, 60, "the stream to be stored")
            stored, distinct = _count(base, "heavy")
            statuses = Counter(status for status, _size, _s in reads)
            latencies = sorted(s for _st, s, _t in watch.samples)
            health_codes = Counter(code for code, _s, _t in watch.samples)
            print(
                f"\nheavy reads: {READERS} concurrent GET /api/v1/observations?limit=100000 "
                f"in {reads_s:.1f} s, "
                f"statuses {dict(statuses)}, {sum(size for _s, size, _t in reads) / 1e6:.0f} MB read"
                f"\nstream: published {publisher.published}, acknowledged {publisher.acked}, "
                f"stored {stored}, duplicates {stored - distinct}, lost {publisher.acked - distinct}"
                f"\n/health: {len(watch.samples)} polls, codes {dict(health_codes)}, "
                f"latency median {latencies[len(latencies) // 2]:.2f} s, max {latencies[-1]:.2f} s"
            )
            assert publisher.acked == publisher.published == STREAM_MESSAGES
            assert stored == distinct == publisher.acked
            assert statuses[200] >= 1, "no heavy read succeeded at all"
            assert set(statuses) <= {200, 503}, f"a heavy read failed otherwise: {statuses}"
            bad = [(code, text[:300]) for code, _s, text in watch.samples if code != 200]
            assert not bad, f"/health was not 200 while every component was up: {bad[:3]}"
            assert proc.poll() is None, "pakhuis run died"

            # The database goes away under the running service: /health says so, by name.
            postmaster = _postmaster_pid(data_dir)
            os.kill(postmaster, signal.SIGINT)  # PostgreSQL's "fast shutdown"
            wait_for(lambda: _status(f"{base}/health", 15) == 503, 30, "/health to report the outage")
            response = httpx.get(f"{base}/health", timeout=15)
            error = response.json()["error"]
            print(
                f"/health during the outage: {response.status_code} {error['code']}: {error['message'][:160]}"
            )
            assert error["code"] == "store_unavailable"
            assert error["message"].startswith("database is down")
            assert _status(f"{base}/health/ready", 15) == 503
            assert _status(f"{base}/health/live") == 200
        finally:
            if postmaster is not None and proc.poll() is None:
                # The runner retries a dead database forever: no graceful stop to wait for.
                # (Before the outage, `running` stops it with SIGTERM, which stops PostgreSQL.)
                proc.kill()
                proc.wait(10)
