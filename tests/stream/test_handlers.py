"""Poison messages against the real database: quarantined as dead letters, never fatal.

The failure this guards against (issue 11): a native payload whose quantity holds a NUL byte
and whose value is not a number made a refusal reason with a NUL in it; writing that dead
letter failed with DataError, the local runner stopped and the acknowledged message was lost.
"""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta

import pytest

from ingest.decode import decode_message
from pakhuis.quantities import Quantity
from pakhuis.reading import DeadLetter, Envelope, Reading, Rejection
from pakhuis.store import Store
from stream.handlers import PersistHandler
from stream.pipeline import StreamPipeline
from stream.runner import LocalRunner

pytestmark = pytest.mark.integration

NOW = datetime.now(UTC).replace(microsecond=0)
POISON = b'{"time":"2026-11-20T09:30:00Z","quantity":"no2\\u0000","value":"x"}'


def _good(sensor: str, second: int) -> Envelope:
    payload = json.dumps(
        {"time": (NOW - timedelta(seconds=second)).isoformat(), "quantity": "no2", "value": 20.0}
    ).encode()
    topic = f"pakhuis/v1/poison/{sensor}/native"
    return decode_message(topic, payload, NOW)


def _pipeline(store: Store) -> StreamPipeline:
    return StreamPipeline(store, alert_above={}, alert_hourly_mean_above={}, stale_factor=3.0)


def _unstorable_reading(second: int) -> Envelope:
    """A reading the store refuses (a NUL in the sensor id: no decoder makes one, a foreign
    Kafka writer or a bug could) in an envelope with its raw message."""
    bad = Reading("poison", "s\x00", Quantity.NO2, 1.0, NOW - timedelta(seconds=second), NOW, "native")
    return Envelope([bad], topic="pakhuis/v1/poison/s/native", payload=b"raw \x00\xff bytes")


def test_nul_quantity_with_bad_value_is_dead_lettered_not_fatal(store: Store) -> None:
    envelope = decode_message("pakhuis/v1/poison/s1/native", POISON, NOW)
    assert envelope.dead_letter is not None and "\x00" not in envelope.dead_letter.reason
    outcome = PersistHandler(store)([envelope])
    assert outcome.dead_letters == 1
    [row] = store.dead_letters()
    assert row["payload"] == POISON
    assert row["reason_code"] == "bad_value" and "no2\\x00" in row["reason"]
    assert row["tenant"] == "poison"


def test_a_dead_letter_the_store_refuses_is_kept_with_its_raw_bytes(store: Store) -> None:
    # Built around the cleaning: a dead letter whose text still holds a NUL (as one decoded
    # from an old Kafka record could) — the last defence writes raw bytes + a generic reason.
    letter = DeadLetter("t", b"\x00raw", "native", (Rejection("x", "y"),), NOW, tenant="poison")
    object.__setattr__(letter, "topic", "top\x00ic")  # cleaned again by the writer
    object.__setattr__(letter, "tenant", "poi\x00son")  # refused by the database
    outcome = PersistHandler(store)([Envelope([], letter, topic="top\x00ic", payload=b"\x00raw")])
    assert outcome.dead_letters == 1
    [row] = store.dead_letters()
    assert row["payload"] == b"\x00raw" and row["topic"] == "top\\x00ic"
    assert row["reason_code"] == "unstorable" and "NUL" in row["reason"]
    assert row["tenant"] is None


def test_unsendable_text_is_a_refusal_not_a_crash(store: Store) -> None:
    # A lone surrogate cannot even be encoded by the driver (UnicodeEncodeError, not a
    # psycopg error): the store reports it as a refusal and the message is dead-lettered.
    bad = Reading("poison", "s\ud800", Quantity.NO2, 1.0, NOW, NOW, "native")
    envelope = Envelope([bad], topic="pakhuis/v1/poison/s/native", payload=b"p")
    outcome = PersistHandler(store)([_good("ok-1", 1), envelope, _good("ok-2", 2)])
    assert (outcome.readings, outcome.dead_letters) == (2, 1)
    [row] = store.dead_letters()
    assert row["reason_code"] == "store_rejected" and "UnicodeEncodeError" in row["reason"]


@pytest.mark.parametrize("bad_positions", [[0], [7], [31], [3, 4, 20], list(range(0, 32, 5))])
def test_bisect_isolates_refused_messages_and_stores_the_rest(store: Store, bad_positions: list[int]) -> None:
    batch = [_unstorable_reading(i) if i in bad_positions else _good(f"ok-{i}", i) for i in range(32)]
    persisted = PersistHandler(store).persist(batch)
    good = 32 - len(bad_positions)
    assert persisted.refused == len(bad_positions)
    assert (persisted.result.readings, persisted.result.inserted) == (good, good)
    assert len(persisted.stored) == good
    assert store.count_observations() == good
    rows = store.dead_letters(limit=100)
    assert len(rows) == len(bad_positions)
    assert {r["payload"] for r in rows} == {b"raw \x00\xff bytes"}
    assert all(r["reason_code"] == "store_rejected" for r in rows)


def test_local_runner_survives_a_poison_message_in_the_middle(store: Store) -> None:
    pipeline = _pipeline(store)
    runner = LocalRunner(pipeline, max_messages=50, max_seconds=0.05)
    acked: list[int] = []
    envelopes = [_good(f"run-{i}", i) for i in range(200)]
    envelopes[100] = decode_message("pakhuis/v1/poison/s1/native", POISON, NOW)
    envelopes[101] = _unstorable_reading(101)
    for i, envelope in enumerate(envelopes):
        envelope.ack = lambda i=i: acked.append(i)

    async def scenario() -> None:
        task = asyncio.create_task(runner.run())
        for envelope in envelopes:
            await runner.submit(envelope)
        deadline = asyncio.get_running_loop().time() + 30
        while len(acked) < len(envelopes) and asyncio.get_running_loop().time() < deadline:
            assert not task.done(), "the runner stopped"
            await asyncio.sleep(0.05)
        runner.stop()
        await asyncio.wait_for(task, 10)

    asyncio.run(scenario())
    assert sorted(acked) == list(range(200)), "every message acknowledged once"
    assert store.count_observations() == 198
    assert runner.stats.dead_letters == 2
    assert {r["payload"] for r in store.dead_letters()} == {POISON, b"raw \x00\xff bytes"}


def test_sweep_runs_the_retention_job_at_most_hourly(store: Store) -> None:
    def letters(age_days: float) -> list[DeadLetter]:
        received = NOW - timedelta(days=age_days)
        return [DeadLetter("t", b"", "native", (Rejection("x", "y"),), received) for _ in range(3)]

    store.write_batch([], letters(31) + letters(1))
    pipeline = StreamPipeline(
        store, alert_above={}, alert_hourly_mean_above={}, stale_factor=3.0, deadletter_retention_days=30
    )
    pipeline.sweep(NOW)
    assert pipeline.purged == 3 and len(store.dead_letters()) == 3
    store.write_batch([], letters(31))
    pipeline.sweep(NOW + timedelta(minutes=10))  # within the hour: not again
    assert len(store.dead_letters()) == 6
    pipeline.sweep(NOW + timedelta(hours=1))
    assert pipeline.purged == 6 and len(store.dead_letters()) == 3
