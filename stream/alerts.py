"""Alert rules as plain handlers: thresholds on readings, thresholds on hourly means, staleness."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime

from pakhuis.alerts import Alert
from pakhuis.quantities import QUANTITIES, parse_quantity
from pakhuis.reading import Reading
from pakhuis.store import Crossing, Store


def _by_quantity_id(thresholds: dict[str, float]) -> dict[int, float]:
    result = {}
    for name, value in thresholds.items():
        quantity = parse_quantity(name)
        if quantity is None:
            raise ValueError(f"unknown quantity in alert thresholds: {name}")
        result[QUANTITIES[quantity].id] = value
    return result


class ThresholdAlerts:
    """Opens one alert when a sensor's value reaches a threshold, closes it when it drops below.

    Readings are walked in time order per sensor and quantity, starting from whether an alert is
    open now, so a batch that rises and falls again yields an opening and a closing.
    """

    def __init__(self, store: Store, above: dict[str, float]) -> None:
        self._store = store
        self._thresholds = _by_quantity_id(above)

    def __call__(self, readings: Sequence[Reading]) -> list[Alert]:
        groups: dict[tuple[str, str, int], list[Reading]] = defaultdict(list)
        for r in readings:
            qid = QUANTITIES[r.quantity].id
            if qid in self._thresholds:
                groups[(r.tenant, r.sensor, qid)].append(r)
        if not groups:
            return []
        open_now = self._store.open_above_alerts(list(groups))
        crossings: list[Crossing] = []
        for key, group in groups.items():
            threshold = self._thresholds[key[2]]
            is_open = key in open_now
            for r in sorted(group, key=lambda r: r.time):
                unit = QUANTITIES[r.quantity].unit
                if not is_open and r.value >= threshold:
                    is_open = True
                    message = (
                        f"{r.quantity.value} {r.value:g} {unit} reached the alert level {threshold:g} {unit}"
                    )
                    crossings.append(
                        Crossing(key[0], key[1], key[2], True, r.time, r.value, threshold, message)
                    )
                elif is_open and r.value < threshold:
                    is_open = False
                    message = f"{r.quantity.value} back below {threshold:g} {unit}"
                    crossings.append(
                        Crossing(key[0], key[1], key[2], False, r.time, r.value, threshold, message)
                    )
        return self._store.apply_crossings(crossings)


class HourlyMeanAlerts:
    """Alerts on hourly means (e.g. NO2 above the EU hourly limit of 200 µg/m³), from the rollup."""

    def __init__(self, store: Store, hourly_mean_above: dict[str, float]) -> None:
        self._store = store
        self._thresholds = _by_quantity_id(hourly_mean_above)

    def __call__(self, readings: Sequence[Reading]) -> list[Alert]:
        hours = {
            (r.tenant, r.sensor, QUANTITIES[r.quantity].id, r.time.replace(minute=0, second=0, microsecond=0))
            for r in readings
            if QUANTITIES[r.quantity].id in self._thresholds
        }
        if not hours:
            return []
        return self._store.apply_hourly_mean_alerts(sorted(hours, key=lambda k: k[3]), self._thresholds)


class StalenessCheck:
    """Marks sensors silent for longer than their expected interval × factor as stale."""

    def __init__(self, store: Store, factor: float) -> None:
        self._store = store
        self._factor = factor

    def __call__(self, now: datetime) -> list[Alert]:
        return self._store.sweep_stale(now, self._factor)
