"""Seasonal time: twelve monthly multipliers of the fill rate, and their estimate from many drains.

Slopes are taken against *seasonal time*: a day in November counts as several days' worth of
litter under trees, a day in June as less than one. A rate in %/day of seasonal time is then
one number per drain that holds all year. :func:`fit_seasonal_factors` estimates the twelve
monthly factors from many drains (call it once for drains near trees and once for the others
-- their seasons differ).

Months are UTC calendar months; the hour or two that separates them from local months does
not matter at this scale.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from geo.fill.cleanings import MIN_DROP
from geo.fill.segments import MIN_READINGS, SATURATION, cut_series, theil_sen
from geo.fill.series import prepare_series
from geo.fill.times import SECONDS_PER_DAY, FloatArray, TimeArray, TimesLike, as_times, days

__all__ = ["SeasonalFactors", "fit_seasonal_factors"]


@dataclass(frozen=True)
class SeasonalFactors:
    """Twelve monthly multipliers of the fill rate (January first), mean 1 over the months.

    ``support`` says how many drains informed each month when the factors were estimated
    (0 = no data, factor left at 1).
    """

    monthly: tuple[float, ...]
    support: tuple[int, ...] = (0,) * 12

    def __post_init__(self) -> None:
        if len(self.monthly) != 12 or len(self.support) != 12:
            raise ValueError("SeasonalFactors needs 12 monthly factors (January to December)")
        values = np.asarray(self.monthly, dtype=np.float64)
        if not np.all(np.isfinite(values)) or np.any(values <= 0):
            raise ValueError(f"monthly factors must be finite and > 0, got {self.monthly}")

    @classmethod
    def flat(cls) -> SeasonalFactors:
        """No season: seasonal time is calendar time."""
        return cls((1.0,) * 12)

    @classmethod
    def from_values(cls, values: Sequence[float], support: Sequence[int] | None = None) -> SeasonalFactors:
        """Factors proportional to `values`, scaled to mean 1."""
        arr = np.asarray(values, dtype=np.float64)
        if arr.shape != (12,):
            raise ValueError("need 12 monthly values")
        arr = arr / arr.mean()
        sup = tuple(int(s) for s in support) if support is not None else (0,) * 12
        return cls(tuple(float(v) for v in arr), sup)

    def factor(self, months: npt.ArrayLike) -> FloatArray:
        """Factor of each calendar month (1-12)."""
        m = np.asarray(months, dtype=np.int64)
        if np.any((m < 1) | (m > 12)):
            raise ValueError("months must be 1-12")
        return np.asarray(self.monthly, dtype=np.float64)[m - 1]

    def factor_at(self, times: TimesLike) -> FloatArray:
        """Factor in force at each time."""
        t = as_times(times)
        months = t.astype("datetime64[M]").astype(np.int64) % 12 + 1
        return self.factor(months)

    def seasonal_days(self, start: TimesLike, end: TimesLike) -> Any:
        """Integral of the monthly factor over ``[start, end)`` in days: seasonal time.

        Vectorised (start and end broadcast); a scalar in gives a float out. Negative when
        end < start.
        """
        s, e = np.broadcast_arrays(as_times(start), as_times(end))
        if s.size == 0:
            return np.zeros(s.shape)
        table = _MonthTable(self, min(s.min(), e.min()), max(s.max(), e.max()))
        out = table.at(e) - table.at(s)
        if out.ndim == 0:
            return float(out)
        return out

    def calendar_time(self, start: TimesLike, seasonal_days: npt.ArrayLike) -> TimeArray:
        """The time at which `seasonal_days` of seasonal time have passed since `start`.

        Inverse of :meth:`seasonal_days` (for non-negative amounts); vectorised.
        """
        s = as_times(start)
        amount = np.asarray(seasonal_days, dtype=np.float64)
        if np.any(amount < 0) or not np.all(np.isfinite(amount)):
            raise ValueError("seasonal_days must be finite and >= 0")
        s, amount = np.broadcast_arrays(s, amount)
        if s.size == 0:
            return s.astype("datetime64[s]")
        # Each month holds at least min(factor) * 28 seasonal days: bound the table's reach.
        reach_days = float(amount.max()) / min(self.monthly) + 62.0
        hi = s.max() + np.timedelta64(int(reach_days * SECONDS_PER_DAY), "s")
        table = _MonthTable(self, s.min(), hi)
        return table.inverse(table.at(s) + amount)


class _MonthTable:
    """Cumulative seasonal days at the start of each month between two times."""

    def __init__(self, factors: SeasonalFactors, lo: np.datetime64, hi: np.datetime64) -> None:
        first = int(np.asarray(lo).astype("datetime64[M]").astype(np.int64))
        last = int(np.asarray(hi).astype("datetime64[M]").astype(np.int64)) + 1
        self.first = first
        months = np.arange(first, last + 1, dtype=np.int64)
        starts = months.astype("datetime64[M]").astype("datetime64[s]")
        self.starts = starts
        lengths = days(np.diff(starts))
        self.factors = factors.factor(months[:-1] % 12 + 1)
        self.cum = np.concatenate([[0.0], np.cumsum(lengths * self.factors)])

    def at(self, t: TimeArray) -> FloatArray:
        k = t.astype("datetime64[M]").astype(np.int64) - self.first
        into = days(t - self.starts[k])
        return np.asarray(self.cum[k] + self.factors[k] * into, dtype=np.float64)

    def inverse(self, s: FloatArray) -> TimeArray:
        k = np.clip(np.searchsorted(self.cum, s, side="right") - 1, 0, len(self.factors) - 1)
        into = (s - self.cum[k]) / self.factors[k]
        out = self.starts[k] + np.round(into * SECONDS_PER_DAY).astype("timedelta64[s]")
        return np.asarray(out, dtype="datetime64[s]")


def _month_slopes(
    t: TimeArray, y: FloatArray, work_orders: Sequence[TimesLike], min_readings: int, min_span_days: float
) -> dict[int, list[float]]:
    """Theil--Sen slopes (%/calendar day) per calendar month within each segment of one drain."""
    out: dict[int, list[float]] = {}
    cut = cut_series(
        t,
        y,
        work_orders,
        SeasonalFactors.flat(),
        min_readings=min_readings,
        min_span_days=min_span_days,
        min_drop=MIN_DROP,
        saturation=SATURATION,
    )
    for seg in cut.segments:
        if seg.status != "ok":
            continue
        sel = (t >= seg.start) & (t <= seg.end)
        ts, ys = t[sel][: seg.n_readings], y[sel][: seg.n_readings]
        month = ts.astype("datetime64[M]")
        for mon in np.unique(month):
            part = month == mon
            tp = ts[part]
            if part.sum() < min_readings or float(days(tp[-1] - tp[0])) < min_span_days:
                continue
            slope, _ = theil_sen(days(tp - tp[0]), ys[part])
            if np.isfinite(slope):
                out.setdefault(int(mon.astype(np.int64) % 12) + 1, []).append(slope)
    return out


def fit_seasonal_factors(
    series: Iterable[tuple[TimesLike, npt.ArrayLike, Iterable[TimesLike]]],
    *,
    min_readings: int = MIN_READINGS,
    min_span_days: float = 10.0,
    min_drains: int = 3,
    iterations: int = 20,
) -> SeasonalFactors:
    """Twelve monthly rate factors from many drains' ``(times, fill, work_orders)`` series.

    Each drain's segments are cut into calendar months; a month piece with at least
    `min_readings` readings over `min_span_days` days gets a Theil--Sen slope (%/day).
    The slopes are then split into drain x month by median polish on ratios --
    ``slope[d, m] ~ level[d] * factor[m]``, each updated in turn as the median ratio -- which
    copes with drains seen in different months (a drain only seen in autumn does not drag
    autumn's factor to 1). A month seen in fewer than `min_drains` drains keeps factor 1; the
    others are scaled so the twelve average 1.
    """
    rows: list[tuple[int, int, float]] = []  # drain, month, slope
    for d, item in enumerate(series):
        times, fill = item[0], item[1]
        orders = list(item[2]) if len(item) > 2 else []
        t, y = prepare_series(times, fill)
        for mon, slopes in _month_slopes(t, y, orders, min_readings, min_span_days).items():
            rows.extend((d, mon, s) for s in slopes)
    if not rows:
        return SeasonalFactors.flat()
    drain = np.array([r[0] for r in rows])
    month = np.array([r[1] for r in rows]) - 1
    slope = np.array([r[2] for r in rows])
    ids, drain = np.unique(drain, return_inverse=True)
    level = np.array([np.median(slope[drain == k]) for k in range(len(ids))])
    level = np.where(level > 0, level, np.nan)
    factor = np.ones(12)
    support = np.array([len(np.unique(drain[month == mo])) for mo in range(12)])
    seen = support >= min_drains
    for _ in range(iterations):
        ratio = slope / level[drain]
        for mo in np.flatnonzero(seen):
            r = ratio[(month == mo) & np.isfinite(ratio)]
            factor[mo] = np.median(r) if r.size else 1.0
        factor[seen] = np.maximum(factor[seen], 1e-3)
        per = slope / factor[month]
        level = np.array([np.median(per[drain == k]) for k in range(len(ids))])
        level = np.where(level > 0, level, np.nan)
    if seen.any():
        factor[seen] *= seen.sum() / factor[seen].sum()
    factor[~seen] = 1.0
    return SeasonalFactors(tuple(float(f) for f in factor), tuple(int(s) for s in support))
