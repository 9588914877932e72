"""Road network → travel matrix for truck routing (and the straight-line fallback).

A line file (OSM ways, a city's own road register: anything geopandas reads) becomes a
directed graph whose vertices are the distinct line vertices. Junctions are the shared OSM
node ids when a `node_ids` property lists one id per coordinate (OSM ways meet there and
nowhere else: a bridge crossing a street shares no node), otherwise coordinates rounded to
0.1 m in the metric CRS (`geo.crs`: RD New for Dutch data, UTM elsewhere). Only ways a suction
truck may use are kept (see `TRUCK_SPEEDS_KMH` and `NO_ACCESS`); `oneway` is respected.

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

import math
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import geopandas as gpd
import numpy as np
import pyproj
import shapely
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import connected_components, dijkstra
from scipy.spatial import cKDTree

from geo.crs import metric_crs

__all__ = [
    "NO_ACCESS",
    "TRUCK_SPEEDS_KMH",
    "RoadNetwork",
    "RoadNetworkError",
    "TravelMatrix",
    "straight_line_matrix",
]

# km/h a loaded suction truck keeps on each OSM `highway` type when the way has no usable
# `maxspeed` (below the legal limits: urban junctions, parked cars, a 30-tonne vehicle).
# A way whose `highway` is not listed here is not used: footway, cycleway, path, steps,
# pedestrian, bridleway, track (unpaved, field access), busway (buses only), construction,
# proposed, platform, ... A way without any `highway` value (a non-OSM road file) is used at
# `default_speed_kmh`.
TRUCK_SPEEDS_KMH: Mapping[str, float] = {
    "motorway": 80.0,
    "motorway_link": 50.0,
    "trunk": 70.0,
    "trunk_link": 40.0,
    "primary": 50.0,
    "primary_link": 40.0,
    "secondary": 45.0,
    "secondary_link": 35.0,
    "tertiary": 40.0,
    "tertiary_link": 30.0,
    "unclassified": 30.0,
    "residential": 25.0,
    "living_street": 10.0,
    "service": 15.0,
    "road": 25.0,
}
# access values (on hgv, motor_vehicle, vehicle or access; the most specific tag present wins)
# that shut a city truck out.
NO_ACCESS = frozenset({"no", "private", "agricultural", "forestry", "emergency", "military"})
# OSM implies oneway on these unless the way says otherwise.
_IMPLIED_ONEWAY_HIGHWAY = frozenset({"motorway", "motorway_link"})
_IMPLIED_ONEWAY_JUNCTION = frozenset({"roundabout", "circular"})
# Zone maxspeeds as OSM writes them for the Netherlands (and the generic ones).
_MAXSPEED_WORDS = {
    "walk": 6.0,
    "nl:urban": 50.0,
    "nl:rural": 80.0,
    "nl:motorway": 130.0,
    "nl:zone30": 30.0,
    "nl:zone60": 60.0,
    "nl:living_street": 15.0,
}
_ACCESS_KEYS = ("hgv", "motor_vehicle", "vehicle", "access")
_WGS84 = pyproj.CRS.from_epsg(4326)
_SCALE = float(2**30)  # time (ds) * _SCALE + length (dm): exact in float64 below 2**53


class RoadNetworkError(ValueError):
    """The road file cannot be turned into a usable network (say which file and what to fix)."""


def _parse_maxspeed(value: object) -> float | None:
    """km/h from an OSM maxspeed value ("50", "30 mph", "NL:urban", "walk"), None if unusable."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    text = str(value).strip().lower()
    if text in _MAXSPEED_WORDS:
        return _MAXSPEED_WORDS[text]
    match = re.fullmatch(r"(\d+(?:\.\d+)?)\s*(mph|km/h|kmh)?", text)
    if match is None:
        return None
    speed = float(match.group(1)) * (1.609344 if match.group(2) == "mph" else 1.0)
    return speed if speed > 0 else None


def _text(row: Mapping[str, Any], key: str) -> str | None:
    value = row.get(key)
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    text = str(value).strip().lower()
    return text or None


def _direction(row: Mapping[str, Any], highway: str | None) -> int | None:
    """+1 forward only, -1 backward only, 0 both ways, None: not routable (reversible lanes
    change direction by the hour, so a plan cannot rely on them)."""
    oneway = _text(row, "oneway")
    if oneway in ("yes", "true", "1"):
        return 1
    if oneway in ("-1", "reverse"):
        return -1
    if oneway == "reversible":
        return None
    if oneway in ("no", "false", "0", "alternating"):
        return 0
    if highway in _IMPLIED_ONEWAY_HIGHWAY or _text(row, "junction") in _IMPLIED_ONEWAY_JUNCTION:
        return 1
    return 0


def _node_ids(value: object, n_coords: int) -> np.ndarray | None:
    """The way's OSM node ids when they match its coordinates one to one, else None."""
    if value is None or isinstance(value, (str, bytes, float, int)):
        return None
    try:
        ids = np.asarray(value, dtype=np.int64).ravel()
    except (TypeError, ValueError):
        return None
    return ids if len(ids) == n_coords else None


@dataclass(frozen=True)
class _Ways:
    """The usable ways of a road file: one row per kept feature."""

    geoms: np.ndarray  # shapely lines in the source CRS
    speed_kmh: np.ndarray
    direction: np.ndarray  # +1, -1, 0
    node_ids: list[np.ndarray | None]
    excluded: dict[str, int]


def _select_ways(
    gdf: gpd.GeoDataFrame, speeds: Mapping[str, float], default_speed_kmh: float, max_speed_kmh: float
) -> _Ways:
    geoms: list[Any] = []
    speed: list[float] = []
    direction: list[int] = []
    node_ids: list[np.ndarray | None] = []
    excluded: Counter[str] = Counter()
    has_ids = "node_ids" in gdf.columns
    columns = [c for c in gdf.columns if c != gdf.geometry.name]
    for geom, record in zip(gdf.geometry.array, gdf[columns].to_dict("records"), strict=True):
        if geom is None or geom.is_empty or geom.geom_type not in ("LineString", "MultiLineString"):
            excluded["not a line"] += 1
            continue
        highway = _text(record, "highway")
        if highway is not None and highway not in speeds:
            excluded[f"highway={highway}"] += 1
            continue
        access = next((v for v in (_text(record, k) for k in _ACCESS_KEYS) if v is not None), None)
        if access in NO_ACCESS:
            excluded[f"access={access}"] += 1
            continue
        way_direction = _direction(record, highway)
        if way_direction is None:
            excluded["oneway=reversible"] += 1
            continue
        kmh = _parse_maxspeed(record.get("maxspeed"))
        if kmh is None:
            kmh = speeds[highway] if highway is not None else default_speed_kmh
        geoms.append(geom)
        speed.append(min(kmh, max_speed_kmh))
        direction.append(way_direction)
        node_ids.append(
            _node_ids(record.get("node_ids"), shapely.get_num_coordinates(geom)) if has_ids else None
        )
    return _Ways(
        np.array(geoms, dtype=object),
        np.array(speed),
        np.array(direction, dtype=np.int8),
        node_ids,
        dict(excluded),
    )


@dataclass(frozen=True)
class _Segments:
    """Straight pieces between consecutive vertices, not yet directed."""

    u: np.ndarray
    v: np.ndarray
    length_m: np.ndarray
    speed_kmh: np.ndarray
    direction: np.ndarray


def _vertices_and_segments(
    ways: _Ways, to_metric: pyproj.Transformer
) -> tuple[np.ndarray, dict[int, int], _Segments]:
    """Vertex keys (OSM node id where known, else the 0.1 m-rounded position) → vertex index,
    and the segments between consecutive coordinates of each line part."""
    parts, way_of_part = shapely.get_parts(ways.geoms, return_index=True)
    coords, part_of_coord = shapely.get_coordinates(parts, return_index=True)
    x, y = to_metric.transform(coords[:, 0], coords[:, 1])
    xy = np.column_stack([x, y])
    way_of_coord = way_of_part[part_of_coord]
    keys = np.empty((len(xy), 3), dtype=np.int64)
    keys[:, 0] = 1
    keys[:, 1] = np.rint(xy[:, 0] * 10.0).astype(np.int64)
    keys[:, 2] = np.rint(xy[:, 1] * 10.0).astype(np.int64)
    # coordinates of a way run part after part, in order: its node ids line up with them
    starts = np.searchsorted(way_of_coord, np.arange(len(ways.geoms)))
    for way, ids in enumerate(ways.node_ids):
        if ids is not None:
            keys[starts[way] : starts[way] + len(ids)] = np.column_stack(
                [np.zeros(len(ids), np.int64), ids, np.zeros(len(ids), np.int64)]
            )
    _, first, vertex = np.unique(keys, axis=0, return_index=True, return_inverse=True)
    vertex = vertex.ravel()
    vertex_xy = xy[first]
    by_id = keys[:, 0] == 0
    node_vertex = dict(zip(keys[by_id, 1].tolist(), vertex[by_id].tolist(), strict=True))
    same_part = part_of_coord[1:] == part_of_coord[:-1]
    u = vertex[:-1][same_part]
    v = vertex[1:][same_part]
    way = way_of_coord[:-1][same_part]
    keep = u != v
    u, v, way = u[keep], v[keep], way[keep]
    length = np.hypot(*(vertex_xy[v] - vertex_xy[u]).T)
    return vertex_xy, node_vertex, _Segments(u, v, length, ways.speed_kmh[way], ways.direction[way])


def _densify(vertex_xy: np.ndarray, seg: _Segments, max_edge_m: float) -> tuple[np.ndarray, _Segments]:
    """Split segments longer than `max_edge_m` into equal pieces, so a point beside a long
    straight road snaps to a vertex near it rather than to a corner hundreds of metres away."""
    pieces = np.maximum(1, np.ceil(seg.length_m / max_edge_m).astype(np.int64))
    if (pieces == 1).all():
        return vertex_xy, seg
    n_seg = len(pieces)
    # new vertices, segment after segment, at fractions 1/p .. (p-1)/p of each
    seg_of_new = np.repeat(np.arange(n_seg), pieces - 1)
    step = np.arange(len(seg_of_new)) - np.repeat(np.cumsum(pieces - 1) - (pieces - 1), pieces - 1) + 1
    a, b = vertex_xy[seg.u[seg_of_new]], vertex_xy[seg.v[seg_of_new]]
    new_xy = a + (b - a) * (step / pieces[seg_of_new])[:, None]
    # each segment's chain u, new..., v laid end to end; pieces join consecutive chain entries
    chain_start = np.cumsum(pieces + 1) - (pieces + 1)
    chain = np.empty(int((pieces + 1).sum()), dtype=np.int64)
    inner = np.ones(len(chain), dtype=bool)
    inner[chain_start] = False
    inner[chain_start + pieces] = False
    chain[chain_start] = seg.u
    chain[chain_start + pieces] = seg.v
    chain[inner] = len(vertex_xy) + np.arange(len(seg_of_new))
    is_from = np.ones(len(chain), dtype=bool)
    is_from[chain_start + pieces] = False
    seg_of_piece = np.repeat(np.arange(n_seg), pieces)
    out = _Segments(
        chain[is_from],
        chain[np.flatnonzero(is_from) + 1],
        (seg.length_m / pieces)[seg_of_piece],
        seg.speed_kmh[seg_of_piece],
        seg.direction[seg_of_piece],
    )
    return np.vstack([vertex_xy, new_xy]), out


def _directed_edges(seg: _Segments) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(from, to, time_s, length_m) of every driveable direction, parallel edges reduced to
    the fastest."""
    fwd = seg.direction >= 0
    bwd = seg.direction <= 0
    frm = np.concatenate([seg.u[fwd], seg.v[bwd]])
    to = np.concatenate([seg.v[fwd], seg.u[bwd]])
    length = np.concatenate([seg.length_m[fwd], seg.length_m[bwd]])
    speed = np.concatenate([seg.speed_kmh[fwd], seg.speed_kmh[bwd]])
    time = length / (speed / 3.6)
    order = np.lexsort((length, time, to, frm))
    frm, to, time, length = frm[order], to[order], time[order], length[order]
    first = np.ones(len(frm), dtype=bool)
    first[1:] = (frm[1:] != frm[:-1]) | (to[1:] != to[:-1])
    return frm[first], to[first], time[first], length[first]


def _packed(primary: np.ndarray, secondary: np.ndarray) -> np.ndarray:
    """Edge weights primary*2**30 + secondary, both already integer (ds / dm), at least 1."""
    packed: np.ndarray = np.maximum(primary * _SCALE + secondary, 1.0)
    return packed


@dataclass(frozen=True, eq=False)
class _PathFinder:
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
    _paths: _PathFinder | None = field(default=None, repr=False)

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


def _lonlat_array(points_lonlat: Sequence[tuple[float, float]] | np.ndarray) -> np.ndarray:
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
    points_lonlat: Sequence[tuple[float, float]] | np.ndarray, *, detour: float = 1.3, speed_kmh: float = 25.0
) -> TravelMatrix:
    """Travel without a road network: straight-line metres in the metric CRS (RD New in the
    Netherlands, UTM elsewhere) times `detour` (streets are not straight; 1.3 is a common
    urban factor), driven at `speed_kmh`."""
    if detour < 1.0:
        raise ValueError(f"detour {detour} is below 1: a road is never shorter than the straight line")
    if speed_kmh <= 0:
        raise ValueError(f"speed_kmh must be positive, got {speed_kmh}")
    pts = _lonlat_array(points_lonlat)
    series = gpd.GeoSeries(gpd.points_from_xy(pts[:, 0], pts[:, 1]), crs=_WGS84)
    crs = metric_crs(series)
    x, y = pyproj.Transformer.from_crs(_WGS84, crs, always_xy=True).transform(pts[:, 0], pts[:, 1])
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
        default_speed_kmh: float = 30.0,
        max_speed_kmh: float = 80.0,
        max_edge_m: float | None = 50.0,
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
        default_speed_kmh: float = 30.0,
        max_speed_kmh: float = 80.0,
        max_edge_m: float | None = 50.0,
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
        ways = _select_ways(gdf, speeds, default_speed_kmh, max_speed_kmh)
        if len(ways.geoms) == 0:
            raise RoadNetworkError(
                f"{name}: none of {len(gdf)} features is a road a truck may use (excluded: {ways.excluded})"
            )
        crs = metric_crs(gdf)
        source = gdf.crs if isinstance(gdf.crs, pyproj.CRS) else pyproj.CRS(gdf.crs)
        to_metric = pyproj.Transformer.from_crs(source, crs, always_xy=True)
        vertex_xy, node_vertex, seg = _vertices_and_segments(ways, to_metric)
        n_osm_vertices = len(vertex_xy)
        if max_edge_m is not None:
            if not max_edge_m > 0:
                raise RoadNetworkError(f"max_edge_m must be positive or None, got {max_edge_m}")
            vertex_xy, seg = _densify(vertex_xy, seg, max_edge_m)
        frm, to, time, length = _directed_edges(seg)
        n = len(vertex_xy)
        graph = csr_matrix((np.ones(len(frm)), (frm, to)), shape=(n, n))
        n_comp, labels = connected_components(graph, directed=True, connection="strong")
        main = labels == np.bincount(labels).argmax()
        lon, lat = pyproj.Transformer.from_crs(crs, _WGS84, always_xy=True).transform(
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
        max_snap_m: float = 250.0,
        snap_speed_kmh: float = 6.0,
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
        pts = _lonlat_array(points_lonlat)
        x, y = pyproj.Transformer.from_crs(_WGS84, self.crs, always_xy=True).transform(pts[:, 0], pts[:, 1])
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
            _paths=_PathFinder(self, weights, vertex),
        )

    def vertex_of_node(self, node_id: int) -> int | None:
        """The graph vertex of an OSM node id (None when no kept way has it)."""
        return self.node_vertex.get(int(node_id))
