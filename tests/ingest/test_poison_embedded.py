"""Embedded mode, a poison message in the middle of a run: `pakhuis run` stays up, stores every
valid message and keeps each poison one as a dead letter with its raw bytes.

The first poison is the one that used to stop the service (issue 11): a native payload whose
quantity holds a NUL byte and whose value is not a number. The others are its relatives: a
lone surrogate, raw invalid UTF-8, NUL in a SenML name, a deep nesting, an oversized payload.
The device has a persistent session and waits for every PUBACK, which the embedded broker
sends once the message is fsynced in its journal (the commit follows; a crash replays it).
"""

from __future__ import annotations

import contextlib
import json
import signal
import threading
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import psycopg
import pytest
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion

from tests.ingest.embedded_run import embedded_url, start_run
from tests.support import wait_for

pytestmark = pytest.mark.integration

VALID = 2000
BASE = datetime(2026, 11, 1, tzinfo=UTC)
POISON: list[tuple[str, bytes]] = [
    ("native", b'{"time":"2026-11-20T09:30:00Z","quantity":"no2\\u0000","value":"x"}'),
    ("native", b'{"time":"2026-11-20T09:30:00Z","quantity":"no2\\ud800","value":"\\udfff"}'),
    ("native", b'{"time":"2026-11-20T09:30:00Z","quantity":"no2","value":"\xff\xfe\x00"}'),
    ("senml", b'[{"bn":"x\\u0000:","n":"NO2\\u0000","v":"\\u0000","t":0}]'),
    ("native", b"[" * 100_000 + b"]" * 100_000),
    ("native", b'{"pad":"' + b"\x00" * 300_000 + b'"}'),
]


def test_poison_messages_in_the_middle_of_a_run(tmp_path: Path) -> None:
    tenant = f"pz{uuid.uuid4().hex[:8]}"
    log = tmp_path / "run.log"
    proc, mqtt_port = start_run(tmp_path / "data", log)
    acked: set[int] = set()
    lock = threading.Lock()

    def on_publish(client: mqtt.Client, userdata: object, mid: int, rc: object, props: object) -> None:
        with lock:
            acked.add(mid)

    client = mqtt.Client(
        callback_api_version=CallbackAPIVersion.VERSION2,
        client_id=f"poison-device-{tenant}",
        protocol=MQTTProtocolVersion.MQTTv311,
        clean_session=False,
    )
    client.username_pw_set("device")
    client.on_publish = on_publish
    try:
        wait_for(lambda: proc.poll() is None and "pakhuis is running" in log.read_text(), 90, "pakhuis run")
        client.connect("127.0.0.1", mqtt_port)
        client.loop_start()
        mids = []
        middle = VALID // 2
        for n in range(VALID):
            if n == middle:
                for fmt, payload in POISON:
                    mids.append(client.publish(f"pakhuis/v1/{tenant}/poison/{fmt}", payload, qos=1).mid)
            doc = {"time": (BASE + timedelta(seconds=n)).isoformat(), "quantity": "no2", "value": n % 97}
            mids.append(client.publish(f"pakhuis/v1/{tenant}/s1/native", json.dumps(doc), qos=1).mid)

        def all_acked() -> bool:
            assert proc.poll() is None, "pakhuis run stopped:\n" + log.read_text()[-3000:]
            with lock:
                return acked >= set(mids)

        wait_for(all_acked, 120, "every PUBACK")
        url = embedded_url(tmp_path / "data" / "pg")

        def read() -> tuple[Any, list[Any]]:
            with psycopg.connect(url) as conn:
                counts = conn.execute(
                    "SELECT count(*), count(DISTINCT o.time) FROM observations o "
                    "JOIN sensors s ON s.id = o.sensor_id WHERE s.tenant = %s",
                    (tenant,),
                ).fetchone()
                rows = conn.execute(
                    "SELECT topic, payload, payload_size, payload_truncated, reason_code, reason "
                    "FROM deadletters WHERE tenant = %s ORDER BY id",
                    (tenant,),
                ).fetchall()
            return counts, rows

        # The PUBACK follows the broker journal's fsync, not the commit, which comes just after:
        # wait (bounded) for the commit; the assertions below then say what is missing.
        def committed() -> bool:
            counts, rows = read()
            return counts is not None and counts[0] >= VALID and len(rows) >= len(POISON)

        with contextlib.suppress(AssertionError):
            wait_for(committed, 60, "the acknowledged messages committed")
        stored, letters = read()
        assert proc.poll() is None, "pakhuis run stopped"
    finally:
        client.disconnect()
        client.loop_stop()
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            proc.wait(60)
    print(
        f"\npoison run: {len(mids)} published, {len(acked)} acknowledged, "
        f"{stored} stored, {len(letters)} dead letters"
    )
    assert stored == (VALID, VALID), "every valid reading stored once"
    assert len(letters) == len(POISON)
    # Matched by their bytes: the order of commits is not the point here.
    by_bytes = {
        bytes(kept): (topic, size, cut, code, reason) for topic, kept, size, cut, code, reason in letters
    }
    for fmt, payload in POISON:
        kept = payload if len(payload) <= 64 * 1024 else payload[: 64 * 1024]
        assert kept in by_bytes, f"poison {payload[:60]!r} not dead-lettered with its raw bytes"
        topic, size, cut, code, reason = by_bytes[kept]
        assert topic == f"pakhuis/v1/{tenant}/poison/{fmt}"
        assert code and reason and "\x00" not in reason
        # a payload over the dead-letter cap keeps its first bytes and records its size
        assert (size, cut) == ((None, False) if kept == payload else (len(payload), True))
    first = by_bytes[POISON[0][1]]
    assert first[3] == "bad_value" and "no2\\x00" in first[4]
