"""The local runner's batching and acknowledgement contract, and the persist handler on a real store.

The runner tests drive `stream.LocalRunner` with plain-function handlers (no database) so every
call and every ack can be observed; the handler tests write through `stream.PersistHandler`
into the real PostgreSQL of each backend.
"""

from __future__ import annotations

import asyncio
import functools
import threading
import time
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import pytest

from pakhuis.errors import StoreUnavailable
from pakhuis.quantities import Quantity
from pakhuis.reading import DeadLetter, Envelope, Reading, Rejection
from pakhuis.store import Store
from stream import LocalRunner, PersistHandler, PersistOutcome

T0 = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)
RECEIVED = datetime(2026, 11, 22, 10, 1, tzinfo=UTC)

R = TypeVar("R")


def _run(coro: Coroutine[Any, Any, R], timeout: float = 20.0) -> R:
    return asyncio.run(asyncio.wait_for(coro, timeout))


def _reading(
    sensor: str = "s1",
    seconds: int = 0,
    value: float = 1.0,
    tenant: str = "t",
    quantity: Quantity = Quantity.NO2,
) -> Reading:
    return Reading(
        tenant=tenant,
        sensor=sensor,
        quantity=quantity,
        value=value,
        time=T0 + timedelta(seconds=seconds),
        received=RECEIVED,
        source_format="native",
    )


class Recorder:
    """A plain handler that records batches and, through `ack`, the order of acknowledgements."""

    def __init__(self) -> None:
        self.events: list[tuple[str, int]] = []
        self.batches: list[list[int]] = []
        self.acked: set[int] = set()
        self.acked_during_handler: list[int] = []
        self.lock = threading.Lock()
        self.fail_times = 0
        self.calls = 0
        self.call_times: list[float] = []

    def envelope(self, ident: int, readings: int = 1, dead: bool = False) -> Envelope:
        rows = [_reading(seconds=ident * 100_000 + i) for i in range(readings)]
        letter = None
        if dead:
            letter = DeadLetter(
                topic=f"topic/{ident}",
                payload=b"x",
                decoder="native",
                rejections=(Rejection("bad_json", "nope"),),
                received=RECEIVED,
                tenant="t",
            )

        def ack() -> None:
            with self.lock:
                assert ident not in self.acked, f"envelope {ident} acknowledged twice"
                self.acked.add(ident)
                self.events.append(("ack", ident))

        return Envelope(rows, letter, topic=f"topic/{ident}", payload=b"p%d" % ident, ack=ack)

    def __call__(self, batch: list[Envelope]) -> PersistOutcome:
        idents = [int(e.topic.split("/")[1]) for e in batch]
        with self.lock:
            self.calls += 1
            self.call_times.append(time.monotonic())
            self.acked_during_handler.extend(i for i in idents if i in self.acked)
            self.events.append(("handle", len(batch)))
            if self.calls <= self.fail_times:
                raise StoreUnavailable("the database at test is unreachable: OperationalError")
            self.batches.append(idents)
        readings = sum(len(e.readings) for e in batch)
        dead = sum(1 for e in batch if e.dead_letter is not None)
        return PersistOutcome(readings, readings, dead)


async def _feed_and_drain(runner: LocalRunner[PersistOutcome], envelopes: list[Envelope]) -> None:
    for envelope in envelopes:
        await runner.submit(envelope)
    task = asyncio.create_task(runner.run())
    await _until(lambda: runner.stats.messages == len(envelopes))
    runner.stop()
    await task


async def _until(predicate: Callable[[], bool], timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.01)


# -- batching ----------------------------------------------------------------------------------


def test_batch_closes_at_max_readings() -> None:
    recorder = Recorder()
    runner = LocalRunner(recorder, max_readings=5000, max_seconds=30.0, max_messages=1000)
    envelopes = [recorder.envelope(i, readings=1000) for i in range(10)]
    started = time.monotonic()
    _run(_feed_and_drain(runner, envelopes))
    # Full batches close on the reading count at once, not after the 30 s time limit.
    assert time.monotonic() - started < 10
    assert recorder.batches == [[0, 1, 2, 3, 4], [5, 6, 7, 8, 9]]
    assert runner.stats.batches == 2
    assert runner.stats.readings == 10_000
    assert runner.stats.stored == 10_000


def test_batch_closes_once_the_reading_count_is_reached() -> None:
    recorder = Recorder()
    runner = LocalRunner(recorder, max_readings=5000, max_seconds=30.0, max_messages=1000)
    envelopes = [recorder.envelope(i, readings=3000) for i in range(4)]
    _run(_feed_and_drain(runner, envelopes))
    # 3000 < 5000 so a second envelope joins; 6000 >= 5000 closes the batch.
    assert recorder.batches == [[0, 1], [2, 3]]


def test_batch_closes_at_max_messages() -> None:
    recorder = Recorder()
    runner = LocalRunner(recorder, max_readings=5000, max_seconds=0.3, max_messages=3)
    envelopes = [recorder.envelope(i) for i in range(7)]
    _run(_feed_and_drain(runner, envelopes))
    assert recorder.batches == [[0, 1, 2], [3, 4, 5], [6]]
    assert runner.stats.messages == 7
    assert runner.stats.batches == 3


def test_messages_without_readings_count_towards_max_messages() -> None:
    recorder = Recorder()
    runner = LocalRunner(recorder, max_readings=5000, max_seconds=30.0, max_messages=4)
    envelopes = [recorder.envelope(i, readings=0, dead=True) for i in range(8)]
    _run(_feed_and_drain(runner, envelopes))
    assert recorder.batches == [[0, 1, 2, 3], [4, 5, 6, 7]]
    assert runner.stats.dead_letters == 8
    assert runner.stats.readings == 0


def test_batch_closes_after_max_seconds() -> None:
    recorder = Recorder()
    runner = LocalRunner(recorder, max_readings=5000, max_seconds=0.4, max_messages=1000)

    async def scenario() -> float:
        task = asyncio.create_task(runner.run())
        submitted = time.monotonic()
        await runner.submit(recorder.envelope(0))
        await _until(lambda: runner.stats.batches == 1, timeout=5)
        runner.stop()
        await task
        return submitted

    submitted = _run(scenario())
    waited = recorder.call_times[0] - submitted
    assert 0.35 <= waited < 3.0
    assert recorder.batches == [[0]]


def test_messages_arriving_within_the_window_share_a_batch() -> None:
    recorder = Recorder()
    runner = LocalRunner(recorder, max_readings=5000, max_seconds=1.0, max_messages=1000)

    async def scenario() -> None:
        task = asyncio.create_task(runner.run())
        for i in range(5):
            await runner.submit(recorder.envelope(i))
            await asyncio.sleep(0.05)
        await _until(lambda: runner.stats.messages == 5)
        runner.stop()
        await task

    _run(scenario())
    assert recorder.batches == [[0, 1, 2, 3, 4]]


def test_batch_closes_when_the_queue_stays_empty_for_the_linger() -> None:
    # Group commit: a publisher whose PUBACKs wait for this commit sends nothing more until it
    # happens, so waiting for max_seconds would stall it.
    recorder = Recorder()
    runner = LocalRunner(recorder, max_readings=5000, max_seconds=30.0, max_messages=1000, linger_s=0.05)

    async def scenario() -> float:
        task = asyncio.create_task(runner.run())
        for i in range(3):
            await runner.submit(recorder.envelope(i))
        last = time.monotonic()
        await _until(lambda: runner.stats.batches == 1, timeout=5)
        await asyncio.sleep(0.2)  # a lone late message is a batch of its own
        await runner.submit(recorder.envelope(3))
        await _until(lambda: runner.stats.batches == 2, timeout=5)
        runner.stop()
        await task
        return last

    last = _run(scenario())
    assert recorder.batches == [[0, 1, 2], [3]]
    assert recorder.call_times[0] - last < 1.0
    assert recorder.acked == {0, 1, 2, 3}


def test_queue_depth_and_last_commit_tell_the_health_board_how_the_runner_is_doing() -> None:
    recorder = Recorder()
    runner = LocalRunner(recorder, max_seconds=30.0, linger_s=0.01)

    async def scenario() -> tuple[int, float | None]:
        for i in range(3):
            await runner.submit(recorder.envelope(i))
        before = (runner.queue_depth, runner.stats.last_commit)
        task = asyncio.create_task(runner.run())
        await _until(lambda: runner.stats.batches == 1)
        runner.stop()
        await task
        return before

    started = time.time()
    assert _run(scenario()) == (3, None)
    assert runner.queue_depth == 0
    assert runner.stats.last_commit is not None and runner.stats.last_commit >= started


def test_messages_closer_than_the_linger_share_a_batch() -> None:
    recorder = Recorder()
    runner = LocalRunner(recorder, max_readings=5000, max_seconds=30.0, max_messages=1000, linger_s=0.3)

    async def scenario() -> None:
        task = asyncio.create_task(runner.run())
        for i in range(4):
            await runner.submit(recorder.envelope(i))
            await asyncio.sleep(0.02)
        await _until(lambda: runner.stats.messages == 4)
        runner.stop()
        await task

    _run(scenario())
    assert recorder.batches == [[0, 1, 2, 3]]


# -- acknowledgement ---------------------------------------------------------------------------


def test_acks_follow_the_handler_in_arrival_order() -> None:
    recorder = Recorder()
    runner = LocalRunner(recorder, max_readings=5000, max_seconds=0.2, max_messages=3)
    envelopes = [recorder.envelope(i) for i in range(7)]
    _run(_feed_and_drain(runner, envelopes))
    assert recorder.events == [
        ("handle", 3),
        ("ack", 0),
        ("ack", 1),
        ("ack", 2),
        ("handle", 3),
        ("ack", 3),
        ("ack", 4),
        ("ack", 5),
        ("handle", 1),
        ("ack", 6),
    ]
    assert recorder.acked_during_handler == []
    assert recorder.acked == set(range(7))


def test_envelopes_without_ack_are_fine() -> None:
    recorder = Recorder()
    runner = LocalRunner(recorder, max_readings=5000, max_seconds=0.2, max_messages=10)
    envelope = recorder.envelope(0)
    envelope.ack = None
    _run(_feed_and_drain(runner, [envelope, recorder.envelope(1)]))
    assert recorder.acked == {1}
    assert runner.stats.messages == 2


def test_store_outage_is_retried_without_ack_or_loss() -> None:
    recorder = Recorder()
    recorder.fail_times = 2
    runner = LocalRunner(recorder, max_readings=5000, max_seconds=0.2, max_messages=10, max_backoff_s=0.5)
    envelopes = [recorder.envelope(i, readings=2) for i in range(4)]
    seen_errors: list[str | None] = []

    async def scenario() -> None:
        for envelope in envelopes:
            await runner.submit(envelope)
        task = asyncio.create_task(runner.run())
        await _until(lambda: recorder.calls >= 2)
        # While the write keeps failing nothing is acknowledged, and the error is visible.
        seen_errors.append(runner.stats.last_error)
        assert recorder.acked == set()
        await _until(lambda: runner.stats.messages == 4)
        runner.stop()
        await task

    _run(scenario())
    assert runner.stats.retries == 2
    assert recorder.calls == 3
    assert seen_errors[0] is not None and "unreachable" in seen_errors[0]
    # All three attempts saw the same four messages; the third stored them.
    assert [e for e in recorder.events if e[0] == "handle"] == [("handle", 4)] * 3
    assert recorder.batches == [[0, 1, 2, 3]]
    assert recorder.events[3:] == [("ack", 0), ("ack", 1), ("ack", 2), ("ack", 3)]
    assert recorder.acked_during_handler == []
    assert runner.stats.messages == 4
    assert runner.stats.readings == 8
    assert runner.stats.stored == 8
    assert runner.stats.batches == 1
    assert runner.stats.last_error is None
    # Backoff: 0.25 s, then 0.5 s.
    gaps = [b - a for a, b in zip(recorder.call_times, recorder.call_times[1:], strict=False)]
    assert gaps[0] >= 0.2
    assert gaps[1] >= 0.45


def test_stop_flushes_what_is_queued() -> None:
    recorder = Recorder()
    runner = LocalRunner(recorder, max_readings=5000, max_seconds=0.2, max_messages=4)

    async def scenario() -> None:
        task = asyncio.create_task(runner.run())
        for i in range(10):
            await runner.submit(recorder.envelope(i))
        runner.stop()
        await task

    _run(scenario())
    assert [i for batch in recorder.batches for i in batch] == list(range(10))
    assert recorder.acked == set(range(10))
    assert runner.stats.messages == 10


def test_stop_on_an_idle_runner_returns() -> None:
    recorder = Recorder()
    runner = LocalRunner(recorder, max_seconds=0.2)

    async def scenario() -> None:
        task = asyncio.create_task(runner.run())
        await asyncio.sleep(0.05)
        runner.stop()
        await asyncio.wait_for(task, 3)

    _run(scenario())
    assert recorder.calls == 0
    assert runner.stats.batches == 0


def test_submit_threadsafe_from_another_thread() -> None:
    recorder = Recorder()
    runner = LocalRunner(recorder, max_readings=5000, max_seconds=0.1, max_messages=25)
    envelopes = [recorder.envelope(i) for i in range(100)]
    errors: list[BaseException] = []

    def producer() -> None:
        try:
            for envelope in envelopes:
                runner.submit_threadsafe(envelope)
        except BaseException as exc:  # noqa: BLE001 - asserted below
            errors.append(exc)

    async def scenario() -> None:
        task = asyncio.create_task(runner.run())
        await asyncio.sleep(0)
        thread = threading.Thread(target=producer)
        thread.start()
        await asyncio.to_thread(thread.join, 15)
        await _until(lambda: runner.stats.messages == 100)
        runner.stop()
        await task

    _run(scenario())
    assert errors == []
    assert [i for batch in recorder.batches for i in batch] == list(range(100))
    assert all(len(batch) <= 25 for batch in recorder.batches)
    assert [i for kind, i in recorder.events if kind == "ack"] == list(range(100))


def test_submit_threadsafe_before_run_is_refused() -> None:
    runner = LocalRunner(Recorder())
    with pytest.raises(RuntimeError, match="not running"):
        runner.submit_threadsafe(Envelope([]))


def test_full_queue_applies_backpressure() -> None:
    recorder = Recorder()
    runner = LocalRunner(recorder, max_seconds=0.1, queue_size=2)

    async def scenario() -> bool:
        await runner.submit(recorder.envelope(0))
        await runner.submit(recorder.envelope(1))
        third = asyncio.create_task(runner.submit(recorder.envelope(2)))
        await asyncio.sleep(0.1)
        blocked = not third.done()
        task = asyncio.create_task(runner.run())
        await third
        await _until(lambda: runner.stats.messages == 3)
        runner.stop()
        await task
        return blocked

    assert _run(scenario()) is True
    assert recorder.acked == {0, 1, 2}


def test_handler_crash_surfaces_instead_of_hanging() -> None:
    """A handler bug (anything but StoreUnavailable) must end run() with that error, promptly.

    Nothing may be acknowledged, and the runner must not sit silently forever: the broker
    keeps the messages, a supervisor restarts the process. Run on its own thread so a hang
    fails this test instead of the whole session.
    """
    acked: list[int] = []
    calls: list[int] = []

    def crashing(batch: list[Envelope]) -> PersistOutcome:
        calls.append(len(batch))
        raise RuntimeError("handler bug")

    outcome: dict[str, object] = {}

    async def scenario() -> None:
        runner = LocalRunner(crashing, max_seconds=0.05, max_messages=1)
        for i in range(4):
            await runner.submit(Envelope([_reading(seconds=i)], ack=functools.partial(acked.append, i)))
        task = asyncio.create_task(runner.run())
        await asyncio.sleep(0.5)
        runner.stop()
        await task

    def target() -> None:
        try:
            asyncio.run(scenario())
            outcome["result"] = "returned"
        except BaseException as exc:  # noqa: BLE001 - inspected below
            outcome["result"] = exc

    thread = threading.Thread(target=target, daemon=True, name="runner-crash-test")
    thread.start()
    thread.join(5)
    assert not thread.is_alive(), (
        f"LocalRunner.run() hung after the handler raised (handler calls: {calls}); "
        "the error was swallowed and stop() could not end it"
    )
    assert isinstance(outcome.get("result"), RuntimeError), outcome
    assert "handler bug" in str(outcome["result"])
    assert acked == []


# -- the persist handler on the real store ----------------------------------------------------


def _envelope(
    readings: list[Reading], *, topic: str = "pakhuis/v1/t/s1/native", dead: DeadLetter | None = None
) -> Envelope:
    return Envelope(readings, dead, topic=topic, payload=b"raw:" + topic.encode())


@pytest.mark.integration
def test_persist_twice_stores_once(store: Store) -> None:
    handler = PersistHandler(store)
    batch = [
        _envelope([_reading("a", i, float(i)) for i in range(5)]),
        _envelope([_reading("b", i, float(i)) for i in range(3)]),
    ]
    first = handler(batch)
    assert (first.readings, first.inserted, first.duplicates, first.dead_letters) == (8, 8, 0, 0)
    second = handler(batch)
    assert (second.readings, second.inserted, second.duplicates) == (8, 0, 8)
    assert store.count_observations() == 8
    rows = store.observations(tenant="t", sensor="a")
    assert [r["value"] for r in rows] == [0.0, 1.0, 2.0, 3.0, 4.0]


@pytest.mark.integration
def test_same_identity_with_another_value_is_a_duplicate(store: Store) -> None:
    handler = PersistHandler(store)
    handler([_envelope([_reading("a", 0, 1.0)])])
    outcome = handler([_envelope([_reading("a", 0, 99.0)])])
    assert outcome.duplicates == 1
    assert [r["value"] for r in store.observations(sensor="a")] == [1.0]


@pytest.mark.integration
def test_latest_keeps_the_newest_time(store: Store) -> None:
    handler = PersistHandler(store)
    handler([_envelope([_reading("a", 60, 6.0)])])
    # An older reading arriving later is stored but does not replace the latest value.
    handler([_envelope([_reading("a", 0, 0.5)])])
    [latest] = store.latest(tenant="t")
    assert (latest["sensor"], latest["quantity"], latest["value"]) == ("a", "no2", 6.0)
    assert latest["time"] == T0 + timedelta(seconds=60)
    assert store.count_observations() == 2
    # Within one batch, too, the newest wins whatever the order.
    handler([_envelope([_reading("a", 300, 30.0), _reading("a", 120, 12.0), _reading("a", 90, 9.0)])])
    [latest] = store.latest(tenant="t")
    assert latest["value"] == 30.0
    # And a newer reading does replace it.
    handler([_envelope([_reading("a", 301, 31.0)])])
    assert store.latest(tenant="t")[0]["value"] == 31.0


@pytest.mark.integration
def test_dead_letters_are_written(store: Store) -> None:
    handler = PersistHandler(store)
    raw = b'[{"time": "2026-11-22T10:00:00Z", "quantity": "no2", "value": -1}, "\xff"]'
    letter = DeadLetter(
        topic="pakhuis/v1/t/s1/native",
        payload=raw,
        decoder="native",
        rejections=(Rejection("out_of_range", "too low", 0), Rejection("bad_shape", "not an object", 1)),
        received=RECEIVED,
        tenant="t",
    )
    outcome = handler([_envelope([_reading("s1")], dead=letter)])
    assert (outcome.inserted, outcome.dead_letters) == (1, 1)
    [row] = store.dead_letters()
    assert bytes(row["payload"]) == raw
    assert row["topic"] == "pakhuis/v1/t/s1/native"
    assert row["tenant"] == "t"
    assert row["reason_code"] == "out_of_range"
    assert row["reason"] == "item 0: too low; item 1: not an object"
    assert row["details"] == [
        {"item": 0, "code": "out_of_range", "reason": "too low"},
        {"item": 1, "code": "bad_shape", "reason": "not an object"},
    ]
    assert row["received"] == RECEIVED
    assert [r["code"] for r in row["details"]] == ["out_of_range", "bad_shape"]
    assert len(store.dead_letters(reason="bad_shape")) == 1


def _backwards_interval(sensor: str) -> Reading:
    """A reading the database's CHECK (time_end >= time) refuses; Python's own check bypassed."""
    reading = _reading(sensor, 0, 5.0)
    object.__setattr__(reading, "time_end", T0 - timedelta(hours=1))
    return reading


@pytest.mark.integration
@pytest.mark.parametrize("how", ["check_constraint", "nul_byte"])
def test_refused_message_is_split_out_and_dead_lettered(store: Store, how: str) -> None:
    if how == "check_constraint":
        bad = _backwards_interval("bad")
    else:
        # PostgreSQL text cannot hold NUL; Python strings can.
        bad = _reading("bad\x00sensor", 0, 5.0)
    handler = PersistHandler(store)
    earlier = DeadLetter(
        topic="pakhuis/v1/t/bad/native",
        payload=b"whole message",
        decoder="native",
        rejections=(Rejection("out_of_range", "item was too high", 2),),
        received=RECEIVED,
        tenant="t",
    )
    batch = [
        _envelope([_reading("good1", i) for i in range(3)], topic="pakhuis/v1/t/good1/native"),
        Envelope(
            [_reading("bad-neighbour", 7), bad],
            earlier,
            topic="pakhuis/v1/t/bad/native",
            payload=b"whole message",
        ),
        _envelope([_reading("good2", i) for i in range(2)], topic="pakhuis/v1/t/good2/native"),
    ]
    outcome = handler(batch)
    assert outcome.inserted == 5
    assert outcome.readings == 5
    assert outcome.dead_letters == 1
    stored = {(r["sensor"], r["time"]) for r in store.observations(limit=100)}
    assert stored == {("good1", T0 + timedelta(seconds=i)) for i in range(3)} | {
        ("good2", T0 + timedelta(seconds=i)) for i in range(2)
    }
    # The refused message's readings are all kept out: its good neighbour travels with it.
    assert store.observations(sensor="bad-neighbour") == []
    [row] = store.dead_letters()
    assert row["topic"] == "pakhuis/v1/t/bad/native"
    assert bytes(row["payload"]) == b"whole message"
    assert row["tenant"] == "t"
    assert [d["code"] for d in row["details"]] == ["out_of_range", "store_rejected"]
    assert row["reason_code"] == "out_of_range"
    assert "database refused" in row["reason"]
    assert len(store.dead_letters(reason="store_rejected")) == 1


@pytest.mark.integration
def test_single_refused_message_becomes_store_rejected(store: Store) -> None:
    handler = PersistHandler(store)
    outcome = handler([_envelope([_backwards_interval("bad")], topic="pakhuis/v1/t/bad/native")])
    assert (outcome.inserted, outcome.dead_letters) == (0, 1)
    [row] = store.dead_letters()
    assert row["reason_code"] == "store_rejected"
    assert row["decoder"] == "native"
    assert store.count_observations() == 0


@pytest.mark.integration
def test_lone_refused_dead_letter_is_kept_not_raised(store: Store) -> None:
    """A dead letter with text PostgreSQL cannot hold is stored anyway (cleaned, raw bytes kept):
    a data error never stops the runner (issue 11 part 2)."""
    letter = DeadLetter(
        topic="pakhuis/v1/t/\x00/native",  # PostgreSQL text cannot hold NUL
        payload=b"raw",
        decoder="native",
        rejections=(Rejection("bad_json", "not JSON"),),
        received=RECEIVED,
        tenant="t",
    )
    outcome = PersistHandler(store)([Envelope([], letter, topic=letter.topic, payload=letter.payload)])
    assert outcome.dead_letters == 1
    [row] = store.dead_letters()
    assert (bytes(row["payload"]), row["topic"]) == (b"raw", "pakhuis/v1/t/\\x00/native")


@pytest.mark.integration
def test_runner_with_persist_handler_end_to_end(store: Store) -> None:
    runner = LocalRunner(PersistHandler(store), max_readings=50, max_seconds=0.2, max_messages=10)
    acked: list[int] = []
    envelopes = []
    for i in range(30):
        envelope = _envelope(
            [_reading(f"s{i % 3}", i * 10 + j, float(j)) for j in range(4)],
            topic=f"pakhuis/v1/t/s{i % 3}/native",
        )
        envelope.ack = lambda i=i: acked.append(i)
        envelopes.append(envelope)
    # Every message twice: at-least-once delivery stores each reading once.
    _run(_feed_and_drain(runner, envelopes + envelopes))
    assert store.count_observations() == 120
    assert runner.stats.messages == 60
    assert runner.stats.readings == 240
    assert runner.stats.stored == 120
    assert runner.stats.duplicates == 120
    assert acked == list(range(30)) * 2
    assert {r["sensor"] for r in store.latest()} == {"s0", "s1", "s2"}
