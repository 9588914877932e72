"""The database goes away under a running ingest process: writes are retried, nothing is lost."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from pakhuis.store import Store
from tests.conftest import Backend
from tests.support import (
    REPO,
    PluggableProxy,
    pakhuis_command,
    publish_lines,
    running,
    service_env,
    wait_for,
    wait_for_subscriber,
)

pytestmark = pytest.mark.integration

BASE = datetime(2026, 9, 1, tzinfo=UTC)


def _target(database_url: str) -> tuple[str, int]:
    parts = urlsplit(database_url)
    socket_dir = parse_qs(parts.query).get("host")
    if socket_dir:  # embedded PostgreSQL: a Unix socket directory
        return socket_dir[0], parts.port or 5432
    return parts.hostname or "127.0.0.1", parts.port or 5432


def _lines(start: int, count: int) -> list[str]:
    return [
        json.dumps(
            {"time": (BASE + timedelta(minutes=i)).isoformat(), "quantity": "no2", "value": 5.0 + i % 9}
        )
        for i in range(start, start + count)
    ]


def test_writes_wait_out_a_database_outage(
    backend: Backend, database_url: str, store: Store, tmp_path: Path
) -> None:
    tenant = f"o{uuid.uuid4().hex[:8]}"
    proxy = PluggableProxy(*_target(database_url)).start()
    log = tmp_path / "ingest.log"
    env = service_env(
        backend.broker,
        proxy.url_for(database_url),
        PAKHUIS_MQTT_CLIENT_ID=f"test-outage-{tenant}",
        PAKHUIS_MQTT_TOPICS=json.dumps([f"pakhuis/v1/{tenant}/+/+"]),
    )
    topic = f"pakhuis/v1/{tenant}/no2-outage/native"

    def count() -> int:
        return store.count_observations(tenant)

    try:
        with running(pakhuis_command("ingest"), env, REPO, log) as ingest:
            wait_for_subscriber(backend.broker, f"pakhuis/v1/{tenant}/probe/native", lambda: count() > 0)
            publish_lines(backend.broker, topic, _lines(0, 200))
            wait_for(lambda: count() == 201, 30, "the readings before the outage")

            proxy.unplug()
            publish_lines(backend.broker, topic, _lines(200, 300))
            wait_for(lambda: "retrying in" in log.read_text(), 30, "the ingest process to notice the outage")
            assert count() == 201, "nothing can be written while the database is unreachable"
            assert ingest.poll() is None, "the ingest process must wait out the outage, not exit"

            proxy.replug()
            wait_for(lambda: count() == 501, 90, "every reading held during the outage")
        rows = store.observations(tenant=tenant, sensor="no2-outage", limit=10_000)
        assert {r["time"] for r in rows} == {BASE + timedelta(minutes=i) for i in range(500)}
    finally:
        proxy.close()
