"""Fixtures for the simulator tests: an MQTT broker and a strict payload checker."""

from __future__ import annotations

import asyncio
import os
import socket
import threading
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest

from sensors_sim import SimulationParams


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _embedded_amqtt() -> Iterator[SimulationParams]:
    from amqtt.broker import Broker

    host, port = "127.0.0.1", free_port()
    config = {
        "listeners": {"default": {"type": "tcp", "bind": f"{host}:{port}"}},
        # Only anonymous auth: the default $SYS and packet-logging plugins add noise and time.
        "plugins": {"amqtt.plugins.authentication.AnonymousAuthPlugin": {"allow_anonymous": True}},
    }
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="amqtt-broker", daemon=True)
    thread.start()

    async def start() -> Broker:
        broker = Broker(config, loop=loop)
        await broker.start()
        return broker

    broker = asyncio.run_coroutine_threadsafe(start(), loop).result(timeout=10)
    try:
        # amqtt speaks MQTT 3.1.1 only.
        yield SimulationParams(host, port, protocol="3.1.1")
    finally:
        asyncio.run_coroutine_threadsafe(broker.shutdown(), loop).result(timeout=10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=5)
        loop.close()


def _broker_kinds() -> list[str]:
    # CI sets PAKHUIS_MQTT_URL to a real Mosquitto: then publish there too, over MQTT 5.
    return ["amqtt"] + (["external"] if os.environ.get("PAKHUIS_MQTT_URL") else [])


@pytest.fixture(scope="module", params=_broker_kinds())
def mqtt_broker(request: pytest.FixtureRequest) -> Iterator[SimulationParams]:
    """The broker to publish to: host, port, protocol and credentials of a `SimulationParams`.

    Tests set their run's other options with `dataclasses.replace`.
    """
    if request.param == "external":
        url = urlsplit(os.environ["PAKHUIS_MQTT_URL"])
        yield SimulationParams(
            url.hostname or "127.0.0.1",
            url.port or 1883,
            protocol="5",
            username=url.username,
            password=url.password,
        )
        return
    yield from _embedded_amqtt()


# The wire contract restated from the design, independently of sensors_sim.wire, so a
# wrong constant there fails these tests instead of being checked against itself.
SPEC_UNITS = {
    "no2": "ug/m3",
    "temperature": "degC",
    "humidity": "%",
    "fill_level": "%",
    "sludge_depth": "mm",
    "bridge_state": "state",
    "deck_angle": "deg",
    "vessel_passage": "count",
    "battery": "V",
}
SPEC_RANGES = {
    "no2": (0, 2000),
    "temperature": (-50, 60),
    "humidity": (0, 100),
    "fill_level": (0, 100),
    "sludge_depth": (0, 2000),
    "bridge_state": (0, 3),
    "deck_angle": (-5, 90),
    "vessel_passage": (0, 1000),
    "battery": (0, 10),
}


def check_native_payload(payload: bytes) -> list[dict[str, object]]:
    """Parse a native payload strictly and check every object against the contract."""
    import json
    import math
    from datetime import datetime, timedelta

    def no_constants(name: str) -> float:
        raise AssertionError(f"non-JSON constant {name} in payload")

    items = json.loads(payload.decode("utf-8"), parse_constant=no_constants)
    assert isinstance(items, list) and items, "payload must be a non-empty JSON list"
    times = set()
    for item in items:
        assert isinstance(item, dict)
        assert set(item) == {"time", "quantity", "value", "unit"}
        q, v, t = item["quantity"], item["value"], item["time"]
        assert q in SPEC_UNITS, q
        assert item["unit"] == SPEC_UNITS[q]
        assert isinstance(v, float | int) and not isinstance(v, bool)
        assert math.isfinite(v)
        low, high = SPEC_RANGES[q]
        assert low <= v <= high, (q, v)
        assert isinstance(t, str) and (t.endswith("Z") or t.endswith("+00:00")), t
        parsed = datetime.fromisoformat(t)
        assert parsed.utcoffset() == timedelta(0)
        times.add(t)
    assert len(times) == 1, "one message holds one sensor's readings at one time"
    return items


NativeChecker = Callable[[bytes], list[dict[str, object]]]


@pytest.fixture
def native_checker() -> NativeChecker:
    """The strict payload checker, for test modules (they cannot import conftest)."""
    return check_native_payload


class HttpReceiver:
    """A real HTTP server on 127.0.0.1 that records POSTs and answers with `status`."""

    def __init__(self) -> None:
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        receiver = self
        self.status = 200
        self.posts: list[tuple[str, dict[str, str], bytes]] = []

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                receiver.posts.append((self.path, dict(self.headers.items()), body))
                self.send_response(receiver.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *_args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base_url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, name="http-receiver", daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)


@pytest.fixture
def receiver() -> Iterator[HttpReceiver]:
    """An HTTP receiver for formats posted over HTTP (Sensor.Community pushes)."""
    server = HttpReceiver()
    yield server
    server.close()
