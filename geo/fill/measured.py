"""Fill rate of a measured street drain ("kolk"): a robust %/day from its sensor's readings.

A drain sensor reports ``fill_level`` (%) every few hours. The fill rises slowly -- sand, litter,
leaves, with a burst after a shower -- until a crew cleans the drain and the level drops to a
few percent. :func:`fit_fill_rate` turns such a series into:

- the **cleanings**: sharp drops in the series, merged with the recorded work orders
  (:mod:`geo.fill.cleanings`);
- per **segment** (the readings between two cleanings) a Theil--Sen slope
  (:mod:`geo.fill.segments`);
- the drain's **base rate**: the segment slopes pooled, weighted by readings.

Rates are in %/day of seasonal time (:mod:`geo.fill.seasonal`), so the fill expected on a
future date is ``fill + rate * seasonal_days(now, then)`` (:func:`fill_at`,
:func:`time_to_reach`). Times are ``datetime64[s]`` in UTC; naive inputs are taken as UTC.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from geo.fill.cleanings import MIN_DROP, Cleaning
from geo.fill.seasonal import SeasonalFactors
from geo.fill.segments import MIN_READINGS, MIN_SPAN_DAYS, SATURATION, Segment, SeriesCut, cut_series
from geo.fill.series import prepare_series
from geo.fill.times import TimeArray, TimesLike, as_times

__all__ = ["FillRateFit", "FitStatus", "fill_at", "fit_fill_rate", "time_to_reach"]

FitStatus = Literal["ok", "too_few_readings", "no_readings"]


@dataclass(frozen=True)
class FillRateFit:
    """A measured drain's fill rate and what it rests on.

    `rate_per_day` (%/day of seasonal time) pools the "ok" segments' slopes weighted by
    readings; `rate_se` is the larger of the pooled slope standard error and the spread
    between segments (NaN unless ok). `last_fill` is the median of the last (up to three)
    readings since the last cleaning -- storms make the fill a random walk around the line,
    so the recent readings say more about today's level than the line does. Cleanings after
    the last reading (work orders) are listed and set `last_cleaning`, but `last_fill` still
    describes `last_time`.
    """

    status: FitStatus
    rate_per_day: float
    rate_se: float
    n_readings: int
    n_since_cleaning: int
    segments: tuple[Segment, ...]
    cleanings: tuple[Cleaning, ...]
    last_cleaning: np.datetime64 | None
    last_time: np.datetime64 | None
    last_fill: float | None
    seasonal: SeasonalFactors = field(default_factory=SeasonalFactors.flat)

    def expected_fill(self, when: TimesLike) -> Any:
        """Fill (%) expected at `when` (after `last_time`) from the rate; NaN unless ok."""
        if self.status != "ok" or self.last_time is None or self.last_fill is None:
            w = as_times(when)
            return float("nan") if w.ndim == 0 else np.full(w.shape, np.nan)
        return fill_at(self.rate_per_day, self.last_fill, self.last_time, when, seasonal=self.seasonal)


def fit_fill_rate(
    times: TimesLike,
    fill: npt.ArrayLike,
    *,
    work_orders: Iterable[TimesLike] = (),
    seasonal: SeasonalFactors | None = None,
    min_readings: int = MIN_READINGS,
    min_span_days: float = MIN_SPAN_DAYS,
    min_drop: float = MIN_DROP,
    saturation: float = SATURATION,
) -> FillRateFit:
    """Fill rate of one drain (%/day of seasonal time) from its readings and work orders.

    The readings are cut at the cleanings (:func:`geo.fill.cleanings.detect_cleanings`); each
    segment gets a Theil--Sen slope once it has at least `min_readings` unsaturated readings
    (default 8) spanning at least `min_span_days` calendar days (default 7). The drain's rate
    pools the segments that qualify, weighted by their readings. With no segment qualifying
    the status is "too_few_readings" and the rate NaN -- a drain cleaned three days ago is not
    guessed at from its two readings; the environment model (:mod:`geo.fill.predicted`) fills
    that gap.
    """
    season = seasonal if seasonal is not None else SeasonalFactors.flat()
    t, y = prepare_series(times, fill)
    orders = list(work_orders)
    if not len(t):
        return _no_readings(orders, season)
    cut = cut_series(
        t,
        y,
        orders,
        season,
        min_readings=min_readings,
        min_span_days=min_span_days,
        min_drop=min_drop,
        saturation=saturation,
    )
    cleanings = tuple(br.cleaning for br in cut.breaks)
    last_time = t[-1]
    done = [c.time for c in cleanings if c.time <= last_time]
    all_times = [c.time for c in cleanings]
    last_cleaning = max(all_times) if all_times else None
    since = int(len(t) - np.searchsorted(t, max(done), side="left")) if done else len(t)
    last_fill = _last_fill(y, cut)
    segments = cut.segments
    good = [s for s in segments if s.status == "ok"]
    if not good:
        return FillRateFit(
            "too_few_readings", np.nan, np.nan, sum(s.n_readings for s in segments), since,
            segments, cleanings, last_cleaning, last_time, last_fill, season,
        )  # fmt: skip
    rate, se, n = _pooled(good)
    return FillRateFit(
        "ok", rate, se, n, since, segments, cleanings, last_cleaning, last_time, last_fill, season,
    )  # fmt: skip


def _no_readings(orders: list[TimesLike], season: SeasonalFactors) -> FillRateFit:
    """A drain without readings: only its work orders, as cleanings."""
    cleanings = (
        tuple(Cleaning(w, "work_order", None, w) for w in sorted(as_times(np.asarray(orders, dtype=object))))
        if orders
        else ()
    )
    return FillRateFit(
        "no_readings", np.nan, np.nan, 0, 0, (), cleanings,
        cleanings[-1].time if cleanings else None, None, None, season,
    )  # fmt: skip


def _last_fill(y: npt.NDArray[np.float64], cut: SeriesCut) -> float:
    """The median of the last (up to three) readings since the last cleaning."""
    tail_start = cut.bounds[-1][0] if cut.bounds else len(y) - 1
    return float(np.median(y[max(tail_start, len(y) - 3) :]))


def _pooled(good: list[Segment]) -> tuple[float, float, int]:
    """(rate, its standard error, readings) of the "ok" segments pooled, weighted by readings:
    the se is the larger of the pooled slopes' se and the spread between segments."""
    n = np.array([s.n_readings for s in good], dtype=np.float64)
    rates = np.array([s.rate_per_day for s in good])
    ses = np.array([s.rate_se for s in good])
    w = n / n.sum()
    rate = float(w @ rates)
    within = float(np.sqrt(np.sum((w * ses) ** 2)))
    between = float(np.sqrt((w @ (rates - rate) ** 2) * np.sum(w**2))) if len(good) > 1 else 0.0
    return max(rate, 0.0), max(within, between), int(n.sum())


def fill_at(
    rate_per_day: npt.ArrayLike,
    fill0: npt.ArrayLike,
    t0: TimesLike,
    when: TimesLike,
    *,
    seasonal: SeasonalFactors | None = None,
) -> Any:
    """Expected fill (%) at `when` given the rate and the fill at `t0`; clipped to [0, 100].

    Vectorised over drains (rate, fill0, t0 broadcast against when).
    """
    season = seasonal if seasonal is not None else SeasonalFactors.flat()
    days = season.seasonal_days(t0, when)
    out = np.clip(np.asarray(fill0, dtype=np.float64) + np.asarray(rate_per_day) * days, 0.0, 100.0)
    return float(out) if np.ndim(out) == 0 else out


def time_to_reach(
    rate_per_day: npt.ArrayLike,
    fill0: npt.ArrayLike,
    t0: TimesLike,
    level: float,
    *,
    seasonal: SeasonalFactors | None = None,
    horizon_days: float = 3650.0,
) -> TimeArray:
    """When the fill reaches `level` (%), per drain; NaT if not within `horizon_days` seasonal days.

    A drain already at or above `level` reaches it at `t0`. Vectorised (rate, fill0 and t0
    broadcast).
    """
    season = seasonal if seasonal is not None else SeasonalFactors.flat()
    rate, f0, start = np.broadcast_arrays(
        np.asarray(rate_per_day, dtype=np.float64), np.asarray(fill0, dtype=np.float64), as_times(t0)
    )
    with np.errstate(divide="ignore", invalid="ignore"):
        need = np.where(f0 >= level, 0.0, (level - f0) / rate)
    reachable = np.isfinite(need) & (need >= 0) & (need <= horizon_days)
    out = np.full(need.shape, np.datetime64("NaT"), dtype="datetime64[s]")
    if reachable.any():
        out[reachable] = season.calendar_time(start[reachable], need[reachable])
    return out
