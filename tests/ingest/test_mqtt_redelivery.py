"""An exception while handling an MQTT message never kills the ingest (issue 11 part 3).

Real broker (the embedded one), real database made unreachable (a proxy whose plug is pulled):
the decoder's registry lookups fail with StoreUnavailable inside paho's callback; the messages
stay unacknowledged, are retried off the network thread, and every one is handed on exactly
once when the database is back. A message that keeps failing for another reason becomes a dead
letter, and the ones behind it move on.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import pytest

from ingest import MqttIngest, MqttOptions
from pakhuis.cli import probes, wiring
from pakhuis.reading import Envelope
from pakhuis.settings import load_settings
from pakhuis.store import Store
from tests.support import Broker, EmbeddedBrokerThread, PluggableProxy, free_port, publish_messages, wait_for

pytestmark = pytest.mark.integration


def _proxy_target(database_url: str) -> tuple[str, int]:
    parts = urlsplit(database_url)
    socket_dir = parse_qs(parts.query).get("host")
    if socket_dir:  # embedded PostgreSQL listens on a Unix socket
        return socket_dir[0], parts.port or 5432
    return parts.hostname or "127.0.0.1", parts.port or 5432


class _Sink:
    """Hands on and acknowledges at once, recording what came through (thread-safe)."""

    def __init__(self, fail_topic: str | None = None) -> None:
        self.envelopes: list[Envelope] = []
        self.failures = 0
        self._fail_topic = fail_topic
        self._lock = threading.Lock()

    def __call__(self, envelope: Envelope) -> None:
        dead = envelope.dead_letter
        if envelope.topic == self._fail_topic and (dead is None or dead.decoder != "ingest"):
            with self._lock:
                self.failures += 1
            raise ValueError("this topic always fails")
        with self._lock:
            self.envelopes.append(envelope)
        assert envelope.ack is not None
        envelope.ack()

    def sensors(self) -> list[str]:
        with self._lock:
            return [r.sensor for e in self.envelopes for r in e.readings]


@pytest.fixture
def broker() -> Iterator[Broker]:
    thread = EmbeddedBrokerThread(free_port())
    thread.start()
    try:
        yield Broker("embedded", "127.0.0.1", thread.port, "3.1.1")
    finally:
        thread.stop()


def _payload(i: int) -> bytes:
    return (
        f'{{"time": "2024-05-01T10:{i // 60:02d}:{i % 60:02d}Z", "quantity": "no2", "value": {i}}}'.encode()
    )


def _options(broker: Broker) -> MqttOptions:
    return MqttOptions(
        host=broker.host,
        port=broker.port,
        client_id=f"redelivery-{uuid.uuid4().hex[:8]}",
        topics=("pakhuis/v1/+/+/+",),
        protocol="3.1.1",
    )


def test_database_outage_in_the_callback_is_retried_not_fatal(
    broker: Broker, database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.CRITICAL, logger="psycopg.pool")
    settings = load_settings(database_url=database_url, health_stuck_after_s=600)
    proxy = PluggableProxy(*_proxy_target(database_url)).start()
    sink = _Sink()
    try:
        with Store(proxy.url_for(database_url), acquire_timeout_s=0.5) as store:
            # A tenant that refuses unregistered sensors: each new sensor is looked up in the
            # registry (the policy itself is kept from the last read while the database is down).
            store.set_tenant_policy("redo", "reject")
            for name in [f"ok-{i}" for i in range(5)] + [f"out-{i}" for i in range(20)]:
                store.register_sensor("redo", name)
            ingest = MqttIngest(_options(broker), sink, wiring.message_decoder(settings, store))
            board = probes.board(settings, store)
            probes.watch_ingest(board, settings, ingest)
            ingest.start()
            try:
                # Healthy: one new sensor per message, so each one asks the registry.
                publish_messages(broker, [(f"pakhuis/v1/redo/ok-{i}/native", _payload(i)) for i in range(5)])
                wait_for(lambda: len(sink.envelopes) == 5, 15, "the first 5 messages")
                assert board.check().components["ingest"].status == "ok"

                proxy.unplug()
                outage = [(f"pakhuis/v1/redo/out-{i}/native", _payload(i)) for i in range(20)]
                publisher = threading.Thread(target=publish_messages, args=(broker, outage), daemon=True)
                publisher.start()
                wait_for(lambda: ingest.backlog > 0, 15, "a message waiting to be retried")
                time.sleep(2.0)  # several retries against the dead database
                # Nothing handed on (or acknowledged) during the outage; paho lives on.
                assert len(sink.envelopes) == 5
                assert ingest.network_thread_alive and ingest.connected
                assert ingest.redelivery.stats.retried >= 1
                ingest_health = board.check().components["ingest"]
                assert ingest_health.status == "degraded", ingest_health
                assert "StoreUnavailable" in ingest_health.detail
                assert board.check().components["database"].status == "down"

                proxy.replug()
                wait_for(lambda: len(sink.envelopes) == 25, 60, "every message after the outage")
                publisher.join(30)
                assert not publisher.is_alive(), "the publisher never got all its PUBACKs"
                sensors = sink.sensors()
                assert sorted(sensors) == sorted(
                    [f"ok-{i}" for i in range(5)] + [f"out-{i}" for i in range(20)]
                )
                assert ingest.backlog == 0
                wait_for(lambda: board.check().status == "ok", 15, "the board to be ok again")
                print(
                    f"\noutage: 20 published, {len(sensors) - 5} handed on after it, "
                    f"{ingest.redelivery.stats.retried} retries, 0 duplicates"
                )
            finally:
                ingest.stop()
    finally:
        proxy.close()


def test_a_message_that_always_fails_becomes_a_dead_letter(broker: Broker) -> None:
    bad_topic = "pakhuis/v1/redo/bad/native"
    sink = _Sink(fail_topic=bad_topic)
    ingest = MqttIngest(_options(broker), sink)
    ingest.redelivery.first_backoff_s = 0.05
    ingest.start()
    try:
        messages = [(f"pakhuis/v1/redo/s-{i}/native", _payload(i)) for i in range(3)]
        messages.insert(1, (bad_topic, _payload(99)))
        publish_messages(broker, messages)
        wait_for(lambda: len(sink.envelopes) == 4, 30, "all four messages handed on")
        assert ingest.network_thread_alive and ingest.connected
        dead = [e for e in sink.envelopes if e.dead_letter is not None]
        assert len(dead) == 1 and dead[0].topic == bad_topic
        assert dead[0].dead_letter is not None and dead[0].dead_letter.reason_code == "ingest_error"
        assert dead[0].payload == _payload(99)
        # Once in the callback, then `max_attempts` retries.
        assert sink.failures == 1 + ingest.redelivery.max_attempts
        # Order kept: the ones behind the bad message waited for it.
        assert [e.topic for e in sink.envelopes] == [topic for topic, _ in messages]
        assert sorted(sink.sensors()) == ["s-0", "s-1", "s-2"]
    finally:
        ingest.stop()
