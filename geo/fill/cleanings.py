"""Cleanings of a drain: sharp drops in its fill series, merged with the recorded work orders."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt

from geo.fill.series import prepare_series, running_median
from geo.fill.times import SECONDS_PER_DAY, FloatArray, TimeArray, TimesLike, as_times

__all__ = [
    "DROP_WINDOW_HOURS",
    "MIN_DROP",
    "REBOUND_HOURS",
    "WORK_ORDER_MIN_DROP",
    "WORK_ORDER_TOLERANCE_DAYS",
    "Break",
    "Cleaning",
    "CleaningSource",
    "detect_cleanings",
    "find_breaks",
]

CleaningSource = Literal["detected", "work_order"]

#: Default drop (percentage points) that counts as a cleaning.
MIN_DROP = 20.0
#: Neighbouring falls within this many hours of the main step are one cleaning.
DROP_WINDOW_HOURS = 48.0
#: A fall that climbs back within this many hours is a run of outliers, not a cleaning.
REBOUND_HOURS = 24.0
#: A work order this close (days) to a detected drop is that cleaning.
WORK_ORDER_TOLERANCE_DAYS = 2.0
#: The smallest fall (points) a work order is pinned to when no full cleaning drop is near.
WORK_ORDER_MIN_DROP = 5.0

# A fall of the smoothed series: (a, k, b, drop) -- m[a-1] before, biggest step at k, bottom b.
_Fall = tuple[int, int, int, float]


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
class Break:
    """A cleaning and where it cuts the readings: [.., end_prev) before, [start_next, ..) after."""

    cleaning: Cleaning
    end_prev: int
    start_next: int


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


def _falls_found(
    t: TimeArray,
    m: FloatArray,
    *,
    min_drop: float,
    drop_window_hours: float,
    rebound_hours: float,
    work_order_min_drop: float,
) -> tuple[list[_Fall], list[_Fall]]:
    """(falls of at least `min_drop`, smaller falls a work order may pin), rebounds left out."""
    window_s = drop_window_hours * 3600.0
    falls = _falls(t, m, window_s, min(work_order_min_drop, min_drop) / 2.0)
    detected: list[_Fall] = []
    small: list[_Fall] = []
    for a, k, b in falls:
        drop = float(m[a - 1] - m[b])
        if _is_rebound(t, m, a, b, rebound_hours * 3600.0):
            continue
        (detected if drop >= min_drop else small).append((a, k, b, drop))
    return detected, small


def _merge_work_orders(
    t: TimeArray,
    detected: list[_Fall],
    small: list[_Fall],
    work_orders: Iterable[TimesLike],
    *,
    tolerance_days: float,
    min_drop: float,
) -> tuple[dict[int, np.datetime64], list[Break]]:
    """(index into `detected` -> the work order that records it, the work orders' own breaks)."""
    tol = np.timedelta64(int(tolerance_days * SECONDS_PER_DAY), "s")
    listed = list(work_orders)
    orders = np.sort(as_times(np.asarray(listed, dtype=object)).ravel()) if listed else None
    merged: dict[int, np.datetime64] = {}  # index into detected -> work order time
    extra: list[Break] = []
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
        cand = [s for s in small if abs(t[s[1]] - w) <= tol and s[3] >= min_drop]
        if cand:
            a, k, b, drop = max(cand, key=lambda s: s[3])
            small.remove((a, k, b, drop))
            extra.append(Break(Cleaning(t[k], "work_order", drop, w), a, b))
            accepted.append(t[k])
        else:
            at = int(np.searchsorted(t, w, side="left"))
            extra.append(Break(Cleaning(w, "work_order", None, w), at, at))
            accepted.append(w)
    return merged, extra


def find_breaks(
    t: TimeArray,
    y: FloatArray,
    work_orders: Iterable[TimesLike],
    *,
    min_drop: float,
    drop_window_hours: float,
    rebound_hours: float,
    work_order_tolerance_days: float,
    work_order_min_drop: float,
) -> list[Break]:
    """The cleanings of a prepared series (see :func:`detect_cleanings`) and where they cut it."""
    m = running_median(y) if len(y) else y
    detected, small = _falls_found(
        t,
        m,
        min_drop=min_drop,
        drop_window_hours=drop_window_hours,
        rebound_hours=rebound_hours,
        work_order_min_drop=work_order_min_drop,
    )
    merged, extra = _merge_work_orders(
        t,
        detected,
        small,
        work_orders,
        tolerance_days=work_order_tolerance_days,
        min_drop=work_order_min_drop,
    )
    out = [
        Break(
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
    t, y = prepare_series(times, fill)
    found = find_breaks(
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
