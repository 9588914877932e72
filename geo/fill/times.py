"""Times in the fill model: UTC ``datetime64[s]``, naive inputs taken as UTC; days as floats."""

from __future__ import annotations

import datetime as _dt
from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = ["SECONDS_PER_DAY", "FloatArray", "TimeArray", "TimesLike", "as_times", "days"]

FloatArray = npt.NDArray[np.float64]
TimeArray = npt.NDArray[np.datetime64]
TimesLike = Any  # datetime64 array, list of datetimes, ... -- see as_times

SECONDS_PER_DAY = 86_400.0


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


def days(delta: npt.NDArray[Any]) -> FloatArray:
    """Time differences in days (float)."""
    return np.asarray(delta, dtype="timedelta64[s]").astype(np.float64) / SECONDS_PER_DAY
