"""Distributed mode: hand validated readings to Kafka, and only then acknowledge the MQTT message.

The producer is idempotent with `acks=all`, so a retried produce is written once and a record
is only reported delivered when every in-sync replica has it. Each envelope's readings (keyed
by sensor, so a sensor stays in one partition and in order) and its dead letter are produced;
when the records holding them are delivered the envelope is complete, and complete envelopes
are acknowledged to the broker strictly in arrival order. A produce that fails is produced
again: nothing is acknowledged that Kafka does not have.
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

from pakhuis.codec import KafkaTopics, encode_dead_letter, encode_sensor_readings, sensor_key
from pakhuis.errors import ServiceStartError
from pakhuis.reading import Envelope, Reading
from pakhuis.store.deadletters import DEFAULT_MAX_PAYLOAD_BYTES

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


@dataclass(slots=True)
class _SensorBuffer:
    readings: list[Reading] = field(default_factory=list)
    pendings: list[_Pending] = field(default_factory=list)


class KafkaHandoff:
    """`submit(envelope)` from the MQTT thread; acks flow back as Kafka confirms deliveries.

    Readings of one sensor that arrive within `linger_s` (or until `max_record_readings`) travel
    as one record: an envelope's readings all belong to the sensor in its topic, so each
    envelope waits for exactly one readings record (and its dead letter, if any).
    """

    def __init__(
        self,
        bootstrap: str,
        *,
        client_id: str,
        topics: KafkaTopics,
        max_pending: int = 20_000,
        linger_s: float = 0.005,
        max_record_readings: int = 1000,
        deadletter_max_payload_bytes: int = DEFAULT_MAX_PAYLOAD_BYTES,
    ) -> None:
        self._topics = topics
        # Dead letters travel capped: an oversized message (refused as payload_too_large) would
        # otherwise exceed Kafka's record limit and be produced again forever.
        self._deadletter_max_payload_bytes = deadletter_max_payload_bytes
        self._linger_s = linger_s
        self._max_record_readings = max_record_readings
        self._producer = Producer(
            {
                "bootstrap.servers": bootstrap,
                "client.id": client_id,
                "enable.idempotence": True,
                "acks": "all",
                # Retries are the producer's job (idempotent: no duplicates from them); a record it
                # gives up on is produced again by us.
                "message.timeout.ms": 60_000,
                "linger.ms": 5,
                "compression.type": "lz4",
                "queue.buffering.max.messages": 500_000,
            }
        )
        self._pending: deque[_Pending] = deque()
        self._buffers: dict[bytes, _SensorBuffer] = {}
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
        self._stop.set()
        self._poller.join(5)
        self._flush_buffers()
        self._producer.flush(timeout_s)

    def submit(self, envelope: Envelope) -> None:
        self._room.acquire()
        letter = envelope.dead_letter
        pending = _Pending(envelope, remaining=(1 if envelope.readings else 0) + (1 if letter else 0))
        full: tuple[bytes, _SensorBuffer] | None = None
        with self._lock:
            self._pending.append(pending)
            if envelope.readings:
                first = envelope.readings[0]
                key = sensor_key(first.tenant, first.sensor)
                buffer = self._buffers.setdefault(key, _SensorBuffer())
                buffer.readings.extend(envelope.readings)
                buffer.pendings.append(pending)
                if len(buffer.readings) >= self._max_record_readings:
                    full = (key, self._buffers.pop(key))
        if pending.remaining == 0:
            self._release_completed()
            return
        if full is not None:
            self._produce_readings(*full)
        if letter is not None:
            # Keyed by the MQTT topic: a device's refused messages stay together and in order.
            capped = letter.capped(self._deadletter_max_payload_bytes)
            self._produce(
                [pending], self._topics.deadletter, envelope.topic.encode(), encode_dead_letter(capped)
            )

    # -- internals ---------------------------------------------------------------------------

    def _produce_readings(self, key: bytes, buffer: _SensorBuffer) -> None:
        self._produce(buffer.pendings, self._topics.readings, key, encode_sensor_readings(buffer.readings))

    def _flush_buffers(self) -> None:
        with self._lock:
            buffers, self._buffers = self._buffers, {}
        for key, buffer in buffers.items():
            self._produce_readings(key, buffer)

    def _produce(self, pendings: list[_Pending], topic: str, key: bytes, value: bytes) -> None:
        attempts = 0

        def on_delivery(err: KafkaError | None, msg: Any) -> None:
            nonlocal attempts
            if err is None:
                self.delivered += 1
                with self._lock:
                    for pending in pendings:
                        pending.remaining -= 1
                self._release_completed()
                return
            self.failed += 1
            attempts += 1
            log.warning("Kafka delivery to %s failed (%s); producing again", topic, err)
            time.sleep(min(0.1 * attempts, 5.0))
            self._send(topic, key, value, on_delivery)

        self._send(topic, key, value, on_delivery)

    def _send(self, topic: str, key: bytes, value: bytes, on_delivery: Any) -> None:
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
            self._producer.poll(self._linger_s)
            self._flush_buffers()
