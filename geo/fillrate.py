"""Fill rate of a measured street drain ("kolk"): cleanings, segments and a robust %/day.

A drain sensor reports ``fill_level`` (%) every few hours. The fill rises slowly -- sand, litter,
leaves, with a burst after a shower -- until a crew cleans the drain and the level drops to a
few percent. This module turns such a series into:

- the **cleanings**: sharp drops in the series (:func:`detect_cleanings`), merged with the
  recorded work orders;
- per **segment** (the readings between two cleanings) a Theil--Sen slope, i.e. the median of
  the pairwise slopes, which shrugs off spikes, dropouts and the steps a storm leaves;
- the drain's **base rate**: the segment slopes pooled, weighted by readings.

Slopes are taken against *seasonal time* (:class:`SeasonalFactors`): a day in November counts
as several days' worth of litter under trees, a day in June as less than one. A rate in
%/day of seasonal time is then one number per drain that holds all year, and the fill expected
on a future date is ``fill + rate * seasonal_days(now, then)`` (:func:`fill_at`,
:func:`time_to_reach`). :func:`fit_seasonal_factors` estimates the twelve monthly factors from
many drains (call it once for drains near trees and once for the others -- their seasons
differ).

Months are UTC calendar months; the hour or two that separates them from local months does
not matter at this scale. Times are ``datetime64[s]`` in UTC; naive inputs are taken as UTC.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
TimeArray = npt.NDArray[np.datetime64]
TimesLike = Any  # datetime64 array, list of datetimes, ... -- see as_times
CleaningSource = Literal["detected", "work_order"]
FitStatus = Literal["ok", "too_few_readings", "no_readings"]
SegmentStatus = Literal["ok", "too_few_readings"]

SECONDS_PER_DAY = 86_400.0
#: Default minimum readings of a segment before its slope is trusted.
MIN_READINGS = 8
#: Default minimum span (calendar days) of a segment's readings before its slope is trusted.
MIN_SPAN_DAYS = 7.0
#: Default drop (percentage points) that counts as a cleaning.
MIN_DROP = 20.0
#: Readings at or above this fill (%) are treated as saturated: a full sump stops rising.
SATURATION = 95.0
#: Neighbouring falls within this many hours of the main step are one cleaning.
DROP_WINDOW_HOURS = 48.0
#: A fall that climbs back within this many hours is a run of outliers, not a cleaning.
REBOUND_HOURS = 24.0
#: A work order this close (days) to a detected drop is that cleaning.
WORK_ORDER_TOLERANCE_DAYS = 2.0
#: The smallest fall (points) a work order is pinned to when no full cleaning drop is near.
WORK_ORDER_MIN_DROP = 5.0
#: Floor of a segment's random-walk variance per seasonal day, relative to rate^2 (1/day).
#: A short series may happen to see no storm at all; its slope then misses the storms' share
#: and the series itself cannot show that. 0.4 is what a fifth of the fill arriving in weekly
#: bursts gives (9.3 x share^2 for bursts of the simulator's size spread).
MIN_RELATIVE_DIFFUSION = 0.4
# Half-width of the running median that removes up to this many consecutive outlier readings.
_MEDIAN_HALF = 2
# Above this many pairs a segment's Theil-Sen slope uses a fixed-seed random sample of pairs.
_MAX_PAIRS = 10_000
_Z95 = 1.959963984540054


# --------------------------------------------------------------------------- time helpers


def as_times(times: TimesLike) -> TimeArray:
    """UTC ``datetime64[s]`` from datetime64 arrays or (aware or naive) datetimes."""
    arr = np.asarray(times)
    if arr.dtype == object:
        flat = [
            t.astimezone(_dt.UTC).replace(tzinfo=None)
            if isinstance(t, _dt.datetime) and t.tzinfo is not None
            else t
            for t in arr.ravel()
        ]
        arr = np.asarray(flat, dtype="datetime64[s]").reshape(arr.shape)
    return arr.astype("datetime64[s]")


def _days(delta: npt.NDArray[Any]) -> FloatArray:
    return np.asarray(delta, dtype="timedelta64[s]").astype(np.float64) / SECONDS_PER_DAY


# --------------------------------------------------------------------------- seasonal factors


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
        lengths = _days(np.diff(starts))
        self.factors = factors.factor(months[:-1] % 12 + 1)
        self.cum = np.concatenate([[0.0], np.cumsum(lengths * self.factors)])

    def at(self, t: TimeArray) -> FloatArray:
        k = t.astype("datetime64[M]").astype(np.int64) - self.first
        into = _days(t - self.starts[k])
        return np.asarray(self.cum[k] + self.factors[k] * into, dtype=np.float64)

    def inverse(self, s: FloatArray) -> TimeArray:
        k = np.clip(np.searchsorted(self.cum, s, side="right") - 1, 0, len(self.factors) - 1)
        into = (s - self.cum[k]) / self.factors[k]
        out = self.starts[k] + np.round(into * SECONDS_PER_DAY).astype("timedelta64[s]")
        return np.asarray(out, dtype="datetime64[s]")


# --------------------------------------------------------------------------- results


@dataclass(frozen=True)
class Cleaning:
    """One cleaning of a drain.

    `time` is when the readings show it (the first reading at the low level) or, for a work
    order the readings do not show, the work order's time. `drop` is the fall in percentage
    points the readings show (None when they show none). `source` is "work_order" whenever a
    work order records it, also when the readings saw it too (then `work_order` holds the
    order's own time).
    """

    time: np.datetime64
    source: CleaningSource
    drop: float | None
    work_order: np.datetime64 | None = None


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


# --------------------------------------------------------------------------- cleaning detection


@dataclass(frozen=True)
class _Break:
    """A cleaning and where it cuts the readings: [.., end_prev) before, [start_next, ..) after."""

    cleaning: Cleaning
    end_prev: int
    start_next: int


def _running_median(x: FloatArray, half: int = _MEDIAN_HALF) -> FloatArray:
    """Centred running median of width 2*half+1; the first and last `half` take the end windows.

    It removes runs of up to `half` outlier readings and keeps steps sharp, so a cleaning
    stays a step and a spike or dropout vanishes. A series shorter than the window is one
    median.
    """
    n = len(x)
    width = 2 * half + 1
    if n < width:
        return np.full(n, np.median(x)) if n else x.copy()
    out = np.empty(n)
    out[half : n - half] = np.median(np.lib.stride_tricks.sliding_window_view(x, width), axis=1)
    # the ends take the first / last full window: still robust to `half` outliers
    out[:half] = out[half]
    out[n - half :] = out[n - 1 - half]
    return out


def _prepare(times: TimesLike, fill: npt.ArrayLike) -> tuple[TimeArray, FloatArray]:
    t = as_times(times).ravel()
    y = np.asarray(fill, dtype=np.float64).ravel()
    if t.shape != y.shape:
        raise ValueError(f"times and fill differ in length ({t.size} != {y.size})")
    ok = np.isfinite(y) & ~np.isnat(t)
    t, y = t[ok], y[ok]
    order = np.argsort(t, kind="stable")
    return t[order], y[order]


def _falls(t: TimeArray, m: FloatArray, window_s: float, min_step: float) -> list[tuple[int, int, int]]:
    """Falling runs of the smoothed series as (a, k, b): m[a-1] before, biggest step at k, bottom b.

    A run grows from its biggest step through neighbouring steps of at least `min_step`
    within `window_s` seconds, so a cleaning caught half-way (80, 40, 3) is one fall.
    """
    n = len(m)
    if n < 2:
        return []
    step = np.zeros(n)
    step[1:] = m[:-1] - m[1:]
    ts = t.astype(np.int64)
    out: list[tuple[int, int, int]] = []
    big = np.flatnonzero(step >= min_step)
    used = np.zeros(n, dtype=bool)
    # biggest steps first, so each run is anchored on its main step
    for k in big[np.argsort(-step[big], kind="stable")]:
        if used[k]:
            continue
        a = k
        while a - 1 >= 1 and not used[a - 1] and step[a - 1] >= min_step and ts[k] - ts[a - 1] <= window_s:
            a -= 1
        b = k
        while b + 1 < n and not used[b + 1] and step[b + 1] >= min_step and ts[b + 1] - ts[k] <= window_s:
            b += 1
        used[a : b + 1] = True
        out.append((int(a), int(k), int(b)))
    return sorted(out)


def _is_rebound(t: TimeArray, m: FloatArray, a: int, b: int, rebound_s: float) -> bool:
    """True when the level climbs back within `rebound_s`: a dip of outliers, not a cleaning."""
    before, bottom = m[a - 1], m[b]
    ts = t.astype(np.int64)
    hi = np.searchsorted(ts, ts[b] + rebound_s, side="right")
    after = m[b + 1 : hi]
    return bool(after.size and after.max() >= bottom + 0.75 * (before - bottom))


def _breaks(
    t: TimeArray,
    y: FloatArray,
    work_orders: Iterable[TimesLike],
    *,
    min_drop: float,
    drop_window_hours: float,
    rebound_hours: float,
    work_order_tolerance_days: float,
    work_order_min_drop: float,
) -> list[_Break]:
    m = _running_median(y) if len(y) else y
    window_s = drop_window_hours * 3600.0
    falls = _falls(t, m, window_s, min(work_order_min_drop, min_drop) / 2.0)
    detected: list[tuple[int, int, int, float]] = []
    small: list[tuple[int, int, int, float]] = []
    for a, k, b in falls:
        drop = float(m[a - 1] - m[b])
        if _is_rebound(t, m, a, b, rebound_hours * 3600.0):
            continue
        (detected if drop >= min_drop else small).append((a, k, b, drop))

    tol = np.timedelta64(int(work_order_tolerance_days * SECONDS_PER_DAY), "s")
    listed = list(work_orders)
    orders = np.sort(as_times(np.asarray(listed, dtype=object)).ravel()) if listed else None
    merged: dict[int, np.datetime64] = {}  # index into detected -> work order time
    extra: list[_Break] = []
    accepted: list[np.datetime64] = []
    for w in orders if orders is not None else []:
        if any(abs(w - c) <= tol for c in accepted):
            continue  # a duplicate record of a cleaning already counted
        near = [i for i, d in enumerate(detected) if i not in merged and abs(t[d[1]] - w) <= tol]
        if near:
            i = min(near, key=lambda j: abs(t[detected[j][1]] - w))
            merged[i] = w
            accepted.append(t[detected[i][1]])
            continue
        # the crew cleaned a drain that was not very full: take the biggest smaller fall nearby
        cand = [s for s in small if abs(t[s[1]] - w) <= tol and s[3] >= work_order_min_drop]
        if cand:
            a, k, b, drop = max(cand, key=lambda s: s[3])
            small.remove((a, k, b, drop))
            extra.append(_Break(Cleaning(t[k], "work_order", drop, w), a, b))
            accepted.append(t[k])
        else:
            at = int(np.searchsorted(t, w, side="left"))
            extra.append(_Break(Cleaning(w, "work_order", None, w), at, at))
            accepted.append(w)
    out = [
        _Break(
            Cleaning(t[k], "work_order" if i in merged else "detected", drop, merged.get(i)),
            a,
            b,
        )
        for i, (a, k, b, drop) in enumerate(detected)
    ]
    out.extend(extra)
    out.sort(key=lambda br: (br.cleaning.time, br.start_next))
    return out


def detect_cleanings(
    times: TimesLike,
    fill: npt.ArrayLike,
    *,
    work_orders: Iterable[TimesLike] = (),
    min_drop: float = MIN_DROP,
    drop_window_hours: float = DROP_WINDOW_HOURS,
    rebound_hours: float = REBOUND_HOURS,
    work_order_tolerance_days: float = WORK_ORDER_TOLERANCE_DAYS,
    work_order_min_drop: float = WORK_ORDER_MIN_DROP,
) -> list[Cleaning]:
    """Cleanings in a fill series: sharp drops, and recorded work orders.

    The series is first smoothed by a running median over 5 readings, which removes spikes
    and dropouts of up to two consecutive readings (so a lone low reading that returns to the
    previous level is not a cleaning, and a drop at the end of the series shows once three
    readings confirm it). A cleaning is a fall of the smoothed level of at least `min_drop`
    percentage points, in one step or in neighbouring steps within `drop_window_hours` (a
    drop across a gap in the data counts too). A fall that climbs back three quarters of
    the way within `rebound_hours` is a run of outliers, not a cleaning. Rises (storm
    bursts) never are.

    A work order within `work_order_tolerance_days` of a detected drop is that cleaning
    (source "work_order", time from the readings). A work order without one takes the
    biggest fall of at least `work_order_min_drop` points within the tolerance (a drain
    cleaned while not very full), else stands on its own time. Work orders within the
    tolerance of an already counted cleaning count once.
    """
    t, y = _prepare(times, fill)
    found = _breaks(
        t,
        y,
        work_orders,
        min_drop=min_drop,
        drop_window_hours=drop_window_hours,
        rebound_hours=rebound_hours,
        work_order_tolerance_days=work_order_tolerance_days,
        work_order_min_drop=work_order_min_drop,
    )
    return [br.cleaning for br in found]


# --------------------------------------------------------------------------- Theil-Sen


def _theil_sen(x: FloatArray, y: FloatArray, *, max_pairs: int = _MAX_PAIRS) -> tuple[float, float]:
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
            level = np.interp(grid, x, _running_median(y))
            inc = np.diff(level) - slope * step
            # the level's own noise: a median of 5 keeps about 0.3 of the reading variance
            q = max(0.0, float(np.mean(inc**2)) - 2 * 0.3 * sigma**2) / step
    q = max(q, MIN_RELATIVE_DIFFUSION * slope**2) if np.isfinite(slope) else q
    return float(np.sqrt(se_noise2 + 1.2 * q / span)) if span > 0 else np.inf


# --------------------------------------------------------------------------- fitting


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
    m = _running_median(y)
    full = np.flatnonzero(m >= saturation)
    cut = int(full[0]) if full.size else len(y)
    tu, yu = t[:cut], y[:cut]
    n_sat = len(y) - cut
    span = float(_days(tu[-1] - tu[0])) if cut else 0.0
    if cut < min_readings or span < min_span_days:
        return Segment(t[0], t[-1], cut, np.nan, np.nan, np.nan, np.nan, "too_few_readings", n_sat, span)
    x = np.asarray(seasonal.seasonal_days(np.repeat(tu[0], cut), tu), dtype=np.float64)
    slope, intercept = _theil_sen(x, yu)
    se = _slope_se(x, yu, slope)
    low, high = slope - _Z95 * se, slope + _Z95 * se
    return Segment(t[0], t[-1], cut, slope, low, high, intercept, "ok", n_sat, span)


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

    The readings are cut at the cleanings (:func:`detect_cleanings`); each segment gets a
    Theil--Sen slope once it has at least `min_readings` unsaturated readings (default 8)
    spanning at least `min_span_days` calendar days (default 7). The drain's rate pools the
    segments that qualify, weighted by their readings. With no segment qualifying the status
    is "too_few_readings" and the rate NaN -- a drain cleaned three days ago is not guessed at
    from its two readings; the environment model (:mod:`geo.fillmodel`) fills that gap.
    """
    season = seasonal if seasonal is not None else SeasonalFactors.flat()
    t, y = _prepare(times, fill)
    orders = list(work_orders)
    if not len(t):
        cleanings = (
            tuple(
                Cleaning(w, "work_order", None, w) for w in sorted(as_times(np.asarray(orders, dtype=object)))
            )
            if orders
            else ()
        )
        return FillRateFit(
            "no_readings", np.nan, np.nan, 0, 0, (), cleanings,
            cleanings[-1].time if cleanings else None, None, None, season,
        )  # fmt: skip
    breaks = _breaks(
        t,
        y,
        orders,
        min_drop=min_drop,
        drop_window_hours=DROP_WINDOW_HOURS,
        rebound_hours=REBOUND_HOURS,
        work_order_tolerance_days=WORK_ORDER_TOLERANCE_DAYS,
        work_order_min_drop=WORK_ORDER_MIN_DROP,
    )
    bounds: list[tuple[int, int]] = []
    lo = 0
    for br in breaks:
        if br.end_prev > lo:
            bounds.append((lo, br.end_prev))
        lo = max(lo, br.start_next)
    if lo < len(t):
        bounds.append((lo, len(t)))
    segments = tuple(
        _segment(
            t[a:b],
            y[a:b],
            season,
            min_readings=min_readings,
            min_span_days=min_span_days,
            saturation=saturation,
        )
        for a, b in bounds
    )
    cleanings = tuple(br.cleaning for br in breaks)
    last_time = t[-1]
    done = [c.time for c in cleanings if c.time <= last_time]
    all_times = [c.time for c in cleanings]
    last_cleaning = max(all_times) if all_times else None
    since = int(len(t) - np.searchsorted(t, max(done), side="left")) if done else len(t)
    tail_start = bounds[-1][0] if bounds else len(t) - 1
    last_fill = float(np.median(y[max(tail_start, len(t) - 3) :]))

    good = [s for s in segments if s.status == "ok"]
    if not good:
        return FillRateFit(
            "too_few_readings", np.nan, np.nan, sum(s.n_readings for s in segments), since,
            segments, cleanings, last_cleaning, last_time, last_fill, season,
        )  # fmt: skip
    n = np.array([s.n_readings for s in good], dtype=np.float64)
    rates = np.array([s.rate_per_day for s in good])
    ses = np.array([s.rate_se for s in good])
    w = n / n.sum()
    rate = float(w @ rates)
    within = float(np.sqrt(np.sum((w * ses) ** 2)))
    between = float(np.sqrt((w @ (rates - rate) ** 2) * np.sum(w**2))) if len(good) > 1 else 0.0
    return FillRateFit(
        "ok", max(rate, 0.0), max(within, between), int(n.sum()), since,
        segments, cleanings, last_cleaning, last_time, last_fill, season,
    )  # fmt: skip


# --------------------------------------------------------------------------- seasonal factors


def _month_slopes(
    t: TimeArray, y: FloatArray, work_orders: Sequence[TimesLike], min_readings: int, min_span_days: float
) -> dict[int, list[float]]:
    """Theil--Sen slopes (%/calendar day) per calendar month within each segment of one drain."""
    out: dict[int, list[float]] = {}
    fit = fit_fill_rate(t, y, work_orders=work_orders, min_readings=min_readings, min_span_days=min_span_days)
    for seg in fit.segments:
        if seg.status != "ok":
            continue
        sel = (t >= seg.start) & (t <= seg.end)
        ts, ys = t[sel][: seg.n_readings], y[sel][: seg.n_readings]
        month = ts.astype("datetime64[M]")
        for mon in np.unique(month):
            part = month == mon
            tp = ts[part]
            if part.sum() < min_readings or float(_days(tp[-1] - tp[0])) < min_span_days:
                continue
            slope, _ = _theil_sen(_days(tp - tp[0]), ys[part])
            if np.isfinite(slope):
                out.setdefault(int(mon.astype(np.int64) % 12) + 1, []).append(slope)
    return out


def fit_seasonal_factors(
    series: Iterable[tuple[TimesLike, npt.ArrayLike, Sequence[TimesLike]]],
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
        t, y = _prepare(times, fill)
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


# --------------------------------------------------------------------------- projection


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


__all__ = [
    "DROP_WINDOW_HOURS",
    "MIN_DROP",
    "MIN_READINGS",
    "MIN_RELATIVE_DIFFUSION",
    "MIN_SPAN_DAYS",
    "REBOUND_HOURS",
    "SATURATION",
    "WORK_ORDER_MIN_DROP",
    "WORK_ORDER_TOLERANCE_DAYS",
    "Cleaning",
    "FillRateFit",
    "SeasonalFactors",
    "Segment",
    "as_times",
    "detect_cleanings",
    "fill_at",
    "fit_fill_rate",
    "fit_seasonal_factors",
    "time_to_reach",
]
