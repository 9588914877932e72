"""Checking the arrays the wrappers hand to the kernels, and making the copy the kernels need.

The kernels read (n, 2) C-contiguous float64 coordinates. The wrappers accept any array-like
of that shape -- a Fortran-ordered array, a strided slice, a pandas ``to_numpy()`` result, a
list of pairs, float32 or integer values -- and convert it here (no copy when it is already
in that form); what has the wrong shape or non-finite values is refused with a ValueError
that says what is wrong.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

from geo.spatial import _kernels

__all__ = ["as_flags", "as_float64", "as_radius", "as_values", "as_xy"]


def as_float64(name: str, values: npt.ArrayLike, shape: str) -> np.ndarray:
    """C-contiguous float64 of real numbers, or a ValueError naming `name` and the `shape` wanted."""
    try:
        arr = np.asarray(values)
        if np.iscomplexobj(arr):
            raise TypeError("complex values")
        return np.ascontiguousarray(arr, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be an array of numbers of shape {shape}: {exc}") from exc


def as_xy(name: str, xy: npt.ArrayLike) -> np.ndarray:
    """`xy` as (n, 2) C-contiguous float64 coordinates, all finite."""
    arr = as_float64(name, xy, "(n, 2)")
    if arr.ndim != 2 or arr.shape[1] != 2:
        raise ValueError(f"{name} must have shape (n, 2), got {arr.shape}")
    if not _kernels.all_finite(arr):
        raise ValueError(f"{name} holds non-finite coordinates (NaN or inf); drop those rows first")
    return arr


def as_values(name: str, values: npt.ArrayLike, n: int) -> np.ndarray:
    """`values` as an (n,) C-contiguous float64 vector (NaN allowed)."""
    arr = as_float64(name, values, f"({n},)")
    if arr.ndim != 1 or arr.shape[0] != n:
        raise ValueError(f"{name} must have shape ({n},), got {arr.shape}")
    return arr


def as_flags(name: str, flags: npt.ArrayLike, n: int) -> np.ndarray:
    """`flags` as an (n,) uint8 vector (true -> 1)."""
    arr = np.asarray(flags)
    if arr.shape != (n,):
        raise ValueError(f"{name} must be an array of shape ({n},), got {arr.shape}")
    return np.ascontiguousarray(arr, dtype=np.uint8)


def as_radius(name: str, value: float) -> float:
    """A distance in metres: finite and >= 0."""
    r = float(value)
    if not math.isfinite(r) or r < 0.0:
        raise ValueError(f"{name} must be a finite distance >= 0 in metres, got {value!r}")
    return r
