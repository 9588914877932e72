"""The asyncio local runner: batches envelopes and drives the persist handler (embedded mode).

A batch closes at `max_readings` readings, after `max_seconds`, when `max_messages`
messages are pending (the broker sends no more until we acknowledge, so waiting longer would
only add latency), or — with `linger_s` — once the queue has been empty that long: group commit.
When the embedded broker holds publishers' PUBACKs until the commit (its journal's backlog is
full, or there is none), a publisher with a small in-flight window (paho, mosquitto_pub: 20)
sends nothing more until the batch is written; waiting for a full batch would stall it.
A batch is written with retries and exponential backoff while the database is unreachable; its
messages are acknowledged, in arrival order, only after the write succeeded. Nothing is
dropped: an outage stalls the pipeline, which backs up to the broker.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, Protocol, TypeVar

from pakhuis.errors import StoreUnavailable
from pakhuis.reading import Envelope
from stream.retry import call_with_retry

log = logging.getLogger(__name__)


class BatchCounts(Protocol):
    """What the runner reads of a handler's outcome (a `WriteResult`, a `PipelineOutcome`)."""

    @property
    def readings(self) -> int: ...

    @property
    def inserted(self) -> int: ...

    @property
    def duplicates(self) -> int: ...

    @property
    def dead_letters(self) -> int: ...


Outcome = TypeVar("Outcome", bound=BatchCounts)


@dataclass(slots=True)
class RunnerStats:
    messages: int = 0
    readings: int = 0
    stored: int = 0
    duplicates: int = 0
    dead_letters: int = 0
    batches: int = 0
    retries: int = 0
    last_error: str | None = None
    # time.time() of the last committed batch (the health board reads it).
    last_commit: float | None = None


class LocalRunner(Generic[Outcome]):
    def __init__(
        self,
        handler: Callable[[list[Envelope]], Outcome],
        *,
        on_outcome: Callable[[Outcome], None] | None = None,
        max_readings: int = 5000,
        max_seconds: float = 1.0,
        max_messages: int = 1000,
        linger_s: float | None = None,
        queue_size: int = 20_000,
        max_backoff_s: float = 30.0,
    ) -> None:
        self._handler = handler
        # Called with each batch's outcome after its messages are acknowledged (e.g. to log alerts).
        self._on_outcome = on_outcome
        self.max_readings = max_readings
        self.max_seconds = max_seconds
        self.max_messages = max_messages
        # None: a batch waits for its size or max_seconds (when acknowledgements do not hold anyone).
        self.linger_s = linger_s
        self.max_backoff_s = max_backoff_s
        # Bounds what other threads may hand over before the runner catches up; a semaphore
        # rather than a bounded asyncio.Queue so a producer thread never waits for a loop round-trip.
        self._room = threading.BoundedSemaphore(queue_size)
        self._queue: asyncio.Queue[Envelope] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping = asyncio.Event()
        self.stats = RunnerStats()

    # -- feeding ------------------------------------------------------------------------------

    def _ensure_queue(self) -> asyncio.Queue[Envelope]:
        if self._queue is None:
            self._queue = asyncio.Queue()
            self._loop = asyncio.get_running_loop()
        return self._queue

    async def submit(self, envelope: Envelope) -> None:
        await asyncio.to_thread(self._room.acquire)
        self._ensure_queue().put_nowait(envelope)

    def submit_threadsafe(self, envelope: Envelope) -> None:
        """Hand an envelope over from another thread (the MQTT network thread); blocks when full."""
        loop, queue = self._loop, self._queue
        if loop is None or queue is None or loop.is_closed():
            raise RuntimeError("the local runner is not running")
        self._room.acquire()
        loop.call_soon_threadsafe(queue.put_nowait, envelope)

    @property
    def queue_depth(self) -> int:
        """Envelopes handed over but not yet taken into a batch."""
        return 0 if self._queue is None else self._queue.qsize()

    # -- running ------------------------------------------------------------------------------

    async def run(self) -> None:
        """Batch and persist until `stop()`; then flush what is queued and return.

        An error other than `StoreUnavailable` (a bug, not an outage) ends the run with that
        error and without acknowledging the batch, so the broker redelivers it after a restart.
        """
        queue = self._ensure_queue()
        while True:
            batch = await self._collect(queue)
            if batch:
                await self._persist(batch)
            elif self._stopping.is_set() and queue.empty():
                return

    def stop(self) -> None:
        self._stopping.set()

    async def _collect(self, queue: asyncio.Queue[Envelope]) -> list[Envelope]:
        batch: list[Envelope] = []
        readings = 0
        deadline: float | None = None
        while readings < self.max_readings and len(batch) < self.max_messages:
            if deadline is not None and time.monotonic() >= deadline:
                break
            if not queue.empty():
                # Take what is already there without the cost of a timed wait per message.
                envelope = queue.get_nowait()
            else:
                timeout = 0.2 if deadline is None else deadline - time.monotonic()
                if deadline is not None and self.linger_s is not None:
                    # The batch is open and nothing is waiting: close it soon (group commit).
                    timeout = min(timeout, self.linger_s)
                if timeout <= 0:
                    break
                try:
                    envelope = await asyncio.wait_for(queue.get(), timeout)
                except TimeoutError:
                    if deadline is None:
                        if self._stopping.is_set():
                            break
                        continue
                    break
            self._room.release()
            if deadline is None:
                deadline = time.monotonic() + self.max_seconds
            batch.append(envelope)
            readings += len(envelope.readings)
        return batch

    async def _persist(self, batch: list[Envelope]) -> None:
        def count_retry(exc: StoreUnavailable) -> None:
            self.stats.retries += 1
            self.stats.last_error = exc.message

        outcome = await call_with_retry(
            self._handler,
            batch,
            max_backoff_s=self.max_backoff_s,
            on_retry=count_retry,
            what=f"{len(batch)} messages",
        )
        for envelope in batch:
            if envelope.ack is not None:
                envelope.ack()
        if self._on_outcome is not None:
            self._on_outcome(outcome)
        s = self.stats
        s.messages += len(batch)
        s.readings += outcome.readings
        s.stored += outcome.inserted
        s.duplicates += outcome.duplicates + sum(envelope.duplicates for envelope in batch)
        s.dead_letters += outcome.dead_letters
        s.batches += 1
        s.last_error = None
        s.last_commit = time.time()
