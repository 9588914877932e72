"""The drain-cleaning schedule: when each drain reaches its threshold, how to clean it, and why.

Pure computation on arrays (one row per drain; the projection is `geo.plan.projection`);
`geo.jobs` reads them from the store.

Method: where large-leaf trees (plane, lime, horse chestnut, large maples) dominate a drain's
leaf load and it falls due in leaf-fall months, the litter lies on the street and on top of the
grate: a street sweeper with a gully attachment removes it ("sweep") -- unless the drain would
be due even without the leaf-fall litter (its fill less the part the leaf-fall months added
above their usual rate still reaches the threshold), then it needs the suction truck as well
("both"). Everything else is "suction".
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from geo.plan.projection import (
    LEAF_FALL_MONTHS,
    DrainState,
    ScheduleParameters,
    SeasonalTable,
    date_of,
    day_number,
    due_days,
    fill_on,
    leaf_share,
    project,
    seasonal_table,
    subset,
)

__all__ = ["Schedule", "compute_schedule"]


@dataclass
class Schedule:
    """Due drains (one row each, sorted by due date) and what it was computed with."""

    parameters: ScheduleParameters
    due: pd.DataFrame
    considered: int
    assumed_cleanings: int  # drains whose last cleaning is the assumed yearly round

    def counts_by_method(self) -> dict[str, int]:
        return {str(k): int(v) for k, v in self.due["method"].value_counts().items()}


def compute_schedule(
    state: DrainState, factors: np.ndarray, params: ScheduleParameters
) -> tuple[Schedule, SeasonalTable]:
    """Every drain due within [start, start + horizon), with due date, fill, sludge and method.

    The returned frame has drain_id, due (date), cause ("threshold" | "max_interval" |
    "overdue"), fill_at_due (%), sludge_m3, threshold, method, fill_now (% at start),
    last_cleaning (date), assumed_cleaning (bool), rate_at_due (%/day at the due month),
    leaf_share; callers add the reason text (they know the drain's environment).
    """
    start_day = day_number(params.start)
    end_day = start_day + params.horizon_days
    table = seasonal_table(state, factors, params, end_day)
    t0, fill0, last_cleaning, assumed = project(state, table, start_day, params.assumed_days_since_cleaning)
    due_day, cause = due_days(state, table, t0, fill0, last_cleaning, np.full(len(t0), start_day), params)
    in_horizon = due_day < end_day
    idx = np.flatnonzero(in_horizon)
    sub = subset(state, idx)
    fill_now = fill_on(sub, table, t0[idx], fill0[idx], np.full(len(idx), start_day))
    fill_due = fill_on(sub, table, t0[idx], fill0[idx], due_day[idx].astype(np.float64))
    overdue = (fill_now >= sub.threshold) & (cause[idx] == 0)
    cause_text = np.where(cause[idx] == 1, "max_interval", np.where(overdue, "overdue", "threshold"))
    months = pd.DatetimeIndex(due_day[idx].astype("datetime64[D]")).month.to_numpy()
    litter_share = leaf_share(sub, table, last_cleaning[idx], due_day[idx].astype(np.float64))
    leaf_fall = np.isin(months, LEAF_FALL_MONTHS)
    leafy = sub.leaf_dominated & leaf_fall
    without_litter = fill_due * (1.0 - litter_share)
    method = np.where(leafy, np.where(without_litter < sub.threshold, "sweep", "both"), "suction")
    rate_at_due = sub.rate * sub.multiplier * table.factor(sub.group, due_day[idx])
    due = pd.DataFrame(
        {
            "drain_id": sub.drain_id,
            "due": [date_of(d) for d in due_day[idx]],
            "cause": cause_text,
            "fill_now": fill_now,
            "fill_at_due": fill_due,
            "sludge_m3": fill_due / 100.0 * params.sump_m3,
            "threshold": sub.threshold,
            "multiplier": sub.multiplier,
            "method": method,
            "last_cleaning": [date_of(int(np.floor(d))) for d in last_cleaning[idx]],
            "assumed_cleaning": assumed[idx],
            "rate_at_due": rate_at_due,
            "leaf_share": litter_share,
            "fill_without_litter": without_litter,
        }
    )
    due = due.sort_values(["due", "drain_id"], kind="stable").reset_index(drop=True)
    return (
        Schedule(params, due, considered=len(state.drain_id), assumed_cleanings=int(assumed.sum())),
        table,
    )
