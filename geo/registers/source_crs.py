"""The CRS of a register's coordinates: asked for, the file's own, or told by the values."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
from pyproj import CRS

from geo.registers.errors import RegisterError

__all__ = ["RD_BOUNDS", "RD_NEW", "WGS84", "area_bounds", "file_crs", "guess_crs", "is_rd", "settle_crs"]

WGS84 = "EPSG:4326"
RD_NEW = "EPSG:28992"
#: Projected bounds of EPSG:28992 (RD New): x_min, y_min, x_max, y_max in metres.
RD_BOUNDS: tuple[float, float, float, float] = (-7_000.0, 289_000.0, 300_000.0, 629_000.0)


def guess_crs(xs: np.ndarray, ys: np.ndarray) -> str | None:
    """EPSG:4326 when the typical value is in degrees, EPSG:28992 when in the Dutch RD box."""
    finite = np.isfinite(xs) & np.isfinite(ys)
    if not finite.any():
        return None
    mx, my = float(np.median(xs[finite])), float(np.median(ys[finite]))
    if -180.0 <= mx <= 180.0 and -90.0 <= my <= 90.0:
        return WGS84
    x0, y0, x1, y1 = RD_BOUNDS
    if x0 <= mx <= x1 and y0 <= my <= y1:
        return RD_NEW
    return None


def is_rd(crs: CRS) -> bool:
    return crs.to_epsg() in (28992, 7415) or "RD New" in crs.name


def area_bounds(crs: CRS) -> tuple[float, float, float, float] | None:
    """The CRS's area of use in lon/lat (west, south, east, north); None when it is the world."""
    area = crs.area_of_use
    if area is None:
        return None
    west, south, east, north = area.bounds
    if west <= -179.0 and east >= 179.0 and south <= -89.0 and north >= 89.0:
        return None  # the whole world
    return west, south, east, north


def file_crs(given: CRS | None, geometry: gpd.GeoSeries, notes: list[str]) -> CRS | None:
    """The CRS asked for, else the file's own; a note when the two differ."""
    if given is None:
        return CRS.from_user_input(geometry.crs) if geometry.crs is not None else None
    if geometry.crs is not None and not CRS.from_user_input(geometry.crs).equals(given):
        notes.append(f"the file says {geometry.crs.to_string()}; using {given.to_string()} as asked")
    return given


def settle_crs(known: CRS | None, xs: np.ndarray, ys: np.ndarray, path: Path, notes: list[str]) -> CRS:
    """`known`, else the CRS the coordinate values point at (noted); RegisterError when they don't."""
    if known is not None:
        return known
    guessed = guess_crs(xs, ys)
    if guessed is None:
        raise RegisterError(
            f"cannot tell the coordinate reference system of {path.name}",
            hint="pass crs= (e.g. EPSG:28992 for RD New, EPSG:4326 for lon/lat degrees)",
        )
    notes.append(f"no CRS given: {guessed} assumed from the coordinate values")
    return CRS.from_user_input(guessed)
