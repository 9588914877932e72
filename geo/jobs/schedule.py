"""`pakhuis plan schedule`: the stored fill states and the drains' environment → the drains due
within a horizon, with due date, fill, sludge volume, method and a reason a planner can read
(`geo.plan`), and, when asked, the coming year against the fixed yearly round."""

from __future__ import annotations

from datetime import date
from typing import Any

import numpy as np
import pandas as pd

from geo.fill import GROUPS
from geo.jobs.environment import environment
from geo.jobs.errors import PlanNotReady
from geo.plan import (
    DEFAULT_HORIZON_DAYS,
    DrainState,
    PlanConfig,
    ScheduleParameters,
    ScheduleResult,
    city_summary,
    compute_schedule,
    due_reasons,
    effective_multiplier,
)
from pakhuis.errors import ConfigurationError
from pakhuis.store import Store

__all__ = ["plan_schedule"]

_MAX_HORIZON_DAYS = 366


def plan_schedule(
    store: Store,
    config: PlanConfig,
    start: date,
    horizon_days: int = DEFAULT_HORIZON_DAYS,
    *,
    with_summary: bool = False,
) -> ScheduleResult:
    """The drains due in [start, start + horizon_days) with their reasons (and the yearly
    summary when `with_summary`)."""
    if horizon_days < 1 or horizon_days > _MAX_HORIZON_DAYS:
        raise ConfigurationError("the horizon must be 1 to 366 days", hint="e.g. --horizon 28d")
    env = environment(store, config)
    states, model = _load_state(store, env)
    factors = np.array([model["seasonal"][g] for g in GROUPS])
    state = DrainState(
        drain_id=env.index.to_numpy(),
        rate=states["rate"].to_numpy(dtype=np.float64),
        multiplier=effective_multiplier(env, states, model, config),
        group=env["group"].to_numpy(dtype=np.int64),
        threshold=env["threshold"].to_numpy(dtype=np.float64),
        fill_day=_days(states["fill_time"]),
        fill_value=states["fill_value"].to_numpy(dtype=np.float64, na_value=np.nan),
        last_cleaning_day=_days(states["last_cleaning"]),
        leaf_dominated=env["leaf_dominated"].to_numpy(dtype=bool),
    )
    params = ScheduleParameters(
        start=start,
        horizon_days=horizon_days,
        min_interval_days=config.min_interval_days,
        max_interval_days=config.max_interval_days,
        sump_m3=config.sump_m3,
        assumed_days_since_cleaning=config.assumed_days_since_cleaning,
    )
    schedule, _ = compute_schedule(state, factors, params)
    due = schedule.due
    info = env.loc[due["drain_id"].to_numpy()]
    st = states.loc[due["drain_id"].to_numpy()]
    for column in ("drain_key", "lon", "lat"):
        due[column] = info[column].to_numpy()
    due["rate_source"] = st["rate_source"].to_numpy()
    due["reason"] = due_reasons(due, info, st, env.attrs["trees"], env.attrs["crs"], model)
    result = ScheduleResult(schedule, model, env)
    if with_summary:
        result.summary = city_summary(state, factors, params, env, due, config)
    return result


def _load_state(store: Store, env: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, Any]]:
    model = store.fill_model()
    states = pd.DataFrame(store.fill_states())
    if model is None or states.empty:
        raise PlanNotReady(
            "No fill model has been fitted yet.",
            hint="Run `pakhuis plan refit` (after loading drains and trees).",
        )
    states = states.set_index("drain_id")
    missing = env.index.difference(states.index)
    if len(missing):
        raise PlanNotReady(
            f"{len(missing):,} drains have no fill state (the register changed since the last refit).",
            hint="Run `pakhuis plan refit` again.",
        )
    return states.loc[env.index], model


def _days(values: pd.Series) -> np.ndarray:
    """Store timestamps → day numbers (days since 1970-01-01, fractional); NaN where none."""
    out = np.full(len(values), np.nan)
    for i, v in enumerate(values):
        if v is not None and not pd.isna(v):
            out[i] = v.timestamp() / 86400.0
    return out
