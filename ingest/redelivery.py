"""Messages whose hand-on failed, retried in arrival order off the MQTT network thread.

A message whose decoding or hand-on raised (the database is unreachable for a tenant-policy
lookup, the pool is exhausted, the stream is not running yet) stays unacknowledged and is
queued here; one worker thread retries it with exponential backoff. While anything is queued,
new messages queue behind it (arrival order is kept, and a dead dependency is not hammered by
every message). The queue is bounded: when it is full the network thread waits, which is the
same backpressure on the broker as a full stream queue.

An unavailable database is retried for as long as it takes. Any other error is retried
`max_attempts` times and then handed to `give_up` (the ingest turns it into a dead letter with
the raw bytes), so one message that always fails cannot stop every message behind it.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

from pakhuis.errors import StoreUnavailable

__all__ = ["Redelivery", "RedeliveryStats"]

log = logging.getLogger(__name__)

Message = TypeVar("Message")


@dataclass(slots=True)
class RedeliveryStats:
    queued: int = 0
    retried: int = 0
    given_up: int = 0
    last_error: str | None = None


@dataclass(slots=True)
class _Pending(Generic[Message]):
    message: Message
    since: float
    attempts: int = 1


class Redelivery(Generic[Message]):
    def __init__(
        self,
        attempt: Callable[[Message], None],
        give_up: Callable[[Message, Exception], None],
        *,
        capacity: int = 1000,
        max_attempts: int = 5,
        first_backoff_s: float = 0.2,
        max_backoff_s: float = 30.0,
    ) -> None:
        self._attempt = attempt
        self._give_up = give_up
        self.capacity = capacity
        self.max_attempts = max_attempts
        self.first_backoff_s = first_backoff_s
        self.max_backoff_s = max_backoff_s
        self._queue: deque[_Pending[Message]] = deque()
        self._changed = threading.Condition()
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._work, name="mqtt-redelivery", daemon=True)
        self.stats = RedeliveryStats()

    # -- from the network thread ---------------------------------------------------------------

    @property
    def busy(self) -> bool:
        """Something is waiting: new messages must queue behind it."""
        return bool(self._queue)

    @property
    def backlog(self) -> int:
        return len(self._queue)

    def oldest_wait_s(self) -> float:
        with self._changed:
            return time.monotonic() - self._queue[0].since if self._queue else 0.0

    def put(self, message: Message, error: Exception | None = None) -> None:
        """Queue a message (after `error`, or behind others); waits while the queue is full."""
        if error is not None:
            self._note(error)
        with self._changed:
            while len(self._queue) >= self.capacity and not self._stopping.is_set():
                self._changed.wait(1.0)
            self._queue.append(_Pending(message, time.monotonic(), 0 if error is None else 1))
            self.stats.queued += 1
            self._changed.notify_all()

    # -- lifecycle -----------------------------------------------------------------------------

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        """Stop retrying; what is still queued stays unacknowledged (the broker redelivers it)."""
        self._stopping.set()
        with self._changed:
            self._changed.notify_all()
        if self._thread.is_alive():
            self._thread.join(10)

    # -- the worker ----------------------------------------------------------------------------

    def _note(self, error: Exception) -> None:
        self.stats.last_error = f"{error.__class__.__name__}: {error}"

    def _work(self) -> None:
        while not self._stopping.is_set():
            with self._changed:
                while not self._queue and not self._stopping.is_set():
                    self._changed.wait(1.0)
                if self._stopping.is_set():
                    return
                pending = self._queue[0]
            if pending.attempts > 0:
                # Failed before: wait before trying again (doubling, capped).
                delay = min(self.max_backoff_s, self.first_backoff_s * 2 ** (pending.attempts - 1))
                if self._stopping.wait(delay):
                    return
            if self._try(pending):
                with self._changed:
                    self._queue.popleft()
                    self._changed.notify_all()
                if not self._queue:
                    self.stats.last_error = None

    def _try(self, pending: _Pending[Message]) -> bool:
        """One attempt; True when the message is done with (handed on, or given up on)."""
        try:
            if pending.attempts > 0:
                self.stats.retried += 1
            self._attempt(pending.message)
            return True
        except StoreUnavailable as exc:
            # An outage: retried until the database is back, however long that takes.
            self._note(exc)
            pending.attempts = min(pending.attempts + 1, 32)
            log.warning("ingest retrying a message: %s", exc.message)
            return False
        except Exception as exc:  # retried, then dead-lettered: it must not stop the messages behind it
            self._note(exc)
            pending.attempts = min(pending.attempts + 1, 32)
            if pending.attempts <= self.max_attempts:
                log.warning("ingest retrying a message after %s: %s", exc.__class__.__name__, exc)
                return False
            log.exception("ingest gives up on a message after %d retries", pending.attempts - 1)
            return self._abandon(pending, exc)

    def _abandon(self, pending: _Pending[Message], exc: Exception) -> bool:
        try:
            self._give_up(pending.message, exc)
        except Exception as again:  # handing on the dead letter failed too: keep it, retry later
            self._note(again)
            log.exception("could not hand on the dead letter either; retrying")
            return False
        self.stats.given_up += 1
        return True
