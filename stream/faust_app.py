"""The Faust shell (distributed mode): agents on Kafka around the same handlers as the local runner.

- `persist` consumes pakhuis.readings in batches (`stream.take(N, within=T)`) and runs the
  StreamPipeline: idempotent COPY writes, latest values, rollups, alerts, live aggregates. Faust
  acknowledges (commits) the batch's offsets only after the agent has processed it, so delivery
  is at least once and the idempotent writes make it exactly once in the database.
- `deadletters` stores pakhuis.deadletter records.
- A leader-only timer sweeps for stale sensors.
Alerts go to pakhuis.alerts and closed one-minute windows to pakhuis.live.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import faust

from pakhuis.codec import (
    KafkaTopics,
    decode_dead_letter,
    decode_sensor_readings,
    encode_alert,
    sensor_key,
)
from pakhuis.reading import DeadLetter, Envelope, Reading, Rejection
from pakhuis.store import WriteResult
from stream.pipeline import PipelineOutcome, StreamPipeline
from stream.retry import call_with_retry

log = logging.getLogger(__name__)

_NO_WRITE = WriteResult(0, 0, 0)


def _decode_readings(values: list[bytes], source: str) -> tuple[list[Reading], list[DeadLetter]]:
    readings: list[Reading] = []
    refused: list[DeadLetter] = []
    for value in values:
        try:
            readings.extend(decode_sensor_readings(value))
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            # Only our own producer writes this topic, so this is a bug or a foreign writer:
            # keep the record, say why, and go on.
            refused.append(
                DeadLetter(
                    topic=f"kafka:{source}",
                    payload=bytes(value),
                    decoder="kafka-reading",
                    rejections=(Rejection("bad_kafka_record", f"not a pakhuis reading record: {exc}"),),
                    received=datetime.now(UTC),
                )
            )
    return readings, refused


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
) -> faust.App:
    app = faust.App(
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

    def topic(name: str) -> faust.TopicT:
        return app.topic(name, key_type=bytes, value_type=bytes, partitions=partitions)

    readings_topic = topic(topics.readings)
    deadletter_topic = topic(topics.deadletter)
    alerts_topic = topic(topics.alerts)
    live_topic = topic(topics.live)

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
            readings, refused = _decode_readings(list(values), topics.readings)
            for start in range(0, max(len(readings), 1), batch_max_readings):
                chunk = [Envelope(readings[start : start + batch_max_readings])]
                if start == 0:
                    chunk += [Envelope([], letter) for letter in refused]
                outcome = await call_with_retry(pipeline, chunk, what=f"{len(values)} Kafka records")
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
