"""Test support: real services (embedded or external), subprocesses and a real MQTT client.

Integration tests run against every available backend: always the embedded ones (amqtt broker,
pgserver PostgreSQL), and additionally the external Mosquitto / PostgreSQL when CI sets
PAKHUIS_MQTT_URL and PAKHUIS_DATABASE_URL.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit, urlunsplit

import paho.mqtt.client as mqtt
import psycopg
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion

if TYPE_CHECKING:
    from pakhuis.access.keys import KeyStore

REPO = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Broker:
    kind: str  # "embedded" (amqtt) or "mosquitto"
    host: str
    port: int
    protocol: str  # "5" or "3.1.1"

    @property
    def url(self) -> str:
        return f"mqtt://{self.host}:{self.port}"


@dataclass
class Database:
    kind: str  # "embedded" (pgserver) or "external"
    admin_url: str
    template: str
    created: list[str] = field(default_factory=list)

    def url_for(self, name: str) -> str:
        parts = urlsplit(self.admin_url)
        return urlunsplit(parts._replace(path=f"/{name}"))

    def new_database(self) -> str:
        """A fresh, migrated database (cloned from a migrated template); returns its URL."""
        name = f"pakhuis_test_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{self.template}"')
        self.created.append(name)
        return self.url_for(name)

    def drop_all(self) -> None:
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            for name in self.created:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        self.created.clear()


class EmbeddedBrokerThread:
    """The project's embedded broker in its own event loop thread, as `pakhuis run` uses it."""

    def __init__(self, port: int) -> None:
        from ingest import EmbeddedBroker

        self.port = port
        self._broker = EmbeddedBroker("127.0.0.1", port)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)

    def start(self) -> None:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._broker.start(), self._loop).result(15)

    def stop(self) -> None:
        asyncio.run_coroutine_threadsafe(self._broker.stop(), self._loop).result(15)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)


def service_env(broker: Broker, database_url: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PAKHUIS_")}
    env.update(
        {
            "PAKHUIS_MQTT_URL": broker.url,
            "PAKHUIS_MQTT_PROTOCOL": broker.protocol,
            "PAKHUIS_DATABASE_URL": database_url,
            "PYTHONUNBUFFERED": "1",
        }
    )
    env.update(extra)
    return env


def pakhuis_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "pakhuis", *args]


def new_user_env(home: Path) -> dict[str, str]:
    """The environment of a user with no PAKHUIS_ settings (so not CI's external services either)
    whose home is `home`: their per-user data folder, the default data dir, lies under it."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PAKHUIS_") and k != "XDG_DATA_HOME"}
    env.update({"HOME": str(home), "PYTHONPATH": str(REPO), "PYTHONUNBUFFERED": "1"})
    return env


@contextmanager
def running(cmd: list[str], env: dict[str, str], cwd: Path, log: Path) -> Iterator[subprocess.Popen[bytes]]:
    """A subprocess for the duration of the block; stopped with SIGTERM (then SIGKILL)."""
    with log.open("ab") as out:
        proc = subprocess.Popen(cmd, env=env, cwd=cwd, stdout=out, stderr=subprocess.STDOUT)
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)


def wait_for(predicate: Callable[[], bool], timeout: float, what: str, interval: float = 0.2) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


def wait_for_subscriber(
    broker: Broker, topic: str, is_stored: Callable[[], bool], timeout: float = 30
) -> None:
    """Publish a probe until the ingest under test stores it: proves it is subscribed."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        publish_lines(broker, topic, [probe_payload()])
        end = time.monotonic() + 2
        while time.monotonic() < end:
            if is_stored():
                return
            time.sleep(0.1)
    raise AssertionError("the ingest process never stored the probe reading")


def probe_payload() -> str:
    return '{"time": "2000-01-01T00:00:00Z", "quantity": "battery", "value": 3.3}'


def mosquitto_pub_available() -> bool:
    return shutil.which("mosquitto_pub") is not None


def publish_lines(
    broker: Broker, topic: str, lines: list[str], *, background: bool = False
) -> subprocess.Popen[bytes] | None:
    """Publish each line as one QoS 1 message with the real `mosquitto_pub` client.

    Where mosquitto-clients is not installed (a fresh laptop), a paho client does the same so
    the suite still passes; CI installs mosquitto-clients, so there it is always the real one.
    """
    data = ("\n".join(lines) + "\n").encode()
    if mosquitto_pub_available():
        version = "mqttv5" if broker.protocol == "5" else "mqttv311"
        cmd = [
            "mosquitto_pub",
            "-h",
            broker.host,
            "-p",
            str(broker.port),
            "-q",
            "1",
            "-V",
            version,
            "-t",
            topic,
            "-l",
        ]
    else:
        cmd = [sys.executable, "-m", "tests.paho_pub", broker.host, str(broker.port), topic]
    proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, cwd=REPO)
    assert proc.stdin is not None
    proc.stdin.write(data)
    proc.stdin.close()
    if background:
        return proc
    assert proc.wait(120) == 0, f"{cmd[0]} failed"
    return None


def publish_one(broker: Broker, topic: str, payload: bytes) -> None:
    client = mqtt.Client(
        callback_api_version=CallbackAPIVersion.VERSION2,
        protocol=MQTTProtocolVersion.MQTTv5 if broker.protocol == "5" else MQTTProtocolVersion.MQTTv311,
    )
    client.connect(broker.host, broker.port)
    client.loop_start()
    try:
        client.publish(topic, payload, qos=1).wait_for_publish(10)
    finally:
        client.disconnect()
        client.loop_stop()


class PluggableProxy:
    """A TCP proxy to a database whose plug the test can pull: a real network outage.

    `unplug()` drops every open connection and refuses new ones; `replug()` accepts again on the
    same port. The target is a Unix socket (embedded PostgreSQL) or host:port (external).
    """

    def __init__(self, target_host: str, target_port: int) -> None:
        self.port = free_port()
        self._target_host = target_host
        self._target_port = target_port
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._server: asyncio.base_events.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    async def _open_target(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        if self._target_host.startswith("/"):
            return await asyncio.open_unix_connection(f"{self._target_host}/.s.PGSQL.{self._target_port}")
        return await asyncio.open_connection(self._target_host, self._target_port)

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            writer.close()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        target_reader, target_writer = await self._open_target()
        self._writers.update((writer, target_writer))
        await asyncio.gather(self._pipe(reader, target_writer), self._pipe(target_reader, writer))
        self._writers.difference_update((writer, target_writer))

    async def _start(self) -> None:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", self.port, reuse_address=True)

    async def _stop(self) -> None:
        if self._server is not None:
            self._server.close()
            self._server = None
        for writer in list(self._writers):
            writer.transport.abort()
        self._writers.clear()

    def start(self) -> PluggableProxy:
        self._thread.start()
        self.replug()
        return self

    def replug(self) -> None:
        asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(10)

    def unplug(self) -> None:
        asyncio.run_coroutine_threadsafe(self._stop(), self._loop).result(10)

    def close(self) -> None:
        self.unplug()
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)

    def url_for(self, database_url: str) -> str:
        """The same database, reached through this proxy."""
        parts = urlsplit(database_url)
        user = parts.username or "postgres"
        auth = f"{user}:{parts.password}" if parts.password else user
        return urlunsplit(("postgresql", f"{auth}@127.0.0.1:{self.port}", parts.path, "", ""))


def publish_messages(
    broker: Broker, messages: list[tuple[str, bytes]], *, per_second: float | None = None
) -> None:
    """Publish (topic, payload) pairs at QoS 1 with paho, in order, optionally paced; waits for
    every PUBACK. For workloads spread over many topics (mosquitto_pub -l takes one topic)."""
    client = mqtt.Client(
        callback_api_version=CallbackAPIVersion.VERSION2,
        protocol=MQTTProtocolVersion.MQTTv5 if broker.protocol == "5" else MQTTProtocolVersion.MQTTv311,
    )
    client.max_inflight_messages_set(200)
    client.max_queued_messages_set(0)
    client.connect(broker.host, broker.port)
    client.loop_start()
    try:
        started = time.monotonic()
        infos = []
        for i, (topic, payload) in enumerate(messages):
            infos.append(client.publish(topic, payload, qos=1))
            if per_second is not None:
                ahead = started + (i + 1) / per_second - time.monotonic()
                if ahead > 0:
                    time.sleep(ahead)
        for info in infos:
            info.wait_for_publish(120)
            assert info.is_published()
    finally:
        client.disconnect()
        client.loop_stop()


def publish_parallel(broker: Broker, lines_by_topic: dict[str, list[str]]) -> None:
    """One real publisher process per topic, all at once (QoS 1), waiting for all of them."""
    procs = [publish_lines(broker, topic, lines, background=True) for topic, lines in lines_by_topic.items()]
    for proc in procs:
        assert proc is not None and proc.wait(300) == 0


class RawReceiver:
    """The baseline: a bare paho subscriber (QoS 1, automatic acks) that only counts messages."""

    def __init__(self, broker: Broker, topic_filter: str, expected: int) -> None:
        self.expected = expected
        self.count = 0
        self.done = threading.Event()
        subscribed = threading.Event()
        self._client = mqtt.Client(
            callback_api_version=CallbackAPIVersion.VERSION2,
            client_id=f"raw-{uuid.uuid4().hex[:8]}",
            protocol=MQTTProtocolVersion.MQTTv5 if broker.protocol == "5" else MQTTProtocolVersion.MQTTv311,
        )
        self._client.on_message = self._on_message
        self._client.on_subscribe = lambda *args: subscribed.set()
        self._client.connect(broker.host, broker.port)
        self._client.subscribe(topic_filter, qos=1)
        self._client.loop_start()
        assert subscribed.wait(10), "the raw subscriber was not subscribed"

    def _on_message(self, client: mqtt.Client, userdata: object, message: mqtt.MQTTMessage) -> None:
        self.count += 1
        if self.count >= self.expected:
            self.done.set()

    def close(self) -> None:
        self._client.disconnect()
        self._client.loop_stop()


def shared_data(name: str) -> Path:
    """A folder of the project's shared real data (../shared/data next to the checkout, as the
    project layout has it; PAKHUIS_SHARED_DATA overrides, for a checkout elsewhere)."""
    candidates = [
        Path(os.environ["PAKHUIS_SHARED_DATA"]) if os.environ.get("PAKHUIS_SHARED_DATA") else None,
        REPO.parent / "shared" / "data",
        Path("/work/shared/data"),
    ]
    for base in candidates:
        if base is not None and (base / name).is_dir():
            return base / name
    raise AssertionError(f"shared data folder {name!r} not found; set PAKHUIS_SHARED_DATA to ../shared/data")


def bearer(store: KeyStore, role: str = "admin", *, tenant: str | None = None) -> dict[str, str]:
    """Request headers with a new API key of `role` (issue 14), made in `store`'s database: what
    a test that writes through the API (or reads what the public may not) sends."""
    from pakhuis.access import Role
    from pakhuis.access.keys import issue_key

    issued = issue_key(store, Role(role), tenant=tenant, name=f"test {role}")
    return {"Authorization": f"Bearer {issued.key}"}
