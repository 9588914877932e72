"""The stream handlers put together: what happens to every batch, in both modes.

The local runner (embedded) and the Faust agents (distributed) both call `StreamPipeline`, so
the same input gives the same database contents either way.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from pakhuis.alerts import Alert
from pakhuis.reading import Envelope
from pakhuis.store import Store, WriteResult
from stream.alerts import HourlyMeanAlerts, StalenessCheck, ThresholdAlerts
from stream.handlers import PersistHandler
from stream.live import MinuteAggregate, MinuteAggregates


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
    ) -> None:
        self._store = store
        self.persist = PersistHandler(store)
        self.thresholds = ThresholdAlerts(store, alert_above)
        self.hourly_means = HourlyMeanAlerts(store, alert_hourly_mean_above)
        self.staleness = StalenessCheck(store, stale_factor)
        self.live = MinuteAggregates()

    def __call__(self, batch: Sequence[Envelope]) -> PipelineOutcome:
        """Persist first (raises StoreUnavailable to be retried), then derive alerts and live views."""
        write = self.persist(batch)
        readings = [r for envelope in batch for r in envelope.readings]
        alerts = [*write.alerts, *self.thresholds(readings), *self.hourly_means(readings)]
        return PipelineOutcome(write, alerts, self.live(readings))

    def sweep(self, now: datetime) -> list[Alert]:
        """The periodic part: stale sensors, and continuous aggregates catching up with late writes."""
        self._store.refresh_rollups()
        return self.staleness(now)
