"""Stream handlers: plain, synchronous, reusable by any runner.

`PersistHandler` writes a batch of envelopes: readings idempotently (so at-least-once delivery
stores each reading once), latest values, and dead letters, in one store transaction. A batch
the store refuses (`StoreRejected`: a data reason, not an outage) is split so that one bad
message cannot block the rest: the message the store refuses becomes a dead letter, never a
loss. An outage (`StoreUnavailable`) goes to the caller, which retries the whole batch.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import UTC, datetime

from pakhuis.errors import StoreRejected
from pakhuis.reading import DeadLetter, Envelope, Rejection
from pakhuis.store import Store, WriteResult

log = logging.getLogger(__name__)


# What a persist call did: readings offered, inserted (the rest were duplicates), dead letters.
PersistOutcome = WriteResult


class PersistHandler:
    def __init__(self, store: Store) -> None:
        self._store = store

    def __call__(self, batch: Sequence[Envelope]) -> PersistOutcome:
        """Persist a batch; raises `StoreUnavailable` (retry later) when the database is down, and
        `StoreRejected` only for a lone dead letter the database refuses (nothing to split off)."""
        try:
            return self._write(batch)
        except StoreRejected as exc:
            if len(batch) == 1 and not batch[0].readings:
                raise  # a lone dead letter refused: there is nothing smaller to split off
            log.warning(
                "store refused a batch of %d messages (%s); writing them one by one", len(batch), exc.reason
            )
        totals = PersistOutcome(0, 0, 0)
        for envelope in batch:
            try:
                outcome = self._write([envelope])
            except StoreRejected as exc:
                outcome = self._write([_refused_by_store(envelope, exc)])
            totals = PersistOutcome(
                totals.readings + outcome.readings,
                totals.inserted + outcome.inserted,
                totals.dead_letters + outcome.dead_letters,
            )
        return totals

    def _write(self, batch: Sequence[Envelope]) -> PersistOutcome:
        readings = [r for envelope in batch for r in envelope.readings]
        dead = [e.dead_letter for e in batch if e.dead_letter is not None]
        return self._store.write_batch(readings, dead)


def _refused_by_store(envelope: Envelope, exc: StoreRejected) -> Envelope:
    tenant = envelope.readings[0].tenant if envelope.readings else None
    rejection = Rejection("store_rejected", f"the database refused this message's readings ({exc.reason})")
    previous = envelope.dead_letter.rejections if envelope.dead_letter else ()
    letter = DeadLetter(
        topic=envelope.topic,
        payload=envelope.payload,
        decoder=envelope.readings[0].source_format if envelope.readings else "unknown",
        rejections=(*previous, rejection),
        received=datetime.now(UTC),
        tenant=tenant,
    )
    return Envelope([], letter, topic=envelope.topic, payload=envelope.payload, ack=envelope.ack)
