"""Distributed mode: hand validated readings to Kafka, and only then acknowledge the MQTT message.

The producer is idempotent with `acks=all`, so a retried produce is written once and a message
is only reported delivered when every in-sync replica has it. Each envelope's readings (keyed
by sensor, so a sensor stays in one partition and in order) and its dead letter are produced;
when the last of them is delivered the envelope is complete, and complete envelopes are
acknowledged to the broker strictly in arrival order. A produce that fails is produced again:
nothing is acknowledged that Kafka does not have.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from confluent_kafka import KafkaError, KafkaException, Producer
from confluent_kafka.admin import AdminClient, NewTopic  # type: ignore[attr-defined]

from pakhuis.codec import (
    KafkaTopics,
    encode_dead_letter,
    encode_reading,
    sensor_key,
)
from pakhuis.errors import ServiceStartError
from pakhuis.reading import Envelope

log = logging.getLogger(__name__)


def ensure_topics(bootstrap: str, partitions: int, topics: KafkaTopics, timeout_s: float = 30.0) -> None:
    """Create pakhuis' topics (readings, dead letters, alerts, live) with `partitions` if missing."""
    admin = AdminClient({"bootstrap.servers": bootstrap})
    try:
        existing = admin.list_topics(timeout=timeout_s).topics
    except KafkaException as exc:
        raise ServiceStartError(
            f"Cannot reach Kafka at {bootstrap}: {exc}",
            hint="Start it (`pakhuis kafka up` or deploy/kafka/kafka.sh up) or check PAKHUIS_KAFKA_URL.",
        ) from exc
    wanted = [
        NewTopic(topic, num_partitions=partitions, replication_factor=-1)
        for topic in topics.all()
        if topic not in existing
    ]
    if not wanted:
        return
    for topic, future in admin.create_topics(wanted, operation_timeout=timeout_s).items():
        try:
            future.result(timeout_s)
            log.info("created Kafka topic %s with %d partitions", topic, partitions)
        except KafkaException as exc:
            if exc.args[0].code() != KafkaError.TOPIC_ALREADY_EXISTS:
                raise


@dataclass(slots=True)
class _Pending:
    envelope: Envelope
    remaining: int
    failures: int = 0
    done: bool = field(default=False)


class KafkaHandoff:
    """`submit(envelope)` from the MQTT thread; acks flow back as Kafka confirms deliveries."""

    def __init__(
        self, bootstrap: str, *, client_id: str, topics: KafkaTopics, max_pending: int = 20_000
    ) -> None:
        self._topics = topics
        self._producer = Producer(
            {
                "bootstrap.servers": bootstrap,
                "client.id": client_id,
                "enable.idempotence": True,
                "acks": "all",
                # Retries are the producer's job (idempotent: no duplicates from them); a message
                # it gives up on is produced again by us.
                "message.timeout.ms": 60_000,
                "linger.ms": 5,
                "compression.type": "lz4",
                "queue.buffering.max.messages": 500_000,
            }
        )
        self._pending: deque[_Pending] = deque()
        self._lock = threading.Lock()
        self._room = threading.BoundedSemaphore(max_pending)
        self._stop = threading.Event()
        self._poller = threading.Thread(target=self._poll_loop, name="kafka-delivery", daemon=True)
        self.delivered = 0
        self.failed = 0

    def start(self) -> None:
        self._poller.start()

    def stop(self, timeout_s: float = 30.0) -> None:
        """Deliver what is queued (its acks may then be lost with the connection; the broker
        redelivers those messages and the store's idempotent writes absorb the duplicates)."""
        self._producer.flush(timeout_s)
        self._stop.set()
        self._poller.join(5)

    def submit(self, envelope: Envelope) -> None:
        self._room.acquire()
        letter = envelope.dead_letter
        pending = _Pending(envelope, remaining=len(envelope.readings) + (1 if letter else 0))
        with self._lock:
            self._pending.append(pending)
        if pending.remaining == 0:
            self._release_completed()
            return
        for reading in envelope.readings:
            self._produce(
                pending,
                self._topics.readings,
                sensor_key(reading.tenant, reading.sensor),
                encode_reading(reading),
            )
        if letter is not None:
            # Keyed by the MQTT topic: a device's refused messages stay together and in order.
            key = envelope.topic.encode()
            self._produce(pending, self._topics.deadletter, key, encode_dead_letter(letter))

    # -- internals ---------------------------------------------------------------------------

    def _produce(self, pending: _Pending, topic: str, key: bytes, value: bytes) -> None:
        def on_delivery(err: KafkaError | None, msg: Any) -> None:
            if err is None:
                self.delivered += 1
                with self._lock:
                    pending.remaining -= 1
                if pending.remaining == 0:
                    self._release_completed()
                return
            self.failed += 1
            pending.failures += 1
            log.warning("Kafka delivery to %s failed (%s); producing again", topic, err)
            time.sleep(min(0.1 * pending.failures, 5.0))
            self._produce(pending, topic, key, value)

        while True:
            try:
                self._producer.produce(topic, value=value, key=key, on_delivery=on_delivery)
                return
            except BufferError:
                # The local queue is full: wait for deliveries (backpressure on the MQTT thread).
                self._producer.poll(0.05)

    def _release_completed(self) -> None:
        acks = []
        with self._lock:
            while self._pending and self._pending[0].remaining == 0:
                acks.append(self._pending.popleft().envelope.ack)
        for ack in acks:
            if ack is not None:
                ack()
            self._room.release()

    def _poll_loop(self) -> None:
        while not self._stop.is_set():
            self._producer.poll(0.1)
