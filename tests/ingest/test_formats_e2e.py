"""Every wire format from a real client to the database: mosquitto_pub for MQTT formats, an HTTP
client for the webhooks, through a real `pakhuis ingest` (and `pakhuis api` for HTTP)."""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from pakhuis.quantities import Quantity
from pakhuis.store import Store
from tests.conftest import Backend
from tests.support import (
    REPO,
    free_port,
    pakhuis_command,
    publish_lines,
    running,
    service_env,
    wait_for,
    wait_for_subscriber,
)

pytestmark = pytest.mark.integration


@contextmanager
def services(
    backend: Backend, database_url: str, tenant: str, tmp_path: Path, *, api: bool = False, **extra: str
) -> Iterator[int | None]:
    env = service_env(
        backend.broker,
        database_url,
        PAKHUIS_MQTT_CLIENT_ID=f"fmt-{tenant}",
        PAKHUIS_MQTT_TOPICS=json.dumps([f"pakhuis/v1/{tenant}/+/+", "v3/#", "v1.1/#"]),
        PAKHUIS_HTTP_INGEST_TENANT=tenant,
        # v3/# and v1.1/# are the same filters in every test: a group of its own keeps earlier
        # tests' (offline, persistent) ingest sessions from getting a share of this test's messages.
        PAKHUIS_MQTT_SHARED_GROUP=f"g-{tenant}",
        **extra,
    )
    with ExitStack() as stack:
        stack.enter_context(running(pakhuis_command("ingest"), env, REPO, tmp_path / "ingest.log"))
        port = None
        if api:
            port = free_port()
            stack.enter_context(
                running(pakhuis_command("api", "--port", str(port)), env, REPO, tmp_path / "api.log")
            )
            wait_for(lambda: _up(port), 30, "the API")
        yield port


def _up(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as r:
            return int(r.status) == 200
    except OSError:
        return False


def _post(port: int, path: str, body: bytes, headers: dict[str, str]) -> int:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}{path}",
        data=body,
        method="POST",
        headers={"Content-Type": "application/json", **headers},
    )
    with urllib.request.urlopen(request, timeout=15) as response:
        return int(response.status)


def _values(store: Store, tenant: str, sensor: str) -> dict[str, tuple[float, datetime, datetime | None]]:
    return {
        r["quantity"]: (r["value"], r["time"], r["time_end"])
        for r in store.observations(tenant=tenant, sensor=sensor, limit=1000)
    }


def _ready(backend: Backend, store: Store, tenant: str) -> None:
    wait_for_subscriber(
        backend.broker, f"pakhuis/v1/{tenant}/probe/native", lambda: len(store.latest(tenant=tenant)) > 0
    )


def test_senml_pack_with_relative_times_and_ppb(
    backend: Backend, database_url: str, store: Store, tmp_path: Path
) -> None:
    tenant = f"s{uuid.uuid4().hex[:8]}"
    bt = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=2)
    pack = [
        {
            "bn": "urn:dev:pakhuis:senml-1:",
            "bt": bt.timestamp(),
            "bu": "Cel",
            "bver": 10,
            "n": "temperature",
            "v": 12.5,
            "t": -60,
        },
        {"n": "NO2", "u": "ppb", "v": 10, "t": -30},
        {"n": "humidity", "u": "%RH", "v": 55},
        {"n": "fill_level", "u": "/", "v": 0.42},
    ]
    with services(backend, database_url, tenant, tmp_path):
        _ready(backend, store, tenant)
        publish_lines(backend.broker, f"pakhuis/v1/{tenant}/senml-1/senml", [json.dumps(pack)])
        wait_for(lambda: len(_values(store, tenant, "senml-1")) == 4, 30, "the SenML readings")
    values = _values(store, tenant, "senml-1")
    assert values["temperature"][:2] == (12.5, bt - timedelta(seconds=60))
    assert values["no2"][0] == pytest.approx(19.125) and values["no2"][1] == bt - timedelta(seconds=30)
    assert values["humidity"][:2] == (55.0, bt)
    assert values["fill_level"][0] == pytest.approx(42.0)


def _uplink(device: str, f_cnt: int, received: datetime) -> dict[str, object]:
    return {
        "end_device_ids": {
            "device_id": device,
            "application_ids": {"application_id": "kolken"},
            "dev_eui": "70B3D57ED0000001",
        },
        "received_at": received.isoformat().replace("+00:00", "Z"),
        "uplink_message": {
            "f_port": 1,
            "f_cnt": f_cnt,
            "frm_payload": "AQI=",
            "decoded_payload": {"fill_pct": 42.5, "battery_mv": 3600, "no2_ppb": 20, "status": "ok"},
            "rx_metadata": [{"gateway_ids": {"gateway_id": "gw-castricum-1"}, "rssi": -97, "snr": 7.5}],
        },
    }


def test_ttn_uplink_over_mqtt_and_webhook_with_duplicate_frame_counter(
    backend: Backend, database_url: str, store: Store, tmp_path: Path
) -> None:
    tenant = f"t{uuid.uuid4().hex[:8]}"
    received = datetime.now(UTC).replace(microsecond=0) - timedelta(seconds=30)
    with services(backend, database_url, tenant, tmp_path, api=True) as port:
        assert port is not None
        _ready(backend, store, tenant)
        topic = f"v3/kolken@{tenant}/devices/kolk-1/up"
        first = _uplink("kolk-1", 7, received)
        repeat = _uplink("kolk-1", 7, received + timedelta(seconds=2))  # the same frame, heard again
        publish_lines(backend.broker, topic, [json.dumps(first), json.dumps(repeat)])
        wait_for(lambda: len(_values(store, tenant, "kolk-1")) == 3, 30, "the TTN readings")
        # Webhook: the same JSON over HTTP for another device.
        assert (
            _post(
                port,
                f"/api/v1/ingest/ttn?tenant={tenant}",
                json.dumps(_uplink("kolk-2", 1, received)).encode(),
                {},
            )
            == 202
        )
        wait_for(lambda: len(_values(store, tenant, "kolk-2")) == 3, 30, "the webhook readings")
    values = _values(store, tenant, "kolk-1")
    assert values["fill_level"][:2] == (42.5, received)
    assert values["battery"][0] == pytest.approx(3.6)
    assert values["no2"][0] == pytest.approx(38.25)
    assert len(store.observations(tenant=tenant, sensor="kolk-1", limit=100)) == 3  # the repeat added nothing
    row = store.observations(tenant=tenant, sensor="kolk-1", quantity=Quantity.FILL_LEVEL)[0]
    assert row["metadata"]["f_cnt"] == 7
    assert row["metadata"]["gateways"][0]["gateway_id"] == "gw-castricum-1"
    assert _values(store, tenant, "kolk-2")["fill_level"][0] == 42.5


def test_sensorthings_observation_with_interval_phenomenon_time(
    backend: Backend, database_url: str, store: Store, tmp_path: Path
) -> None:
    tenant = f"o{uuid.uuid4().hex[:8]}"
    stream_tube, stream_live = f"{tenant}-tube", f"{tenant}-live"
    store.register_datastream(stream_tube, tenant, "palmes-3", Quantity.NO2)
    store.register_datastream(stream_live, tenant, "no2-kit", Quantity.NO2, "ppb")
    start = datetime(2026, 9, 28, 8, 0, tzinfo=UTC)
    now = datetime.now(UTC).replace(microsecond=0) - timedelta(seconds=5)
    with services(backend, database_url, tenant, tmp_path):
        _ready(backend, store, tenant)
        publish_lines(
            backend.broker,
            f"v1.1/Datastreams('{stream_tube}')/Observations",
            [
                json.dumps(
                    {
                        "phenomenonTime": f"{start.isoformat()}/{(start + timedelta(days=28)).isoformat()}",
                        "resultTime": "2026-11-02T10:00:00Z",
                        "result": 31.5,
                    }
                )
            ],
        )
        publish_lines(
            backend.broker,
            "v1.1/Observations",
            [
                json.dumps(
                    {"Datastream": {"@iot.id": stream_live}, "phenomenonTime": now.isoformat(), "result": 8}
                )
            ],
        )
        wait_for(lambda: all(_values(store, tenant, s) for s in ("palmes-3", "no2-kit")), 30, "STA")
    tube = _values(store, tenant, "palmes-3")["no2"]
    assert tube == (31.5, start, start + timedelta(days=28))
    live = _values(store, tenant, "no2-kit")["no2"]
    assert live[0] == pytest.approx(15.3) and live[1] == now


def test_sensor_community_push_with_string_values(
    backend: Backend, database_url: str, store: Store, tmp_path: Path
) -> None:
    tenant = f"c{uuid.uuid4().hex[:8]}"
    body = {
        "software_version": "NRZ-2020-133",
        "sensordatavalues": [
            {"value_type": "P1", "value": "12.30"},
            {"value_type": "P2", "value": "7.5"},
            {"value_type": "samples", "value": "612345"},
            {"value_type": "signal", "value": "-71"},
        ],
    }
    with services(backend, database_url, tenant, tmp_path, api=True) as port:
        assert port is not None
        _ready(backend, store, tenant)
        before = datetime.now(UTC)
        status = _post(
            port,
            "/v1/push-sensor-data/",
            json.dumps(body).encode(),
            {"X-Sensor": "esp8266-1234567", "X-Pin": "1"},
        )
        after = datetime.now(UTC)
        assert status == 201
        wait_for(lambda: len(_values(store, tenant, "esp8266-1234567")) == 2, 30, "the push")
    values = _values(store, tenant, "esp8266-1234567")
    assert values["pm10"][0] == 12.3 and values["pm25"][0] == 7.5
    assert before <= values["pm10"][1] <= after
    assert store.dead_letters(tenant=tenant) == []  # diagnostics (samples, signal) are not refusals


def test_replay_after_registering_the_sensor(
    backend: Backend, database_url: str, store: Store, tmp_path: Path
) -> None:
    tenant = f"r{uuid.uuid4().hex[:8]}"
    store.set_tenant_policy(tenant, "reject")
    store.register_sensor(tenant, "probe")
    now = datetime.now(UTC).replace(microsecond=0)
    with services(backend, database_url, tenant, tmp_path):
        _ready(backend, store, tenant)
        publish_lines(
            backend.broker,
            f"pakhuis/v1/{tenant}/newcomer/native",
            [json.dumps({"time": now.isoformat(), "quantity": "no2", "value": 17})],
        )
        wait_for(lambda: len(store.dead_letters(tenant=tenant)) == 1, 30, "the refusal")
    letter = store.dead_letters(tenant=tenant)[0]
    assert letter["reason_code"] == "unknown_sensor" and "pakhuis sensors register" in letter["reason"]
    assert store.observations(tenant=tenant, sensor="newcomer") == []

    env = service_env(backend.broker, store_url(store))
    register = subprocess.run(
        pakhuis_command("sensors", "register", tenant, "newcomer", "--kind", "air"),
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert register.returncode == 0, register.stdout + register.stderr
    replay = subprocess.run(
        pakhuis_command("deadletter", "replay", "--reason", "unknown_sensor", "--tenant", tenant),
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert replay.returncode == 0, replay.stdout + replay.stderr
    assert "1 now pass" in replay.stdout
    assert [r["value"] for r in store.observations(tenant=tenant, sensor="newcomer")] == [17.0]
    assert store.dead_letters(tenant=tenant) == []


def store_url(store: Store) -> str:
    return store._conninfo  # the test's own database


assert sys.version_info >= (3, 11)
