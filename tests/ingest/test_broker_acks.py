"""The embedded broker's end-to-end acknowledgement and reserved client ids, with real paho clients.

A publisher's QoS 1 PUBACK must wait for the declared ingest session's PUBACK of its copy (the
ingest PUBACKs after its commit), also while that session is offline, until it connects and
acknowledges; it must not wait for anyone else — anonymous subscribers, or another client's
persistent session that went away. Reserved ingest ids are refused
without the ingest credential, before they can disturb the ingest's session.
"""

from __future__ import annotations

import asyncio
import threading
import time
import uuid
from collections.abc import Iterator

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion

from ingest.broker import DeclaredSession, EmbeddedBroker
from tests.support import free_port

pytestmark = pytest.mark.integration

SECRET = "s3cret-for-this-test"
INGEST_ID = "pakhuis-ingest-test"
TOPIC = "pakhuis/v1/t/s/native"
# CONNACK 5 (not authorised) of MQTT 3.1.1, as paho reports it (the MQTT 5 reason code).
NOT_AUTHORISED = 135


class _BrokerThread:
    def __init__(self, broker: EmbeddedBroker) -> None:
        self.broker = broker
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)

    def __enter__(self) -> _BrokerThread:
        self.thread.start()
        asyncio.run_coroutine_threadsafe(self.broker.start(), self.loop).result(15)
        return self

    def __exit__(self, *exc: object) -> None:
        asyncio.run_coroutine_threadsafe(self.broker.stop(), self.loop).result(15)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)


@pytest.fixture
def port() -> Iterator[int]:
    broker = EmbeddedBroker(
        "127.0.0.1", free_port(), ingest_secret=SECRET, declared=[DeclaredSession(INGEST_ID, (TOPIC,))]
    )
    with _BrokerThread(broker):
        yield broker.port


class _Client:
    """A paho client recording PUBACKs (on_publish), messages, and the CONNACK reason."""

    def __init__(
        self,
        port: int,
        client_id: str,
        *,
        username: str | None = None,
        password: str | None = None,
        clean: bool = False,
        manual_ack: bool = False,
    ) -> None:
        self.acked: set[int] = set()
        self.messages: list[mqtt.MQTTMessage] = []
        self.connack: int | None = None
        self.connected = threading.Event()
        self.client = mqtt.Client(
            callback_api_version=CallbackAPIVersion.VERSION2,
            client_id=client_id,
            protocol=MQTTProtocolVersion.MQTTv311,
            clean_session=clean,
            manual_ack=manual_ack,
        )
        if username is not None:
            self.client.username_pw_set(username, password)
        self.client.on_publish = lambda c, u, mid, rc, p: self.acked.add(mid)
        self.client.on_message = lambda c, u, m: self.messages.append(m)
        self.client.on_connect = self._on_connect
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()

    def _on_connect(
        self, client: mqtt.Client, userdata: object, flags: object, rc: object, p: object
    ) -> None:
        self.connack = int(getattr(rc, "value", rc))  # type: ignore[call-overload]
        self.connected.set()

    def subscribe(self, topic: str) -> None:
        done = threading.Event()
        self.client.on_subscribe = lambda *args: done.set()
        self.client.subscribe(topic, qos=1)
        assert done.wait(5)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def _eventually(predicate: object, timeout: float = 5.0) -> bool:
    assert callable(predicate)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return False


def _publisher(port: int) -> _Client:
    pub = _Client(port, f"dev-{uuid.uuid4().hex[:6]}", username="device")
    assert pub.connected.wait(5) and pub.connack == 0
    return pub


def _ingest(port: int, password: str | None = SECRET, clean: bool = False) -> _Client:
    client = _Client(port, INGEST_ID, username=INGEST_ID, password=password, clean=clean, manual_ack=True)
    assert client.connected.wait(5)
    return client


def test_puback_waits_for_the_persistent_subscribers_ack(port: int) -> None:
    ingest = _ingest(port)
    assert ingest.connack == 0
    pub = _publisher(port)
    mid = pub.client.publish(TOPIC, b"one", qos=1).mid
    assert _eventually(lambda: len(ingest.messages) == 1)
    time.sleep(0.5)
    assert mid not in pub.acked, "PUBACK sent before the persistent subscriber acknowledged"
    ingest.client.ack(ingest.messages[0].mid, 1)
    assert _eventually(lambda: mid in pub.acked)
    pub.close()
    ingest.close()


def test_other_persistent_sessions_get_their_copy_but_do_not_hold_the_puback(port: int) -> None:
    dashboard = _Client(port, f"dash-{uuid.uuid4().hex[:6]}", username="dash", manual_ack=True)
    assert dashboard.connected.wait(5)
    dashboard.subscribe("pakhuis/#")
    dashboard.client.disconnect()
    dashboard.client.loop_stop()
    ingest = _ingest(port)
    pub = _publisher(port)
    mid = pub.client.publish(TOPIC, b"to both", qos=1).mid
    assert _eventually(lambda: len(ingest.messages) == 1)
    ingest.client.ack(ingest.messages[0].mid, 1)
    # The dashboard's session is offline with the copy queued: that must not hold the device.
    assert _eventually(lambda: mid in pub.acked)
    pub.close()
    ingest.close()


def test_message_nobody_keeps_is_acked_at_once(port: int) -> None:
    anonymous = _Client(port, f"watch-{uuid.uuid4().hex[:6]}", clean=True, manual_ack=True)
    assert anonymous.connected.wait(5)
    anonymous.subscribe("other/#")
    pub = _publisher(port)
    mid = pub.client.publish("other/topic", b"x", qos=1).mid
    assert _eventually(lambda: mid in pub.acked, 2)
    assert _eventually(lambda: len(anonymous.messages) == 1)
    pub.close()
    anonymous.close()


def test_declared_offline_session_holds_the_puback_until_it_connects_and_acks(port: int) -> None:
    pub = _publisher(port)
    mid = pub.client.publish(TOPIC, b"while the ingest is away", qos=1).mid
    time.sleep(0.5)
    assert mid not in pub.acked, "acknowledged while the only subscriber was offline"
    ingest = _ingest(port)
    assert _eventually(lambda: len(ingest.messages) == 1)
    assert ingest.messages[0].payload == b"while the ingest is away"
    time.sleep(0.3)
    assert mid not in pub.acked
    ingest.client.ack(ingest.messages[0].mid, 1)
    assert _eventually(lambda: mid in pub.acked)
    pub.close()
    ingest.close()


@pytest.mark.parametrize("password", [None, "wrong"])
def test_reserved_client_id_is_refused_without_the_ingest_credential(port: int, password: str | None) -> None:
    pub = _publisher(port)
    mid = pub.client.publish(TOPIC, b"kept for the ingest", qos=1).mid
    # A clean-session CONNECT would make amqtt discard the session: it must be refused first.
    intruder = _Client(port, INGEST_ID, username="intruder", password=password, clean=True)
    assert intruder.connected.wait(5)
    assert intruder.connack == NOT_AUTHORISED
    intruder.client.loop_stop()
    other = _Client(port, "pakhuis-ingest-other", username="x", password=password)
    assert other.connected.wait(5) and other.connack == NOT_AUTHORISED
    other.client.loop_stop()

    ingest = _ingest(port)
    assert ingest.connack == 0
    assert _eventually(lambda: [m.payload for m in ingest.messages] == [b"kept for the ingest"])
    ingest.client.ack(ingest.messages[0].mid, 1)
    assert _eventually(lambda: mid in pub.acked)
    pub.close()
    ingest.close()


def test_reserved_ids_are_refused_when_no_credential_is_configured() -> None:
    broker = EmbeddedBroker("127.0.0.1", free_port())
    with _BrokerThread(broker):
        client = _Client(broker.port, "pakhuis-ingest-embedded", username="u", password="anything")
        assert client.connected.wait(5) and client.connack == NOT_AUTHORISED
        client.client.loop_stop()
        plain = _Client(broker.port, "some-device", username="u")
        assert plain.connected.wait(5) and plain.connack == 0
        plain.close()
