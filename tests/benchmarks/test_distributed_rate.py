"""Distributed mode, end to end: Mosquitto → 2 ingest → Kafka → 2 Faust workers → PostgreSQL.

Three figures, each printed with a baseline measured in the same run:
- sustained readings/s for single-reading messages, and for packs of 50 readings, next to a bare
  paho subscriber receiving the same messages from the same broker (raw paho receive rate);
- publish-to-queryable latency percentiles at a paced 5,000 messages/s.

    pytest tests/benchmarks/test_distributed_rate.py -s
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import psycopg
import pytest

from pakhuis.store import Store
from tests.conftest import Distributed
from tests.stream.test_distributed import _probe, cluster
from tests.support import RawReceiver, publish_parallel, wait_for

pytestmark = [pytest.mark.integration, pytest.mark.distributed, pytest.mark.benchmark]

PUBLISHERS = 8  # topics (sensors) published in parallel, one mosquitto_pub each


def _workload(prefix: str, messages: int, per_message: int) -> dict[str, list[str]]:
    base = datetime(2026, 9, 1, tzinfo=UTC)
    lines: dict[str, list[str]] = {}
    for m in range(messages):
        topic = f"{prefix}/s{m % PUBLISHERS}/native"
        items = [
            {
                "time": (base + timedelta(seconds=m * per_message + k)).isoformat(),
                "quantity": "no2",
                "value": float((m + k) % 89),
            }
            for k in range(per_message)
        ]
        lines.setdefault(topic, []).append(json.dumps(items[0] if per_message == 1 else items))
    return lines


def _raw_rate(d: Distributed, messages: int, per_message: int) -> float:
    tag = f"raw{uuid.uuid4().hex[:6]}"
    receiver = RawReceiver(d.broker, f"bench/{tag}/#", messages)
    started = time.perf_counter()
    publish_parallel(d.broker, _workload(f"bench/{tag}", messages, per_message))
    assert receiver.done.wait(300), f"raw subscriber got {receiver.count} of {messages}"
    elapsed = time.perf_counter() - started
    receiver.close()
    return messages * per_message / elapsed


@pytest.mark.parametrize(("messages", "per_message"), [(60_000, 1), (4_000, 50)], ids=["single", "pack50"])
def test_sustained_rate(
    distributed: Distributed,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    messages: int,
    per_message: int,
) -> None:
    tenant = f"r{uuid.uuid4().hex[:6]}"
    database_url = distributed.database.new_database()
    raw = _raw_rate(distributed, messages, per_message)
    total = messages * per_message
    with Store(database_url) as store, cluster(distributed, database_url, tenant, tmp_path):
        _probe(distributed, store, tenant)
        started = time.perf_counter()
        publish_parallel(distributed.broker, _workload(f"pakhuis/v1/{tenant}", messages, per_message))
        published = time.perf_counter() - started
        wait_for(
            lambda: store.count_observations(tenant) >= total + 1, 600, f"{total} readings", interval=0.05
        )
        elapsed = time.perf_counter() - started
        assert store.count_observations(tenant) == total + 1
    rate = total / elapsed
    with capsys.disabled():
        print(
            f"\n[benchmark] distributed, {per_message}-reading messages: {rate:,.0f} readings/s "
            f"({messages / elapsed:,.0f} msg/s; publishing took {published:.1f} s); baseline raw paho "
            f"receive {raw:,.0f} readings/s; ratio {rate / raw:.2f}; 0 lost ({total:,} stored once)"
        )
    assert rate > 0


@pytest.mark.parametrize("per_second", [1_000, 5_000])
def test_latency_publish_to_queryable(
    distributed: Distributed, tmp_path: Path, capsys: pytest.CaptureFixture[str], per_second: int
) -> None:
    tenant = f"l{uuid.uuid4().hex[:6]}"
    database_url = distributed.database.new_database()
    seconds = 10
    total = seconds * per_second
    sensors = [f"s{i}" for i in range(PUBLISHERS)]
    with Store(database_url) as store, cluster(distributed, database_url, tenant, tmp_path):
        _probe(distributed, store, tenant)
        seen: dict[tuple[str, datetime], float] = {}
        stop = threading.Event()

        def watch() -> None:
            # One sensor's readings are processed in order (one partition, one worker at a
            # time), so a per-sensor cursor sees each row once, soon after it is committed.
            cursors = {name: datetime(1970, 1, 1, tzinfo=UTC) for name in sensors}
            with psycopg.connect(database_url, autocommit=True) as conn:
                while not stop.is_set():
                    rows = conn.execute(
                        """SELECT c.name, o.time
                           FROM unnest(%s::text[], %s::timestamptz[]) AS c(name, after)
                           JOIN sensors s ON s.tenant = %s AND s.name = c.name
                           JOIN observations o ON o.sensor_id = s.id AND o.time > c.after""",
                        (list(cursors), list(cursors.values()), tenant),
                    ).fetchall()
                    polled_at = time.time()
                    for name, t in rows:
                        seen.setdefault((name, t), polled_at)
                        cursors[name] = max(cursors[name], t)
                    time.sleep(0.02)

        watcher = threading.Thread(target=watch)
        watcher.start()
        # Each reading's phenomenon time is its publish time (the watcher's clock), distinct per
        # reading, so the first time the watcher sees a row gives that reading's latency.
        _publish_now_paced(distributed, tenant, total, per_second)
        wait_for(lambda: store.count_observations(tenant) >= total + 1, 300, "all readings", interval=0.1)
        time.sleep(0.5)
        stop.set()
        watcher.join()
        rows = store.observations(tenant=tenant, limit=200_000)
    keys = [(r["sensor"], r["time"]) for r in rows if r["sensor"] != "probe"]
    assert len(keys) == total
    latencies = np.array([seen[k] - k[1].timestamp() for k in keys])
    p50, p95, p99 = (float(np.percentile(latencies, q)) for q in (50, 95, 99))
    with capsys.disabled():
        print(
            f"\n[benchmark] distributed latency publish→queryable at {per_second:,} msg/s for {seconds} s "
            f"(single readings): p50 {p50 * 1000:.0f} ms, p95 {p95 * 1000:.0f} ms, p99 {p99 * 1000:.0f} ms, "
            f"max {latencies.max() * 1000:.0f} ms; resolution: 20 ms watcher poll; 0 lost ({total:,} stored)"
        )
    assert p50 > 0


def _publish_now_paced(d: Distributed, tenant: str, total: int, per_second: int) -> None:
    import paho.mqtt.client as mqtt
    from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion

    client = mqtt.Client(
        callback_api_version=CallbackAPIVersion.VERSION2, protocol=MQTTProtocolVersion.MQTTv5
    )
    client.max_inflight_messages_set(1000)
    client.max_queued_messages_set(0)
    client.connect(d.broker.host, d.broker.port)
    client.loop_start()
    infos = []
    started = time.monotonic()
    last_us = 0
    for i in range(total):
        now_us = max(time.time_ns() // 1000, last_us + 1)  # distinct times: one row per reading
        last_us = now_us
        stamp = (datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=now_us)).isoformat()
        payload = f'{{"time": "{stamp}", "quantity": "no2", "value": 20.5}}'.encode()
        infos.append(client.publish(f"pakhuis/v1/{tenant}/s{i % PUBLISHERS}/native", payload, qos=1))
        ahead = started + (i + 1) / per_second - time.monotonic()
        if ahead > 0:
            time.sleep(ahead)
    for info in infos:
        info.wait_for_publish(120)
    client.disconnect()
    client.loop_stop()
