"""The Faust shell (distributed mode): agents on Kafka around the same handlers as the local runner.

- `persist` consumes pakhuis.readings in batches (`stream.take(N, within=T)`) and runs the
  StreamPipeline: idempotent COPY writes, latest values, rollups, alerts, live aggregates. Faust
  acknowledges (commits) the batch's offsets only after the agent has processed it, so delivery
  is at least once and the idempotent writes make it exactly once in the database.
  Data never stops it: records the store refuses become dead letters (`PersistHandler`); a
  record the stream keeps failing on (a bug it triggers) is produced to pakhuis.deadletter
  after `poison_attempts` tries and the partition moves on (`stream.poison`); only an
  unavailable database is waited out.
- `deadletters` stores pakhuis.deadletter records.
- A leader-only timer sweeps for stale sensors and runs the dead-letter retention.
Alerts go to pakhuis.alerts and closed one-minute windows to pakhuis.live.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import faust

from pakhuis.codec import (
    KafkaTopics,
    decode_dead_letter,
    decode_sensor_readings,
    encode_alert,
    encode_dead_letter,
    sensor_key,
)
from pakhuis.reading import DeadLetter, Envelope, Rejection
from pakhuis.store import WriteResult
from stream.pipeline import PipelineOutcome, StreamPipeline
from stream.poison import run_isolating
from stream.retry import call_with_retry

log = logging.getLogger(__name__)

_NO_WRITE = WriteResult(0, 0, 0)


def _decode_records(values: list[bytes], source: str) -> list[Envelope]:
    """One envelope per record, with the record's bytes: a record the store refuses (or that
    fails the stream) is dead-lettered alone, as it was on the topic."""
    envelopes: list[Envelope] = []
    for value in values:
        raw = bytes(value)
        try:
            envelopes.append(Envelope(decode_sensor_readings(raw), topic=f"kafka:{source}", payload=raw))
        except (ValueError, KeyError, TypeError, AttributeError, RecursionError) as exc:
            # Only our own producer writes this topic, so this is a bug or a foreign writer:
            # keep the record, say why, and go on.
            letter = DeadLetter(
                topic=f"kafka:{source}",
                payload=raw,
                decoder="kafka-reading",
                rejections=(Rejection("bad_kafka_record", f"not a pakhuis reading record: {exc}"),),
                received=datetime.now(UTC),
            )
            envelopes.append(Envelope([], letter, topic=letter.topic, payload=raw))
    return envelopes


def _chunks(envelopes: list[Envelope], max_readings: int) -> list[list[Envelope]]:
    """Consecutive envelopes, at most `max_readings` readings a chunk (a bigger record alone)."""
    chunks: list[list[Envelope]] = []
    current: list[Envelope] = []
    count = 0
    for envelope in envelopes:
        if current and count + len(envelope.readings) > max_readings:
            chunks.append(current)
            current, count = [], 0
        current.append(envelope)
        count += len(envelope.readings)
    if current:
        chunks.append(current)
    return chunks


def _stream_failed(envelope: Envelope, exc: BaseException, attempts: int) -> DeadLetter:
    tenant = envelope.readings[0].tenant if envelope.readings else None
    return DeadLetter(
        topic=envelope.topic,
        payload=envelope.payload,
        decoder="kafka-reading",
        rejections=(
            Rejection(
                "stream_failed",
                f"the stream failed on this record {attempts} times: {type(exc).__name__}: {exc}"[:500],
            ),
        ),
        received=datetime.now(UTC),
        tenant=tenant,
    )


def _decode_dead_letter(value: bytes, source: str) -> DeadLetter:
    try:
        return decode_dead_letter(value)
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        # Keep even a record we cannot read: its bytes go to the store with the reason.
        return DeadLetter(
            topic=f"kafka:{source}",
            payload=bytes(value),
            decoder="kafka-deadletter",
            rejections=(Rejection("bad_kafka_record", f"not a pakhuis dead-letter record: {exc}"),),
            received=datetime.now(UTC),
        )


def _new_app(topics: KafkaTopics, *, bootstrap: str, partitions: int, datadir: Path) -> faust.App:
    return faust.App(
        topics.app_id,
        broker=[f"kafka://{server}" for server in bootstrap.split(",")],
        store="memory://",
        datadir=str(datadir),
        key_serializer="raw",
        value_serializer="raw",
        topic_partitions=partitions,
        # Workers may share a host: no web server, so no port clashes.
        web_enabled=False,
        producer_acks=-1,
        consumer_auto_offset_reset="earliest",
        # A worker that dies (SIGKILL, node loss) is noticed within 10 s and its partitions move
        # to the others; Kafka's default would leave them idle for up to a minute.
        broker_session_timeout=10.0,
        broker_heartbeat_interval=2.0,
        stream_wait_empty=False,
    )


def create_faust_app(
    pipeline: StreamPipeline,
    *,
    bootstrap: str,
    partitions: int,
    datadir: Path,
    topics: KafkaTopics,
    batch_max_readings: int = 5000,
    batch_max_records: int = 500,
    batch_max_seconds: float = 1.0,
    stale_check_s: float = 30.0,
    poison_attempts: int = 3,
    quarantine: Callable[[DeadLetter], Awaitable[None]] | None = None,
) -> faust.App:
    """The Faust app; `quarantine` receives a record the stream failed on `poison_attempts`
    times (default: produced to the dead-letter topic, and awaited until Kafka has it)."""
    app = _new_app(topics, bootstrap=bootstrap, partitions=partitions, datadir=datadir)

    def topic(name: str) -> faust.TopicT:
        return app.topic(name, key_type=bytes, value_type=bytes, partitions=partitions)

    readings_topic = topic(topics.readings)
    deadletter_topic = topic(topics.deadletter)
    alerts_topic = topic(topics.alerts)
    live_topic = topic(topics.live)

    async def to_deadletter_topic(letter: DeadLetter) -> None:
        # Awaiting the send's future waits for Kafka's acknowledgement: the record's offset is
        # committed only after its dead letter is safe.
        sent = await deadletter_topic.send(key=letter.topic.encode(), value=encode_dead_letter(letter))
        await sent

    sink = quarantine if quarantine is not None else to_deadletter_topic

    async def poisoned(envelope: Envelope, exc: BaseException) -> None:
        log.error("quarantining a record of %s after %d failures: %r", envelope.topic, poison_attempts, exc)
        await sink(_stream_failed(envelope, exc, poison_attempts))

    async def publish(outcome: PipelineOutcome) -> None:
        for alert in outcome.alerts:
            await alerts_topic.send(key=sensor_key(alert.tenant, alert.sensor), value=encode_alert(alert))
        for window in outcome.live:
            await live_topic.send(
                key=sensor_key(window.tenant, window.sensor),
                value=faust.serializers.codecs.dumps("json", window.to_dict()),
            )

    @app.agent(readings_topic, name="persist")
    async def persist(stream: faust.StreamT[bytes]) -> Any:
        # A record holds one sensor's readings from one or more messages; batches are cut
        # into pipeline calls of at most batch_max_readings readings.
        async for values in stream.take(batch_max_records, within=batch_max_seconds):
            envelopes = _decode_records(list(values), topics.readings)
            for chunk in _chunks(envelopes, batch_max_readings):
                outcome = await run_isolating(
                    pipeline, chunk, poisoned, attempts=poison_attempts, what=f"{len(chunk)} Kafka records"
                )
                await publish(outcome)

    @app.agent(deadletter_topic, name="deadletters")
    async def deadletters(stream: faust.StreamT[bytes]) -> Any:
        async for values in stream.take(500, within=batch_max_seconds):
            batch = [Envelope([], _decode_dead_letter(value, topics.deadletter)) for value in values]
            await call_with_retry(pipeline.persist, batch, what=f"{len(batch)} dead letters")

    @app.timer(stale_check_s, on_leader=True)  # type: ignore[untyped-decorator]
    async def staleness() -> None:
        alerts = await call_with_retry(pipeline.sweep, datetime.now(UTC), what="staleness sweep")
        await publish(PipelineOutcome(write=_NO_WRITE, alerts=alerts))

    app.pakhuis_agents = {"persist": persist, "deadletters": deadletters}  # type: ignore[attr-defined]
    return app
