"""The drain-cleaning schedule: when each drain reaches its threshold, how to clean it, and why.

Pure computation on arrays (one row per drain); `geo.planning` reads them from the store.

A drain's fill grows with *seasonal time*: its base rate (%/day of an average day) times the
month's seasonal factor (leaf fall: October-December above 1, summer below) times its zone's
rate multiplier (building sand). From its known fill at a known time (the sensor's last
reading, a recorded cleaning, or -- for a drain with no record at all -- the fixed yearly round,
assumed some days before the plan starts) it is projected day by day:

    fill(d) = min(100, fill0 + rate * multiplier * (C[d] - C[t0]))

with C the cumulative seasonal days of the drain's seasonal group. The drain is due on the
first day fill(d) reaches its threshold, or when its maximum interval since the last cleaning
runs out; never before its minimum interval has passed.

Method: where large-leaf trees (plane, lime, horse chestnut, large maples) dominate a drain's
leaf load and it falls due in leaf-fall months, the litter lies on the street and on top of the
grate: a street sweeper with a gully attachment removes it ("sweep") -- unless the drain would
be due even without the leaf-fall litter (its fill less the part the leaf-fall months added
above their usual rate still reaches the threshold), then it needs the suction truck as well
("both"). Everything else is "suction".
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import numpy as np
import pandas as pd

__all__ = [
    "LEAF_FALL_MONTHS",
    "DrainState",
    "Schedule",
    "ScheduleParameters",
    "SeasonalTable",
    "YearlySummary",
    "compute_schedule",
    "yearly_summary",
]

# Large-leaf genera in geo/data/leaf_classes.csv shed in October and November; the leaves lie in
# the streets into December.
LEAF_FALL_MONTHS: tuple[int, ...] = (10, 11, 12)
_MONTH_NAMES = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_EPOCH = date(1970, 1, 1)


def _day(d: date) -> int:
    return (d - _EPOCH).days


def _date(day: int) -> date:
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
        self.first = _day(first)
        days = np.arange(self.first, _day(last) + 2)
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
    horizon_days: int = 28
    min_interval_days: float = 14.0
    max_interval_days: float = 5 * 365.0
    sump_m3: float = 0.06
    assumed_days_since_cleaning: float = 182.0


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


@dataclass
class Schedule:
    """Due drains (one row each, sorted by due date) and what it was computed with."""

    parameters: ScheduleParameters
    due: pd.DataFrame
    considered: int
    assumed_cleanings: int  # drains whose last cleaning is the assumed yearly round

    def counts_by_method(self) -> dict[str, int]:
        return {str(k): int(v) for k, v in self.due["method"].value_counts().items()}


def _project(
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


def _reach(state: DrainState, table: SeasonalTable, t0: np.ndarray, fill0: np.ndarray) -> np.ndarray:
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


def _due_days(
    state: DrainState,
    table: SeasonalTable,
    t0: np.ndarray,
    fill0: np.ndarray,
    last_cleaning: np.ndarray,
    not_before: np.ndarray,
    params: ScheduleParameters,
) -> tuple[np.ndarray, np.ndarray]:
    """(due day, cause) per drain: cause 0 = threshold, 1 = maximum interval."""
    reach = np.floor(_reach(state, table, t0, fill0))
    max_day = np.ceil(last_cleaning + params.max_interval_days)
    cause = np.where(max_day < reach, 1, 0)
    due = np.minimum(reach, max_day)
    min_day = np.ceil(last_cleaning + params.min_interval_days)
    due = np.maximum(np.maximum(due, min_day), not_before)
    return due.astype(np.int64), cause


def _fill_on(
    state: DrainState, table: SeasonalTable, t0: np.ndarray, fill0: np.ndarray, day: np.ndarray
) -> np.ndarray:
    grown = state.rate * state.multiplier * (table.at(state.group, day) - table.at(state.group, t0))
    out: np.ndarray = np.clip(fill0 + np.maximum(grown, 0.0), 0.0, 100.0)
    return out


def _leaf_share(state: DrainState, table: SeasonalTable, since: np.ndarray, until: np.ndarray) -> np.ndarray:
    """Share of the fill between two days that is leaf-fall excess (factor above 1)."""
    total = table.at(state.group, until) - table.at(state.group, since)
    days = np.maximum(until - since, 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        share = np.where(total > 0, np.maximum(total - days, 0.0) / total, 0.0)
    return share


def _seasonal_table(
    state: DrainState, factors: np.ndarray, params: ScheduleParameters, end_day: int
) -> SeasonalTable:
    """A table from the earliest known fill or cleaning (or the assumed round) to well past
    `end_day` (a maximum interval and a year more), so every lookup lands inside it."""
    known = np.concatenate([state.fill_day, state.last_cleaning_day])
    known = known[np.isfinite(known)]
    first_day = min(
        _day(params.start) - int(params.assumed_days_since_cleaning) - 1,
        int(np.floor(known.min())) if known.size else _day(params.start),
    )
    return SeasonalTable(factors, _date(first_day), _date(end_day + int(params.max_interval_days) + 400))


def compute_schedule(
    state: DrainState, factors: np.ndarray, params: ScheduleParameters
) -> tuple[Schedule, SeasonalTable]:
    """Every drain due within [start, start + horizon), with due date, fill, sludge and method.

    The returned frame has drain_id, due (date), cause ("threshold" | "max_interval" |
    "overdue"), fill_at_due (%), sludge_m3, threshold, method, fill_now (% at start),
    last_cleaning (date), assumed_cleaning (bool), rate_at_due (%/day at the due month),
    leaf_share; callers add the reason text (they know the drain's environment).
    """
    start_day = _day(params.start)
    end_day = start_day + params.horizon_days
    table = _seasonal_table(state, factors, params, end_day)
    t0, fill0, last_cleaning, assumed = _project(state, table, start_day, params.assumed_days_since_cleaning)
    due_day, cause = _due_days(state, table, t0, fill0, last_cleaning, np.full(len(t0), start_day), params)
    in_horizon = due_day < end_day
    idx = np.flatnonzero(in_horizon)
    sub = _subset(state, idx)
    fill_now = _fill_on(sub, table, t0[idx], fill0[idx], np.full(len(idx), start_day))
    fill_due = _fill_on(sub, table, t0[idx], fill0[idx], due_day[idx].astype(np.float64))
    overdue = (fill_now >= sub.threshold) & (cause[idx] == 0)
    cause_text = np.where(cause[idx] == 1, "max_interval", np.where(overdue, "overdue", "threshold"))
    months = pd.DatetimeIndex(due_day[idx].astype("datetime64[D]")).month.to_numpy()
    leaf_share = _leaf_share(sub, table, last_cleaning[idx], due_day[idx].astype(np.float64))
    leaf_fall = np.isin(months, LEAF_FALL_MONTHS)
    leafy = sub.leaf_dominated & leaf_fall
    without_litter = fill_due * (1.0 - leaf_share)
    method = np.where(leafy, np.where(without_litter < sub.threshold, "sweep", "both"), "suction")
    rate_at_due = sub.rate * sub.multiplier * table.factor(sub.group, due_day[idx])
    due = pd.DataFrame(
        {
            "drain_id": sub.drain_id,
            "due": [_date(d) for d in due_day[idx]],
            "cause": cause_text,
            "fill_now": fill_now,
            "fill_at_due": fill_due,
            "sludge_m3": fill_due / 100.0 * params.sump_m3,
            "threshold": sub.threshold,
            "multiplier": sub.multiplier,
            "method": method,
            "last_cleaning": [_date(int(np.floor(d))) for d in last_cleaning[idx]],
            "assumed_cleaning": assumed[idx],
            "rate_at_due": rate_at_due,
            "leaf_share": leaf_share,
            "fill_without_litter": without_litter,
        }
    )
    due = due.sort_values(["due", "drain_id"], kind="stable").reset_index(drop=True)
    return (
        Schedule(params, due, considered=len(state.drain_id), assumed_cleanings=int(assumed.sum())),
        table,
    )


def _subset(state: DrainState, idx: np.ndarray) -> DrainState:
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
class TruckModel:
    """How long a suction cleaning takes a truck: service at the drain, driving to the next
    drain (the typical spacing of the drains cleaned together, × detour at the set speed), and
    trips to empty the tank."""

    service_s: float = 180.0
    speed_kmh: float = 25.0
    detour: float = 1.3
    tank_m3: float = 6.0
    dump_service_s: float = 900.0  # emptying the tank at the dump site
    dump_distance_m: float = 5000.0  # from the drains to the nearest dump site, straight line

    @property
    def dump_trip_s(self) -> float:
        """Drive to the dump site and back (× detour) and empty the tank."""
        return self.dump_service_s + 2 * self.dump_distance_m * self.detour / (self.speed_kmh / 3.6)

    def hours(self, cleanings: int, spacing_m: float, sludge_m3: float) -> float:
        drive_s = spacing_m * self.detour / (self.speed_kmh / 3.6)
        dumps = np.ceil(sludge_m3 / self.tank_m3) if sludge_m3 > 0 else 0.0
        return float((cleanings * (self.service_s + drive_s) + dumps * self.dump_trip_s) / 3600.0)


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

    Dynamic: each drain is cleaned when due (threshold or max interval, never before the
    minimum interval), then refills from 0 %; repeated through the year. Fixed yearly: each
    drain is cleaned once, on its day of the round (`round_day`: day offset 0..364 per drain;
    default spread evenly in drain-id order, like a round street by street), whether full or
    not. Both count the drains that go above their threshold, drain-days above it, sludge and
    truck hours (`TruckModel`, with the typical spacing of the drains cleaned together in each
    policy: sparser for the dynamic one).
    """
    start_day = _day(params.start)
    year_end = start_day + 365
    years = 2
    end_day = start_day + 365 * years
    table = _seasonal_table(state, factors, params, end_day)
    t0, fill0, last_cleaning, _ = _project(state, table, start_day, params.assumed_days_since_cleaning)
    n = len(state.drain_id)

    # Dynamic policy: iterate cleanings per drain through two years. The first year also
    # clears whatever backlog the old round left; the second shows the steady state.
    cleanings = np.zeros((years, n), dtype=np.int64)
    sweeps = np.zeros(years, dtype=np.int64)
    sludge = np.zeros(years)
    over_days = np.zeros((years, n))
    cur_t0, cur_fill, cur_last = t0.copy(), fill0.copy(), last_cleaning.copy()
    not_before = np.full(n, start_day, dtype=np.float64)
    active = np.ones(n, dtype=bool)
    for _ in range(800):
        if not active.any():
            break
        idx = np.flatnonzero(active)
        sub = _subset(state, idx)
        due, _cause = _due_days(
            sub, table, cur_t0[idx], cur_fill[idx], cur_last[idx], not_before[idx], params
        )
        within = due < end_day
        # days above the threshold before this cleaning, per year
        for y in range(years):
            a, b = start_day + 365 * y, start_day + 365 * (y + 1)
            over_days[y, idx] += _days_over(
                sub,
                table,
                cur_t0[idx],
                cur_fill[idx],
                np.maximum(not_before[idx], a),
                np.minimum(due, b).astype(np.float64),
            )
        w = idx[within]
        if w.size:
            subw = _subset(state, w)
            due_w = due[within]
            fill_due = _fill_on(subw, table, cur_t0[w], cur_fill[w], due_w.astype(np.float64))
            months = pd.DatetimeIndex(due_w.astype("datetime64[D]")).month.to_numpy()
            leaf_share = _leaf_share(subw, table, cur_last[w], due_w.astype(np.float64))
            sweep_only = (
                subw.leaf_dominated
                & np.isin(months, LEAF_FALL_MONTHS)
                & (fill_due * (1.0 - leaf_share) < subw.threshold)
            )
            year = (due_w - start_day) // 365
            for y in range(years):
                in_year = year == y
                sweeps[y] += int((sweep_only & in_year).sum())
                cleanings[y, w[in_year]] += 1
                sludge[y] += float((fill_due[~sweep_only & in_year] / 100.0 * params.sump_m3).sum())
            cur_t0[w] = due_w
            cur_fill[w] = 0.0
            cur_last[w] = due_w
            not_before[w] = due_w
        active[idx[~within]] = False
    per_year = [
        PolicyYear(
            cleanings=int(cleanings[y].sum()),
            sweeps=int(sweeps[y]),
            drains_over_threshold=int((over_days[y] > 0).sum()),
            drain_days_over_threshold=float(over_days[y].sum()),
            sludge_m3=float(sludge[y]),
            truck_hours=truck.hours(int(cleanings[y].sum() - sweeps[y]), dynamic_spacing_m, float(sludge[y])),
            drains_by_cleanings=_histogram(cleanings[y]),
        )
        for y in range(years)
    ]
    dynamic = per_year[0]

    # Fixed yearly round.
    if round_day is None:
        round_day = np.floor(np.arange(n) * 365.0 / max(n, 1))
    clean_day = start_day + np.asarray(round_day, dtype=np.float64)
    start = np.full(n, float(start_day))
    before = _days_over(state, table, t0, fill0, start, clean_day)
    fill_clean = _fill_on(state, table, t0, fill0, clean_day)
    after = _days_over(state, table, clean_day, np.zeros(n), clean_day, np.full(n, float(year_end)))
    yearly_over = before + after
    yearly_sludge = float((fill_clean / 100.0 * params.sump_m3).sum())
    yearly = PolicyYear(
        cleanings=n,
        sweeps=0,
        drains_over_threshold=int((yearly_over > 0).sum()),
        drain_days_over_threshold=float(yearly_over.sum()),
        sludge_m3=yearly_sludge,
        truck_hours=truck.hours(n, yearly_spacing_m, yearly_sludge),
        drains_by_cleanings=_histogram(np.ones(n, dtype=np.int64)),
    )
    notes = (
        f"truck hours: {truck.service_s:.0f} s per drain, drains {dynamic_spacing_m:.0f} m apart "
        f"(dynamic) vs {yearly_spacing_m:.0f} m (round), × {truck.detour} detour at "
        f"{truck.speed_kmh:g} km/h, a {truck.tank_m3:g} m³ tank emptied at a dump site "
        f"{truck.dump_distance_m / 1000:.1f} km away in {truck.dump_trip_s / 60:.0f} min",
        "sweep-only cleanings (leaf litter) are counted as cleanings but not as truck hours",
    )
    return YearlySummary(params.start, n, dynamic, yearly, notes, second_year=per_year[1])


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
    reach = _reach(state, table, t0, fill0)
    out: np.ndarray = np.maximum(until - np.maximum(reach, since), 0.0)
    return out


def month_name(day: date) -> str:
    return _MONTH_NAMES[day.month - 1]


def rate_text(rate_per_day: float) -> str:
    return f"{rate_per_day:.2f}" if rate_per_day < 0.995 else f"{rate_per_day:.1f}"


def join_reasons(parts: Sequence[str]) -> str:
    return "; ".join(p for p in parts if p)
