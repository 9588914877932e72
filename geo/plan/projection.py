"""Projecting a drain's fill through the seasons: the arithmetic the schedule and the yearly
summary share.

A drain's fill grows with *seasonal time*: its base rate (%/day of an average day) times the
month's seasonal factor (leaf fall: October-December above 1, summer below) times its zone's
rate multiplier (building sand). From its known fill at a known time (the sensor's last
reading, a recorded cleaning, or -- for a drain with no record at all -- the fixed yearly round,
assumed some days before the plan starts) it is projected day by day:

    fill(d) = min(100, fill0 + rate * multiplier * (C[d] - C[t0]))

with C the cumulative seasonal days of the drain's seasonal group (`SeasonalTable`). The drain
is due on the first day fill(d) reaches its threshold, or when its maximum interval since the
last cleaning runs out; never before its minimum interval has passed (`due_days`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import pandas as pd

from geo.plan.config import DEFAULT_HORIZON_DAYS, plan_default

__all__ = [
    "LEAF_FALL_MONTHS",
    "DrainState",
    "ScheduleParameters",
    "SeasonalTable",
]

# Large-leaf genera in geo/data/leaf_classes.csv shed in October and November; the leaves lie in
# the streets into December.
LEAF_FALL_MONTHS: tuple[int, ...] = (10, 11, 12)
_EPOCH = date(1970, 1, 1)


def day_number(d: date) -> int:
    return (d - _EPOCH).days


def date_of(day: int) -> date:
    return _EPOCH + timedelta(days=int(day))


class SeasonalTable:
    """Cumulative seasonal days per group over a range of calendar days.

    `factors` is (groups, 12): group g's multiplier in each month (mean 1 over the year). The
    cumulative table gives C[g, d] = Σ factor over days before d, so the seasonal time between
    two days is a difference of two lookups and "the first day a drain reaches x" a binary
    search (C rises strictly because every factor is positive).
    """

    def __init__(self, factors: np.ndarray, first: date, last: date) -> None:
        factors = np.asarray(factors, dtype=np.float64)
        if factors.ndim != 2 or factors.shape[1] != 12:
            raise ValueError("seasonal factors must be an array of shape (groups, 12)")
        if not np.all(factors > 0):
            raise ValueError("seasonal factors must be positive")
        self.factors = factors
        self.first = day_number(first)
        days = np.arange(self.first, day_number(last) + 2)
        months = pd.DatetimeIndex(days.astype("datetime64[D]")).month.to_numpy() - 1
        self.months = months
        per_day = factors[:, months]  # (groups, days)
        self.cumulative = np.zeros((factors.shape[0], len(days) + 1))
        np.cumsum(per_day, axis=1, out=self.cumulative[:, 1:])

    @property
    def last(self) -> int:
        return self.first + self.cumulative.shape[1] - 2

    def at(self, group: np.ndarray, day: np.ndarray) -> np.ndarray:
        """C at the start of `day` (int day numbers; fractional days interpolate)."""
        day = np.asarray(day, dtype=np.float64)
        pos = np.clip(day - self.first, 0, self.cumulative.shape[1] - 1)
        lo = np.floor(pos).astype(np.int64)
        hi = np.minimum(lo + 1, self.cumulative.shape[1] - 1)
        frac = pos - lo
        out: np.ndarray = self.cumulative[group, lo] * (1 - frac) + self.cumulative[group, hi] * frac
        return out

    def first_day_reaching(self, group: np.ndarray, target: np.ndarray) -> np.ndarray:
        """The first whole day whose start has C >= target, per drain (self.last + 1 if never)."""
        out = np.empty(len(target), dtype=np.int64)
        for g in np.unique(group):
            sel = group == g
            out[sel] = np.searchsorted(self.cumulative[g], target[sel], side="left")
        return np.minimum(out, self.cumulative.shape[1] - 1) + self.first

    def factor(self, group: np.ndarray, day: np.ndarray) -> np.ndarray:
        idx = np.clip(np.asarray(day) - self.first, 0, len(self.months) - 1)
        out: np.ndarray = self.factors[group, self.months[idx]]
        return out


@dataclass(frozen=True)
class ScheduleParameters:
    start: date
    horizon_days: int = DEFAULT_HORIZON_DAYS
    min_interval_days: float = plan_default("min_interval_days")
    max_interval_days: float = plan_default("max_interval_days")
    sump_m3: float = plan_default("sump_m3")
    assumed_days_since_cleaning: float = plan_default("assumed_days_since_cleaning")


@dataclass
class DrainState:
    """Per-drain inputs of the schedule, arrays aligned with `drain_id`.

    Times are day numbers (days since 1970-01-01, fractional allowed); NaN = unknown.
    """

    drain_id: np.ndarray
    rate: np.ndarray  # base fill rate, % per seasonal day
    multiplier: np.ndarray  # zone fill-rate multiplier (>= 1 usually)
    group: np.ndarray  # seasonal group index (row of the factor table)
    threshold: np.ndarray  # %
    fill_day: np.ndarray  # when the fill was last known (NaN: never)
    fill_value: np.ndarray  # fill then (%)
    last_cleaning_day: np.ndarray  # NaN: no cleaning recorded or detected
    leaf_dominated: np.ndarray  # bool: large-leaf trees dominate the leaf load

    def __post_init__(self) -> None:
        n = len(self.drain_id)
        for name in (
            "rate",
            "multiplier",
            "group",
            "threshold",
            "fill_day",
            "fill_value",
            "last_cleaning_day",
            "leaf_dominated",
        ):
            if len(getattr(self, name)) != n:
                raise ValueError(f"DrainState.{name} has {len(getattr(self, name))} rows, expected {n}")
        if np.any(~np.isfinite(self.rate)) or np.any(self.rate < 0):
            raise ValueError("fill rates must be finite and >= 0")



def project(
    state: DrainState, table: SeasonalTable, start_day: int, assumed: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(t0, fill0, last_cleaning, assumed?) per drain, with the yearly-round assumption filled in."""
    assumed_day = start_day - assumed
    no_record = np.isnan(state.fill_day) & np.isnan(state.last_cleaning_day)
    last_cleaning = np.where(np.isnan(state.last_cleaning_day), assumed_day, state.last_cleaning_day)
    t0 = np.where(np.isnan(state.fill_day), last_cleaning, state.fill_day)
    fill0 = np.where(np.isnan(state.fill_day), 0.0, np.nan_to_num(state.fill_value))
    # A sensor drain whose fill is known but whose last cleaning is not (no drop seen in its
    # series): the interval rules count from the assumed round, or from the first reading.
    return t0, np.clip(fill0, 0.0, 100.0), last_cleaning, no_record


def reach_day(state: DrainState, table: SeasonalTable, t0: np.ndarray, fill0: np.ndarray) -> np.ndarray:
    """The day the projected fill reaches the threshold (t0 itself when already there; past the
    table's end when the drain does not fill)."""
    speed = state.rate * state.multiplier
    need = state.threshold - fill0
    with np.errstate(divide="ignore", invalid="ignore"):
        seasonal_needed = np.where(need <= 0, 0.0, np.where(speed > 0, need / speed, np.inf))
    target = table.at(state.group, t0) + seasonal_needed
    reach = np.where(np.isfinite(target), table.first_day_reaching(state.group, target), table.last + 1)
    out: np.ndarray = np.where(need <= 0, t0, reach).astype(np.float64)
    return out


def due_days(
    state: DrainState,
    table: SeasonalTable,
    t0: np.ndarray,
    fill0: np.ndarray,
    last_cleaning: np.ndarray,
    not_before: np.ndarray,
    params: ScheduleParameters,
) -> tuple[np.ndarray, np.ndarray]:
    """(due day, cause) per drain: cause 0 = threshold, 1 = maximum interval."""
    reach = np.floor(reach_day(state, table, t0, fill0))
    max_day = np.ceil(last_cleaning + params.max_interval_days)
    cause = np.where(max_day < reach, 1, 0)
    due = np.minimum(reach, max_day)
    min_day = np.ceil(last_cleaning + params.min_interval_days)
    due = np.maximum(np.maximum(due, min_day), not_before)
    return due.astype(np.int64), cause


def fill_on(
    state: DrainState, table: SeasonalTable, t0: np.ndarray, fill0: np.ndarray, day: np.ndarray
) -> np.ndarray:
    grown = state.rate * state.multiplier * (table.at(state.group, day) - table.at(state.group, t0))
    out: np.ndarray = np.clip(fill0 + np.maximum(grown, 0.0), 0.0, 100.0)
    return out


def leaf_share(state: DrainState, table: SeasonalTable, since: np.ndarray, until: np.ndarray) -> np.ndarray:
    """Share of the fill between two days that is leaf-fall excess (factor above 1)."""
    total = table.at(state.group, until) - table.at(state.group, since)
    days = np.maximum(until - since, 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        share = np.where(total > 0, np.maximum(total - days, 0.0) / total, 0.0)
    return share


def seasonal_table(
    state: DrainState, factors: np.ndarray, params: ScheduleParameters, end_day: int
) -> SeasonalTable:
    """A table from the earliest known fill or cleaning (or the assumed round) to well past
    `end_day` (a maximum interval and a year more), so every lookup lands inside it."""
    known = np.concatenate([state.fill_day, state.last_cleaning_day])
    known = known[np.isfinite(known)]
    first_day = min(
        day_number(params.start) - int(params.assumed_days_since_cleaning) - 1,
        int(np.floor(known.min())) if known.size else day_number(params.start),
    )
    return SeasonalTable(factors, date_of(first_day), date_of(end_day + int(params.max_interval_days) + 400))


def subset(state: DrainState, idx: np.ndarray) -> DrainState:
    return DrainState(
        drain_id=state.drain_id[idx],
        rate=state.rate[idx],
        multiplier=state.multiplier[idx],
        group=state.group[idx],
        threshold=state.threshold[idx],
        fill_day=state.fill_day[idx],
        fill_value=state.fill_value[idx],
        last_cleaning_day=state.last_cleaning_day[idx],
        leaf_dominated=state.leaf_dominated[idx],
    )
