"""The coming year under the dynamic schedule against the fixed yearly round.

Dynamic: each drain is cleaned when due (threshold or max interval, never before the minimum
interval), then refills from 0 %; repeated through two years (the first also clears the old
round's backlog, the second shows the steady state). Fixed yearly: each drain is cleaned
once, on its day of the round, whether full or not. Both count the drains that go above their
threshold, drain-days above it, sludge and truck hours (`TruckModel`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

import numpy as np
import pandas as pd

from geo.fill import DISTRICT_CELL_M
from geo.plan.config import PlanConfig
from geo.plan.projection import (
    LEAF_FALL_MONTHS,
    DrainState,
    ScheduleParameters,
    SeasonalTable,
    day_number,
    due_days,
    fill_on,
    leaf_share,
    project,
    reach_day,
    seasonal_table,
    subset,
)
from geo.plan.truck import TruckModel, drain_spacing, truck_for

__all__ = ["PolicyYear", "YearlySummary", "city_summary", "yearly_summary"]

_YEARS = 2  # the dynamic plan's first year and its steady-state second year
_MAX_ROUNDS = 800  # cleanings per drain in two years can never come near this


@dataclass(frozen=True)
class PolicyYear:
    """One policy over the coming year."""

    cleanings: int
    sweeps: int
    drains_over_threshold: int  # drains above their threshold on at least one day
    drain_days_over_threshold: float
    sludge_m3: float
    truck_hours: float
    # how many drains are cleaned 0, 1, 2, 3+ times in the year
    drains_by_cleanings: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "cleanings": self.cleanings,
            "drains_by_cleanings": self.drains_by_cleanings,
            "sweeps": self.sweeps,
            "drains_over_threshold": self.drains_over_threshold,
            "drain_days_over_threshold": round(self.drain_days_over_threshold, 1),
            "sludge_m3": round(self.sludge_m3, 1),
            "truck_hours": round(self.truck_hours, 1),
        }


@dataclass(frozen=True)
class YearlySummary:
    start: date
    drains: int
    dynamic: PolicyYear
    yearly: PolicyYear
    notes: tuple[str, ...]
    # The dynamic plan's second year: the steady state, once the first year's backlog is gone.
    second_year: PolicyYear | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "start": self.start.isoformat(),
            "drains": self.drains,
            "dynamic": self.dynamic.as_dict(),
            **({"dynamic_second_year": self.second_year.as_dict()} if self.second_year else {}),
            "fixed_yearly": self.yearly.as_dict(),
            "notes": list(self.notes),
        }


@dataclass(frozen=True)
class _Start:
    """Every drain's projection from the plan's start."""

    state: DrainState
    table: SeasonalTable
    params: ScheduleParameters
    start_day: int
    t0: np.ndarray
    fill0: np.ndarray
    last_cleaning: np.ndarray


@dataclass
class _Tally:
    """The dynamic policy's counts, per year (rows) and per drain (columns)."""

    cleanings: np.ndarray
    sweeps: np.ndarray
    sludge: np.ndarray
    over_days: np.ndarray

    @classmethod
    def empty(cls, n: int) -> _Tally:
        return cls(
            np.zeros((_YEARS, n), dtype=np.int64),
            np.zeros(_YEARS, dtype=np.int64),
            np.zeros(_YEARS),
            np.zeros((_YEARS, n)),
        )

    def year(self, y: int, truck: TruckModel, spacing_m: float) -> PolicyYear:
        cleanings = int(self.cleanings[y].sum())
        return PolicyYear(
            cleanings=cleanings,
            sweeps=int(self.sweeps[y]),
            drains_over_threshold=int((self.over_days[y] > 0).sum()),
            drain_days_over_threshold=float(self.over_days[y].sum()),
            sludge_m3=float(self.sludge[y]),
            truck_hours=truck.hours(int(cleanings - self.sweeps[y]), spacing_m, float(self.sludge[y])),
            drains_by_cleanings=_histogram(self.cleanings[y]),
        )


def yearly_summary(
    state: DrainState,
    factors: np.ndarray,
    params: ScheduleParameters,
    *,
    dynamic_spacing_m: float,
    yearly_spacing_m: float,
    truck: TruckModel,
    round_day: np.ndarray | None = None,
) -> YearlySummary:
    """The coming 365 days under the dynamic schedule and under the fixed yearly round.

    `round_day`: the round's day offset 0..364 per drain; default spread evenly in drain-id
    order, like a round street by street. Truck hours use the typical spacing of the drains
    cleaned together in each policy: sparser for the dynamic one.
    """
    start_day = day_number(params.start)
    table = seasonal_table(state, factors, params, start_day + 365 * _YEARS)
    t0, fill0, last_cleaning, _ = project(state, table, start_day, params.assumed_days_since_cleaning)
    begin = _Start(state, table, params, start_day, t0, fill0, last_cleaning)
    tally = _dynamic(begin)
    per_year = [tally.year(y, truck, dynamic_spacing_m) for y in range(_YEARS)]
    n = len(state.drain_id)
    if round_day is None:
        round_day = np.floor(np.arange(n) * 365.0 / max(n, 1))
    yearly = _fixed_round(begin, np.asarray(round_day, dtype=np.float64), truck, yearly_spacing_m)
    notes = (
        f"truck hours: {truck.service_s:.0f} s per drain, drains {dynamic_spacing_m:.0f} m apart "
        f"(dynamic) vs {yearly_spacing_m:.0f} m (round), × {truck.detour} detour at "
        f"{truck.speed_kmh:g} km/h, a {truck.tank_m3:g} m³ tank emptied at a dump site "
        f"{truck.dump_distance_m / 1000:.1f} km away in {truck.dump_trip_s / 60:.0f} min",
        "sweep-only cleanings (leaf litter) are counted as cleanings but not as truck hours",
    )
    return YearlySummary(params.start, n, per_year[0], yearly, notes, second_year=per_year[1])


def city_summary(
    state: DrainState,
    factors: np.ndarray,
    params: ScheduleParameters,
    env: pd.DataFrame,
    due: pd.DataFrame,
    config: PlanConfig,
) -> YearlySummary:
    """`yearly_summary` for the drains of `env` (x, y metric), with the schedule's `due` drains:
    the spacing of the drains cleaned together and the round's order, from the drains."""
    all_xy = env[["x", "y"]].to_numpy()
    # Drains cleaned together: the yearly round goes street by street (all drains); the dynamic
    # plan's trucks visit the drains due in the same weeks (the schedule's own due drains).
    suction = due[due["method"] != "sweep"]
    due_xy = env.loc[suction["drain_id"].to_numpy(), ["x", "y"]].to_numpy()
    dynamic_spacing = drain_spacing(due_xy) if len(due_xy) >= 2 else drain_spacing(all_xy)
    order = np.lexsort((all_xy[:, 0], np.floor(all_xy[:, 1] / DISTRICT_CELL_M)))
    round_day = np.empty(len(order))
    round_day[order] = np.floor(np.arange(len(order)) * 365.0 / max(len(order), 1))
    return yearly_summary(
        state,
        factors,
        params,
        dynamic_spacing_m=dynamic_spacing,
        yearly_spacing_m=drain_spacing(all_xy),
        truck=truck_for(env, config),
        round_day=round_day,
    )


def _dynamic(begin: _Start) -> _Tally:
    """Iterate cleanings per drain through the years: clean each drain when due, refill from 0."""
    n = len(begin.state.drain_id)
    end_day = begin.start_day + 365 * _YEARS
    tally = _Tally.empty(n)
    cur_t0, cur_fill, cur_last = begin.t0.copy(), begin.fill0.copy(), begin.last_cleaning.copy()
    not_before = np.full(n, begin.start_day, dtype=np.float64)
    active = np.ones(n, dtype=bool)
    for _ in range(_MAX_ROUNDS):
        if not active.any():
            break
        idx = np.flatnonzero(active)
        sub = subset(begin.state, idx)
        due, _cause = due_days(
            sub, begin.table, cur_t0[idx], cur_fill[idx], cur_last[idx], not_before[idx], begin.params
        )
        within = due < end_day
        # days above the threshold before this cleaning, per year
        for y in range(_YEARS):
            a, b = begin.start_day + 365 * y, begin.start_day + 365 * (y + 1)
            tally.over_days[y, idx] += _days_over(
                sub,
                begin.table,
                cur_t0[idx],
                cur_fill[idx],
                np.maximum(not_before[idx], a),
                np.minimum(due, b).astype(np.float64),
            )
        w = idx[within]
        if w.size:
            due_w = due[within]
            _count_cleanings(begin, tally, w, due_w, cur_t0[w], cur_fill[w], cur_last[w])
            cur_t0[w] = due_w
            cur_fill[w] = 0.0
            cur_last[w] = due_w
            not_before[w] = due_w
        active[idx[~within]] = False
    return tally


def _count_cleanings(
    begin: _Start,
    tally: _Tally,
    w: np.ndarray,
    due_w: np.ndarray,
    t0: np.ndarray,
    fill0: np.ndarray,
    last: np.ndarray,
) -> None:
    """Count the cleanings of drains `w` on their due days `due_w` into their years: a sweep
    alone when leaf litter is all that makes the drain due, else suction with its sludge."""
    subw = subset(begin.state, w)
    fill_due = fill_on(subw, begin.table, t0, fill0, due_w.astype(np.float64))
    months = pd.DatetimeIndex(due_w.astype("datetime64[D]")).month.to_numpy()
    litter = leaf_share(subw, begin.table, last, due_w.astype(np.float64))
    sweep_only = (
        subw.leaf_dominated
        & np.isin(months, LEAF_FALL_MONTHS)
        & (fill_due * (1.0 - litter) < subw.threshold)
    )
    year = (due_w - begin.start_day) // 365
    for y in range(_YEARS):
        in_year = year == y
        tally.sweeps[y] += int((sweep_only & in_year).sum())
        tally.cleanings[y, w[in_year]] += 1
        tally.sludge[y] += float((fill_due[~sweep_only & in_year] / 100.0 * begin.params.sump_m3).sum())


def _fixed_round(begin: _Start, round_day: np.ndarray, truck: TruckModel, spacing_m: float) -> PolicyYear:
    """Every drain cleaned once, on its day of the round."""
    state, table, t0, fill0 = begin.state, begin.table, begin.t0, begin.fill0
    n = len(state.drain_id)
    clean_day = begin.start_day + round_day
    start = np.full(n, float(begin.start_day))
    year_end = np.full(n, float(begin.start_day + 365))
    before = _days_over(state, table, t0, fill0, start, clean_day)
    fill_clean = fill_on(state, table, t0, fill0, clean_day)
    after = _days_over(state, table, clean_day, np.zeros(n), clean_day, year_end)
    over = before + after
    sludge = float((fill_clean / 100.0 * begin.params.sump_m3).sum())
    return PolicyYear(
        cleanings=n,
        sweeps=0,
        drains_over_threshold=int((over > 0).sum()),
        drain_days_over_threshold=float(over.sum()),
        sludge_m3=sludge,
        truck_hours=truck.hours(n, spacing_m, sludge),
        drains_by_cleanings=_histogram(np.ones(n, dtype=np.int64)),
    )


def _histogram(counts: np.ndarray) -> dict[str, int]:
    capped = np.minimum(counts, 3)
    return {("3+" if k == 3 else str(k)): int((capped == k).sum()) for k in range(4)}


def _days_over(
    state: DrainState,
    table: SeasonalTable,
    t0: np.ndarray,
    fill0: np.ndarray,
    since: np.ndarray,
    until: np.ndarray,
) -> np.ndarray:
    """Days in [since, until) on which the projected fill is at or above the threshold."""
    reach = reach_day(state, table, t0, fill0)
    out: np.ndarray = np.maximum(until - np.maximum(reach, since), 0.0)
    return out
