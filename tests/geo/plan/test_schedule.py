"""The schedule arithmetic against hand computations (flat and seasonal), and its rules."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pytest

from geo.plan import (
    DrainState,
    ScheduleParameters,
    SeasonalTable,
    TruckModel,
    compute_schedule,
    yearly_summary,
)
from geo.plan.projection import day_number

START = date(2026, 11, 2)
S = day_number(START)
FLAT = np.ones((1, 12))


def state(**overrides: object) -> DrainState:
    n = len(overrides.get("rate", [1.0]))  # type: ignore[arg-type]
    base: dict[str, object] = {
        "drain_id": np.arange(1, n + 1),
        "rate": np.full(n, 1.0),
        "multiplier": np.ones(n),
        "group": np.zeros(n, dtype=np.int64),
        "threshold": np.full(n, 60.0),
        "fill_day": np.full(n, np.nan),
        "fill_value": np.full(n, np.nan),
        "last_cleaning_day": np.full(n, np.nan),
        "leaf_dominated": np.zeros(n, dtype=bool),
    }
    for key, value in overrides.items():
        base[key] = np.asarray(value)
    return DrainState(**base)  # type: ignore[arg-type]


def test_flat_rate_due_date_is_hand_computed() -> None:
    # fill 20 % known 10 days ago, 2 %/day: reaches 60 % after 20 more days from that reading
    s = state(rate=[2.0], fill_day=[S - 10.0], fill_value=[20.0], last_cleaning_day=[S - 20.0])
    sched, _ = compute_schedule(s, FLAT, ScheduleParameters(START, horizon_days=28))
    row = sched.due.iloc[0]
    assert row["due"] == START + timedelta(days=10)
    assert row["fill_now"] == pytest.approx(40.0)
    assert row["fill_at_due"] == pytest.approx(60.0)
    assert row["sludge_m3"] == pytest.approx(0.6 * 0.06)
    assert row["cause"] == "threshold"


def test_outside_horizon_is_not_listed_and_zone_multiplier_brings_it_in() -> None:
    s = state(
        rate=[1.0, 1.0],
        multiplier=[1.0, 2.0],
        fill_day=[S, S],
        fill_value=[0.0, 0.0],
        last_cleaning_day=[S - 30.0, S - 30.0],
    )
    sched, _ = compute_schedule(s, FLAT, ScheduleParameters(START, horizon_days=40))
    assert list(sched.due["drain_id"]) == [2]
    assert sched.due.iloc[0]["due"] == START + timedelta(days=30)


def test_minimum_and_maximum_interval() -> None:
    # overfull right after a cleaning: not before the minimum interval
    fast = state(rate=[50.0], fill_day=[S - 1.0], fill_value=[0.0], last_cleaning_day=[S - 1.0])
    sched, _ = compute_schedule(fast, FLAT, ScheduleParameters(START, min_interval_days=14))
    assert sched.due.iloc[0]["due"] == START + timedelta(days=13)
    # never filling, cleaned 5 years ago minus 3 days: due on the maximum interval
    idle = state(rate=[0.0], fill_day=[S - 10.0], fill_value=[1.0], last_cleaning_day=[S - 5 * 365.0 + 3])
    sched, _ = compute_schedule(idle, FLAT, ScheduleParameters(START))
    assert sched.due.iloc[0]["cause"] == "max_interval"
    assert sched.due.iloc[0]["due"] == START + timedelta(days=3)


def test_overdue_drain_is_due_on_the_first_day() -> None:
    s = state(rate=[1.0], fill_day=[S - 2.0], fill_value=[75.0], last_cleaning_day=[S - 100.0])
    sched, _ = compute_schedule(s, FLAT, ScheduleParameters(START))
    assert sched.due.iloc[0]["due"] == START
    assert sched.due.iloc[0]["cause"] == "overdue"


def test_no_record_assumes_the_yearly_round() -> None:
    # assumed cleaned 182 days ago, 0.3 %/day → 54.6 % now, 60 % after 18 more days
    s = state(rate=[0.3])
    sched, _ = compute_schedule(s, FLAT, ScheduleParameters(START, assumed_days_since_cleaning=182))
    assert sched.assumed_cleanings == 1
    row = sched.due.iloc[0]
    assert bool(row["assumed_cleaning"])
    assert row["due"] == START + timedelta(days=18)


def test_seasonal_table_matches_a_day_by_day_sum() -> None:
    factors = np.array([[0.5, 0.5, 0.6, 0.7, 0.8, 0.8, 0.8, 0.9, 1.2, 2.2, 2.0, 1.0]])
    factors = factors / factors.mean()
    table = SeasonalTable(factors, date(2026, 1, 1), date(2027, 12, 31))
    a, b = day_number(date(2026, 9, 20)), day_number(date(2026, 12, 5))
    by_hand = sum(factors[0, (date(1970, 1, 1) + timedelta(days=d)).month - 1] for d in range(a, b))
    got = table.at(np.array([0]), np.array([b]))[0] - table.at(np.array([0]), np.array([a]))[0]
    assert got == pytest.approx(by_hand)
    # over a whole year the seasonal days equal calendar days (factors average 1 per month,
    # months differ in length, so within 1 %)
    year = table.at(np.array([0]), np.array([day_number(date(2027, 1, 1))]))[0]
    assert year == pytest.approx(365.0, rel=0.01)


def test_leaf_fall_makes_a_tree_drain_due_sooner_and_picks_the_method() -> None:
    factors = np.array([[1.0] * 12, [0.5] * 9 + [2.5, 2.5, 1.5]])
    factors[1] = factors[1] * 12 / factors[1].sum()
    s = state(
        rate=[1.0, 1.0, 0.05],
        group=[0, 1, 1],
        threshold=[60.0, 60.0, 40.0],
        fill_day=[S, S, S],
        fill_value=[20.0, 20.0, 95.0],
        last_cleaning_day=[S - 200.0, S - 20.0, S - 1000.0],
        leaf_dominated=[False, True, True],
    )
    sched, _ = compute_schedule(s, factors, ScheduleParameters(START, horizon_days=60))
    due = sched.due.set_index("drain_id")
    assert due.loc[2, "due"] < due.loc[1, "due"]
    assert due.loc[1, "method"] == "suction"
    # cleaned in mid-October: almost all of the fill since is leaf-fall litter (by hand: the
    # Oct/Nov factor 2.5 * 12 / 11 = 2.73, of which 1.73 / 2.73 = 63 % is the excess), so
    # without it the drain would be far below 60 %: sweeping is enough
    assert due.loc[2, "leaf_share"] == pytest.approx(1 - 11 / 30, rel=1e-6)
    assert due.loc[2, "fill_without_litter"] == pytest.approx(due.loc[2, "fill_at_due"] * 11 / 30)
    assert due.loc[2, "method"] == "sweep"
    # full after years of sediment: due now, and still over its 40 % without the litter
    assert due.loc[3, "cause"] == "overdue"
    assert due.loc[3, "fill_without_litter"] >= 40.0
    assert due.loc[3, "method"] == "both"


def test_yearly_summary_counts_cleanings_by_hand() -> None:
    # 1 %/day from 0 today (cleaned today), threshold 60: due after 60 days, 6 cleanings in
    # 365 days (days 60, 120, ..., 360); the fixed round cleans it once.
    s = state(rate=[1.0], fill_day=[float(S)], fill_value=[0.0], last_cleaning_day=[float(S)])
    summary = yearly_summary(
        s,
        FLAT,
        ScheduleParameters(START),
        dynamic_spacing_m=50.0,
        yearly_spacing_m=10.0,
        truck=TruckModel(),
        round_day=np.array([200.0]),
    )
    assert summary.dynamic.cleanings == 6
    assert summary.yearly.cleanings == 1
    # the round: above 60 % from day 60 to day 200 (140 days), then 60 % again at day 260 → 105 days
    assert summary.yearly.drain_days_over_threshold == pytest.approx(140 + 105)
    assert summary.dynamic.drain_days_over_threshold == pytest.approx(0.0)
    assert summary.yearly.drains_over_threshold == 1
    assert summary.dynamic.sludge_m3 == pytest.approx(6 * 0.6 * 0.06)
    # second year: days 420, 480, ..., 720
    assert summary.second_year is not None and summary.second_year.cleanings == 6
    assert summary.dynamic.drains_by_cleanings == {"0": 0, "1": 0, "2": 0, "3+": 1}
