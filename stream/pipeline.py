"""The stream handlers put together: what happens to every batch, in both modes.

The local runner (embedded) and the Faust agents (distributed) both call `StreamPipeline`, so
the same input gives the same database contents either way.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from pakhuis.alerts import Alert
from pakhuis.errors import StoreRejected
from pakhuis.reading import Envelope
from pakhuis.store import Store, WriteResult
from pakhuis.store.deadletters import DEFAULT_MAX_PAYLOAD_BYTES, DEFAULT_RETENTION_DAYS
from stream.alerts import HourlyMeanAlerts, StalenessCheck, ThresholdAlerts
from stream.handlers import PersistHandler
from stream.live import MinuteAggregate, MinuteAggregates

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class PipelineOutcome:
    write: WriteResult
    alerts: list[Alert] = field(default_factory=list)
    live: list[MinuteAggregate] = field(default_factory=list)

    # The runner's counters read these, whatever the handler.
    @property
    def readings(self) -> int:
        return self.write.readings

    @property
    def inserted(self) -> int:
        return self.write.inserted

    @property
    def duplicates(self) -> int:
        return self.write.duplicates

    @property
    def dead_letters(self) -> int:
        return self.write.dead_letters


class StreamPipeline:
    def __init__(
        self,
        store: Store,
        *,
        alert_above: dict[str, float],
        alert_hourly_mean_above: dict[str, float],
        stale_factor: float,
        deadletter_max_payload_bytes: int = DEFAULT_MAX_PAYLOAD_BYTES,
        deadletter_retention_days: float = DEFAULT_RETENTION_DAYS,
        purge_every_s: float = 3600.0,
    ) -> None:
        self._store = store
        self.persist = PersistHandler(store, max_payload_bytes=deadletter_max_payload_bytes)
        self._retention_days = deadletter_retention_days
        self._purge_every_s = purge_every_s
        self._last_purge: datetime | None = None
        self.purged = 0
        """Dead letters the retention job deleted since start."""
        self.alert_failures = 0
        """Batches whose alert rules the database refused (their readings are stored)."""
        self.thresholds = ThresholdAlerts(store, alert_above)
        self.hourly_means = HourlyMeanAlerts(store, alert_hourly_mean_above)
        self.staleness = StalenessCheck(store, stale_factor)
        self.live = MinuteAggregates()

    def __call__(self, batch: Sequence[Envelope]) -> PipelineOutcome:
        """Persist first (raises only StoreUnavailable, to be retried: data errors become dead
        letters), then derive alerts and live views from the readings that were stored."""
        persisted = self.persist.persist(batch)
        write = persisted.result
        readings = [r for envelope in persisted.stored for r in envelope.readings]
        alerts = [*write.alerts]
        try:
            alerts += [*self.thresholds(readings), *self.hourly_means(readings)]
        except StoreRejected as exc:
            # The readings are committed; the alerts they would open are derived data, and a
            # refusal repeats on every retry. Logged, counted, and the stream goes on.
            self.alert_failures += 1
            log.error("alert rules refused by the database for a batch (%s); no alerts from it", exc.reason)
        return PipelineOutcome(write, alerts, self.live(readings))

    def sweep(self, now: datetime) -> list[Alert]:
        """The periodic part: stale sensors, continuous aggregates catching up with late writes,
        and (at most every `purge_every_s`) dead letters past their retention."""
        self._store.refresh_rollups()
        if self._last_purge is None or (now - self._last_purge).total_seconds() >= self._purge_every_s:
            removed = self._store.purge_dead_letters(retention_days=self._retention_days, now=now)
            self._last_purge = now
            self.purged += removed
            if removed:
                log.info(
                    "retention: deleted %d dead letters older than %g days", removed, self._retention_days
                )
        return self.staleness(now)
