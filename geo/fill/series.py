"""A drain's fill series made ready for fitting: sorted, finite, and smoothed by a running median."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from geo.fill.times import FloatArray, TimeArray, TimesLike, as_times

__all__ = ["prepare_series", "running_median"]

# Half-width of the running median that removes up to this many consecutive outlier readings.
_MEDIAN_HALF = 2


def prepare_series(times: TimesLike, fill: npt.ArrayLike) -> tuple[TimeArray, FloatArray]:
    """(times, fill) with non-finite fills and NaT times dropped, sorted by time (stable)."""
    t = as_times(times).ravel()
    y = np.asarray(fill, dtype=np.float64).ravel()
    if t.shape != y.shape:
        raise ValueError(f"times and fill differ in length ({t.size} != {y.size})")
    ok = np.isfinite(y) & ~np.isnat(t)
    t, y = t[ok], y[ok]
    order = np.argsort(t, kind="stable")
    return t[order], y[order]


def running_median(x: FloatArray, half: int = _MEDIAN_HALF) -> FloatArray:
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
