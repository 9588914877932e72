"""Stream handlers: plain, synchronous, reusable by any runner.

`PersistHandler` writes a batch of envelopes: readings idempotently (so at-least-once delivery
stores each reading once), latest values, and dead letters, in one store transaction. A data
error never leaves this handler: a batch the store refuses (`StoreRejected`) is bisected until
the messages it refuses are found; those become dead letters (with their raw bytes) and the
rest is stored. A dead letter the store refuses as it is, is stored with its raw bytes and a
generic reason. Only an outage (`StoreUnavailable`) goes to the caller, which retries the
whole batch (nothing of it was stored).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from pakhuis.errors import StoreRejected
from pakhuis.reading import DeadLetter, Envelope, Rejection
from pakhuis.store import Store, WriteResult
from pakhuis.store.deadletters import DEFAULT_MAX_PAYLOAD_BYTES, unstorable_letter

log = logging.getLogger(__name__)


# What a persist call did: readings offered, inserted (the rest were duplicates), dead letters.
PersistOutcome = WriteResult


@dataclass(slots=True)
class Persisted:
    """A batch written: the totals, and the envelopes whose readings were stored (not refused)."""

    result: PersistOutcome = field(default_factory=lambda: PersistOutcome(0, 0, 0))
    stored: list[Envelope] = field(default_factory=list)
    refused: int = 0
    """Messages the store refused and that were dead-lettered instead."""

    def add(self, other: Persisted) -> None:
        r, o = self.result, other.result
        self.result = PersistOutcome(
            r.readings + o.readings,
            r.inserted + o.inserted,
            r.dead_letters + o.dead_letters,
            (*r.alerts, *o.alerts),
        )
        self.stored += other.stored
        self.refused += other.refused


class PersistHandler:
    def __init__(self, store: Store, *, max_payload_bytes: int = DEFAULT_MAX_PAYLOAD_BYTES) -> None:
        self._store = store
        self._max_payload_bytes = max_payload_bytes

    def __call__(self, batch: Sequence[Envelope]) -> PersistOutcome:
        """Persist a batch; raises only `StoreUnavailable` (retry later): data errors are
        dead-lettered."""
        return self.persist(batch).result

    def persist(self, batch: Sequence[Envelope]) -> Persisted:
        try:
            return Persisted(self._write(batch), list(batch))
        except StoreRejected as exc:
            if len(batch) == 1:
                return self._refused(batch[0], exc)
            log.warning("store refused a batch of %d messages (%s); bisecting", len(batch), exc.reason)
        # Halves: k bad messages in n cost about k·log2(n) extra writes, not n.
        middle = len(batch) // 2
        done = self.persist(batch[:middle])
        done.add(self.persist(batch[middle:]))
        return done

    def _refused(self, envelope: Envelope, exc: StoreRejected) -> Persisted:
        """One message the store refused: its readings (if any) as a dead letter, else its
        dead letter stripped down to what can always be stored."""
        if envelope.readings:
            letter = _refused_by_store(envelope, exc)
            log.warning("store refused the readings of a message from %s: %s", envelope.topic, exc.reason)
            try:
                return Persisted(self._write([_as_dead(envelope, letter)]), refused=1)
            except StoreRejected as again:
                exc = again
        else:
            assert envelope.dead_letter is not None  # an envelope holds readings or a dead letter
            letter = envelope.dead_letter
        log.error("store refused a dead letter from %s (%s); keeping its raw bytes", letter.topic, exc.reason)
        # Raises StoreRejected only when the database refuses even ASCII text and bytes: that is
        # a broken schema, not data, and must not be retried as if it were an outage.
        fallback = unstorable_letter(letter, exc.reason)
        return Persisted(self._write([_as_dead(envelope, fallback)]), refused=1)

    def _write(self, batch: Sequence[Envelope]) -> PersistOutcome:
        readings = [r for envelope in batch for r in envelope.readings]
        dead = [e.dead_letter for e in batch if e.dead_letter is not None]
        return self._store.write_batch(readings, dead, max_payload_bytes=self._max_payload_bytes)


def _as_dead(envelope: Envelope, letter: DeadLetter) -> Envelope:
    return Envelope([], letter, topic=envelope.topic, payload=envelope.payload, ack=envelope.ack)


def _refused_by_store(envelope: Envelope, exc: StoreRejected) -> DeadLetter:
    tenant = envelope.readings[0].tenant if envelope.readings else None
    rejection = Rejection("store_rejected", f"the database refused this message's readings ({exc.reason})")
    previous = envelope.dead_letter.rejections if envelope.dead_letter else ()
    return DeadLetter(
        topic=envelope.topic,
        payload=envelope.payload,
        decoder=envelope.readings[0].source_format if envelope.readings else "unknown",
        rejections=(*previous, rejection),
        received=datetime.now(UTC),
        tenant=tenant,
    )
