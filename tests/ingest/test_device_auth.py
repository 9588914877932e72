"""One MQTT login per device (issue 14 part 3): `pakhuis devices add` and `pakhuis mqtt
export-auth` against a real Mosquitto running deploy/mosquitto/mosquitto-production.conf with
the exported files, on free loopback ports (never the system one on 1883).

A device publishes on its own topics and nowhere else (MQTT 5 PUBACK 0x87 "Not authorized" for
another sensor of its tenant and for another tenant, and the ingest receives none of those);
anonymous clients, wrong passwords and service logins on the device listener are refused.
"""

from __future__ import annotations

import json
import re
import shutil
import signal
import socket
import subprocess
import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode
from typer.testing import CliRunner

from pakhuis.access.devices import DeviceLogin, device_username, hash_password, verify_password
from pakhuis.cli import app
from pakhuis.errors import InvalidParameter
from pakhuis.store import Store
from tests.support import REPO, Broker, free_port, pakhuis_command, running, service_env, wait_for

NOT_AUTHORIZED = 0x87  # 135
BAD_LOGIN = 0x86  # 134, "Bad user name or password"
SERVICES = {"pakhuis-ingest": "ingest-pw", "pakhuis-api": "api-pw"}
_PAYLOAD = b'{"quantity": "no2", "value": 21.5}'

needs_mosquitto = pytest.mark.skipif(
    shutil.which("mosquitto") is None or shutil.which("mosquitto_passwd") is None,
    reason="needs mosquitto and mosquitto_passwd (apt-get install mosquitto)",
)


@needs_mosquitto
def test_the_hash_is_mosquitto_passwd_s_format(tmp_path: Path) -> None:
    # What mosquitto_passwd writes, we read; and ours has the same shape.
    passwd = tmp_path / "passwd"
    subprocess.run(["mosquitto_passwd", "-c", "-b", str(passwd), "alice", "s3cret"], check=True)
    theirs = passwd.read_text().strip().split(":", 1)[1]
    shape = re.compile(r"^\$7\$\d+\$[A-Za-z0-9+/]{16}\$[A-Za-z0-9+/]{86}==$")
    assert shape.match(theirs), theirs
    assert verify_password("s3cret", theirs) and not verify_password("s3cret!", theirs)
    ours = hash_password("s3cret")
    assert shape.match(ours) and verify_password("s3cret", ours) and ours != hash_password("s3cret")


def test_a_device_login_is_named_tenant_slash_sensor() -> None:
    assert device_username("demo", "esp8266-1") == "demo/esp8266-1"
    # ':' would end the user name early in Mosquitto's password file; '/' and newlines are in
    # no identifier, so no name can be read two ways or add a line to the ACL.
    for tenant, sensor in (("demo", "urn:x"), ("demo", "a/b"), ("demo\n", "a"), ("", "a"), ("demo", "a b")):
        with pytest.raises(InvalidParameter):
            device_username(tenant, sensor)
    with pytest.raises(InvalidParameter):
        DeviceLogin("demo", "a", "demo/b", hash_password("x"))


@dataclass
class Mosquitto:
    services_port: int
    devices_port: int
    process: subprocess.Popen[bytes]
    log: Path


def _accepts(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


@pytest.fixture
def start_mosquitto(tmp_path: Path) -> Iterator[Callable[[Path], Mosquitto]]:
    """Starts deploy/mosquitto/mosquitto-production.conf reading its auth from a directory."""
    started: list[Mosquitto] = []

    def start(auth_dir: Path) -> Mosquitto:
        (tmp_path / "data").mkdir(exist_ok=True)
        services, devices = free_port(), free_port()
        log = tmp_path / "mosquitto.log"
        conf = (
            (REPO / "deploy/mosquitto/mosquitto-production.conf")
            .read_text()
            .replace("listener 1883\n", f"listener {services} 127.0.0.1\n")
            .replace("listener 1884\n", f"listener {devices} 127.0.0.1\n")
            .replace("/mosquitto/config/", f"{auth_dir}/")
            .replace("/mosquitto/data/", f"{tmp_path}/data/")
            .replace("log_dest stdout", f"log_dest file {log}\nlog_type all")
        )
        assert f"listener {devices} " in conf and "allow_anonymous false" in conf
        # Started as root (CI containers): keep root so the test's 0600 files stay readable.
        (tmp_path / "mosquitto.conf").write_text(conf + "\nuser root\n")
        process = subprocess.Popen(
            ["mosquitto", "-c", str(tmp_path / "mosquitto.conf")],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.STDOUT,
        )
        broker = Mosquitto(services, devices, process, log)
        started.append(broker)
        wait_for(lambda: _accepts(services) and _accepts(devices), 10, "mosquitto to listen")
        return broker

    yield start
    for broker in started:
        broker.process.terminate()
        broker.process.wait(10)


class _Client:
    """An MQTT 5 client that records its CONNACK and each PUBACK's reason code."""

    def __init__(self, port: int, username: str | None, password: str | None, client_id: str = "") -> None:
        self.client = mqtt.Client(
            callback_api_version=CallbackAPIVersion.VERSION2,
            client_id=client_id or f"t-{uuid.uuid4().hex[:8]}",
            protocol=MQTTProtocolVersion.MQTTv5,
        )
        if username is not None:
            self.client.username_pw_set(username, password)
        self.connack_reason: int | None = None
        self._connacked = threading.Event()
        self._acks: dict[int, int] = {}
        self.messages: list[str] = []
        self._subscribed = threading.Event()
        self.client.on_connect = self._on_connect
        self.client.on_publish = self._on_publish
        self.client.on_message = lambda c, u, msg: self.messages.append(msg.topic)
        self.client.on_subscribe = lambda *args: self._subscribed.set()
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()
        assert self._connacked.wait(10), "no CONNACK"

    def _on_connect(self, c: object, u: object, flags: object, rc: ReasonCode, p: object) -> None:
        if self.connack_reason is None:
            self.connack_reason = rc.value
            if rc.is_failure:
                # Not again and again: the refusal is what the test wants to see.
                self.client.disconnect()
        self._connacked.set()

    def _on_publish(
        self, c: object, u: object, mid: int, rc: ReasonCode, properties: Properties | None
    ) -> None:
        self._acks[mid] = rc.value

    def publish(self, topic: str, payload: bytes = _PAYLOAD) -> int:
        """The PUBACK's reason code of one QoS 1 publish."""
        info = self.client.publish(topic, payload, qos=1)
        info.wait_for_publish(10)
        assert info.is_published(), f"no PUBACK for {topic}"
        return self._acks.pop(info.mid)

    def subscribe(self, topic_filter: str) -> None:
        self.client.subscribe(topic_filter, qos=1)
        assert self._subscribed.wait(10)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def _publish_once(port: int, username: str, password: str, topic: str, payload: bytes = _PAYLOAD) -> int:
    """The PUBACK reason of one publish on a connection of its own: after a refused publish
    the socket is sometimes closed (seen with Mosquitto 2.0.11 and paho 2), which must not
    decide the next publish's fate."""
    client = _Client(port, username, password)
    try:
        return client.publish(topic, payload)
    finally:
        client.close()


def _invoke(env: dict[str, str], *args: str) -> tuple[str, str]:
    result = CliRunner().invoke(app, list(args), env=env)
    assert result.exit_code == 0, result.output
    return result.stdout, result.stderr


def _export(env: dict[str, str], auth_dir: Path) -> str:
    stdout, _ = _invoke(
        env,
        "mqtt",
        "export-auth",
        str(auth_dir),
        "--ingest-username",
        "pakhuis-ingest",
        "--ingest-password",
        SERVICES["pakhuis-ingest"],
        "--api-username",
        "pakhuis-api",
        "--api-password",
        SERVICES["pakhuis-api"],
    )
    return stdout


@pytest.mark.integration
@needs_mosquitto
def test_a_device_publishes_only_as_itself(
    store: Store, database_url: str, tmp_path: Path, start_mosquitto: Callable[[Path], Mosquitto]
) -> None:
    env = {"PAKHUIS_DATABASE_URL": database_url}
    passwords: dict[str, str] = {}
    for tenant, sensor in (("demo", "a"), ("demo", "b"), ("other", "c")):
        stdout, stderr = _invoke(env, "devices", "add", tenant, sensor)
        passwords[f"{tenant}/{sensor}"] = stdout.strip()
        assert f"created MQTT login {tenant}/{sensor}" in stderr and "shown only now" in stderr
    # Stored hashed only, in Mosquitto's own form.
    row = store.device_login("demo", "a")
    assert row is not None and row.password_hash.startswith("$7$")
    assert passwords["demo/a"] not in row.password_hash and verify_password(
        passwords["demo/a"], row.password_hash
    )
    again = CliRunner().invoke(app, ["devices", "add", "demo", "a"], env=env)
    assert again.exit_code == 1 and "already has an MQTT login" in again.output
    listed, _ = _invoke(env, "devices", "list")
    assert "pakhuis/v1/demo/a/#" in listed and "3 device logins" in listed

    auth_dir = tmp_path / "auth"
    said = _export(env, auth_dir)
    assert "3 device logins" in said and "kill -HUP" in said
    acl = (auth_dir / "acl").read_text()
    assert "user demo/a\ntopic write pakhuis/v1/demo/a/#\n" in acl
    assert "pattern" not in acl and "%u" not in acl
    assert "user pakhuis-ingest\ntopic read pakhuis/v1/#" in acl
    assert (auth_dir / "passwd").stat().st_mode & 0o777 == 0o600
    assert set(re.findall(r"^([^:]+):\$7\$", (auth_dir / "passwd").read_text(), re.M)) == set(passwords)
    assert "pakhuis-ingest:$7$" in (auth_dir / "passwd-services").read_text()

    broker = start_mosquitto(auth_dir)
    ingest = _Client(broker.services_port, "pakhuis-ingest", SERVICES["pakhuis-ingest"])
    assert ingest.connack_reason == 0
    ingest.subscribe("pakhuis/v1/#")
    device_a = _Client(broker.devices_port, "demo/a", passwords["demo/a"])
    refused: list[_Client] = []
    try:
        assert device_a.connack_reason == 0
        assert device_a.publish("pakhuis/v1/demo/a/native") == 0
        # As another sensor of its own tenant, and into another tenant: 0x87, nothing delivered.
        for topic in ("pakhuis/v1/demo/b/native", "pakhuis/v1/other/c/native", "v3/app@demo/devices/a/up"):
            assert _publish_once(broker.devices_port, "demo/a", passwords["demo/a"], topic) == NOT_AUTHORIZED

        # No login, a wrong password, a service login on the device listener: refused at CONNECT.
        for username, password in (
            (None, None),
            ("demo/a", "not-the-password"),
            ("demo/b", passwords["demo/a"]),
            ("pakhuis-ingest", SERVICES["pakhuis-ingest"]),
        ):
            client = _Client(broker.devices_port, username, password)
            refused.append(client)
            assert client.connack_reason in (BAD_LOGIN, NOT_AUTHORIZED), (username, client.connack_reason)
        # A device login on the services listener neither.
        client = _Client(broker.services_port, "demo/a", passwords["demo/a"])
        refused.append(client)
        assert client.connack_reason in (BAD_LOGIN, NOT_AUTHORIZED)

        wait_for(lambda: len(ingest.messages) >= 1, 10, "the accepted message at the ingest")
        # The broker delivers in order: a marker published after the refused ones arrives after
        # them, so once it is there, nothing else is coming.
        device_b = _Client(broker.devices_port, "demo/b", passwords["demo/b"])
        refused.append(device_b)
        assert device_b.publish("pakhuis/v1/demo/b/native") == 0
        wait_for(lambda: len(ingest.messages) >= 2, 10, "device b's message at the ingest")
        assert ingest.messages == ["pakhuis/v1/demo/a/native", "pakhuis/v1/demo/b/native"]
        device_b.close()

        # Removing a login and exporting again: after a reload the broker refuses it.
        _invoke(env, "devices", "remove", "demo", "b")
        assert "2 device logins" in _export(env, auth_dir)
        broker.process.send_signal(signal.SIGHUP)
        wait_for(
            lambda: _connack(broker.devices_port, "demo/b", passwords["demo/b"]) != 0,
            10,
            "the removed login to be refused",
        )
        missing = CliRunner().invoke(app, ["devices", "remove", "demo", "b"], env=env)
        assert missing.exit_code == 1 and "has no MQTT login" in missing.output
    finally:
        for client in (device_a, ingest, *refused):
            client.close()


def _native(second: int) -> bytes:
    return json.dumps(
        {"time": f"2026-11-01T00:00:{second:02d}Z", "quantity": "no2", "value": 20 + second, "unit": "ug/m3"}
    ).encode()


@pytest.mark.integration
@needs_mosquitto
def test_the_ingest_stores_nothing_of_a_refused_publish(
    store: Store, database_url: str, tmp_path: Path, start_mosquitto: Callable[[Path], Mosquitto]
) -> None:
    env = {"PAKHUIS_DATABASE_URL": database_url}
    password = _invoke(env, "devices", "add", "demo", "a")[0].strip()
    _invoke(env, "devices", "add", "demo", "b")
    auth_dir = tmp_path / "auth"
    _export(env, auth_dir)
    broker = start_mosquitto(auth_dir)
    ingest_env = service_env(
        Broker("mosquitto", "127.0.0.1", broker.services_port, "5"),
        database_url,
        PAKHUIS_MQTT_URL=f"mqtt://pakhuis-ingest:{SERVICES['pakhuis-ingest']}@127.0.0.1:{broker.services_port}",
        PAKHUIS_MQTT_CLIENT_ID="pakhuis-ingest-auth-test",
    )
    with running(pakhuis_command("ingest"), ingest_env, REPO, tmp_path / "ingest.log"):
        device = _Client(broker.devices_port, "demo/a", password)
        try:
            # Until the ingest has subscribed, an accepted message reaches nobody (0x10).
            wait_for(
                lambda: (
                    device.publish("pakhuis/v1/demo/a/native", _native(0)) == 0
                    and bool(store.latest(tenant="demo"))
                ),
                60,
                "the ingest to store device a's reading",
            )
            refused = [
                _publish_once(
                    broker.devices_port, "demo/a", password, "pakhuis/v1/demo/b/native", _native(1)
                ),
                _publish_once(
                    broker.devices_port, "demo/a", password, "pakhuis/v1/other/c/native", _native(2)
                ),
            ]
            assert refused == [NOT_AUTHORIZED, NOT_AUTHORIZED]
            # A marker after the refused ones: once it is stored, they would have been too.
            assert (
                _publish_once(broker.devices_port, "demo/a", password, "pakhuis/v1/demo/a/native", _native(3))
                == 0
            )
            wait_for(lambda: len(store.observations(tenant="demo", limit=100)) >= 2, 30, "the marker stored")
        finally:
            device.close()
    stored = store.observations(limit=100)
    assert {(row["tenant"], row["sensor"]) for row in stored} == {("demo", "a")}
    assert store.observations(tenant="other", limit=100) == []


def _connack(port: int, username: str, password: str) -> int | None:
    client = _Client(port, username, password)
    client.close()
    return client.connack_reason
