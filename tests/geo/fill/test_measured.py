"""Drain fill rate: seasonal time, cleaning detection, Theil--Sen segments, pooled rates, season factors."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from geo.fill import (
    MIN_READINGS,
    MIN_SPAN_DAYS,
    SeasonalFactors,
    detect_cleanings,
    fill_at,
    fit_fill_rate,
    fit_seasonal_factors,
    time_to_reach,
)
from tests.geo.fill.fill_series import SimDrain, leaf_season, simulate_drain

DAY = np.timedelta64(86_400, "s")


def hourly(start: str, n: int, every_hours: float = 4.0) -> np.ndarray:
    return np.datetime64(start, "s") + (np.arange(n) * every_hours * 3600).astype("timedelta64[s]")


def ramp(n: int, rate_per_day: float, start_fill: float = 5.0, every_hours: float = 4.0) -> np.ndarray:
    return start_fill + rate_per_day * np.arange(n) * every_hours / 24.0


def visible_cleanings(d: SimDrain, min_drop: float = 25.0) -> np.ndarray:
    """True cleanings the readings can show: a true drop of >= min_drop, >= 1 day before the end."""
    idx = np.searchsorted(d.times, d.cleanings)
    ok = (idx > 0) & (idx < len(d.times))
    idx, when = idx[ok], d.cleanings[ok]
    drop = d.true_fill[idx - 1] - d.true_fill[idx]
    return np.asarray(when[(drop >= min_drop) & (when <= d.times[-1] - DAY)])


def matched(found: np.ndarray, d: SimDrain, tol: np.timedelta64) -> bool:
    """Every visible true cleaning found within `tol`, and every one found a true cleaning.

    A true cleaning of a drain that held 15-25 % may or may not show as a 20-point drop:
    it is not required, but finding it is no error either.
    """

    def near(a: np.datetime64, bs: np.ndarray) -> bool:
        return bool(len(bs) and np.min(np.abs(bs - a)) <= tol)

    return all(near(c, found) for c in visible_cleanings(d)) and all(near(c, d.cleanings) for c in found)


# --------------------------------------------------------------------------- seasonal time


def test_flat_seasonal_time_is_calendar_time() -> None:
    flat = SeasonalFactors.flat()
    start = hourly("2024-02-27T06:00", 5, 24)
    end = start + np.array([0, 1, 2, 40, 400], dtype="timedelta64[D]")
    assert np.allclose(flat.seasonal_days(start, end), [0, 1, 2, 40, 400])
    assert flat.seasonal_days(np.datetime64("2024-01-01"), np.datetime64("2024-01-01T12:00")) == 0.5


def test_seasonal_days_integrates_the_monthly_factors() -> None:
    season = SeasonalFactors.from_values([1, 1, 1, 1, 1, 1, 1, 1, 2, 4, 4, 2])
    f = season.monthly
    assert np.isclose(np.mean(f), 1.0)
    # half a day of September, then a day and a half of October
    got = season.seasonal_days(np.datetime64("2024-09-30T12:00"), np.datetime64("2024-10-02T12:00"))
    assert got == pytest.approx(0.5 * f[8] + 1.5 * f[9])
    # a whole year of seasonal time is about a year (mean 1; months differ a little in length)
    year = season.seasonal_days(np.datetime64("2023-01-01"), np.datetime64("2024-01-01"))
    assert year == pytest.approx(365.0, abs=3.0)
    # and backwards is negative
    assert season.seasonal_days(np.datetime64("2024-10-02"), np.datetime64("2024-09-30")) < 0


def test_calendar_time_inverts_seasonal_days() -> None:
    season = leaf_season(2.0)
    start = hourly("2023-08-15T03:00", 6, 24 * 17)
    amounts = np.array([0.0, 1.0, 10.0, 55.5, 120.0, 700.0])
    back = season.calendar_time(start, amounts)
    assert np.allclose(season.seasonal_days(start, back), amounts, atol=1e-4)
    # leaf-fall days are worth more, so the same seasonal amount takes fewer calendar days in October
    oct_days = (season.calendar_time(np.datetime64("2023-10-01"), 20.0) - np.datetime64("2023-10-01")) / DAY
    jun_days = (season.calendar_time(np.datetime64("2023-06-01"), 20.0) - np.datetime64("2023-06-01")) / DAY
    assert float(oct_days) < 20 < float(jun_days)


def test_seasonal_factors_validate() -> None:
    with pytest.raises(ValueError, match="12"):
        SeasonalFactors((1.0,) * 11)
    with pytest.raises(ValueError, match="> 0"):
        SeasonalFactors((1.0,) * 11 + (0.0,))
    season = SeasonalFactors.from_values(range(1, 13))
    assert np.isclose(np.mean(season.monthly), 1.0)
    assert np.allclose(season.factor([1, 12]), np.array([1, 12]) / 6.5)
    with pytest.raises(ValueError, match="1-12"):
        season.factor([0])


# --------------------------------------------------------------------------- cleaning detection


def test_outliers_and_storm_bursts_are_not_cleanings() -> None:
    n = 300
    t = hourly("2024-03-01", n)
    y = ramp(n, 0.5, start_fill=40.0)
    y[50] = 0.0  # one dropout
    y[100:102] = 0.0  # two dropouts in a row
    y[150:153] = 1.0  # three low readings that come straight back: a dip, not a cleaning
    y[200:] += 15.0  # a storm burst: a sudden rise
    y[250] = 100.0  # a spike
    assert detect_cleanings(t, y) == []
    fit = fit_fill_rate(t, y)
    assert fit.status == "ok" and fit.cleanings == ()
    # Theil-Sen shrugs the outliers and the single step off (Sen's slope of the ramp: 0.5 %/day)
    assert fit.rate_per_day == pytest.approx(0.5, rel=0.15)


def test_sharp_drop_is_a_cleaning_even_half_caught() -> None:
    n = 200
    t = hourly("2024-03-01", n)
    y = ramp(n, 1.0, start_fill=30.0)
    y[120] = 40.0  # the crew is half-way at this reading
    y[121:] = ramp(n - 121, 1.0, start_fill=3.0)
    found = detect_cleanings(t, y)
    assert len(found) == 1
    c = found[0]
    assert c.source == "detected" and c.work_order is None
    assert t[120] <= c.time <= t[121]
    assert c.drop == pytest.approx(y[119] - 3.0, abs=3.0)
    # the drop must be at least min_drop
    assert detect_cleanings(t, y, min_drop=90.0) == []


def test_work_orders_merge_with_detected_drops() -> None:
    n = 600
    t = hourly("2024-01-01", n)
    y = ramp(n, 1.0, start_fill=10.0)  # 43 % at reading 199
    y[200:] = ramp(n - 200, 0.3, start_fill=3.0)  # detected cleaning at t[200]
    y[450:] = ramp(n - 450, 0.3, start_fill=2.0)  # cleaned at ~15 %: a 13-point drop, below min_drop
    orders = [
        t[200] + np.timedelta64(20, "h"),  # recorded the next morning
        t[200] + np.timedelta64(30, "h"),  # and entered twice
        t[450] - np.timedelta64(1, "D"),
        t[560],  # a work order the readings do not show
    ]
    found = detect_cleanings(t, y, work_orders=orders)
    assert len(found) == 3 and all(c.source == "work_order" for c in found)
    first, second, third = found
    assert first.time == t[200] and first.work_order == orders[0]
    assert first.drop == pytest.approx(y[199] - 3.0, abs=1.5)
    assert second.time == t[450] and second.work_order == orders[2]
    assert second.drop == pytest.approx(y[449] - 2.0, abs=1.5)
    assert third.time == t[560] and third.drop is None
    # without the work orders only the big drop counts
    alone = detect_cleanings(t, y)
    assert [(c.time, c.source) for c in alone] == [(t[200], "detected")]
    # the work orders cut the series into four segments
    fit = fit_fill_rate(t, y, work_orders=orders)
    assert len(fit.segments) == 4 and fit.last_cleaning == t[560]
    assert fit.rate_per_day == pytest.approx((1.0 * 200 + 0.3 * 400) / 600, rel=0.05)


def test_small_drop_needs_a_work_order() -> None:
    n = 400
    t = hourly("2024-05-01", n)
    y = ramp(n, 0.3, start_fill=8.0)
    y[250:] = ramp(n - 250, 0.3, start_fill=2.0)  # cleaned at ~20 %: a drop of ~18.5 points
    assert detect_cleanings(t, y) == []
    found = detect_cleanings(t, y, work_orders=[datetime(2024, 6, 12, 9, tzinfo=UTC)])
    assert len(found) == 1 and found[0].time == t[250] and found[0].source == "work_order"
    # and the segments are split there: the second segment starts low
    fit = fit_fill_rate(t, y, work_orders=[datetime(2024, 6, 12, 9, tzinfo=UTC)])
    assert len(fit.segments) == 2 and fit.segments[1].intercept < 5


# --------------------------------------------------------------------------- rates


def test_rate_and_cleanings_recovered_from_a_noisy_tree_drain() -> None:
    """A drain under trees, a year of readings with spikes, dropouts, storms, a data gap, saturation."""
    rng = np.random.default_rng(12)
    season = leaf_season(1.0)
    d = simulate_drain(
        rng,
        rate=1.2,
        seasonal=season,
        days=365,
        storm_share=0.2,
        clean_rate_per_day_when_due=0.03,  # a slow crew: the drain sits full for weeks
        routine_cleanings_per_year=0.3,
        spike_prob=0.01,
        dropout_prob=0.01,
        gaps=[(40.0, 4.0)],
    )
    assert np.mean(d.true_fill >= 99.9) > 0.02  # the series does saturate
    fit = fit_fill_rate(d.times, d.fill, seasonal=season)
    assert fit.status == "ok"
    assert fit.rate_per_day == pytest.approx(d.rate, rel=0.12)
    assert abs(fit.rate_per_day - d.rate) < 3 * fit.rate_se
    assert sum(s.n_saturated for s in fit.segments) > 0
    detected = np.array([c.time for c in fit.cleanings], dtype="datetime64[s]")
    assert len(visible_cleanings(d)) >= 2
    assert matched(detected, d, DAY)


def test_rates_recovered_across_a_population() -> None:
    """40 drains, random rates and tree factors, realistic storms: errors small and se honest."""
    rng = np.random.default_rng(5)
    rel, z = [], []
    for _ in range(40):
        season = leaf_season(float(rng.choice([0.0, 0.5, 1.0, 2.0])))
        d = simulate_drain(
            rng,
            rate=float(np.exp(rng.normal(np.log(0.5), 0.5))),
            seasonal=season,
            days=300,
            spike_prob=0.005,
            dropout_prob=0.005,
        )
        fit = fit_fill_rate(d.times, d.fill, seasonal=season)
        assert fit.status == "ok"
        rel.append(fit.rate_per_day / d.rate - 1)
        z.append((fit.rate_per_day - d.rate) / fit.rate_se)
        detected = np.array([c.time for c in fit.cleanings], dtype="datetime64[s]")
        assert matched(detected, d, DAY), (detected, d.cleanings)
    err = np.abs(np.array(rel))
    assert np.median(err) < 0.07
    assert np.quantile(err, 0.9) < 0.18
    assert abs(np.median(rel)) < 0.05  # no large systematic bias (storm steps pull Sen's slope ~1-2 % low)
    # the standard error is honest: about 95 % within 2 se, not all within 0.5 se
    cover2 = np.mean(np.abs(z) < 2)
    assert 0.8 <= cover2 <= 1.0
    assert np.mean(np.abs(z) < 0.5) < 0.8


def test_seasonal_time_makes_segments_agree() -> None:
    """Against calendar time a tree drain fills several times faster in autumn; in seasonal time not."""
    rng = np.random.default_rng(8)
    season = leaf_season(2.0)
    d = simulate_drain(
        rng, rate=0.5, seasonal=season, days=500, storm_share=0.1, routine_cleanings_per_year=2
    )
    orders = list(d.cleanings)  # routine rounds clean drains the readings hardly show: the orders do
    seasonal_fit = fit_fill_rate(d.times, d.fill, seasonal=season, work_orders=orders)
    flat_fit = fit_fill_rate(d.times, d.fill, work_orders=orders)
    # segments of a few weeks scatter with the storms; compare the long ones
    rates = np.array([s.rate_per_day for s in seasonal_fit.segments if s.n_readings >= 200])
    flat = np.array([s.rate_per_day for s in flat_fit.segments if s.n_readings >= 200])
    assert len(rates) >= 3
    assert rates.max() / rates.min() < 1.25
    assert flat.max() / flat.min() > 2.5
    assert seasonal_fit.rate_per_day == pytest.approx(0.5, rel=0.1)
    assert seasonal_fit.rate_se < flat_fit.rate_se


def test_saturated_readings_do_not_flatten_the_slope() -> None:
    n = 6 * 200
    t = hourly("2024-04-01", n)
    y = np.minimum(100.0, ramp(n, 1.0, start_fill=5.0)) + np.random.default_rng(0).normal(0, 0.7, n)
    y = np.clip(y, 0, 100)
    fit = fit_fill_rate(t, y)
    assert fit.status == "ok"
    assert fit.rate_per_day == pytest.approx(1.0, rel=0.03)
    (seg,) = fit.segments
    assert seg.n_saturated > 0.4 * n and seg.n_readings + seg.n_saturated == n
    assert seg.rate_low < 1.0 < seg.rate_high or abs(seg.rate_per_day - 1.0) < 0.01
    assert fit.last_fill == pytest.approx(100.0, abs=2.0)


def test_too_few_readings_are_reported_not_guessed() -> None:
    t = hourly("2024-04-01", MIN_READINGS - 1, 24)
    fit = fit_fill_rate(t, ramp(MIN_READINGS - 1, 1.0, every_hours=24))
    assert fit.status == "too_few_readings" and np.isnan(fit.rate_per_day) and np.isnan(fit.rate_se)
    # plenty of readings but under the minimum span
    t = hourly("2024-04-01", 30, 4)
    assert (t[-1] - t[0]) / DAY < MIN_SPAN_DAYS
    fit = fit_fill_rate(t, ramp(30, 1.0))
    assert fit.status == "too_few_readings" and fit.segments[0].status == "too_few_readings"
    assert fit.last_fill == pytest.approx(ramp(30, 1.0)[-2], abs=0.5)
    # a drain cleaned three days ago: the old segment gives the rate, the new one is too short
    n = 6 * 60
    t = hourly("2024-04-01", n)
    y = ramp(n, 1.0, start_fill=20.0)
    y[-18:] = ramp(18, 1.0, start_fill=3.0)
    fit = fit_fill_rate(t, y)
    assert fit.status == "ok" and fit.rate_per_day == pytest.approx(1.0, rel=0.05)
    assert [s.status for s in fit.segments] == ["ok", "too_few_readings"]
    assert fit.n_since_cleaning == 18 and fit.last_cleaning == t[-18]
    assert fit.last_fill == pytest.approx(y[-2], abs=0.5) and fit.last_time == t[-1]


def test_no_readings() -> None:
    fit = fit_fill_rate(np.array([], dtype="datetime64[s]"), [])
    assert fit.status == "no_readings" and fit.n_readings == 0 and fit.last_time is None
    fit = fit_fill_rate(hourly("2024-01-01", 3), [np.nan] * 3, work_orders=["2024-01-02T10:00"])
    assert fit.status == "no_readings"
    assert fit.last_cleaning == np.datetime64("2024-01-02T10:00")
    with pytest.raises(ValueError, match="length"):
        fit_fill_rate(hourly("2024-01-01", 3), [1.0, 2.0])


def test_input_order_and_time_types_do_not_matter() -> None:
    rng = np.random.default_rng(2)
    d = simulate_drain(rng, rate=0.8, days=120, dropout_prob=0.01)
    ref = fit_fill_rate(d.times, d.fill)
    perm = rng.permutation(len(d.times))
    aware = [datetime(1970, 1, 1, tzinfo=UTC) + timedelta(seconds=int(s)) for s in d.times.astype(np.int64)]
    shuffled = fit_fill_rate(np.asarray(aware, dtype=object)[perm], d.fill[perm])
    assert shuffled.rate_per_day == ref.rate_per_day and shuffled.cleanings == ref.cleanings


def test_fill_at_and_time_to_reach() -> None:
    t0 = np.datetime64("2024-03-01T00:00", "s")
    assert fill_at(1.0, 10.0, t0, t0 + 30 * DAY) == pytest.approx(40.0)
    assert fill_at(1.0, 10.0, t0, t0 + 300 * DAY) == 100.0
    assert time_to_reach(1.0, 10.0, t0, 75.0)[()] == t0 + 65 * DAY
    assert time_to_reach(1.0, 80.0, t0, 75.0)[()] == t0
    assert np.isnat(time_to_reach(0.0, 10.0, t0, 75.0)[()])
    season = leaf_season(1.0)
    rates = np.array([0.2, 0.5, 1.5])
    when = time_to_reach(rates, 5.0, t0, 75.0, seasonal=season)
    assert np.allclose(fill_at(rates, 5.0, t0, when, seasonal=season), 75.0, atol=1e-3)
    assert when[0] > when[1] > when[2]
    fit = fit_fill_rate(hourly("2024-03-01", 200), ramp(200, 1.0))
    assert fit.last_time is not None and fit.last_fill is not None
    assert fit.expected_fill(fit.last_time + 10 * DAY) == pytest.approx(fit.last_fill + 10.0, abs=0.5)


# --------------------------------------------------------------------------- seasonal factors


def test_seasonal_factors_recovered_from_a_population() -> None:
    rng = np.random.default_rng(3)
    truth = leaf_season(1.0)
    series: list[tuple[np.ndarray, np.ndarray, list[np.datetime64]]] = []
    for _ in range(50):
        d = simulate_drain(
            rng,
            rate=float(np.exp(rng.normal(np.log(0.6), 0.4))),
            seasonal=truth,
            start=f"2023-{int(rng.integers(1, 13)):02d}-01",
            days=float(rng.uniform(200, 450)),
            spike_prob=0.005,
            dropout_prob=0.005,
        )
        series.append((d.times, d.fill, []))
    est = fit_seasonal_factors(series)
    f = np.array(est.monthly)
    assert np.mean(f) == pytest.approx(1.0)
    assert f[9] > 1.7 and f[10] > 1.7  # October, November
    assert np.all(f[5:8] < 0.8)  # June-August
    assert np.allclose(f, truth.monthly, rtol=0.15)
    assert min(est.support) >= 20


def test_seasonal_factors_without_data_stay_one() -> None:
    rng = np.random.default_rng(4)
    truth = leaf_season(1.0)
    series: list[tuple[np.ndarray, np.ndarray, list[np.datetime64]]] = [
        (d.times, d.fill, [])
        for d in (
            simulate_drain(rng, rate=0.5, seasonal=truth, start="2023-08-01", days=150, initial_fill=3)
            for _ in range(6)
        )
    ]
    est = fit_seasonal_factors(series)
    f = np.array(est.monthly)
    assert np.mean(f) == pytest.approx(1.0)
    assert est.support[0] == 0 and f[0] == 1.0  # January: no data
    assert f[9] > 1.3 > f[7]  # October over August
    assert fit_seasonal_factors([]) == SeasonalFactors.flat()


def test_fits_300_drains_quickly() -> None:
    rng = np.random.default_rng(9)
    drains = [
        simulate_drain(rng, rate=float(rng.uniform(0.1, 1.5)), seasonal=leaf_season(1.0), days=250)
        for _ in range(300)
    ]
    assert sum(len(d.times) for d in drains) >= 300 * 1500
    season = leaf_season(1.0)
    start = time.perf_counter()
    fits = [fit_fill_rate(d.times, d.fill, seasonal=season) for d in drains]
    elapsed = time.perf_counter() - start
    assert all(f.status == "ok" for f in fits)
    assert elapsed < 3.0, f"300 drains took {elapsed:.2f} s"
