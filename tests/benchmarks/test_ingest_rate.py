"""Ingest rate, end to end: real publisher → broker → `pakhuis ingest` → PostgreSQL rows.

Baseline, measured in the same run against the same broker and the same published messages: a
bare paho-mqtt subscriber (QoS 1, automatic acks) that only counts messages — the most a
Python MQTT client gets out of that broker. The ratio says how much of that raw receive rate
survives decoding, validation, batching, COPY into PostgreSQL and manual acks.

Embedded end to end (`pakhuis run`, its broker a child process): the broker PUBACKs a QoS 1
message once it is fsynced in the broker's journal (replayed after a crash until the ingest
committed it; when the journal's backlog is full, PUBACKs wait for the commit), with a
publisher — `mosquitto_pub` — whose in-flight window is the client default of 20. The baseline
is the raw paho receive rate on the same embedded broker in the same run (a topic the ingest
does not subscribe to). The goal is a ratio of at least 0.7.

    pytest tests/benchmarks -s            # prints the figures
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion

from pakhuis.store import Store
from tests.conftest import Backend
from tests.embedded_run import EmbeddedRun
from tests.support import (
    REPO,
    Broker,
    free_port,
    pakhuis_command,
    publish_lines,
    running,
    service_env,
    wait_for,
    wait_for_subscriber,
)

pytestmark = [pytest.mark.integration, pytest.mark.benchmark]

MESSAGES = 5_000
READINGS_PER_MESSAGE = 10
BASE = datetime(2026, 10, 1, tzinfo=UTC)


def _workload() -> list[str]:
    lines = []
    for m in range(MESSAGES):
        items = [
            {
                "time": (BASE + timedelta(seconds=m * READINGS_PER_MESSAGE + k)).isoformat(),
                "quantity": "no2",
                "value": 20.0 + (k % 7),
            }
            for k in range(READINGS_PER_MESSAGE)
        ]
        lines.append(json.dumps(items))
    return lines


def _raw_paho_receive_seconds(broker: Broker, topic: str, lines: list[str]) -> float:
    done = threading.Event()
    subscribed = threading.Event()
    count = 0

    def on_message(client: mqtt.Client, userdata: object, message: mqtt.MQTTMessage) -> None:
        nonlocal count
        count += 1
        if count == len(lines):
            done.set()

    client = mqtt.Client(
        callback_api_version=CallbackAPIVersion.VERSION2,
        client_id=f"bench-raw-{uuid.uuid4().hex[:6]}",
        protocol=MQTTProtocolVersion.MQTTv5 if broker.protocol == "5" else MQTTProtocolVersion.MQTTv311,
    )
    client.on_message = on_message
    client.on_subscribe = lambda *args: subscribed.set()
    client.connect(broker.host, broker.port)
    client.subscribe(topic, qos=1)
    client.loop_start()
    assert subscribed.wait(10)
    started = time.perf_counter()
    publish_lines(broker, topic, lines)
    assert done.wait(120), f"raw subscriber got {count} of {len(lines)} messages"
    elapsed = time.perf_counter() - started
    client.disconnect()
    client.loop_stop()
    return elapsed


def test_ingest_rate_against_raw_paho(
    backend: Backend, database_url: str, store: Store, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    tenant = f"b{uuid.uuid4().hex[:8]}"
    lines = _workload()
    readings = MESSAGES * READINGS_PER_MESSAGE

    raw_s = _raw_paho_receive_seconds(backend.broker, f"bench/{tenant}/raw", lines)

    env = service_env(
        backend.broker,
        database_url,
        PAKHUIS_MQTT_CLIENT_ID=f"bench-{tenant}",
        PAKHUIS_MQTT_TOPICS=json.dumps([f"pakhuis/v1/{tenant}/+/+"]),
    )
    with running(pakhuis_command("ingest"), env, REPO, tmp_path / "ingest.log"):
        wait_for_subscriber(
            backend.broker, f"pakhuis/v1/{tenant}/probe/native", lambda: len(store.latest(tenant=tenant)) > 0
        )
        started = time.perf_counter()
        publish_lines(backend.broker, f"pakhuis/v1/{tenant}/bench-1/native", lines)
        wait_for(
            lambda: store.count_observations(tenant) >= readings + 1,
            300,
            f"{readings} readings stored",
            interval=0.05,
        )
        pakhuis_s = time.perf_counter() - started

    assert store.count_observations(tenant) == readings + 1  # + the probe
    raw_rate = readings / raw_s
    rate = readings / pakhuis_s
    with capsys.disabled():
        print(
            f"\n[benchmark] ingest via {backend.broker.kind} broker → PostgreSQL ({backend.database.kind}): "
            f"{rate:,.0f} readings/s ({MESSAGES / pakhuis_s:,.0f} msg/s, "
            f"{READINGS_PER_MESSAGE} readings each); "
            f"baseline raw paho receive {raw_rate:,.0f} readings/s ({MESSAGES / raw_s:,.0f} msg/s); "
            f"ratio {rate / raw_rate:.2f}"
        )
    assert rate > 0 and raw_rate > 0


def test_embedded_run_acking_after_commit_against_raw_paho(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    tenant = f"e{uuid.uuid4().hex[:8]}"
    lines = _workload()
    readings = MESSAGES * READINGS_PER_MESSAGE
    mqtt_port = free_port()
    broker = Broker("embedded", "127.0.0.1", mqtt_port, "3.1.1")
    run = EmbeddedRun(tmp_path / "data", free_port(), mqtt_port, tmp_path / "run.log")
    try:
        run.wait_ready()
        with Store(run.database_url()) as store:
            wait_for_subscriber(
                broker, f"pakhuis/v1/{tenant}/probe/native", lambda: len(store.latest(tenant=tenant)) > 0
            )
            # Not under the ingest's topics: acknowledged on receipt, the broker's raw rate.
            raw_s = _raw_paho_receive_seconds(broker, f"bench/{tenant}/raw", lines)
            started = time.perf_counter()
            publish_lines(broker, f"pakhuis/v1/{tenant}/bench-1/native", lines)
            acked_s = time.perf_counter() - started
            wait_for(
                lambda: store.count_observations(tenant) >= readings + 1,
                300,
                f"{readings} readings stored",
                interval=0.05,
            )
            stored_s = time.perf_counter() - started
            assert store.count_observations(tenant) == readings + 1  # + the probe
    finally:
        run.stop()

    raw_rate, rate = MESSAGES / raw_s, MESSAGES / stored_s
    with capsys.disabled():
        print(
            f"\n[benchmark] pakhuis run (embedded, broker process, PUBACK after its journal's fsync, "
            f"mosquitto_pub window 20): "
            f"{rate:,.0f} msg/s stored ({rate * READINGS_PER_MESSAGE:,.0f} readings/s; publisher done "
            f"after {acked_s:.2f} s, stored after {stored_s:.2f} s); baseline raw paho receive on the "
            f"same broker {raw_rate:,.0f} msg/s; ratio {rate / raw_rate:.2f} (goal ≥ 0.7)"
        )
    assert rate > 0 and raw_rate > 0
