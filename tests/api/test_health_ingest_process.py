"""`pakhuis ingest` answers /health on PAKHUIS_HEALTH_PORT (it serves no API), and tells the
truth when its broker goes away: 503 naming the broker, /health/live still 200."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest

from tests.support import (
    Broker,
    EmbeddedBrokerThread,
    free_port,
    pakhuis_command,
    publish_lines,
    running,
    service_env,
    wait_for,
)

pytestmark = pytest.mark.integration


def _get(url: str) -> httpx.Response | None:
    try:
        return httpx.get(url, timeout=5)
    except httpx.HTTPError:
        return None


def test_ingest_health_names_a_lost_broker(tmp_path: Path, database_url: str) -> None:
    broker_thread = EmbeddedBrokerThread(free_port())
    broker_thread.start()
    broker = Broker("embedded", "127.0.0.1", broker_thread.port, "3.1.1")
    health_port = free_port()
    env = service_env(
        broker,
        database_url,
        PAKHUIS_HEALTH_PORT=str(health_port),
        PAKHUIS_MQTT_CLIENT_ID=f"health-ingest-{health_port}",
    )
    base = f"http://127.0.0.1:{health_port}"
    stopped = False
    try:
        with running(pakhuis_command("ingest"), env, tmp_path, tmp_path / "ingest.log"):
            wait_for(
                lambda: (r := _get(f"{base}/health")) is not None and r.status_code == 200, 60, "/health"
            )
            publish_lines(
                broker,
                "pakhuis/v1/hp/s1/native",
                ['{"time": "2024-05-01T10:00:00Z", "quantity": "no2", "value": 3}'],
            )
            wait_for(
                lambda: (
                    (r := _get(f"{base}/health")) is not None
                    and r.json()["components"]["runner"]["stored"] == 1
                ),
                30,
                "the reading to be stored",
            )
            body = httpx.get(f"{base}/health", timeout=5).json()
            assert set(body["components"]) == {"database", "broker", "ingest", "runner"}
            assert body["components"]["ingest"]["received"] == 1
            assert body["components"]["runner"]["last_commit_age_s"] is not None

            broker_thread.stop()
            stopped = True
            started = time.monotonic()
            wait_for(lambda: (r := _get(f"{base}/health")) is not None and r.status_code == 503, 30, "a 503")
            response = httpx.get(f"{base}/health", timeout=5)
            error = response.json()["error"]
            print(
                f"\nbroker gone: /health {response.status_code} after {time.monotonic() - started:.1f} s: "
                f"{error['message'][:120]}"
            )
            assert error["code"] == "component_down" and error["message"].startswith("broker is down")
            assert httpx.get(f"{base}/health/ready", timeout=5).status_code == 503
            assert httpx.get(f"{base}/health/live", timeout=5).status_code == 200
    finally:
        if not stopped:
            broker_thread.stop()
