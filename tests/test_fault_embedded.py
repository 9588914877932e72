"""Fault injection, embedded mode: SIGKILL `pakhuis run` in the middle of a QoS 1 run, restart.

A device with a persistent session (clean session off, a username, paho's default in-flight
window of 20) publishes 20,000 QoS 1 messages, one reading each. `pakhuis run` is killed with
SIGKILL after a few thousand PUBACKs and started again on the same data dir; the device
reconnects and resends what was not acknowledged (paho does so itself on reconnect), and the
broker replays what it had acknowledged (journaled) but the ingest had not committed. Then:
every message acknowledged before the kill is stored, no reading is stored twice, and once
everything is acknowledged, stored == published. The killed run's PostgreSQL must not survive.

    pytest tests/test_fault_embedded.py -s     # prints the figures
"""

from __future__ import annotations

import json
import os
import signal
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import paho.mqtt.client as mqtt
import psycopg
import pytest
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion

from pakhuis.store import pg_guard
from tests.embedded_run import EmbeddedRun
from tests.support import free_port, wait_for

pytestmark = pytest.mark.integration

MESSAGES = 20_000
KILL_AFTER_ACKS = 3_000


class _Device:
    """A real device: persistent session, default in-flight window, counts PUBACKs."""

    def __init__(self, port: int, tenant: str) -> None:
        self.acked: set[int] = set()
        self.mids: dict[int, int] = {}  # paho message id → message number
        self.connected = threading.Event()
        self._lock = threading.Lock()
        self.client = mqtt.Client(
            callback_api_version=CallbackAPIVersion.VERSION2,
            client_id=f"fault-device-{tenant}",
            protocol=MQTTProtocolVersion.MQTTv311,
            clean_session=False,
        )
        self.client.username_pw_set("device")
        self.client.reconnect_delay_set(min_delay=1, max_delay=2)
        self.client.on_publish = self._on_publish
        self.client.on_connect = lambda *args: self.connected.set()
        self.client.on_disconnect = lambda *args: self.connected.clear()
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()

    def _on_publish(self, client: mqtt.Client, userdata: object, mid: int, rc: object, props: object) -> None:
        with self._lock:
            self.acked.add(mid)

    def acknowledged(self) -> set[int]:
        with self._lock:
            return {self.mids[mid] for mid in self.acked}

    def publish_all(self, topic: str, base: datetime) -> None:
        for n in range(MESSAGES):
            payload = {"time": (base + timedelta(seconds=n)).isoformat(), "quantity": "no2", "value": n % 97}
            info = self.client.publish(topic, json.dumps(payload), qos=1)
            self.mids[info.mid] = n


def _stored(run: EmbeddedRun, tenant: str, base: datetime) -> dict[int, int]:
    """Rows per reading identity (message number → count), read from the running embedded PG."""
    with psycopg.connect(run.database_url()) as conn:
        rows = conn.execute(
            "SELECT o.time, count(*) FROM observations o JOIN sensors s ON s.id = o.sensor_id "
            "WHERE s.tenant = %s GROUP BY o.time",
            (tenant,),
        ).fetchall()
    return {round((time_ - base).total_seconds()): count for time_, count in rows}


def test_sigkill_during_a_qos1_run_loses_and_duplicates_nothing(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    api_port, mqtt_port = free_port(), free_port()
    tenant = f"f{uuid.uuid4().hex[:8]}"
    base = (datetime.now(UTC) - timedelta(days=1)).replace(microsecond=0)
    started = time.monotonic()

    first = EmbeddedRun(data_dir, api_port, mqtt_port, tmp_path / "run.log")
    first.wait_ready()
    killed_postmaster = first.postmaster()
    assert killed_postmaster is not None
    device = _Device(mqtt_port, tenant)
    assert device.connected.wait(10)
    device.publish_all(f"pakhuis/v1/{tenant}/dev-1/native", base)

    wait_for(lambda: len(device.acked) >= KILL_AFTER_ACKS, 60, f"{KILL_AFTER_ACKS} PUBACKs", interval=0.005)
    first.proc.kill()
    first.proc.wait(10)
    wait_for(lambda: not device.connected.is_set(), 10, "the device to see the broker gone")
    acked_before_kill = device.acknowledged()
    assert len(acked_before_kill) < MESSAGES, "the run finished before the kill: nothing was tested"
    # The guard stops the killed run's PostgreSQL although the run never got to clean up.
    wait_for(lambda: not pg_guard.alive(killed_postmaster), 30, "the killed run's PostgreSQL to stop")

    second = EmbeddedRun(data_dir, api_port, mqtt_port, tmp_path / "run.log")
    second.wait_ready()
    second_postmaster = second.postmaster()
    wait_for(lambda: len(device.acked) == MESSAGES, 120, f"all {MESSAGES} PUBACKs after the restart")
    # A PUBACK means journaled (or committed): the last batches may still be on their way.
    deadline = time.monotonic() + 60
    while len(stored := _stored(second, tenant, base)) < MESSAGES and time.monotonic() < deadline:
        time.sleep(0.2)
    device.client.disconnect()
    device.client.loop_stop()
    second.stop()

    lost_acked = sorted(acked_before_kill - stored.keys())
    duplicates = sum(count - 1 for count in stored.values())
    print(
        f"\n[fault] embedded SIGKILL: published {MESSAGES:,}, acknowledged before the kill "
        f"{len(acked_before_kill):,}, acknowledged in all {len(device.acknowledged()):,}, "
        f"stored {len(stored):,}, duplicates {duplicates}, lost {len(lost_acked)} "
        f"({time.monotonic() - started:.0f} s)"
    )
    assert lost_acked == [], f"{len(lost_acked)} acknowledged messages lost, e.g. {lost_acked[:5]}"
    assert duplicates == 0
    assert set(stored) == set(range(MESSAGES))
    for pid in (killed_postmaster, second_postmaster):
        assert pid is None or not pg_guard.alive(pid), f"PostgreSQL {pid} left running"


def _children(pid: int) -> list[int]:
    tasks = Path(f"/proc/{pid}/task")
    return [int(c) for task in tasks.iterdir() for c in (task / "children").read_text().split()]


def test_a_dead_broker_process_stops_pakhuis_run_with_an_error(tmp_path: Path) -> None:
    run = EmbeddedRun(tmp_path / "data", free_port(), free_port(), tmp_path / "run.log")
    run.wait_ready()
    [broker] = [
        pid
        for pid in _children(run.proc.pid)
        if b"ingest.broker_process" in Path(f"/proc/{pid}/cmdline").read_bytes()
    ]
    os.kill(broker, signal.SIGKILL)
    assert run.proc.wait(60) == 1
    assert "broker process stopped unexpectedly" in run.log.read_text()
    postmaster = run.postmaster()
    assert postmaster is None or not pg_guard.alive(postmaster)
