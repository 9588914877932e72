"""The Faust agents (distributed mode) around the real store, driven with `agent.test_context()`.

No Kafka is involved: test_context feeds the agent through an in-memory channel. The readings
used here neither cross an alert threshold nor close a one-minute live window, so the agents
have nothing to publish to the alerts / live topics (which would need a Kafka producer).
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import faust
import pytest

from pakhuis.codec import (
    KafkaTopics,
    decode_dead_letter,
    encode_dead_letter,
    encode_sensor_readings,
    sensor_key,
)
from pakhuis.quantities import Quantity
from pakhuis.reading import DeadLetter, Reading, Rejection
from pakhuis.store import Store
from stream.faust_app import create_faust_app
from stream.pipeline import StreamPipeline

pytestmark = pytest.mark.integration

REPO_ROOT = Path(__file__).resolve().parents[2]

T = TypeVar("T")
MINUTE = datetime(2026, 11, 20, 9, 30, tzinfo=UTC)
RECEIVED = MINUTE + timedelta(minutes=1)


def _app(store: Store, tmp_path: Path, **options: Any) -> tuple[faust.App, KafkaTopics]:
    pipeline = StreamPipeline(
        store,
        alert_above={"fill_level": 80.0},
        alert_hourly_mean_above={"no2": 200.0},
        stale_factor=3.0,
    )
    topics = KafkaTopics("t" + uuid.uuid4().hex[:12])
    app = create_faust_app(
        pipeline,
        bootstrap="127.0.0.1:9092",
        partitions=4,
        datadir=tmp_path,
        topics=topics,
        batch_max_seconds=0.2,
        **options,
    )
    return app, topics


def _agent(app: faust.App, name: str) -> Any:
    agents: dict[str, Any] = app.pakhuis_agents  # type: ignore[attr-defined]
    return agents[name]


def _run(coro: Coroutine[Any, Any, T], timeout: float = 60.0) -> T:
    return asyncio.run(asyncio.wait_for(coro, timeout))


async def _eventually(probe: Callable[[], T], done: Callable[[T], bool], timeout: float = 10.0) -> T:
    """Poll a (blocking) store query off the event loop until `done`; return the last value."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        value = await asyncio.to_thread(probe)
        if done(value) or asyncio.get_running_loop().time() > deadline:
            return value
        await asyncio.sleep(0.05)


def _records(readings: list[Reading], per_record: int) -> list[tuple[bytes, bytes]]:
    """(key, value) records as ingest produces them: one sensor's readings per record."""
    by_sensor: dict[tuple[str, str], list[Reading]] = {}
    for r in readings:
        by_sensor.setdefault((r.tenant, r.sensor), []).append(r)
    records = []
    for (tenant, sensor), group in by_sensor.items():
        for i in range(0, len(group), per_record):
            records.append((sensor_key(tenant, sensor), encode_sensor_readings(group[i : i + per_record])))
    return records


def _reading(
    sensor: str, quantity: Quantity, second: int, value: float, tenant: str = "castricum"
) -> Reading:
    # every reading of a sensor and quantity lies in one minute: no live window closes
    return Reading(tenant, sensor, quantity, value, MINUTE + timedelta(seconds=second), RECEIVED, "native")


@pytest.mark.parametrize("batch_max_readings", [5000, 4])
def test_persist_stores_each_reading_once_even_when_put_twice(
    store: Store, tmp_path: Path, batch_max_readings: int
) -> None:
    app, _ = _app(store, tmp_path, batch_max_readings=batch_max_readings)
    readings = [
        *(_reading("kolk-1", Quantity.FILL_LEVEL, s, 40.0 + s / 5) for s in range(0, 50, 5)),
        *(_reading("kolk-2", Quantity.FILL_LEVEL, s, 79.0) for s in range(0, 50, 5)),
        *(_reading("no2-1", Quantity.NO2, s, 20.0 + s, tenant="haarlem") for s in range(0, 50, 5)),
    ]
    records = _records(readings, per_record=3)
    assert len(records) == 12
    sentinel = _records([_reading("kolk-3", Quantity.FILL_LEVEL, 59, 1.0)], per_record=1)

    async def scenario() -> tuple[int, int]:
        async with _agent(app, "persist").test_context() as agent:
            for key, value in records:
                await agent.put(value, key=key)
            first = await _eventually(store.count_observations, lambda n: n >= len(readings))
            # redelivered: every record once more, then one new record behind them
            for key, value in [*records, *sentinel]:
                await agent.put(value, key=key)
            stored = await _eventually(
                lambda: store.observations(sensor="kolk-3"), lambda rows: len(rows) == 1
            )
            assert len(stored) == 1, "the record behind the duplicates was never stored"
            return first, await asyncio.to_thread(store.count_observations)

    first, after = _run(scenario())
    assert first == len(readings) == 30
    assert after == len(readings) + 1
    rows = store.observations(limit=100)
    assert sorted((r["tenant"], r["sensor"], r["time"], r["value"]) for r in rows) == sorted(
        [(r.tenant, r.sensor, r.time, r.value) for r in readings]
        + [("castricum", "kolk-3", MINUTE + timedelta(seconds=59), 1.0)]
    )
    assert all(r["received"] == RECEIVED and r["source_format"] == "native" for r in rows)
    latest = {(r["sensor"], r["quantity"]): r["value"] for r in store.latest()}
    assert latest[("kolk-1", "fill_level")] == 49.0 and latest[("no2-1", "no2")] == 65.0
    assert store.dead_letters() == []
    assert store.alerts() == []


@pytest.mark.parametrize(
    "corrupt",
    [
        b"\x00\xff not a record",  # not JSON, not UTF-8
        b'{"tenant": "castricum", "sensor": "kolk-1"}',  # no readings
        b'{"tenant":"t","sensor":"s","r":[["ozone",1,"2026-11-20T09:30:00+00:00",null,'
        b'"2026-11-20T09:30:00+00:00","raw","native"]]}',  # unknown quantity
        b'{"tenant":"t","sensor":"s","r":[["no2",1,"2026-11-20T09:30:00"]]}',  # short row
        b'{"tenant":"t","sensor":"s","r":[["no2",1,"2026-11-20T09:30:00",null,'
        b'"2026-11-20T09:30:00","raw","native"]]}',  # no UTC offset
        b"null",  # JSON, but not an object
        b"[1, 2, 3]",
    ],
)
def test_corrupt_reading_record_becomes_a_dead_letter(store: Store, tmp_path: Path, corrupt: bytes) -> None:
    app, topics = _app(store, tmp_path)
    good = [
        _reading("kolk-1", Quantity.FILL_LEVEL, 1, 50.0),
        _reading("kolk-1", Quantity.FILL_LEVEL, 2, 51.0),
    ]

    async def scenario() -> list[dict[str, Any]]:
        async with _agent(app, "persist").test_context() as agent:
            await agent.put(encode_sensor_readings([good[0]]), key=b"castricum/kolk-1")
            await agent.put(corrupt, key=b"castricum/kolk-1")
            await agent.put(encode_sensor_readings([good[1]]), key=b"castricum/kolk-1")
            return await _eventually(
                store.dead_letters,
                lambda letters: len(letters) >= 1 and store.count_observations() >= 2,
            )

    letters = _run(scenario())
    assert len(letters) == 1
    letter = letters[0]
    assert letter["reason_code"] == "bad_kafka_record"
    assert letter["topic"] == f"kafka:{topics.readings}"
    assert letter["decoder"] == "kafka-reading"
    assert bytes(letter["payload"]) == corrupt
    assert letter["payload_bytes"] == len(corrupt)
    assert letter["tenant"] is None
    assert "not a pakhuis reading record" in letter["reason"]
    assert letter["details"] == [{"item": None, "code": "bad_kafka_record", "reason": letter["reason"]}]
    # one bad record does not hold back the good ones around it
    assert [r["value"] for r in store.observations(sensor="kolk-1")] == [50.0, 51.0]


def _letter(topic: str, payload: bytes, code: str, tenant: str | None = "velsen") -> DeadLetter:
    return DeadLetter(
        topic=topic,
        payload=payload,
        decoder="native",
        rejections=(
            Rejection(code, f"{code}: refused by the test", None),
            Rejection("out_of_range", "item two", 2),
        ),
        received=datetime(2026, 11, 20, 9, 31, 12, 345678, tzinfo=UTC),
        tenant=tenant,
    )


def test_deadletters_agent_stores_dead_letter_records(store: Store, tmp_path: Path) -> None:
    app, _ = _app(store, tmp_path)
    letters = [
        _letter("pakhuis/v1/velsen/kolk-9/native", b"\xff\xfe\x00\x80 binary", "bad_json"),
        _letter("garbage", b"", "bad_topic", tenant=None),
    ]

    async def scenario() -> list[dict[str, Any]]:
        async with _agent(app, "deadletters").test_context() as agent:
            for letter in letters:
                await agent.put(encode_dead_letter(letter), key=letter.topic.encode())
            return await _eventually(store.dead_letters, lambda rows: len(rows) >= 2)

    stored = _run(scenario())
    assert len(stored) == 2
    by_topic = {row["topic"]: row for row in stored}
    for letter in letters:
        row = by_topic[letter.topic]
        assert bytes(row["payload"]) == letter.payload
        assert row["reason_code"] == letter.reason_code
        assert row["reason"] == letter.reason
        assert row["tenant"] == letter.tenant
        assert row["decoder"] == "native"
        assert row["received"] == letter.received
        assert row["details"] == [
            {
                "item": None,
                "code": letter.reason_code,
                "reason": f"{letter.reason_code}: refused by the test",
            },
            {"item": 2, "code": "out_of_range", "reason": "item two"},
        ]
    assert store.count_observations() == 0
    assert [r["topic"] for r in store.dead_letters(reason="out_of_range")] != []


def test_deadletters_agent_survives_a_corrupt_record(store: Store, tmp_path: Path) -> None:
    """A record on the dead-letter topic that is not a dead letter must not stop the agent:
    the dead letters before and after it are stored, and its raw bytes are kept too."""
    app, _ = _app(store, tmp_path)
    before = _letter("pakhuis/v1/velsen/kolk-1/native", b"{1", "bad_json")
    after = _letter("pakhuis/v1/velsen/kolk-2/native", b"{2", "bad_json")
    corrupt = b"\x00 not a dead letter"

    async def scenario() -> list[dict[str, Any]]:
        async with _agent(app, "deadletters").test_context() as agent:
            await agent.put(encode_dead_letter(before), key=b"a")
            await agent.put(corrupt, key=b"b")
            await asyncio.sleep(0.5)  # the first batch is taken
            await agent.put(encode_dead_letter(after), key=b"c")
            return await _eventually(store.dead_letters, lambda rows: len(rows) >= 3, timeout=5.0)

    try:
        stored = _run(scenario())
    except Exception as exc:  # noqa: BLE001 - a crashed agent surfaces here; the store is what counts
        stored = store.dead_letters()
        crashed: BaseException | None = exc
    else:
        crashed = None
    payloads = sorted(bytes(row["payload"]) for row in stored)
    assert payloads == sorted([b"{1", b"{2", corrupt]), f"stored {payloads}; agent error: {crashed!r}"


class _BuggyPipeline(StreamPipeline):
    """The real pipeline with a bug that one sensor's readings trigger (a stand-in for the
    failure nobody foresaw: data errors never reach the agent, the store dead-letters them)."""

    calls = 0

    def __call__(self, batch: Any) -> Any:
        type(self).calls += 1
        if any(r.sensor == "boom" for envelope in batch for r in envelope.readings):
            raise RuntimeError("bug triggered by sensor boom")
        return super().__call__(batch)


def test_a_record_that_keeps_failing_is_quarantined_and_the_partition_moves_on(
    store: Store, tmp_path: Path
) -> None:
    pipeline = _BuggyPipeline(store, alert_above={}, alert_hourly_mean_above={}, stale_factor=3.0)
    quarantined: list[DeadLetter] = []

    async def quarantine(letter: DeadLetter) -> None:
        quarantined.append(letter)

    topics = KafkaTopics("t" + uuid.uuid4().hex[:12])
    app = create_faust_app(
        pipeline,
        bootstrap="127.0.0.1:9092",
        partitions=4,
        datadir=tmp_path,
        topics=topics,
        batch_max_seconds=0.2,
        poison_attempts=2,
        quarantine=quarantine,
    )
    good = [_reading(f"kolk-{i}", Quantity.FILL_LEVEL, i, 10.0) for i in range(8)]
    poison = encode_sensor_readings([_reading("boom", Quantity.FILL_LEVEL, 9, 10.0)])
    # a record the store refuses (a NUL in its quantity-free text: source format), between them
    refused = encode_sensor_readings([_reading("kolk-x", Quantity.FILL_LEVEL, 3, 10.0)]).replace(
        b'"native"', b'"nat\\u0000ive"'
    )

    async def scenario() -> int:
        async with _agent(app, "persist").test_context() as agent:
            for i, reading in enumerate(good):
                if i == 4:
                    await agent.put(poison, key=b"castricum/boom")
                    await agent.put(refused, key=b"castricum/kolk-x")
                await agent.put(
                    encode_sensor_readings([reading]), key=sensor_key("castricum", reading.sensor)
                )
            return await _eventually(store.count_observations, lambda n: n >= len(good) and quarantined != [])

    assert _run(scenario()) == len(good)
    [letter] = quarantined
    assert letter.payload == poison and letter.reason_code == "stream_failed"
    assert "RuntimeError: bug triggered by sensor boom" in letter.reason and letter.tenant == "castricum"
    [row] = store.dead_letters()
    assert bytes(row["payload"]) == refused and row["reason_code"] == "store_rejected"
    assert row["topic"] == f"kafka:{topics.readings}"


def test_an_unavailable_database_is_waited_out_not_quarantined(tmp_path: Path) -> None:
    from pakhuis.store import Store as RealStore

    quarantined: list[DeadLetter] = []

    async def quarantine(letter: DeadLetter) -> None:
        quarantined.append(letter)

    # nothing listens on port 1: every write is StoreUnavailable
    down = RealStore("postgresql://pakhuis@127.0.0.1:1/pakhuis", acquire_timeout_s=0.2)
    pipeline = StreamPipeline(down, alert_above={}, alert_hourly_mean_above={}, stale_factor=3.0)
    topics = KafkaTopics("t" + uuid.uuid4().hex[:12])
    app = create_faust_app(
        pipeline, bootstrap="127.0.0.1:9092", partitions=1, datadir=tmp_path, topics=topics,
        batch_max_seconds=0.1, poison_attempts=1, quarantine=quarantine,
    )  # fmt: skip

    async def scenario() -> None:
        async with _agent(app, "persist").test_context() as agent:
            await agent.put(
                encode_sensor_readings([_reading("kolk-1", Quantity.FILL_LEVEL, 1, 1.0)]), key=b"k"
            )
            await asyncio.sleep(2.0)

    _run(scenario())
    assert quarantined == [], "an outage is retried, never quarantined"


@pytest.mark.distributed
def test_worker_on_real_kafka_moves_past_poison_records(distributed: Any, tmp_path: Path) -> None:
    """A `pakhuis stream worker` on the real Kafka: records it cannot read, records the database
    refuses and dead letters whose text PostgreSQL refuses, between good ones: every good
    reading stored, every poison record kept as a dead letter, the worker still running."""
    from confluent_kafka import Producer

    from ingest.kafka import ensure_topics
    from tests.support import pakhuis_command, running, service_env, wait_for

    prefix = f"t{uuid.uuid4().hex[:10]}"
    topics = KafkaTopics(prefix)
    database_url = distributed.database.new_database()
    ensure_topics(distributed.kafka, 2, topics)
    env = service_env(
        distributed.broker,
        database_url,
        PAKHUIS_KAFKA_URL=distributed.kafka,
        PAKHUIS_KAFKA_PREFIX=prefix,
        PAKHUIS_KAFKA_PARTITIONS="2",
        PAKHUIS_DATA_DIR=str(tmp_path / "data"),
    )
    good = [_reading(f"kolk-{i}", Quantity.FILL_LEVEL, i, 10.0) for i in range(20)]
    refused = encode_sensor_readings([_reading("kolk-x", Quantity.FILL_LEVEL, 3, 1.0)]).replace(
        b'"native"', b'"nat\\u0000ive"'
    )
    poison_letter = encode_dead_letter(
        DeadLetter("pakhuis/v1/castricum/s/native", b"\x00", "native", (Rejection("x", "y"),), RECEIVED)
    ).replace(b'"reason":"y"', b'"reason":"y\\u0000\\ud800"')
    producer = Producer({"bootstrap.servers": distributed.kafka, "enable.idempotence": True})
    for i, reading in enumerate(good):
        if i == 10:
            producer.produce(topics.readings, key=b"castricum/kolk-x", value=refused)
            producer.produce(topics.readings, key=b"castricum/bad", value=b"\x00\xff not a record")
            producer.produce(topics.deadletter, key=b"x", value=poison_letter)
        producer.produce(
            topics.readings,
            key=sensor_key("castricum", reading.sensor),
            value=encode_sensor_readings([reading]),
        )
    assert producer.flush(30) == 0
    with (
        Store(database_url) as store,
        running(
            pakhuis_command("stream", "worker", "--id", "w1"), env, REPO_ROOT, tmp_path / "worker.log"
        ) as proc,
    ):
        wait_for(
            lambda: store.count_observations() >= len(good) and len(store.dead_letters()) >= 3,
            120,
            "the records",
        )
        assert proc.poll() is None, (tmp_path / "worker.log").read_text()[-3000:]
        letters = {r["reason_code"]: r for r in store.dead_letters()}
    assert store_count(database_url) == len(good)
    assert bytes(letters["store_rejected"]["payload"]) == refused
    assert bytes(letters["bad_kafka_record"]["payload"]) == b"\x00\xff not a record"
    assert letters["x"]["reason"] == "y\\x00\ufffd" and bytes(letters["x"]["payload"]) == b"\x00"


def store_count(database_url: str) -> int:
    with Store(database_url) as store:
        return store.count_observations()


@pytest.mark.distributed
def test_quarantined_record_is_produced_to_the_real_dead_letter_topic(
    distributed: Any, store: Store, tmp_path: Path
) -> None:
    """The default quarantine: the record the stream keeps failing on is produced to
    <prefix>.deadletter on the real Kafka (and awaited), the records behind it are stored."""
    from confluent_kafka import Consumer

    from ingest.kafka import ensure_topics

    topics = KafkaTopics("t" + uuid.uuid4().hex[:12])
    ensure_topics(distributed.kafka, 1, topics)
    pipeline = _BuggyPipeline(store, alert_above={}, alert_hourly_mean_above={}, stale_factor=3.0)
    app = create_faust_app(
        pipeline, bootstrap=distributed.kafka, partitions=1, datadir=tmp_path, topics=topics,
        batch_max_seconds=0.2, poison_attempts=2,
    )  # fmt: skip
    poison = encode_sensor_readings([_reading("boom", Quantity.FILL_LEVEL, 9, 10.0)])
    after = _reading("kolk-1", Quantity.FILL_LEVEL, 1, 10.0)

    async def scenario() -> int:
        await app.producer.start()
        try:
            async with _agent(app, "persist").test_context() as agent:
                await agent.put(poison, key=b"castricum/boom")
                await agent.put(encode_sensor_readings([after]), key=b"castricum/kolk-1")
                return await _eventually(store.count_observations, lambda n: n >= 1, timeout=30)
        finally:
            await app.producer.stop()

    assert _run(scenario()) == 1
    consumer = Consumer(
        {
            "bootstrap.servers": distributed.kafka,
            "group.id": f"g{uuid.uuid4().hex}",
            "auto.offset.reset": "earliest",
        }
    )
    consumer.subscribe([topics.deadletter])
    try:
        message = consumer.poll(30)
        assert message is not None and message.error() is None
        value = message.value()
        assert value is not None
        letter = decode_dead_letter(value)
    finally:
        consumer.close()
    assert letter.payload == poison and letter.reason_code == "stream_failed"
    assert letter.topic == f"kafka:{topics.readings}"
