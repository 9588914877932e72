"""A reading from a real MQTT client, through a real `pakhuis ingest` process, into PostgreSQL.

Runs against every backend (see conftest): the embedded broker + embedded PostgreSQL always,
Mosquitto + PostgreSQL when CI provides them.
"""

from __future__ import annotations

import json
import signal
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from pakhuis.store import Store
from tests.conftest import Backend
from tests.support import (
    REPO,
    pakhuis_command,
    publish_lines,
    publish_one,
    running,
    service_env,
    wait_for,
    wait_for_subscriber,
)

pytestmark = pytest.mark.integration

BASE = datetime(2026, 11, 1, tzinfo=UTC)


def _lines(count: int, quantity: str = "no2") -> list[str]:
    return [
        json.dumps(
            {
                "time": (BASE + timedelta(seconds=i)).isoformat().replace("+00:00", "Z"),
                "quantity": quantity,
                "value": round(10 + (i % 500) * 0.1, 3),
                "unit": "ug/m3",
            }
        )
        for i in range(count)
    ]


def _ingest_env(backend: Backend, database_url: str, tenant: str) -> dict[str, str]:
    return service_env(
        backend.broker,
        database_url,
        PAKHUIS_MQTT_CLIENT_ID=f"test-ingest-{tenant}",
        PAKHUIS_MQTT_TOPICS=json.dumps([f"pakhuis/v1/{tenant}/+/+"]),
        PAKHUIS_MQTT_SESSION_EXPIRY_S="600",
    )


def _count(store: Store, tenant: str, quantity: str = "no2") -> int:
    from pakhuis.quantities import Quantity

    return len(store.observations(tenant=tenant, quantity=Quantity(quantity), limit=100_000))


def test_mosquitto_pub_1000_readings_stored_once(
    backend: Backend, database_url: str, store: Store, tmp_path: Path
) -> None:
    tenant = f"t{uuid.uuid4().hex[:8]}"
    topic = f"pakhuis/v1/{tenant}/no2-1/native"
    lines = _lines(1000)
    with running(
        pakhuis_command("ingest"), _ingest_env(backend, database_url, tenant), REPO, tmp_path / "ingest.log"
    ):
        wait_for_subscriber(
            backend.broker, f"pakhuis/v1/{tenant}/probe/native", lambda: len(store.latest(tenant=tenant)) > 0
        )
        publish_lines(backend.broker, topic, lines)
        wait_for(lambda: _count(store, tenant) >= 1000, 60, "1000 readings stored")

        rows = store.observations(tenant=tenant, sensor="no2-1", limit=100_000)
        assert len(rows) == 1000
        assert len({row["time"] for row in rows}) == 1000
        expected = {BASE + timedelta(seconds=i): round(10 + (i % 500) * 0.1, 3) for i in range(1000)}
        assert {row["time"]: row["value"] for row in rows} == expected

        # The same 1000 messages again: every one is a duplicate, nothing new is stored.
        publish_lines(backend.broker, topic, lines)
        probe_topic = f"pakhuis/v1/{tenant}/after/native"
        publish_one(
            backend.broker, probe_topic, b'{"time": "2026-11-01T00:00:00Z", "quantity": "no2", "value": 1}'
        )
        # The probe was published after the duplicates, and one sensor's messages arrive in order.
        wait_for(
            lambda: any(r["sensor"] == "after" for r in store.latest(tenant=tenant)),
            60,
            "the probe published after the duplicates",
        )
        assert len(store.observations(tenant=tenant, sensor="no2-1", limit=100_000)) == 1000


def test_ingest_killed_mid_run_loses_nothing(
    backend: Backend, database_url: str, store: Store, tmp_path: Path
) -> None:
    tenant = f"k{uuid.uuid4().hex[:8]}"
    topic = f"pakhuis/v1/{tenant}/no2-kill/native"
    total = 10_000
    env = _ingest_env(backend, database_url, tenant)
    log = tmp_path / "ingest.log"
    with running(pakhuis_command("ingest"), env, REPO, log) as first:
        wait_for_subscriber(
            backend.broker, f"pakhuis/v1/{tenant}/probe/native", lambda: len(store.latest(tenant=tenant)) > 0
        )
        publisher = publish_lines(backend.broker, topic, _lines(total), background=True)
        assert publisher is not None
        wait_for(lambda: _count(store, tenant) >= 500, 60, "the first readings of the run")
        first.send_signal(signal.SIGKILL)
        first.wait(10)
        at_kill = _count(store, tenant)
    assert at_kill < total, "the kill came too late to test anything"
    assert publisher.wait(120) == 0
    with running(pakhuis_command("ingest"), env, REPO, log):
        wait_for(lambda: _count(store, tenant) >= total, 120, f"all {total} readings after restart")
        rows = store.observations(tenant=tenant, sensor="no2-kill", limit=100_000)
    assert len(rows) == total
    assert {row["time"] for row in rows} == {BASE + timedelta(seconds=i) for i in range(total)}


def test_malformed_payloads_are_dead_lettered_and_valid_items_kept(
    backend: Backend, database_url: str, store: Store, tmp_path: Path
) -> None:
    tenant = f"m{uuid.uuid4().hex[:8]}"
    now = datetime.now(UTC)
    ok_time = (now - timedelta(minutes=1)).isoformat()
    future = (now + timedelta(minutes=30)).isoformat()
    cases: dict[str, bytes] = {
        "bad_json": b'{"time": "2026-11-01T00:00:00Z", "quantity": "no2", "value": 1',
        "unknown_quantity": json.dumps({"time": ok_time, "quantity": "co3", "value": 1}).encode(),
        "non_finite": f'{{"time": "{ok_time}", "quantity": "no2", "value": NaN}}'.encode(),
        "out_of_range": json.dumps({"time": ok_time, "quantity": "fill_level", "value": 140}).encode(),
        "future_time": json.dumps({"time": future, "quantity": "no2", "value": 20}).encode(),
    }
    mixed = json.dumps(
        [
            {"time": ok_time, "quantity": "no2", "value": 31.5},
            {"time": ok_time, "quantity": "no2", "value": 1e9},
            {"time": ok_time, "quantity": "humidity", "value": 55, "unit": "%"},
            {"time": ok_time, "quantity": "no2", "value": 12, "unit": "furlongs"},
        ]
    ).encode()
    with running(
        pakhuis_command("ingest"), _ingest_env(backend, database_url, tenant), REPO, tmp_path / "ingest.log"
    ):
        wait_for_subscriber(
            backend.broker, f"pakhuis/v1/{tenant}/probe/native", lambda: len(store.latest(tenant=tenant)) > 0
        )
        for code, payload in cases.items():
            publish_one(backend.broker, f"pakhuis/v1/{tenant}/{code}/native", payload)
        publish_one(backend.broker, f"pakhuis/v1/{tenant}/mixed/native", mixed)
        wait_for(lambda: len(store.dead_letters(tenant=tenant)) >= len(cases) + 1, 60, "dead letters")

        letters = {row["topic"].split("/")[3]: row for row in store.dead_letters(tenant=tenant)}
        for code, payload in cases.items():
            letter = letters[code]
            assert letter["reason_code"] == code, letter
            assert letter["payload"] == payload  # raw bytes, exactly as sent
            assert letter["reason"]
        assert "plausible range" in letters["out_of_range"]["reason"]
        mixed_letter = letters["mixed"]
        assert [d["code"] for d in mixed_letter["details"]] == ["out_of_range", "unknown_unit"]
        assert [d["item"] for d in mixed_letter["details"]] == [1, 3]
        assert mixed_letter["payload"] == mixed

        stored = store.observations(tenant=tenant, sensor="mixed")
        assert sorted((r["quantity"], r["value"]) for r in stored) == [("humidity", 55.0), ("no2", 31.5)]
        # Nothing of the wholly refused messages reached the observations.
        assert {r["sensor"] for r in store.observations(tenant=tenant, limit=1000)} == {"probe", "mixed"}


def test_topics_with_a_level_missing_or_too_many_are_dead_lettered(
    backend: Backend, database_url: str, store: Store, tmp_path: Path
) -> None:
    """`pakhuis/v1/{tenant}/native` (the sensor left out) is a dead letter `bad_topic`, with
    its payload, not a message the ingest never sees."""
    tenant = f"t{uuid.uuid4().hex[:8]}"
    env = {
        **_ingest_env(backend, database_url, tenant),
        "PAKHUIS_MQTT_TOPICS": json.dumps([f"pakhuis/v1/{tenant}/#"]),
    }
    payload = _lines(1)[0].encode()
    with running(pakhuis_command("ingest"), env, REPO, tmp_path / "ingest.log"):
        wait_for_subscriber(
            backend.broker, f"pakhuis/v1/{tenant}/probe/native", lambda: len(store.latest(tenant=tenant)) > 0
        )
        for topic in (f"pakhuis/v1/{tenant}/native", f"pakhuis/v1/{tenant}/a/b/native"):
            publish_one(backend.broker, topic, payload)
        wait_for(lambda: len(store.dead_letters(tenant=tenant)) >= 2, 60, "two dead letters")
    letters = {row["topic"]: row for row in store.dead_letters(tenant=tenant)}
    assert set(letters) == {f"pakhuis/v1/{tenant}/native", f"pakhuis/v1/{tenant}/a/b/native"}
    for letter in letters.values():
        assert letter["reason_code"] == "bad_topic", letter
        assert "{tenant}/{sensor}/{format}" in letter["reason"]
        assert letter["payload"] == payload
