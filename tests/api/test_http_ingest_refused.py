"""HTTP ingest answers 202 only when the broker accepted the message (issue 11 part 4), and the
deploy ACL (deploy/mosquitto/acl) on a real Mosquitto: the API's user may publish, the ingest
user may not, and another login that takes an ingest session is delivered nothing (and loses
nothing for the ingest).

Each test starts its own Mosquitto on a free port with the production ACL and a password
file, never the system one on 1883.
"""

from __future__ import annotations

import shutil
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from fastapi.testclient import TestClient
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion

from api import create_app
from api.bridge import BrokerRefused, MqttBridge
from pakhuis.store import Store
from tests.support import REPO, free_port, wait_for

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(
        shutil.which("mosquitto") is None, reason="needs mosquitto (apt-get install mosquitto)"
    ),
]

USERS = {"pakhuis-ingest": "ingest-pw", "pakhuis-api": "api-pw", "demo": "demo-pw"}

_TTN_UPLINK = (
    b'{"end_device_ids": {"device_id": "d1", "application_ids": {"application_id": "app"}},'
    b' "received_at": "2024-05-01T10:00:00Z", "uplink_message": {"decoded_payload": {"no2": 21.5}}}'
)


@dataclass
class Mosquitto:
    services_port: int  # the ingest processes and the API's bridge
    devices_port: int  # devices and citizen groups: client id = user name
    log: Path


PRODUCTION_CONF = REPO / "deploy/mosquitto/mosquitto-production.conf"


@pytest.fixture
def mosquitto(tmp_path: Path) -> Iterator[Mosquitto]:
    """deploy/mosquitto/mosquitto-production.conf and its ACL, on free loopback ports."""
    logins = {"passwd-services": ("pakhuis-ingest", "pakhuis-api"), "passwd": ("demo",)}
    for name, users in logins.items():
        passwd = tmp_path / name
        passwd.touch()
        for user in users:
            subprocess.run(["mosquitto_passwd", "-b", str(passwd), user, USERS[user]], check=True)
    shutil.copy(REPO / "deploy/mosquitto/acl", tmp_path / "acl")
    (tmp_path / "data").mkdir()
    services, devices = free_port(), free_port()
    log = tmp_path / "mosquitto.log"
    conf = (
        PRODUCTION_CONF.read_text()
        .replace("listener 1883\n", f"listener {services} 127.0.0.1\n")
        .replace("listener 1884\n", f"listener {devices} 127.0.0.1\n")
        .replace("/mosquitto/config/", f"{tmp_path}/")
        .replace("/mosquitto/data/", f"{tmp_path}/data/")
        .replace("log_dest stdout", f"log_dest file {log}\nlog_type all")
    )
    assert f"listener {devices} " in conf and f"listener {services} " in conf
    # Started as root (CI containers): keep root so the test's files stay readable.
    (tmp_path / "mosquitto.conf").write_text(conf + "\nuser root\n")
    proc = subprocess.Popen(
        ["mosquitto", "-c", str(tmp_path / "mosquitto.conf")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
    )
    try:
        wait_for(lambda: _accepts(services) and _accepts(devices), 10, "mosquitto to listen")
        yield Mosquitto(services, devices, log)
    finally:
        proc.terminate()
        proc.wait(10)


def _accepts(port: int) -> bool:
    import socket

    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


def _bridge(m: Mosquitto, user: str, port: int | None = None) -> MqttBridge:
    return MqttBridge(
        "127.0.0.1", port or m.services_port, protocol="5", username=user, password=USERS[user], timeout_s=5
    )


class _Subscriber:
    """A persistent-session QoS 1 subscriber (MQTT 5) that records what it was delivered."""

    def __init__(self, port: int, user: str, client_id: str, topic: str = "#") -> None:
        self.messages: list[str] = []
        self.disconnect_reasons: list[int] = []
        self._subscribed = threading.Event()
        self.client = mqtt.Client(
            callback_api_version=CallbackAPIVersion.VERSION2,
            client_id=client_id,
            protocol=MQTTProtocolVersion.MQTTv5,
        )
        self.client.username_pw_set(user, USERS[user])
        self.client.on_message = lambda c, u, msg: self.messages.append(msg.topic)
        self.client.on_subscribe = lambda *args: self._subscribed.set()
        self.client.on_disconnect = lambda c, u, f, rc, p: self.disconnect_reasons.append(rc.value)
        from paho.mqtt.packettypes import PacketTypes
        from paho.mqtt.properties import Properties

        props = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
        props.SessionExpiryInterval = 3600
        self.connack = threading.Event()
        self.connack_reason: int | None = None

        def on_connect(c: object, u: object, flags: object, rc: object, p: object) -> None:
            self.connack_reason = getattr(rc, "value", None)
            self.connack.set()

        self.client.on_connect = on_connect
        self.client.connect("127.0.0.1", port, clean_start=False, properties=props)
        self.client.loop_start()
        self._topic = topic

    def subscribe(self) -> None:
        self.client.subscribe(self._topic, qos=1)
        assert self._subscribed.wait(10)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def test_a_refused_publish_is_a_503_with_the_reason(mosquitto: Mosquitto) -> None:
    # The ingest user may only read: Mosquitto answers PUBACK 0x87 (not authorized).
    bridge = _bridge(mosquitto, "pakhuis-ingest")
    try:
        with pytest.raises(BrokerRefused) as refused:
            bridge.publish("v3/app@demo/devices/d1/up", _TTN_UPLINK)
        assert refused.value.status == 503
        assert "Not authorized" in refused.value.message and "0x87" in refused.value.message
    finally:
        bridge.close()


def test_http_ingest_answers_202_only_when_the_broker_accepted(mosquitto: Mosquitto, store: Store) -> None:
    reader = _Subscriber(mosquitto.services_port, "pakhuis-ingest", f"reader-{uuid.uuid4().hex[:6]}", "v3/#")
    reader.subscribe()
    refused_bridge, api_bridge = _bridge(mosquitto, "pakhuis-ingest"), _bridge(mosquitto, "pakhuis-api")
    try:
        with TestClient(create_app(store, bridge=refused_bridge, http_ingest_tenant="demo")) as client:
            response = client.post("/api/v1/ingest/ttn", content=_TTN_UPLINK)
            assert response.status_code == 503, response.text
            error = response.json()["error"]
            assert error["code"] == "broker_refused" and "Not authorized" in error["message"]
            assert error["hint"]
        with TestClient(create_app(store, bridge=api_bridge, http_ingest_tenant="demo")) as client:
            response = client.post("/api/v1/ingest/ttn", content=_TTN_UPLINK)
            assert response.status_code == 202, response.text
            pushed = client.post(
                "/v1/push-sensor-data/",
                content=b'{"sensordatavalues": [{"value_type": "P1", "value": "3.1"}]}',
                headers={"X-Sensor": "esp8266-1", "X-Pin": "1"},
            )
            assert pushed.status_code == 201, pushed.text
        wait_for(lambda: len(reader.messages) == 1, 10, "the accepted uplink at the reader")
        # Only the accepted one reached the broker's subscribers.
        time.sleep(0.5)
        assert reader.messages == ["v3/app@demo/devices/d1/up"]
    finally:
        refused_bridge.close()
        api_bridge.close()
        reader.close()


def test_a_device_login_cannot_take_the_ingest_session(mosquitto: Mosquitto) -> None:
    client_id = "pakhuis-ingest-1"
    ingest = _Subscriber(mosquitto.services_port, "pakhuis-ingest", client_id, "pakhuis/v1/#")
    ingest.subscribe()
    thief = _Subscriber(mosquitto.devices_port, "demo", client_id)  # the ingest's id, a tenant login
    outsider = _Subscriber(mosquitto.services_port, "demo", client_id)  # on the services listener
    device = _bridge(mosquitto, "demo", mosquitto.devices_port)
    try:
        assert thief.connack.wait(10) and thief.connack_reason == 0
        assert outsider.connack.wait(10) and outsider.connack_reason != 0, "a tenant logged in as a service"
        for i in range(5):
            device.publish(f"pakhuis/v1/demo/s{i}/native", b'{"quantity": "no2", "value": 1}')
        # A tenant publishes only under its own name.
        with pytest.raises(BrokerRefused):
            device.publish("pakhuis/v1/other/s0/native", b"{}")
        wait_for(lambda: len(ingest.messages) >= 5, 10, "the ingest to receive every message")
        assert sorted(ingest.messages) == [f"pakhuis/v1/demo/s{i}/native" for i in range(5)]
        # Never kicked off (MQTT 5 would say 0x8E "session taken over"), never shared its queue.
        assert ingest.disconnect_reasons == [] and ingest.client.is_connected()
        assert thief.messages == []
        assert f"as {client_id} (p5, c0, k60, u'demo')" not in mosquitto.log.read_text()
    finally:
        device.close()
        for client in (thief, outsider, ingest):
            client.close()


def test_a_takeover_on_the_services_listener_is_reported(mosquitto: Mosquitto) -> None:
    # Two service processes with one client id (a misconfiguration): the ingest is told
    # (MQTT 5 DISCONNECT 0x8E), logs it, reconnects, and /health says so.
    from ingest import MqttIngest, MqttOptions
    from pakhuis.cli import probes
    from pakhuis.health import HealthBoard
    from pakhuis.settings import load_settings

    options = MqttOptions(
        host="127.0.0.1",
        port=mosquitto.services_port,
        client_id="pakhuis-ingest-7",
        username="pakhuis-ingest",
        password=USERS["pakhuis-ingest"],
    )
    ingest = MqttIngest(options, lambda envelope: None)
    board = HealthBoard()
    probes.watch_ingest(board, load_settings(), ingest)
    ingest.start()
    try:
        assert board.check().components["broker"].status == "ok"
        other = _Subscriber(mosquitto.services_port, "pakhuis-api", "pakhuis-ingest-7")
        assert other.connack.wait(10)
        # Mosquitto 2.0 closes the taken-over connection without a reason code (0x8E would be
        # counted as a takeover); both clients reconnect and take it back in turn.
        wait_for(lambda: len(ingest.connection_losses) >= 2, 15, "the ingest to lose its session twice")
        other.close()
        wait_for(lambda: ingest.connected, 15, "the ingest to reconnect")
        broker = board.check().components["broker"]
        assert broker.status == "degraded", broker
        assert "another client using this client id" in broker.detail or "took over" in broker.detail
    finally:
        ingest.stop()
