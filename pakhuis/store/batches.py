"""Writing a batch: readings, the sensors they name, latest values, rollups and dead letters.

Readings are streamed with binary COPY into a per-connection temporary staging table, then
moved with `INSERT ... ON CONFLICT DO NOTHING`, so a batch that is written twice (a redelivered
MQTT message, a retried Kafka batch) stores nothing new. Sensors are registered on first sight,
latest values are upserted and dead letters appended, all in the same transaction as the
readings they travelled with; each step's SQL lives with its aggregate.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from pakhuis.alerts import Alert
from pakhuis.errors import StoreRejected
from pakhuis.quantities import QUANTITIES
from pakhuis.reading import DeadLetter, Reading
from pakhuis.store.alerting import close_stale_for_batch, describe_alerts
from pakhuis.store.connection import Connected, RollupMode
from pakhuis.store.deadletters import DEFAULT_MAX_PAYLOAD_BYTES, insert_dead_letters
from pakhuis.store.readings import insert_staged_observations, upsert_staged_latest
from pakhuis.store.rollups import queue_late_refresh, recompute_touched
from pakhuis.store.sensors import record_staged_activity, register_staged_sensors

_STAGING_DDL = """
CREATE TEMP TABLE IF NOT EXISTS staging_readings (
    tenant        text NOT NULL,
    sensor        text NOT NULL,
    kind          text NOT NULL,
    quantity_id   smallint NOT NULL,
    time          timestamptz NOT NULL,
    time_end      timestamptz,
    value         double precision NOT NULL,
    received      timestamptz NOT NULL,
    quality       text NOT NULL,
    source_format text NOT NULL,
    metadata      jsonb
) ON COMMIT DELETE ROWS
"""
_STAGING_TYPES = [
    "text",
    "text",
    "text",
    "int2",
    "timestamptz",
    "timestamptz",
    "float8",
    "timestamptz",
    "text",
    "text",
    "jsonb",
]


@dataclass(frozen=True, slots=True)
class WriteResult:
    readings: int
    inserted: int
    dead_letters: int
    alerts: tuple[Alert, ...] = ()
    """Alerts the write changed: stale sensors that sent data again."""

    @property
    def duplicates(self) -> int:
        return self.readings - self.inserted


@dataclass(frozen=True, slots=True)
class _Staged:
    inserted: int  # readings new to the store (the rest were duplicates)
    recovered: list[int]  # stale alerts closed because their sensor sent data again


class BatchWriter(Connected):
    def write_batch(
        self,
        readings: Sequence[Reading],
        dead_letters: Sequence[DeadLetter] = (),
        *,
        max_payload_bytes: int = DEFAULT_MAX_PAYLOAD_BYTES,
    ) -> WriteResult:
        """Store readings (idempotently), update latest values and append dead letters (their
        payloads cut to `max_payload_bytes`).

        All in one transaction: either the whole batch is durable, or nothing is and the
        caller retries (and only then acknowledges the messages it came from). A value the
        driver cannot even send (a lone surrogate, a non-text id) is a `StoreRejected` like a
        value the database refuses, so the caller can isolate it.
        """
        staged = _Staged(0, [])
        mode, timezone = self.rollup_mode() if readings else ("table", "UTC")
        with self._connection() as conn, conn.transaction(), _unsendable_is_rejected():
            if readings:
                conn.execute(_STAGING_DDL)
                with conn.cursor() as cur:
                    _stage(cur, readings)
                    staged = _apply_staged(cur, readings, mode, timezone)
            if dead_letters:
                with conn.cursor() as cur:
                    insert_dead_letters(cur, dead_letters, max_payload_bytes=max_payload_bytes)
        alerts: list[Alert] = []
        if staged.recovered:
            with self._connection() as conn:
                alerts = describe_alerts(conn, [(alert_id, "closed") for alert_id in staged.recovered])
        return WriteResult(
            readings=len(readings),
            inserted=staged.inserted,
            dead_letters=len(dead_letters),
            alerts=tuple(alerts),
        )


@contextmanager
def _unsendable_is_rejected() -> Iterator[None]:
    """Errors the driver raises while encoding a value (before the database sees it) as refusals.

    Inside the transaction, so nothing of the batch is kept; only encoding errors, which come
    from the data: psycopg's own errors are translated by the connection."""
    try:
        yield
    except (UnicodeError, TypeError, OverflowError) as exc:
        raise StoreRejected(f"{type(exc).__name__}: {str(exc)[:200]}") from exc


def _stage(cur: psycopg.Cursor[Any], batch: Sequence[Reading]) -> None:
    with cur.copy("COPY staging_readings FROM STDIN (FORMAT BINARY)") as copy:
        copy.set_types(_STAGING_TYPES)
        for r in batch:
            copy.write_row(
                (
                    r.tenant,
                    r.sensor,
                    r.kind.value,
                    QUANTITIES[r.quantity].id,
                    r.time,
                    r.time_end,
                    r.value,
                    r.received,
                    r.quality.value,
                    r.source_format,
                    Jsonb(r.metadata) if r.metadata else None,
                )
            )


def _apply_staged(
    cur: psycopg.Cursor[Any], batch: Sequence[Reading], mode: RollupMode, timezone: str
) -> _Staged:
    """Every aggregate's share of the staged batch, in the writing transaction."""
    register_staged_sensors(cur)
    inserted = insert_staged_observations(cur)
    upsert_staged_latest(cur)
    record_staged_activity(cur)
    recovered = close_stale_for_batch(cur)
    if mode == "table":
        recompute_touched(cur, timezone)
    else:
        oldest, newest = min(r.time for r in batch), max(r.time for r in batch)
        queue_late_refresh(cur, oldest, newest, datetime.now(UTC))
    # ON COMMIT DELETE ROWS empties staging; truncate anyway in case the connection is reused
    # inside a longer transaction.
    cur.execute("TRUNCATE staging_readings")
    return _Staged(inserted, recovered)
