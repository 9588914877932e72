"""run_simulation in every wire format: MQTT formats through a real broker, HTTP to a real server."""

from __future__ import annotations

import json
import socket
import threading
import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from sensors_sim import (
    PublishStats,
    SimulationParams,
    SimulatorConnectionError,
    build_fleet,
    new_encoder,
    run_simulation,
)
from sensors_sim.formats import StaEncoder
from tests.sensors_sim.conftest import HttpReceiver


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


START = datetime(2024, 10, 7, 7, 0, tzinfo=UTC)
INTERVAL_S, SPEEDUP, TICKS = 0.1, 600.0, 4  # tick k is simulated at START + k minutes


Sent = list[tuple[str, bytes, dict[str, str]]]


def _replay(fmt: str | StaEncoder, seed: int, tenant: str, **counts: int) -> tuple[Sent, int]:
    """The messages a run should send and the readings behind them, by replaying the ticks."""
    fleet = build_fleet(seed, tenant=tenant, **counts)
    encoder = new_encoder(fmt) if isinstance(fmt, str) else fmt.fresh()
    out: Sent = []
    readings = 0
    for k in range(TICKS):
        t = START + timedelta(seconds=k * INTERVAL_S * SPEEDUP)
        for e in fleet:
            tick = e.readings_at(t)
            readings += len(tick)
            out.extend(
                (m.topic_or_path, m.payload, m.headers) for m in encoder.encode(e.tenant, e.sensor_id, tick)
            )
    return out, readings


class Subscriber:
    """Records every message on the given topic filters."""

    def __init__(self, broker: SimulationParams, filters: list[str]) -> None:
        self.messages: list[tuple[str, bytes]] = []
        self._lock = threading.Lock()
        self._subscribed = threading.Event()
        self.client = mqtt.Client(
            callback_api_version=CallbackAPIVersion.VERSION2,
            client_id=f"test-fmt-{uuid.uuid4().hex[:8]}",
            protocol=mqtt.MQTTv5 if broker.protocol == "5" else mqtt.MQTTv311,
        )
        if broker.username is not None:
            self.client.username_pw_set(broker.username, broker.password)
        self.client.on_connect = lambda c, *_: c.subscribe([(f, 1) for f in filters])
        self.client.on_subscribe = lambda *_: self._subscribed.set()
        self.client.on_message = self._on_message
        self.client.connect(broker.host, broker.port)
        self.client.loop_start()
        assert self._subscribed.wait(10), "subscriber got no SUBACK"

    def _on_message(self, _c: Any, _u: Any, msg: mqtt.MQTTMessage) -> None:
        with self._lock:
            self.messages.append((msg.topic, bytes(msg.payload)))

    def wait_for(self, count: int, timeout_s: float = 10.0) -> list[tuple[str, bytes]]:
        pause = threading.Event()
        for _ in range(int(timeout_s / 0.05)):
            with self._lock:
                if len(self.messages) >= count:
                    break
            pause.wait(0.05)
        pause.wait(0.2)  # let duplicates or extras show up before comparing
        with self._lock:
            return list(self.messages)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


@pytest.fixture
def tenant() -> str:
    return f"fmt{uuid.uuid4().hex[:8]}"


@pytest.mark.integration
@pytest.mark.parametrize("fmt", ["senml", "ttn", "sta", "sta-interval"])
def test_mqtt_formats_arrive_as_encoded(mqtt_broker: SimulationParams, tenant: str, fmt: str) -> None:
    encoder: str | StaEncoder = StaEncoder(interval=True) if fmt == "sta-interval" else fmt
    filters = {
        "senml": [f"pakhuis/v1/{tenant}/+/senml"],
        "ttn": ["v3/+/devices/+/up"],
        "sta": ["v1.1/#"],
        "sta-interval": ["v1.1/#"],
    }[fmt]
    sub = Subscriber(mqtt_broker, filters)
    try:
        counts = {"air": 2, "drains": 1, "bridges": 1}
        stats = run_simulation(
            build_fleet(11, tenant=tenant, **counts),
            replace(
                mqtt_broker,
                interval_s=INTERVAL_S,
                duration_s=INTERVAL_S * TICKS,
                start_time=START,
                speedup=SPEEDUP,
                fmt=encoder,
            ),
        )
        expected, readings = _replay(encoder, 11, tenant, **counts)
        assert stats.ticks == TICKS
        assert stats.messages == len(expected) > 0
        assert stats.readings == readings and stats.unencoded == 0
        assert stats.unacknowledged == 0 and stats.rejected == 0
        received = [(t, p) for t, p in sub.wait_for(len(expected)) if tenant in t]
    finally:
        sub.close()
    assert sorted(received) == sorted((topic, payload) for topic, payload, _ in expected)


def test_sensor_community_posts_over_http_without_a_broker(receiver: HttpReceiver) -> None:
    counts = {"air": 2, "drains": 2, "bridges": 1}
    progress: list[PublishStats] = []
    stats = run_simulation(
        build_fleet(12, tenant="demo", **counts),
        SimulationParams(
            "127.0.0.1",
            1,  # no broker: an HTTP format must not try MQTT at all
            interval_s=INTERVAL_S,
            duration_s=INTERVAL_S * TICKS,
            start_time=START,
            speedup=SPEEDUP,
            fmt="sensorcommunity",
            http_base=receiver.base_url + "/",
        ),
        on_published=progress.append,
    )
    expected, readings = _replay("sensorcommunity", 12, "demo", **counts)
    assert stats.messages == len(receiver.posts) == len(expected) > 0
    assert stats.unacknowledged == 0 and stats.rejected == 0
    for (path, headers, body), (want_path, want_body, want_headers) in zip(
        receiver.posts, expected, strict=True
    ):
        assert path == want_path == "/v1/push-sensor-data/"
        assert body == want_body
        assert {k: headers[k] for k in want_headers} == want_headers
    # Air sensors send three of their four readings (not the battery); drains and bridges none.
    assert stats.readings == sum(len(json.loads(b)["sensordatavalues"]) for _, _, b in receiver.posts)
    assert stats.readings + stats.unencoded == readings
    assert stats.unencoded > stats.readings  # 2 air x 1 + 2 drains x 3 + 1 bridge x 3 per tick
    assert [p.ticks for p in progress] == list(range(1, TICKS + 1))


def test_http_failures_count_as_unacknowledged(receiver: HttpReceiver) -> None:
    receiver.status = 503
    stats = run_simulation(
        build_fleet(12, tenant="demo", air=1, drains=0, bridges=0),
        SimulationParams(
            "127.0.0.1",
            1,
            interval_s=INTERVAL_S,
            duration_s=INTERVAL_S * 2,
            start_time=START,
            speedup=SPEEDUP,
            fmt="sensorcommunity",
            http_base=receiver.base_url,
        ),
    )
    assert stats.messages == len(receiver.posts) > 0
    assert stats.unacknowledged == stats.messages


def test_unreachable_http_receiver_raises_clear_error() -> None:
    port = free_port()  # nothing listens there
    with pytest.raises(SimulatorConnectionError, match=rf"127\.0\.0\.1:{port}.*start the API"):
        run_simulation(
            build_fleet(1, air=1, drains=0, bridges=0),
            SimulationParams(
                "127.0.0.1",
                1,
                duration_s=1.0,
                start_time=START,
                fmt="sensorcommunity",
                http_base=f"http://127.0.0.1:{port}",
            ),
        )


def test_format_arguments_are_checked_before_connecting() -> None:
    with pytest.raises(ValueError, match="unknown wire format"):
        SimulationParams("127.0.0.1", 1, fmt="xml")
    with pytest.raises(ValueError, match="http_base"):
        SimulationParams("127.0.0.1", 1, fmt="sensorcommunity")
    with pytest.raises(ValueError, match="http://"):
        SimulationParams("127.0.0.1", 1, fmt="sensorcommunity", http_base="127.0.0.1:8000")
