"""Travel between points as a solver wants it: integer metres and seconds (`TravelMatrix`),
along the roads (`geo.plan.roads.RoadNetwork.travel_matrix`) or as the straight line × a
detour factor (`straight_line_matrix`), with the road geometry of each leg on demand."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

import geopandas as gpd
import numpy as np
import pyproj
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import dijkstra

from geo.plan.config import plan_default
from geo.spatial import metric_crs

if TYPE_CHECKING:
    from geo.plan.roads import RoadNetwork

__all__ = ["MAX_SNAP_M", "TravelMatrix", "straight_line_matrix"]

# A point further than this from the connected road network cannot be driven to.
MAX_SNAP_M = 250.0
WGS84 = pyproj.CRS.from_epsg(4326)


@dataclass(frozen=True, eq=False)
class PathFinder:
    """Road geometry between snapped points, by predecessor trees computed on demand (one
    Dijkstra run per leg source, cached), over the same weights as the matrix."""

    network: RoadNetwork
    weights: csr_matrix
    vertex: np.ndarray  # snapped vertex per point
    cache: dict[int, np.ndarray] = field(default_factory=dict)

    def vertices(self, i: int, j: int) -> list[int]:
        src, dst = int(self.vertex[i]), int(self.vertex[j])
        if src not in self.cache:
            if len(self.cache) > 4096:
                self.cache.clear()
            _, pred = dijkstra(self.weights, directed=True, indices=src, return_predecessors=True)
            self.cache[src] = pred.astype(np.int32)
        pred = self.cache[src]
        chain = [dst]
        while chain[-1] != src:
            prev = int(pred[chain[-1]])
            if prev < 0:
                raise RuntimeError(f"vertex {dst} unreachable from {src} inside the main component")
            chain.append(prev)
        return chain[::-1]


@dataclass(frozen=True, eq=False)
class TravelMatrix:
    """Integer travel distances (m) and durations (s) between points, as a solver wants them,
    with how each point was tied to the network.

    `snap_m`: distance from the point to its network vertex (0 for straight-line matrices);
    `nearest_road_m`: to the nearest usable road vertex in any component, connected or not;
    `reachable`: whether the point can be driven to at all (within `max_snap_m` of the main
    component). Row/column order is the order of `points_lonlat`.
    """

    distance_m: np.ndarray
    duration_s: np.ndarray
    snap_m: np.ndarray
    reachable: np.ndarray
    points_lonlat: np.ndarray
    source: Literal["roads", "straight line"]
    nearest_road_m: np.ndarray
    max_snap_m: float = math.inf
    _paths: PathFinder | None = field(default=None, repr=False)

    def __len__(self) -> int:
        return len(self.points_lonlat)

    def unreachable_reason(self, i: int) -> str | None:
        """A planner-readable reason why point `i` cannot be driven to, None if it can."""
        if bool(self.reachable[i]):
            return None
        main = f"nearest road of the connected network {self.snap_m[i]:,.0f} m away"
        if self.nearest_road_m[i] + 1.0 < self.snap_m[i]:
            return (
                f"not reachable on the road network ({main}; the nearest road, "
                f"{self.nearest_road_m[i]:,.0f} m away, is disconnected from it)"
            )
        return f"not reachable on the road network ({main}, more than {self.max_snap_m:,.0f} m)"

    def path(self, i: int, j: int) -> list[tuple[float, float]]:
        """lon/lat coordinates from point `i` to point `j`: along the roads (point, its vertex,
        the fastest road path, the other vertex, point) for a road matrix, else the straight
        segment."""
        a = (float(self.points_lonlat[i, 0]), float(self.points_lonlat[i, 1]))
        b = (float(self.points_lonlat[j, 0]), float(self.points_lonlat[j, 1]))
        if i == j:
            return [a]
        if self._paths is None or self._paths.vertex[i] == self._paths.vertex[j]:
            return [a, b]  # no network, or both on one vertex: the matrix went straight across
        lonlat = self._paths.network.vertex_lonlat
        middle = [(float(lonlat[v, 0]), float(lonlat[v, 1])) for v in self._paths.vertices(i, j)]
        out = [a]
        for p in [*middle, b]:
            if p != out[-1]:
                out.append(p)
        return out


def lonlat_array(points_lonlat: Sequence[tuple[float, float]] | np.ndarray) -> np.ndarray:
    pts = np.asarray(points_lonlat, dtype=np.float64).reshape(-1, 2)
    if not np.isfinite(pts).all():
        raise ValueError("points_lonlat contains NaN or infinite coordinates; drop or fix those points")
    bad = (np.abs(pts[:, 0]) > 180) | (np.abs(pts[:, 1]) > 90)
    if bad.any():
        raise ValueError(
            f"{int(bad.sum())} point(s) are not lon/lat (first: {pts[bad][0].tolist()}); "
            "pass WGS84 longitude, latitude in degrees"
        )
    return pts


def straight_line_matrix(
    points_lonlat: Sequence[tuple[float, float]] | np.ndarray, *,
    detour: float = plan_default("detour"),
    speed_kmh: float = plan_default("speed_kmh"),
) -> TravelMatrix:
    """Travel without a road network: straight-line metres in the metric CRS (RD New in the
    Netherlands, UTM elsewhere) times `detour` (streets are not straight; 1.3 is a common
    urban factor), driven at `speed_kmh` (both default to the plan settings)."""
    if detour < 1.0:
        raise ValueError(f"detour {detour} is below 1: a road is never shorter than the straight line")
    if speed_kmh <= 0:
        raise ValueError(f"speed_kmh must be positive, got {speed_kmh}")
    pts = lonlat_array(points_lonlat)
    series = gpd.GeoSeries(gpd.points_from_xy(pts[:, 0], pts[:, 1]), crs=WGS84)
    crs = metric_crs(series)
    x, y = pyproj.Transformer.from_crs(WGS84, crs, always_xy=True).transform(pts[:, 0], pts[:, 1])
    xy = np.column_stack([x, y])
    metres = np.hypot(xy[:, None, 0] - xy[None, :, 0], xy[:, None, 1] - xy[None, :, 1]) * detour
    n = len(pts)
    return TravelMatrix(
        distance_m=np.rint(metres).astype(np.int64),
        duration_s=np.rint(metres / (speed_kmh / 3.6)).astype(np.int64),
        snap_m=np.zeros(n),
        reachable=np.ones(n, dtype=bool),
        points_lonlat=pts,
        source="straight line",
        nearest_road_m=np.zeros(n),
    )
