"""Replaying dead letters through the current decoders, registry and mappings.

After a sensor is registered, a Datastream added or a mapping fixed, messages that were refused
for that reason may now decode completely: their readings are stored (idempotently) and the dead
letter is removed in the same step. A message that still has refusals stays where it is (its
valid readings were stored when it first arrived).
"""

from __future__ import annotations

from dataclasses import dataclass

from ingest.decode import MessageDecoder
from pakhuis.store import Store


@dataclass(slots=True)
class ReplayReport:
    examined: int = 0
    replayed: int = 0
    readings: int = 0
    inserted: int = 0
    still_refused: int = 0


def replay_dead_letters(
    store: Store,
    decoder: MessageDecoder,
    *,
    reason: str | None = None,
    tenant: str | None = None,
    page: int = 500,
) -> ReplayReport:
    report = ReplayReport()
    after = 0
    while True:
        letters = store.dead_letters_for_replay(reason=reason, tenant=tenant, after_id=after, limit=page)
        if not letters:
            return report
        after = letters[-1]["id"]
        done_ids: list[int] = []
        readings = []
        for letter in letters:
            report.examined += 1
            # Judged as of when it first arrived: "late" and "future" keep their original meaning.
            envelope = decoder.decode(letter["topic"], bytes(letter["payload"]), letter["received"])
            if envelope.dead_letter is None:
                done_ids.append(letter["id"])
                readings.extend(envelope.readings)
            else:
                report.still_refused += 1
        if done_ids:
            result = store.replace_dead_letters(done_ids, readings)
            report.replayed += len(done_ids)
            report.readings += result.readings
            report.inserted += result.inserted
