"""Distributed mode end to end: Mosquitto → 2 ingest processes → Kafka → 2 Faust workers → PostgreSQL.

Needs the real services (CI's `.ci/run` starts Mosquitto, Kafka and PostgreSQL); each test
uses its own topic prefix, consumer group, shared-subscription group and database.
"""

from __future__ import annotations

import json
import signal
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka import Consumer

from pakhuis.store import Store
from sensors_sim import build_fleet
from sensors_sim.wire import encode_native
from tests.conftest import Backend, Distributed
from tests.support import (
    REPO,
    pakhuis_command,
    publish_messages,
    running,
    service_env,
    wait_for,
)

pytestmark = [pytest.mark.integration, pytest.mark.distributed]


@dataclass
class Cluster:
    """The processes of one distributed deployment, each restartable by name."""

    env: dict[str, str]
    logs: Path
    stack: ExitStack
    procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    def start(self, name: str) -> None:
        kind = name.partition("-")[0]
        if kind == "api":
            cmd = pakhuis_command("api", "--port", self.env["TEST_API_PORT"])
            env = self.env
        elif kind == "ingest":
            cmd = pakhuis_command("ingest")
            env = {**self.env, "PAKHUIS_MQTT_CLIENT_ID": f"{self.env['PAKHUIS_KAFKA_PREFIX']}-{name}"}
        else:
            cmd = pakhuis_command("stream", "worker", "--id", name)
            env = self.env
        self.procs[name] = self.stack.enter_context(running(cmd, env, REPO, self.logs / f"{name}.log"))

    def kill(self, name: str) -> None:
        proc = self.procs.pop(name)
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)


@contextmanager
def cluster(
    d: Distributed,
    database_url: str,
    tenant: str,
    tmp_path: Path,
    *,
    ingests: int = 2,
    workers: int = 2,
    topics: list[str] | None = None,
) -> Iterator[Cluster]:
    prefix = f"t{uuid.uuid4().hex[:10]}"
    env = service_env(
        d.broker,
        database_url,
        PAKHUIS_KAFKA_URL=d.kafka,
        PAKHUIS_KAFKA_PREFIX=prefix,
        PAKHUIS_MQTT_TOPICS=json.dumps(topics or [f"pakhuis/v1/{tenant}/+/+"]),
        PAKHUIS_MQTT_SHARED_GROUP=f"g{prefix}",
        PAKHUIS_HTTP_INGEST_TENANT=tenant,
        PAKHUIS_DATA_DIR=str(tmp_path / "data"),
        PAKHUIS_STALE_CHECK_S="1",
    )
    with ExitStack() as stack:
        c = Cluster(env, tmp_path, stack)
        for i in range(1, workers + 1):
            c.start(f"worker-{i}")
        # Let the workers settle into one consumer-group generation before data flows: the
        # tests then measure processing, not start-up rebalances.
        wait_for(lambda: _group_stable(d.kafka, f"{prefix}-stream", workers), 90, "a stable worker group")
        for i in range(1, ingests + 1):
            c.start(f"ingest-{i}")
        yield c


def _group_stable(bootstrap: str, group: str, members: int) -> bool:
    from confluent_kafka import ConsumerGroupState
    from confluent_kafka.admin import AdminClient

    admin = AdminClient({"bootstrap.servers": bootstrap})
    try:
        description = admin.describe_consumer_groups([group])[group].result(10)
    except Exception:  # noqa: BLE001 - the group does not exist yet: not stable
        return False
    return bool(description.state == ConsumerGroupState.STABLE and len(description.members) >= members)


def _probe(d: Distributed, store: Store, tenant: str) -> None:
    """Publish until a probe reading is stored: ingest, Kafka and a worker are all up."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        publish_messages(
            d.broker,
            [
                (
                    f"pakhuis/v1/{tenant}/probe/native",
                    b'{"time": "2000-01-01T00:00:00Z", "quantity": "battery", "value": 3.3}',
                )
            ],
        )
        end = time.monotonic() + 3
        while time.monotonic() < end:
            if store.latest(tenant=tenant):
                return
            time.sleep(0.2)
    raise AssertionError("the distributed pipeline never stored the probe reading")


def _simulated_hour(tenant: str) -> list[tuple[str, bytes]]:
    fleet = build_fleet(7, tenant=tenant, air=3, drains=3, bridges=2)
    start = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)
    messages = []
    for k in range(360):
        t = start + timedelta(seconds=10 * k)
        for emulator in fleet:
            items = emulator.readings_at(t)
            if items:
                messages.append((emulator.topic, encode_native(items)))
    return messages


def _observation_rows(store: Store, tenant: str) -> set[tuple[object, ...]]:
    rows = store.observations(tenant=tenant, limit=100_000)
    return {
        (r["sensor"], r["quantity"], r["time"], r["time_end"], r["value"], r["quality"], r["source_format"])
        for r in rows
        if r["sensor"] != "probe"
    }


def _hourly(store: Store, tenant: str) -> dict[tuple[object, ...], tuple[float, float, float, int]]:
    return {
        (r["sensor"], r["quantity"], r["time"]): (r["mean"], r["min"], r["max"], r["count"])
        for r in store.rollup(bucket="1h", tenant=tenant, limit=100_000)
        if r["sensor"] != "probe"
    }


def test_distributed_and_embedded_store_the_same_rows(
    distributed: Distributed, embedded_backend: Backend, tmp_path: Path
) -> None:
    backend = embedded_backend
    tenant = f"eq{uuid.uuid4().hex[:6]}"
    messages = _simulated_hour(tenant)
    readings = sum(len(json.loads(payload)) for _, payload in messages)

    # 1. Embedded: amqtt broker, local runner (`pakhuis ingest` without Kafka), pgserver.
    embedded_url = backend.database.new_database()
    with Store(embedded_url) as embedded_store:
        env = service_env(
            backend.broker,
            embedded_url,
            PAKHUIS_MQTT_CLIENT_ID=f"eq-embedded-{tenant}",
            PAKHUIS_MQTT_TOPICS=json.dumps([f"pakhuis/v1/{tenant}/+/+"]),
        )
        with running(pakhuis_command("ingest"), env, REPO, tmp_path / "embedded.log"):
            wait_for(lambda: _try_probe(backend, embedded_store, tenant), 60, "the embedded ingest")
            publish_messages(backend.broker, messages)
            wait_for(lambda: embedded_store.count_observations(tenant) >= readings + 1, 120, "embedded rows")
        embedded_rows = _observation_rows(embedded_store, tenant)
        embedded_hourly = _hourly(embedded_store, tenant)

    # 2. Distributed: Mosquitto → 2 ingest → Kafka (4 partitions) → 2 Faust workers → PostgreSQL.
    distributed_url = distributed.database.new_database()
    with Store(distributed_url) as store, cluster(distributed, distributed_url, tenant, tmp_path):
        _probe(distributed, store, tenant)
        publish_messages(distributed.broker, messages)
        wait_for(lambda: store.count_observations(tenant) >= readings + 1, 180, "distributed rows")
        distributed_rows = _observation_rows(store, tenant)
        distributed_hourly = _hourly(store, tenant)

    assert len(embedded_rows) == readings
    assert distributed_rows == embedded_rows
    assert distributed_hourly.keys() == embedded_hourly.keys()
    for key, (mean, low, high, count) in embedded_hourly.items():
        d_mean, d_low, d_high, d_count = distributed_hourly[key]
        assert (d_low, d_high, d_count) == (low, high, count), key
        assert d_mean == pytest.approx(mean, rel=1e-12, abs=1e-9), key


def _try_probe(backend: Backend, store: Store, tenant: str) -> bool:
    publish_messages(
        backend.broker,
        [
            (
                f"pakhuis/v1/{tenant}/probe/native",
                b'{"time": "2000-01-01T00:00:00Z", "quantity": "battery", "value": 3.3}',
            )
        ],
    )
    time.sleep(1)
    return bool(store.latest(tenant=tenant))


def test_50000_readings_exactly_once_while_a_worker_and_an_ingest_are_killed(
    distributed: Distributed, tmp_path: Path
) -> None:
    tenant = f"x{uuid.uuid4().hex[:6]}"
    database_url = distributed.database.new_database()
    base = datetime(2026, 10, 1, tzinfo=UTC)
    per_message = 5
    messages = [
        (
            f"pakhuis/v1/{tenant}/s{m % 40:02d}/native",
            json.dumps(
                [
                    {
                        "time": (base + timedelta(seconds=m * per_message + k)).isoformat(),
                        "quantity": "no2",
                        "value": float((m + k) % 97),
                    }
                    for k in range(per_message)
                ]
            ).encode(),
        )
        for m in range(10_000)
    ]
    total = len(messages) * per_message
    with Store(database_url) as store, cluster(distributed, database_url, tenant, tmp_path) as c:
        _probe(distributed, store, tenant)

        def count() -> int:
            return store.count_observations(tenant) - 1  # minus the probe

        publisher = threading.Thread(
            target=publish_messages, args=(distributed.broker, messages), kwargs={"per_second": 1000}
        )
        publisher.start()
        wait_for(lambda: count() >= 8_000, 120, "the first readings")
        c.kill("worker-1")
        c.start("worker-1")
        wait_for(lambda: count() >= 20_000, 120, "readings after the worker restart")
        c.kill("ingest-1")
        killed_at = count()
        time.sleep(1)
        c.start("ingest-1")
        publisher.join(120)
        assert not publisher.is_alive()
        assert killed_at < total, "the ingest kill came after everything was stored"
        wait_for(lambda: count() >= total, 240, f"all {total} readings")
        time.sleep(3)  # anything redelivered late must not add rows either
        rows = store.observations(tenant=tenant, quantity=None, limit=100_000)
    stored = [(r["sensor"], r["time"]) for r in rows if r["sensor"] != "probe"]
    assert len(stored) == total
    assert len(set(stored)) == total


def test_alerts_threshold_once_and_stale_recovery(distributed: Distributed, tmp_path: Path) -> None:
    tenant = f"a{uuid.uuid4().hex[:6]}"
    database_url = distributed.database.new_database()
    with Store(database_url) as store, cluster(distributed, database_url, tenant, tmp_path, ingests=1) as c:
        _probe(distributed, store, tenant)
        consumer = Consumer(
            {
                "bootstrap.servers": distributed.kafka,
                "group.id": f"test-{tenant}",
                "auto.offset.reset": "earliest",
            }
        )
        consumer.subscribe([f"{c.env['PAKHUIS_KAFKA_PREFIX']}.alerts"])

        now = datetime.now(UTC)
        fills = [60, 70, 78, 81, 85, 90, 88]  # crosses 80 % once and stays above
        publish_messages(
            distributed.broker,
            [
                (
                    f"pakhuis/v1/{tenant}/drain-1/native",
                    json.dumps(
                        {
                            "time": (now - timedelta(seconds=10 * (len(fills) - i))).isoformat(),
                            "quantity": "fill_level",
                            "value": v,
                        }
                    ).encode(),
                )
                for i, v in enumerate(fills)
            ],
        )
        wait_for(lambda: len(store.alerts(tenant=tenant)) >= 1, 60, "the fill alert")
        time.sleep(3)
        alerts = [a for a in store.alerts(tenant=tenant) if a["rule"] == "above"]
        assert len(alerts) == 1
        assert alerts[0]["sensor"] == "drain-1" and alerts[0]["value"] == 81 and alerts[0]["closed"] is None

        # A sensor reporting every second, then silent: stale after 3 × its interval, then back.
        start = datetime.now(UTC)
        publish_messages(
            distributed.broker,
            [
                (
                    f"pakhuis/v1/{tenant}/air-9/native",
                    json.dumps(
                        {"time": (start + timedelta(seconds=i)).isoformat(), "quantity": "no2", "value": 20}
                    ).encode(),
                )
                for i in range(5)
            ],
            per_second=1,
        )

        def stale_alert() -> dict[str, object] | None:
            return next(
                (a for a in store.alerts(tenant=tenant) if a["rule"] == "stale" and a["sensor"] == "air-9"),
                None,
            )

        wait_for(lambda: stale_alert() is not None, 60, "the stale alert")
        publish_messages(
            distributed.broker,
            [
                (
                    f"pakhuis/v1/{tenant}/air-9/native",
                    json.dumps(
                        {"time": datetime.now(UTC).isoformat(), "quantity": "no2", "value": 21}
                    ).encode(),
                )
            ],
        )
        wait_for(lambda: (a := stale_alert()) is not None and a["closed"] is not None, 60, "recovery")

        published: list[dict[str, Any]] = []
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and len(published) < 3:
            msg = consumer.poll(1.0)
            if msg is not None and msg.error() is None:
                value = msg.value()
                assert value is not None, "an alert record without a value"
                published.append(json.loads(value))
        consumer.close()
    opened_fill = [p for p in published if p["rule"] == "above" and p["state"] == "opened"]
    assert len(opened_fill) == 1
    assert {(p["rule"], p["state"]) for p in published} >= {("stale", "opened")}


def test_all_formats_through_the_distributed_pipeline(distributed: Distributed, tmp_path: Path) -> None:
    """SenML, TTN and SensorThings over Mosquitto, Sensor.Community over HTTP: through ingest,
    Kafka and the Faust workers into PostgreSQL, with the same values as the embedded mode."""
    import urllib.request

    from pakhuis.quantities import Quantity
    from tests.support import free_port

    tenant = f"f{uuid.uuid4().hex[:6]}"
    database_url = distributed.database.new_database()
    now = datetime.now(UTC).replace(microsecond=0) - timedelta(seconds=20)
    with Store(database_url) as store:
        store.register_datastream(f"{tenant}-ds", tenant, "sta-1", Quantity.NO2, "ppb")
        with cluster(
            distributed, database_url, tenant, tmp_path, topics=[f"pakhuis/v1/{tenant}/+/+", "v3/#", "v1.1/#"]
        ) as c:
            c.env["TEST_API_PORT"] = str(free_port())
            c.start("api-1")
            _probe(distributed, store, tenant)
            publish_messages(
                distributed.broker,
                [
                    (
                        f"pakhuis/v1/{tenant}/senml-1/senml",
                        json.dumps(
                            [
                                {
                                    "bn": "urn:dev:x:",
                                    "bt": now.timestamp(),
                                    "n": "no2",
                                    "u": "ppb",
                                    "v": 10,
                                    "t": -5,
                                }
                            ]
                        ).encode(),
                    ),
                    (
                        f"v3/app@{tenant}/devices/kolk-1/up",
                        json.dumps(
                            {
                                "end_device_ids": {
                                    "device_id": "kolk-1",
                                    "application_ids": {"application_id": "app"},
                                },
                                "received_at": now.isoformat(),
                                "uplink_message": {"f_cnt": 3, "decoded_payload": {"fill_pct": 61.5}},
                            }
                        ).encode(),
                    ),
                    (
                        f"v1.1/Datastreams('{tenant}-ds')/Observations",
                        json.dumps({"phenomenonTime": now.isoformat(), "result": 4}).encode(),
                    ),
                ],
            )
            port = int(c.env["TEST_API_PORT"])
            wait_for(lambda: _api_up(port), 30, "the API")
            request = urllib.request.Request(
                f"http://127.0.0.1:{port}/v1/push-sensor-data/",
                method="POST",
                data=json.dumps({"sensordatavalues": [{"value_type": "P1", "value": "9.75"}]}).encode(),
                headers={"Content-Type": "application/json", "X-Sensor": "esp8266-42", "X-Pin": "1"},
            )
            with urllib.request.urlopen(request, timeout=15) as response:
                assert response.status == 201
            wait_for(lambda: len(store.observations(tenant=tenant, limit=100)) >= 5, 90, "all four formats")
            rows = {r["sensor"]: r for r in store.observations(tenant=tenant, limit=100)}
    assert rows["senml-1"]["value"] == pytest.approx(19.125) and rows["senml-1"]["time"] == now - timedelta(
        seconds=5
    )
    assert rows["kolk-1"]["value"] == 61.5 and rows["kolk-1"]["metadata"]["f_cnt"] == 3
    assert rows["sta-1"]["value"] == pytest.approx(7.65) and rows["sta-1"]["time"] == now
    assert rows["esp8266-42"]["value"] == 9.75 and rows["esp8266-42"]["source_format"] == "sensorcommunity"


def _api_up(port: int) -> bool:
    import urllib.request

    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as response:
            return bool(response.status == 200)
    except OSError:
        return False
