"""Segments of a fill series -- the readings between two cleanings -- and their slopes.

Per segment a Theil--Sen slope, i.e. the median of the pairwise slopes, which shrugs off
spikes, dropouts and the steps a storm leaves, against seasonal time
(:class:`geo.fill.seasonal.SeasonalFactors`), with a standard error that counts the storms'
random walk too.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import numpy as np

from geo.fill.cleanings import (
    DROP_WINDOW_HOURS,
    REBOUND_HOURS,
    WORK_ORDER_MIN_DROP,
    WORK_ORDER_TOLERANCE_DAYS,
    Break,
    find_breaks,
)
from geo.fill.series import running_median
from geo.fill.times import FloatArray, TimeArray, TimesLike, days

if TYPE_CHECKING:  # seasonal.py fits its factors from segments: a runtime import would be circular
    from geo.fill.seasonal import SeasonalFactors

__all__ = [
    "MIN_READINGS",
    "MIN_RELATIVE_DIFFUSION",
    "MIN_SPAN_DAYS",
    "SATURATION",
    "Segment",
    "SegmentStatus",
    "SeriesCut",
    "cut_series",
    "theil_sen",
]

SegmentStatus = Literal["ok", "too_few_readings"]

#: Default minimum readings of a segment before its slope is trusted.
MIN_READINGS = 8
#: Default minimum span (calendar days) of a segment's readings before its slope is trusted.
MIN_SPAN_DAYS = 7.0
#: Readings at or above this fill (%) are treated as saturated: a full sump stops rising.
SATURATION = 95.0
#: Floor of a segment's random-walk variance per seasonal day, relative to rate^2 (1/day).
#: A short series may happen to see no storm at all; its slope then misses the storms' share
#: and the series itself cannot show that. 0.4 is what a fifth of the fill arriving in weekly
#: bursts gives (9.3 x share^2 for bursts of the simulator's size spread).
MIN_RELATIVE_DIFFUSION = 0.4
# Above this many pairs a segment's Theil-Sen slope uses a fixed-seed random sample of pairs.
_MAX_PAIRS = 10_000
_Z95 = 1.959963984540054


@dataclass(frozen=True)
class Segment:
    """The readings between two cleanings and their Theil--Sen slope.

    `rate_per_day` is in %/day of seasonal time; `rate_low`/`rate_high` are ~95 % bounds,
    slope -/+ 1.96 standard errors (noise plus the storms' random walk, see `_slope_se`).
    `intercept` is the fill (%) of the line at `start`. Readings at or above saturation are
    left out of the slope (`n_saturated`); `n_readings` counts the ones used. A segment with
    fewer than the minimum readings or span has status "too_few_readings" and NaN slope
    figures.
    """

    start: np.datetime64
    end: np.datetime64
    n_readings: int
    rate_per_day: float
    rate_low: float
    rate_high: float
    intercept: float
    status: SegmentStatus = "ok"
    n_saturated: int = 0
    span_days: float = 0.0

    @property
    def rate_se(self) -> float:
        """Standard error of the slope, from the 95 % bounds."""
        return (self.rate_high - self.rate_low) / (2 * _Z95)


def theil_sen(x: FloatArray, y: FloatArray, *, max_pairs: int = _MAX_PAIRS) -> tuple[float, float]:
    """Theil--Sen line: (slope, intercept at x = 0) -- the median of the pairwise slopes.

    Up to `max_pairs` pairs all are used (exact Theil--Sen, i.e. up to ~140 readings); above
    that a fixed-seed random sample of that many pairs, whose median estimates the same
    thing (an incomplete U-statistic) for a fraction of the cost: with 1,500 readings the
    sampling error is far below the slope's own uncertainty.
    """
    n = len(x)
    if n * (n - 1) // 2 <= max_pairs:
        i, j = np.triu_indices(n, k=1)
    else:
        rng = np.random.default_rng(n)
        ij = rng.integers(0, n, size=(2, max_pairs))
        i, j = ij.min(axis=0), ij.max(axis=0)
    dx = x[j] - x[i]
    ok = dx > 0
    if not ok.any():
        return np.nan, np.nan
    slope = float(np.median((y[j][ok] - y[i][ok]) / dx[ok]))
    return slope, float(np.median(y - slope * x))


def _slope_se(x: FloatArray, y: FloatArray, slope: float) -> float:
    """Standard error of a segment's slope: white measurement noise plus the storms' random walk.

    Sen's rank bounds assume independent residuals, but a fill series is a random walk about
    its trend (every storm burst shifts all later readings), which makes them several times
    too narrow. So: ``se^2 = se_noise^2 + 1.2 q / T`` where ``se_noise = 1.05 sigma /
    (sqrt(n) sd(x))`` (Theil--Sen's ~91 % efficiency; sigma robustly from first differences),
    T the segment's seasonal span and q the random walk's variance per seasonal day, from
    the detrended increments of the running-median level over steps of min(7, T/4) seasonal
    days, less their noise share. 6/5 q/T is the variance of a straight-line slope fitted to
    a drifting random walk. q is at least `MIN_RELATIVE_DIFFUSION` x slope^2, so a few days
    of calm readings do not claim a precision they have not earned.
    """
    n = len(x)
    span = float(x[-1] - x[0])
    dy = np.diff(y)
    sigma = 1.4826 * float(np.median(np.abs(dy - np.median(dy)))) / np.sqrt(2.0) if n > 2 else 0.0
    sd_x = float(np.std(x))
    se_noise2 = (1.05 * sigma / (np.sqrt(n) * sd_x)) ** 2 if sd_x > 0 else np.inf
    step = min(7.0, span / 4.0)
    q = 0.0
    if step > 0:
        grid = np.arange(x[0], x[-1] + 1e-9, step)
        if len(grid) >= 4:
            level = np.interp(grid, x, running_median(y))
            inc = np.diff(level) - slope * step
            # the level's own noise: a median of 5 keeps about 0.3 of the reading variance
            q = max(0.0, float(np.mean(inc**2)) - 2 * 0.3 * sigma**2) / step
    q = max(q, MIN_RELATIVE_DIFFUSION * slope**2) if np.isfinite(slope) else q
    return float(np.sqrt(se_noise2 + 1.2 * q / span)) if span > 0 else np.inf


def _segment(
    t: TimeArray,
    y: FloatArray,
    seasonal: SeasonalFactors,
    *,
    min_readings: int,
    min_span_days: float,
    saturation: float,
) -> Segment:
    """Theil--Sen slope of one segment against seasonal days since its first reading.

    Once the smoothed level reaches `saturation` the sump is full and stays so until the next
    cleaning: those readings and all later ones in the segment are left out.
    """
    m = running_median(y)
    full = np.flatnonzero(m >= saturation)
    cut = int(full[0]) if full.size else len(y)
    tu, yu = t[:cut], y[:cut]
    n_sat = len(y) - cut
    span = float(days(tu[-1] - tu[0])) if cut else 0.0
    if cut < min_readings or span < min_span_days:
        return Segment(t[0], t[-1], cut, np.nan, np.nan, np.nan, np.nan, "too_few_readings", n_sat, span)
    x = np.asarray(seasonal.seasonal_days(np.repeat(tu[0], cut), tu), dtype=np.float64)
    slope, intercept = theil_sen(x, yu)
    se = _slope_se(x, yu, slope)
    low, high = slope - _Z95 * se, slope + _Z95 * se
    return Segment(t[0], t[-1], cut, slope, low, high, intercept, "ok", n_sat, span)


@dataclass(frozen=True)
class SeriesCut:
    """A prepared series cut at its cleanings: the breaks, the [a, b) bounds of each segment
    between them, and each segment's slope."""

    breaks: list[Break]
    bounds: list[tuple[int, int]]
    segments: tuple[Segment, ...]


def _bounds(breaks: list[Break], n: int) -> list[tuple[int, int]]:
    bounds: list[tuple[int, int]] = []
    lo = 0
    for br in breaks:
        if br.end_prev > lo:
            bounds.append((lo, br.end_prev))
        lo = max(lo, br.start_next)
    if lo < n:
        bounds.append((lo, n))
    return bounds


def cut_series(
    t: TimeArray,
    y: FloatArray,
    work_orders: Iterable[TimesLike],
    seasonal: SeasonalFactors,
    *,
    min_readings: int,
    min_span_days: float,
    min_drop: float,
    saturation: float,
) -> SeriesCut:
    """Cut a prepared series at its cleanings (detected with the default windows) and fit
    every segment (see :func:`_segment`)."""
    breaks = find_breaks(
        t,
        y,
        work_orders,
        min_drop=min_drop,
        drop_window_hours=DROP_WINDOW_HOURS,
        rebound_hours=REBOUND_HOURS,
        work_order_tolerance_days=WORK_ORDER_TOLERANCE_DAYS,
        work_order_min_drop=WORK_ORDER_MIN_DROP,
    )
    bounds = _bounds(breaks, len(t))
    segments = tuple(
        _segment(
            t[a:b],
            y[a:b],
            seasonal,
            min_readings=min_readings,
            min_span_days=min_span_days,
            saturation=saturation,
        )
        for a, b in bounds
    )
    return SeriesCut(breaks, bounds, segments)
