"""run_simulation against a real (embedded amqtt) broker, and its connection errors."""

from __future__ import annotations

import json
import re
import socket
import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from sensors_sim import PublishStats, SimulationParams, SimulatorConnectionError, build_fleet, run_simulation

NativeChecker = Callable[[bytes], list[dict[str, object]]]
TOPIC = re.compile(r"^pakhuis/v1/(?P<tenant>[^/]+)/(?P<sensor>[^/]+)/native$")


class Subscriber:
    """A paho client that records every message under pakhuis/v1/#."""

    def __init__(self, broker: SimulationParams, tenant: str) -> None:
        self.messages: list[tuple[str, bytes]] = []
        self._lock = threading.Lock()
        self._subscribed = threading.Event()
        self.client = mqtt.Client(
            callback_api_version=CallbackAPIVersion.VERSION2,
            client_id=f"test-sub-{uuid.uuid4().hex[:8]}",
            protocol=mqtt.MQTTv5 if broker.protocol == "5" else mqtt.MQTTv311,
        )
        if broker.username is not None:
            self.client.username_pw_set(broker.username, broker.password)
        # Only this test's tenant, so a shared external broker's other traffic is ignored.
        topic = f"pakhuis/v1/{tenant}/#"
        self.client.on_connect = lambda c, *_: c.subscribe(topic, qos=1)
        self.client.on_subscribe = lambda *_: self._subscribed.set()
        self.client.on_message = self._on_message
        self.client.connect(broker.host, broker.port)
        self.client.loop_start()
        assert self._subscribed.wait(10), "subscriber got no SUBACK"

    def _on_message(self, _c: Any, _u: Any, msg: mqtt.MQTTMessage) -> None:
        with self._lock:
            self.messages.append((msg.topic, bytes(msg.payload)))

    def wait_for(self, count: int, timeout_s: float = 10.0) -> list[tuple[str, bytes]]:
        deadline = threading.Event()
        for _ in range(int(timeout_s / 0.05)):
            with self._lock:
                if len(self.messages) >= count:
                    break
            deadline.wait(0.05)
        # Give stragglers (duplicates, extras) a moment to show up before comparing.
        deadline.wait(0.2)
        with self._lock:
            return list(self.messages)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


@pytest.fixture
def tenant() -> str:
    return f"simtest{uuid.uuid4().hex[:8]}"


@pytest.fixture
def subscriber(mqtt_broker: SimulationParams, tenant: str) -> Iterator[Subscriber]:
    sub = Subscriber(mqtt_broker, tenant)
    yield sub
    sub.close()


START = datetime(2024, 10, 7, 7, 0, tzinfo=UTC)


@pytest.mark.integration
def test_published_messages_arrive_in_wire_format(
    mqtt_broker: SimulationParams,
    tenant: str,
    subscriber: Subscriber,
    native_checker: NativeChecker,
) -> None:
    fleet = build_fleet(7, tenant=tenant, air=2, drains=2, bridges=1)
    progress: list[PublishStats] = []
    stats = run_simulation(
        fleet,
        replace(mqtt_broker, interval_s=0.2, duration_s=1.0, start_time=START, speedup=300.0),
        stop_event=threading.Event(),
        on_published=progress.append,
    )
    assert stats.ticks == 5
    assert stats.unacknowledged == 0 and stats.rejected == 0
    assert stats.messages + stats.dropouts == stats.ticks * len(fleet)
    assert stats.messages > 0

    received = subscriber.wait_for(stats.messages)
    assert len(received) == stats.messages
    assert sum(len(json.loads(p)) for _, p in received) == stats.readings

    # Tick k is simulated at START + k * interval * speedup = START + k minutes.
    expected_times = {(START + timedelta(minutes=k)).isoformat().replace("+00:00", "Z") for k in range(5)}
    topics = {e.topic for e in fleet}
    for topic, payload in received:
        match = TOPIC.match(topic)
        assert match is not None and topic in topics
        assert match["tenant"] == tenant
        items = native_checker(payload)
        assert {item["time"] for item in items} <= expected_times

    assert [p.ticks for p in progress] == [1, 2, 3, 4, 5]
    assert [p.messages for p in progress] == sorted(p.messages for p in progress)
    assert progress[-1].messages == stats.messages
    assert stats.sim_time == START + timedelta(minutes=4)


@pytest.mark.integration
def test_stop_event_ends_an_open_ended_run(
    mqtt_broker: SimulationParams, tenant: str, subscriber: Subscriber
) -> None:
    stop = threading.Event()

    def on_published(stats: PublishStats) -> None:
        if stats.ticks == 3:
            stop.set()

    fleet = build_fleet(8, tenant=tenant, air=1, drains=1, bridges=0)
    stats = run_simulation(
        fleet,
        replace(mqtt_broker, interval_s=0.05, duration_s=None),
        stop_event=stop,
        on_published=on_published,
    )
    assert stats.ticks == 3
    assert len(subscriber.wait_for(stats.messages)) == stats.messages
    # Default start is now: simulated time is close to the wall clock.
    assert stats.sim_time is not None
    assert abs((datetime.now(UTC) - stats.sim_time).total_seconds()) < 60


def test_unreachable_broker_raises_clear_error() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # bound but not listening: connection refused
        with pytest.raises(SimulatorConnectionError, match=rf"127\.0\.0\.1:{port}.*start a broker"):
            run_simulation(build_fleet(1), SimulationParams("127.0.0.1", port, duration_s=1.0))


def test_silent_server_times_out_with_clear_error() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()  # accepts TCP but never answers MQTT CONNECT
        port = s.getsockname()[1]
        with pytest.raises(SimulatorConnectionError, match=rf"127\.0\.0\.1:{port} did not answer"):
            run_simulation(
                build_fleet(1), SimulationParams("127.0.0.1", port, duration_s=1.0, connect_timeout_s=0.5)
            )


def test_bad_arguments_are_refused_before_connecting() -> None:
    with pytest.raises(ValueError, match="interval_s"):
        SimulationParams("127.0.0.1", 1, interval_s=0)
    with pytest.raises(ValueError, match="speedup"):
        SimulationParams("127.0.0.1", 1, speedup=-1.0)
    with pytest.raises(ValueError, match="start_time"):
        SimulationParams("127.0.0.1", 1, start_time=datetime(2024, 1, 1))


def test_params_refuse_what_could_never_run_and_keep_the_password_out_of_logs() -> None:
    with pytest.raises(ValueError, match="max_pending"):
        SimulationParams("127.0.0.1", 1, max_pending=0)  # back-pressure would wait for ever
    with pytest.raises(ValueError, match="connect_timeout_s"):
        SimulationParams("127.0.0.1", 1, connect_timeout_s=0)
    params = SimulationParams("127.0.0.1", 1, username="sim", password="s3cret")
    assert "s3cret" not in repr(params) and "sim" in repr(params)
