"""From source coordinates to WGS84 positions a street asset can have.

Rejected on the way: non-finite coordinates, outside -180..180 / -90..90, outside the CRS's
area (RD outside the Netherlands' box), placeholder positions (0,0 or a pole) and positions
far from the rest of the register (``outlier_km``).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pyproj
from pyproj import CRS, Transformer

from geo.registers.errors import RegisterError
from geo.registers.rejections import Rejections, format_value
from geo.registers.source_crs import RD_BOUNDS, WGS84, area_bounds, is_rd

__all__ = [
    "AREA_OF_USE_MARGIN_DEG",
    "POLE_LATITUDE",
    "check_source_positions",
    "reject_non_finite",
    "wgs84_positions",
]

#: Margin in degrees around a CRS's area of use within which points are still accepted.
AREA_OF_USE_MARGIN_DEG = 1.0
#: |latitude| at or above this is a placeholder (a pole), not a street asset.
POLE_LATITUDE = 89.9


def reject_non_finite(xs: np.ndarray, ys: np.ndarray, rejections: Rejections) -> None:
    finite = np.isfinite(xs) & np.isfinite(ys)
    rejections.reject(~finite, "non-finite", "coordinates are not finite", "x {a}, y {b}", xs, ys)


def check_source_positions(xs: np.ndarray, ys: np.ndarray, crs: CRS, rejections: Rejections) -> None:
    """Plausibility in the source CRS: degrees in range, RD inside its box, not at 0,0."""
    finite = np.isfinite(xs) & np.isfinite(ys)
    if crs.is_geographic:
        lon_bad = finite & ((xs < -180) | (xs > 180))
        rejections.reject(lon_bad, "out-of-range", "longitude outside -180..180", "lon {a}, lat {b}", xs, ys)
        lat_bad = finite & ((ys < -90) | (ys > 90))
        rejections.reject(lat_bad, "out-of-range", "latitude outside -90..90", "lon {a}, lat {b}", xs, ys)
    if is_rd(crs):
        x0, y0, x1, y1 = RD_BOUNDS
        outside = finite & ((xs < x0) | (xs > x1) | (ys < y0) | (ys > y1))
        reason = "outside the Netherlands (RD New bounds)"
        rejections.reject(outside, "outside-extent", reason, "x {a}, y {b}", xs, ys)
    rejections.reject(
        finite & (xs == 0) & (ys == 0), "placeholder", "at 0,0 (a placeholder, not a position)", "x 0, y 0"
    )


def wgs84_positions(
    xs: np.ndarray, ys: np.ndarray, crs: CRS, path: Path, outlier_km: float | None, rejections: Rejections
) -> tuple[np.ndarray, np.ndarray]:
    """(lon, lat) per row, NaN for rows rejected before; rows that land on a placeholder,
    outside the CRS's area or far from the rest are rejected."""
    lons, lats = _transform(xs, ys, crs, path, rejections)
    _reject_placeholders(lons, lats, crs, rejections)
    if outlier_km is not None:
        _reject_outliers(lons, lats, outlier_km, rejections)
    return lons, lats


def _transform(
    xs: np.ndarray, ys: np.ndarray, crs: CRS, path: Path, rejections: Rejections
) -> tuple[np.ndarray, np.ndarray]:
    n = len(xs)
    lons = np.full(n, np.nan)
    lats = np.full(n, np.nan)
    ok = rejections.pending()
    if ok.any():
        transformer = Transformer.from_crs(crs, WGS84, always_xy=True)
        try:
            lons[ok], lats[ok] = transformer.transform(xs[ok], ys[ok])
        except pyproj.exceptions.ProjError as exc:
            raise RegisterError(f"cannot transform {path.name} from {crs.to_string()}: {exc}") from exc
    lonlat_ok = np.isfinite(lons) & np.isfinite(lats) & (np.abs(lons) <= 180) & (np.abs(lats) <= 90)
    reason = f"cannot be transformed from {crs.to_string()} to WGS84"
    rejections.reject(ok & ~lonlat_ok, "outside-extent", reason, "x {a}, y {b}", xs, ys)
    return lons, lats


def _reject_placeholders(lons: np.ndarray, lats: np.ndarray, crs: CRS, rejections: Rejections) -> None:
    at_pole = rejections.pending() & (np.abs(lats) >= POLE_LATITUDE)
    reason = "at a pole (a placeholder, not a position)"
    rejections.reject(at_pole, "placeholder", reason, "lon {a}, lat {b}", lons, lats)
    null_island = rejections.pending() & (lons == 0) & (lats == 0)
    reason = "at lon 0, lat 0 (a placeholder, not a position)"
    rejections.reject(null_island, "placeholder", reason, "lon 0, lat 0")
    bounds = None if is_rd(crs) else area_bounds(crs)
    if bounds is not None:
        w, s, e, nb = bounds
        m = AREA_OF_USE_MARGIN_DEG
        outside = rejections.pending() & ((lons < w - m) | (lons > e + m) | (lats < s - m) | (lats > nb + m))
        reason = f"outside the area of use of {crs.name}"
        rejections.reject(outside, "outside-extent", reason, "lon {a}, lat {b}", lons, lats)


def _reject_outliers(lons: np.ndarray, lats: np.ndarray, outlier_km: float, rejections: Rejections) -> None:
    good = rejections.pending()
    if good.sum() < 3:
        return
    lon0, lat0 = float(np.median(lons[good])), float(np.median(lats[good]))
    dist = _haversine_km(lons, lats, lon0, lat0)
    far = good & (dist > outlier_km)
    rejections.reject(far, "outlier", f"more than {outlier_km:,.0f} km from the rest of the register")
    if far.any():
        centre = f"({lon0:.5f}, {lat0:.5f})"
        rejections.describe(
            far,
            [
                f"lon {format_value(a)}, lat {format_value(b)}: {d:,.0f} km from the median position {centre}"
                for a, b, d in zip(lons[far], lats[far], dist[far], strict=True)
            ],
        )


def _haversine_km(lons: np.ndarray, lats: np.ndarray, lon0: float, lat0: float) -> np.ndarray:
    lam1, phi1 = np.radians(lons), np.radians(lats)
    lam0, phi0 = math.radians(lon0), math.radians(lat0)
    a = np.sin((phi1 - phi0) / 2) ** 2 + np.cos(phi0) * np.cos(phi1) * np.sin((lam1 - lam0) / 2) ** 2
    with np.errstate(invalid="ignore"):
        return np.asarray(2 * 6371.0088 * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0))))
