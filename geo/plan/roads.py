"""Road network → travel matrix for truck routing (and the straight-line fallback).

A line file (OSM ways, a city's own road register: anything geopandas reads) becomes a
directed graph whose vertices are the distinct line vertices. Junctions are the shared OSM
node ids when a `node_ids` property lists one id per coordinate (OSM ways meet there and
nowhere else: a bridge crossing a street shares no node), otherwise coordinates rounded to
0.1 m in the metric CRS (`geo.spatial.crs`: RD New for Dutch data, UTM elsewhere). Only ways a suction
truck may use are kept (`geo.plan.road_ways`); `oneway` is respected.

Travel: the fastest path by travel time, with its length, for every pair of points. Both
figures come out of one `scipy.sparse.csgraph.dijkstra` run per distinct snapped vertex: each
edge weighs `time_ds * 2**30 + length_dm` (deciseconds, decimetres), integers that float64 adds
exactly, so the minimum is the fastest path (ties: the shorter) and the sum splits back into
its time and its length without walking predecessor trees.

Points are snapped to the nearest vertex of the largest strongly connected component (every
vertex of it reaches every other); the snap distance is driven at walking pace. A point further
than `max_snap_m` from that component is unreachable, and the matrix says why.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import geopandas as gpd
import numpy as np
import pyproj
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import connected_components, dijkstra
from scipy.spatial import cKDTree

from geo.plan.road_graph import densify, directed_edges, vertices_and_segments
from geo.plan.road_ways import TRUCK_SPEEDS_KMH, select_ways
from geo.plan.travel import MAX_SNAP_M, WGS84, PathFinder, TravelMatrix, lonlat_array
from geo.spatial import metric_crs

__all__ = ["RoadNetwork", "RoadNetworkError"]

# km/h on a line without a `highway` value (a city's own road register rather than OSM)
DEFAULT_SPEED_KMH = 30.0
# the legal limit of a heavy truck: caps every `maxspeed`
MAX_TRUCK_SPEED_KMH = 80.0
# longer straight segments get intermediate vertices (m), so points snap near where they are
MAX_EDGE_M = 50.0
# the last metres from the road to a point are a hose, a walk or a manoeuvre: this pace
SNAP_SPEED_KMH = 6.0

_SCALE = float(2**30)  # time (ds) * _SCALE + length (dm): exact in float64 below 2**53


class RoadNetworkError(ValueError):
    """The road file cannot be turned into a usable network (say which file and what to fix)."""


def _packed(primary: np.ndarray, secondary: np.ndarray) -> np.ndarray:
    """Edge weights primary*2**30 + secondary, both already integer (ds / dm), at least 1."""
    packed: np.ndarray = np.maximum(primary * _SCALE + secondary, 1.0)
    return packed


@dataclass(frozen=True, eq=False)
class RoadNetwork:
    """A directed road graph for trucks: vertex positions (metric and lon/lat), edges with
    length (m) and travel time (s), and its largest strongly connected component."""

    crs: pyproj.CRS
    vertex_xy: np.ndarray
    vertex_lonlat: np.ndarray
    edge_from: np.ndarray
    edge_to: np.ndarray
    edge_length_m: np.ndarray
    edge_time_s: np.ndarray
    main: np.ndarray  # bool per vertex: in the largest strongly connected component
    node_vertex: Mapping[int, int]  # OSM node id → vertex
    stats: Mapping[str, Any]

    @classmethod
    def from_file(
        cls,
        path: str | Path,
        *,
        speeds_kmh: Mapping[str, float] | None = None,
        default_speed_kmh: float = DEFAULT_SPEED_KMH,
        max_speed_kmh: float = MAX_TRUCK_SPEED_KMH,
        max_edge_m: float | None = MAX_EDGE_M,
        layer: str | None = None,
    ) -> RoadNetwork:
        """Read any line file geopandas reads (GeoJSON, GeoPackage, shapefile, ...); see
        `from_frame` for the arguments."""
        path = Path(path)
        if not path.exists():
            raise RoadNetworkError(f"road file {path} does not exist")
        gdf = gpd.read_file(path, layer=layer) if layer else gpd.read_file(path)
        return cls.from_frame(
            gdf,
            speeds_kmh=speeds_kmh,
            default_speed_kmh=default_speed_kmh,
            max_speed_kmh=max_speed_kmh,
            max_edge_m=max_edge_m,
            name=str(path),
        )

    @classmethod
    def from_frame(
        cls,
        gdf: gpd.GeoDataFrame,
        *,
        speeds_kmh: Mapping[str, float] | None = None,
        default_speed_kmh: float = DEFAULT_SPEED_KMH,
        max_speed_kmh: float = MAX_TRUCK_SPEED_KMH,
        max_edge_m: float | None = MAX_EDGE_M,
        name: str = "road frame",
    ) -> RoadNetwork:
        """Build the graph from (Multi)LineStrings in any CRS.

        `speeds_kmh` overrides or extends `TRUCK_SPEEDS_KMH` (a `highway` type listed there is
        driveable); `maxspeed` on a way wins over the table, capped at `max_speed_kmh` (the
        legal limit of a heavy truck); lines without a `highway` value drive at
        `default_speed_kmh`. Segments longer than `max_edge_m` get intermediate vertices.
        """
        if gdf.crs is None:
            raise RoadNetworkError(f"{name} has no CRS; set it (e.g. EPSG:4326) before building a network")
        for label, value in (("default_speed_kmh", default_speed_kmh), ("max_speed_kmh", max_speed_kmh)):
            if not value > 0:
                raise RoadNetworkError(f"{label} must be positive, got {value}")
        speeds = {**TRUCK_SPEEDS_KMH, **(speeds_kmh or {})}
        bad = {k: v for k, v in speeds.items() if not v > 0}
        if bad:
            raise RoadNetworkError(f"speeds must be positive km/h, got {bad}; leave a type out to exclude it")
        ways = select_ways(gdf, speeds, default_speed_kmh, max_speed_kmh)
        if len(ways.geoms) == 0:
            raise RoadNetworkError(
                f"{name}: none of {len(gdf)} features is a road a truck may use (excluded: {ways.excluded})"
            )
        crs = metric_crs(gdf)
        source = gdf.crs if isinstance(gdf.crs, pyproj.CRS) else pyproj.CRS(gdf.crs)
        to_metric = pyproj.Transformer.from_crs(source, crs, always_xy=True)
        vertex_xy, node_vertex, seg = vertices_and_segments(ways, to_metric)
        n_osm_vertices = len(vertex_xy)
        if max_edge_m is not None:
            if not max_edge_m > 0:
                raise RoadNetworkError(f"max_edge_m must be positive or None, got {max_edge_m}")
            vertex_xy, seg = densify(vertex_xy, seg, max_edge_m)
        frm, to, time, length = directed_edges(seg)
        n = len(vertex_xy)
        graph = csr_matrix((np.ones(len(frm)), (frm, to)), shape=(n, n))
        n_comp, labels = connected_components(graph, directed=True, connection="strong")
        main = labels == np.bincount(labels).argmax()
        lon, lat = pyproj.Transformer.from_crs(crs, WGS84, always_xy=True).transform(
            vertex_xy[:, 0], vertex_xy[:, 1]
        )
        stats = {
            "features": len(gdf),
            "ways_used": len(ways.geoms),
            "excluded": ways.excluded,
            "vertices": n,
            "junction_vertices": n_osm_vertices,
            "edges": len(frm),
            "components": int(n_comp),
            "main_component_vertices": int(main.sum()),
            "road_km": float(seg.length_m.sum() / 1000.0),
        }
        return cls(
            crs, vertex_xy, np.column_stack([lon, lat]), frm, to, length, time, main, node_vertex, stats
        )

    def _weights(self, by: Literal["time", "distance"]) -> csr_matrix:
        time_ds = np.rint(self.edge_time_s * 10.0)
        length_dm = np.rint(self.edge_length_m * 10.0)
        packed = _packed(time_ds, length_dm) if by == "time" else _packed(length_dm, time_ds)
        n = len(self.vertex_xy)
        return csr_matrix((packed, (self.edge_from, self.edge_to)), shape=(n, n))

    def _trees(self) -> tuple[cKDTree, np.ndarray, cKDTree]:
        main_idx = np.flatnonzero(self.main)
        return cKDTree(self.vertex_xy[main_idx]), main_idx, cKDTree(self.vertex_xy)

    def travel_matrix(
        self,
        points_lonlat: Sequence[tuple[float, float]] | np.ndarray,
        *,
        max_snap_m: float = MAX_SNAP_M,
        snap_speed_kmh: float = SNAP_SPEED_KMH,
        by: Literal["time", "distance"] = "time",
    ) -> TravelMatrix:
        """Distances and durations between all points along the fastest (`by="time"`) or
        shortest (`by="distance"`) road path, snap legs included (at `snap_speed_kmh`: the
        last metres are a hose, a walk or a manoeuvre, not a drive). Two points on the same
        vertex are connected by their straight line at that pace."""
        if by not in ("time", "distance"):
            raise ValueError(f"by must be 'time' or 'distance', got {by!r}")
        if not snap_speed_kmh > 0:
            raise ValueError(f"snap_speed_kmh must be positive, got {snap_speed_kmh}")
        pts = lonlat_array(points_lonlat)
        x, y = pyproj.Transformer.from_crs(WGS84, self.crs, always_xy=True).transform(pts[:, 0], pts[:, 1])
        xy = np.column_stack([x, y])
        main_tree, main_idx, all_tree = self._trees()
        snap, k = main_tree.query(xy)
        vertex = main_idx[k]
        nearest_any, _ = all_tree.query(xy)
        reachable = snap <= max_snap_m
        weights = self._weights(by)
        sources, inverse = np.unique(vertex, return_inverse=True)
        net_primary = np.empty((len(sources), len(sources)))
        net_secondary = np.empty((len(sources), len(sources)))
        chunk = max(1, int(2e7 // max(1, len(self.vertex_xy))))
        for start in range(0, len(sources), chunk):
            rows = dijkstra(weights, directed=True, indices=sources[start : start + chunk])[:, sources]
            primary = np.floor(rows / _SCALE)
            net_primary[start : start + chunk] = primary
            net_secondary[start : start + chunk] = rows - primary * _SCALE
        if by == "time":
            net_time, net_length = net_primary / 10.0, net_secondary / 10.0
        else:
            net_length, net_time = net_primary / 10.0, net_secondary / 10.0
        snap_s = snap / (snap_speed_kmh / 3.6)
        metres = snap[:, None] + net_length[inverse][:, inverse] + snap[None, :]
        seconds = snap_s[:, None] + net_time[inverse][:, inverse] + snap_s[None, :]
        same = vertex[:, None] == vertex[None, :]
        direct = np.hypot(xy[:, None, 0] - xy[None, :, 0], xy[:, None, 1] - xy[None, :, 1])
        metres = np.where(same, np.minimum(metres, direct), metres)
        seconds = np.where(same, np.minimum(seconds, direct / (snap_speed_kmh / 3.6)), seconds)
        np.fill_diagonal(metres, 0.0)
        np.fill_diagonal(seconds, 0.0)
        return TravelMatrix(
            distance_m=np.rint(metres).astype(np.int64),
            duration_s=np.rint(seconds).astype(np.int64),
            snap_m=snap,
            reachable=reachable,
            points_lonlat=pts,
            source="roads",
            nearest_road_m=nearest_any,
            max_snap_m=float(max_snap_m),
            _paths=PathFinder(self, weights, vertex),
        )

    def vertex_of_node(self, node_id: int) -> int | None:
        """The graph vertex of an OSM node id (None when no kept way has it)."""
        return self.node_vertex.get(int(node_id))
