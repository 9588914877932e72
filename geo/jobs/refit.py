"""`pakhuis plan refit`: every drain sensor's fill series → cleanings and a robust rate
(`geo.fill`); monthly seasonal factors for drains near trees and in the open; an environment
model fitted on the measured drains predicts every drain's rate and its uncertainty; measured
drains keep their own rate, shrunk towards the model when their data is short. The result is
stored per drain (`drain_fill_state`) with the model version and its cross-validated error.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd

from geo.fill import (
    FEATURES,
    GROUPS,
    FillModel,
    FillRateFit,
    SeasonalFactors,
    as_times,
    fit_fill_model,
    fit_fill_rate,
    fit_seasonal_factors,
    shrink,
)
from geo.jobs.environment import environment
from geo.jobs.errors import PlanNotReady
from geo.jobs.fill_states import DrainRates, state_rows
from geo.jobs.sensor_links import SENSOR_LINK_M, link_sensors
from geo.plan import PlanConfig
from geo.registers import ZONE_KINDS
from pakhuis.store import Store

__all__ = ["RefitReport", "refit"]

# Fewer measured drains than this and no environment model is fitted: the schedule would
# rest on guesses.
MIN_TRAINING_DRAINS = 8

# One sensor's inputs: reading times, fill values, the drain's recorded cleanings.
_Series = tuple[np.ndarray, np.ndarray, np.ndarray]


@dataclass
class RefitReport:
    drains: int = 0
    sensors: int = 0
    linked: int = 0
    measured_ok: int = 0
    too_few: int = 0
    model: dict[str, Any] = field(default_factory=dict)
    seasonal: dict[str, list[float]] = field(default_factory=dict)
    by_source: dict[str, int] = field(default_factory=dict)
    unlinked: str = ""  # why sensors are not linked (SensorLinks.summary)

    def __str__(self) -> str:
        m = self.model
        lines = [
            f"fill model {m.get('version')}: {m.get('kind')} on {m.get('n_train')} measured drains, "
            f"cross-validated MAE {m.get('cv_mae', math.nan):.3f} %/day "
            f"(constant baseline {m.get('baseline_cv_mae', math.nan):.3f}), "
            f"R² {m.get('cv_r2', math.nan):.2f}",
            f"sensors {self.sensors} (linked to drains {self.linked}; fit ok {self.measured_ok}, "
            f"too few readings {self.too_few})",
            "rates: " + ", ".join(f"{k} {v:,}" for k, v in sorted(self.by_source.items())),
            "seasonal factors (Jan..Dec): "
            + "; ".join(f"{g} " + " ".join(f"{f:.2f}" for f in fs) for g, fs in self.seasonal.items()),
        ]
        if self.unlinked:
            lines.append(f"not linked to a drain: {self.unlinked}")
        return "\n".join(lines)


def refit(store: Store, config: PlanConfig, *, seed: int = 0) -> RefitReport:
    """Fit every linked sensor's rate, the seasonal factors and the environment model (with
    `seed` for its cross-validation), and store every drain's fill state."""
    cleanings = store.cleanings()
    env = environment(store, config, cleanings)
    report = RefitReport(drains=len(env))
    links = link_sensors(store.drain_sensors(), env)
    report.unlinked = links.summary()
    report.sensors, report.linked = len(links.names), len(links.drain_of)
    orders = _work_orders(cleanings)
    raw = _sensor_series(store, links.drain_of, env, orders)
    group_of = env["group"]
    # Seasonal factors per group, from the measured drains of that group (all drains when a
    # group has too few); then each drain's rate against its group's seasonal time.
    seasonal = _seasonal_factors(raw, links.drain_of, group_of)
    report.seasonal = {name: [float(f) for f in seasonal[g].monthly] for g, name in enumerate(GROUPS)}
    fits = _rate_fits(raw, links.drain_of, group_of, seasonal)
    report.measured_ok = sum(1 for _, f in fits.values() if f.status == "ok")
    report.too_few = sum(1 for _, f in fits.values() if f.status != "ok")
    trained = [d for d, (_, f) in fits.items() if f.status == "ok"]
    model, rates = _fit_model(env, fits, trained, seed, report)
    report.model = model.describe()
    # Which zone kinds the measured drains stood in: a zone's rate multiplier is only applied
    # where neither the drain's own sensor nor the model (through its zone feature) saw it.
    report.model["zones_in_training"] = {
        kind: int(env.loc[trained, f"zone_{kind}"].sum()) for kind in ZONE_KINDS
    }
    states = list(state_rows(env, model, fits, links.names, orders, rates))
    report.by_source = dict(Counter(row[12] for row in states))
    store.save_fill_model(model.version, report.model, {"groups": list(GROUPS), **report.seasonal}, states)
    return report


def _work_orders(cleanings: Sequence[Mapping[str, Any]]) -> dict[str, np.ndarray]:
    out: dict[str, list[datetime]] = {}
    for c in cleanings:
        out.setdefault(str(c["drain_key"]), []).append(c["time"])
    return {k: as_times(v) for k, v in out.items()}


def _sensor_series(
    store: Store, drain_of: Mapping[int, int], env: pd.DataFrame, orders: Mapping[str, np.ndarray]
) -> dict[int, _Series]:
    """Per linked sensor: its readings and its drain's recorded cleanings."""
    series = store.series(sorted(drain_of))
    raw: dict[int, _Series] = {}
    for sensor_id, drain_id in drain_of.items():
        times, values = series.get(sensor_id, ([], []))
        raw[sensor_id] = (
            as_times(times),
            np.asarray(values, dtype=np.float64),
            orders.get(str(env.at[drain_id, "drain_key"]), np.array([], dtype="datetime64[s]")),
        )
    return raw


def _seasonal_factors(
    raw: Mapping[int, _Series], drain_of: Mapping[int, int], group_of: pd.Series
) -> list[SeasonalFactors]:
    everyone: SeasonalFactors | None = None
    seasonal: list[SeasonalFactors] = []
    for g, _name in enumerate(GROUPS):
        members = [raw[s] for s, d in drain_of.items() if group_of[d] == g]
        if len(members) >= MIN_TRAINING_DRAINS:
            seasonal.append(fit_seasonal_factors(members))
            continue
        if everyone is None:
            everyone = fit_seasonal_factors(list(raw.values())) if raw else SeasonalFactors.flat()
        seasonal.append(everyone)
    return seasonal


def _rate_fits(
    raw: Mapping[int, _Series],
    drain_of: Mapping[int, int],
    group_of: pd.Series,
    seasonal: Sequence[SeasonalFactors],
) -> dict[int, tuple[int, FillRateFit]]:
    """drain → (sensor, fit); of two sensors on one drain, the one with more readings."""
    fits: dict[int, tuple[int, FillRateFit]] = {}
    for sensor_id, drain_id in drain_of.items():
        t_arr, v_arr, work = raw[sensor_id]
        fit = fit_fill_rate(t_arr, v_arr, work_orders=work, seasonal=seasonal[int(group_of[drain_id])])
        previous = fits.get(drain_id)
        if previous is None or fit.n_readings > previous[1].n_readings:
            fits[drain_id] = (sensor_id, fit)
    return fits


def _fit_model(
    env: pd.DataFrame,
    fits: Mapping[int, tuple[int, FillRateFit]],
    trained: Sequence[int],
    seed: int,
    report: RefitReport,
) -> tuple[FillModel, DrainRates]:
    """The environment model on the drains with a good fit, and every drain's rates."""
    if len(trained) < MIN_TRAINING_DRAINS:
        why = [f"{report.sensors} drain sensor(s), {report.linked} linked to a drain"]
        if report.too_few:
            why.append(f"{report.too_few} of those with too few readings")
        if report.unlinked:
            why.append(f"not linked: {report.unlinked}")
        raise PlanNotReady(
            f"{len(trained)} drain sensor(s) with enough readings; the environment model needs at least "
            f"{MIN_TRAINING_DRAINS} ({'; '.join(why)}).",
            hint="link more drain sensors (sensor metadata 'drain', or a position within "
            f"{SENSOR_LINK_M:g} m of a drain) and let them report for a few weeks",
        )
    features = env.reindex(columns=list(FEATURES)).astype(np.float64)
    rates = np.array([fits[d][1].rate_per_day for d in trained])
    ses = np.array([fits[d][1].rate_se for d in trained])
    model = fit_fill_model(features.loc[trained], rates, rate_se=ses, seed=seed)
    predicted, predicted_sd = model.predict(features)
    measured = np.full(len(env), np.nan)
    measured_se = np.full(len(env), np.nan)
    pos = {d: i for i, d in enumerate(env.index)}
    for d in trained:
        measured[pos[d]] = fits[d][1].rate_per_day
        measured_se[pos[d]] = fits[d][1].rate_se
    rate, rate_sd = shrink(measured, measured_se, predicted, predicted_sd)
    return model, DrainRates(measured, measured_se, predicted, predicted_sd, rate, rate_sd)
