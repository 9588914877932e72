"""Each drain's fill state as the store keeps it (`drain_fill_state`): its rates (measured,
predicted, the one the plan uses) and where that comes from, its last cleaning and its last
known fill."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd

from geo.fill import FillModel, FillRateFit

__all__ = ["DrainRates", "state_rows"]


@dataclass(frozen=True)
class DrainRates:
    """Fill rates (%/seasonal day) per drain, aligned with the environment's rows: a sensor's
    (NaN without one) with its standard error, the model's with its spread, and the shrunk
    combination the plan uses."""

    measured: np.ndarray
    measured_se: np.ndarray
    predicted: np.ndarray
    predicted_sd: np.ndarray
    rate: np.ndarray
    rate_sd: np.ndarray

    def source(self, i: int) -> str:
        """ "sensor" when the sensor's rate is much surer than the model's, "sensor+model" when
        shrunk towards it, "model" without a measured rate."""
        if not np.isfinite(self.measured[i]):
            return "model"
        return "sensor" if self.measured_se[i] <= 0.25 * max(self.predicted_sd[i], 1e-9) else "sensor+model"


@dataclass
class _Known:
    """What is known of one drain's last cleaning and fill."""

    last_cleaning: datetime | None = None
    cleaning_source: str | None = None
    fill_time: datetime | None = None
    fill_value: float | None = None


def state_rows(
    env: pd.DataFrame,
    model: FillModel,
    fits: Mapping[int, tuple[int, FillRateFit]],
    names: Mapping[int, str],
    orders: Mapping[str, np.ndarray],
    rates: DrainRates,
) -> Iterator[tuple[Any, ...]]:
    """One store row per drain of `env`, from its sensor's fit (`fits`: drain → (sensor, fit))
    and its recorded cleanings (`orders`: drain key → times)."""
    for i, (drain_id, key) in enumerate(zip(env.index, env["drain_key"], strict=True)):
        sensor_fit = fits.get(int(drain_id))
        status, n_readings, n_since, sensor = "no_sensor", 0, 0, None
        if sensor_fit is not None:
            sensor_id, fit = sensor_fit
            sensor = names[sensor_id]
            status, n_readings, n_since = fit.status, fit.n_readings, fit.n_since_cleaning
        known = _known(sensor_fit[1] if sensor_fit is not None else None, orders.get(str(key)))
        yield (
            int(drain_id),
            model.version,
            sensor,
            status,
            int(n_readings),
            int(n_since),
            _num(rates.measured[i]),
            _num(rates.measured_se[i]),
            _num(rates.predicted[i]),
            _num(rates.predicted_sd[i]),
            max(float(rates.rate[i]), 0.0),
            _num(rates.rate_sd[i]),
            rates.source(i),
            known.last_cleaning,
            known.cleaning_source,
            known.fill_time,
            known.fill_value,
        )


def _known(fit: FillRateFit | None, recorded: np.ndarray | None) -> _Known:
    """The sensor's last detected cleaning and reading, unless a recorded cleaning is later."""
    known = _Known()
    if fit is not None:
        if fit.cleanings:
            known.last_cleaning = _dt(fit.cleanings[-1].time)
            known.cleaning_source = fit.cleanings[-1].source
        if fit.last_time is not None and fit.last_fill is not None:
            known.fill_time, known.fill_value = _dt(fit.last_time), float(fit.last_fill)
    if recorded is not None and len(recorded):
        latest = _dt(recorded.max())
        if known.last_cleaning is None or latest > known.last_cleaning:
            known.last_cleaning, known.cleaning_source = latest, "work_order"
            if known.fill_time is None or latest > known.fill_time:
                known.fill_time, known.fill_value = latest, 0.0
    return known


def _dt(t: np.datetime64) -> datetime:
    return datetime.fromtimestamp(int(np.asarray(t).astype("datetime64[s]").astype(np.int64)), UTC)


def _num(value: float) -> float | None:
    return None if value is None or not np.isfinite(value) else float(value)
