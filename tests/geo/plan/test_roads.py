"""Road network → travel matrix: on the real Delft OSM extract (graph, oneway, distances
against straight lines and single ways) and on small synthetic networks against an
independent Floyd–Warshall."""

from __future__ import annotations

import itertools
import time
from typing import Literal

import geopandas as gpd
import numpy as np
import pyproj
import pytest
import shapely

from geo.plan import RoadNetwork, RoadNetworkError, straight_line_matrix
from tests.support import shared_data

DELFT = "nl-delft-tudelft-osm"
RD = pyproj.CRS.from_epsg(28992)
TO_RD = pyproj.Transformer.from_crs(4326, 28992, always_xy=True)
TO_LONLAT = pyproj.Transformer.from_crs(28992, 4326, always_xy=True)
X0, Y0 = 85_000.0, 446_000.0  # RD New, Delft
SCHOEMAKERSTRAAT = 7537755  # a oneway residential street on the TU Delft campus


@pytest.fixture(scope="module")
def ways() -> gpd.GeoDataFrame:
    return gpd.read_file(shared_data(DELFT) / "tudelft_highways.geojson")


@pytest.fixture(scope="module")
def delft(ways: gpd.GeoDataFrame) -> RoadNetwork:
    return RoadNetwork.from_frame(ways)


def lonlat(x: float, y: float) -> tuple[float, float]:
    lon, lat = TO_LONLAT.transform(X0 + x, Y0 + y)
    return float(lon), float(lat)


def test_delft_graph_builds_with_truck_roads_only(delft: RoadNetwork) -> None:
    stats = delft.stats
    assert stats["features"] == 3841
    excluded = stats["excluded"]
    for kind in ("footway", "cycleway", "path", "steps", "pedestrian", "track", "busway"):
        assert excluded[f"highway={kind}"] > 0
    assert excluded["access=private"] > 0 and excluded["access=no"] > 0
    assert stats["ways_used"] == 3841 - sum(excluded.values())
    assert delft.crs.to_epsg() == 28992  # Dutch data: RD New
    # the extract is cut out of a larger map: the campus is one component, roads leaving the
    # box end in dead ends that are not strongly connected to it
    assert stats["main_component_vertices"] > 3000
    assert np.all(delft.edge_length_m > 0) and np.all(delft.edge_time_s > 0)
    assert delft.edge_length_m.max() <= 50.0 + 1e-6  # densified


def test_shared_osm_nodes_are_junctions_and_crossings_are_not() -> None:
    """With `node_ids`, ways meet where they share a node, even if their coordinates differ
    by rounding, and a bridge crossing a street (no shared node) is no junction."""
    street = shapely.LineString([(X0, Y0), (X0 + 200, Y0)])
    side = shapely.LineString([(X0 + 200.4, Y0), (X0 + 200.4, Y0 + 200)])  # node 2 drawn 0.4 m off
    bridge = shapely.LineString([(X0 + 100, Y0 - 100), (X0 + 100, Y0 + 100)])  # over the street
    frame = gpd.GeoDataFrame(
        {"highway": ["residential"] * 3, "node_ids": [[1, 2], [2, 3], [4, 5]]},
        geometry=[street, side, bridge],
        crs=RD,
    )
    net = RoadNetwork.from_frame(frame, max_edge_m=None)
    assert net.stats["junction_vertices"] == 5
    assert net.vertex_of_node(2) is not None and net.vertex_of_node(99) is None
    m = net.travel_matrix([lonlat(0, 0), lonlat(200.4, 200), lonlat(100, 100)])
    assert m.distance_m[0, 1] == 400  # via the shared node
    assert not m.reachable[2] or m.snap_m[2] > 99  # the bridge is not joined to the street


def test_oneway_is_respected(delft: RoadNetwork, ways: gpd.GeoDataFrame) -> None:
    way = ways[ways["osm_way_id"] == SCHOEMAKERSTRAAT].iloc[0]
    assert way["oneway"] == "yes"
    coords = list(way.geometry.coords)
    m = delft.travel_matrix([coords[0], coords[-1]], by="distance")
    assert m.snap_m.max() < 1e-6 and m.reachable.all()
    length = gpd.GeoSeries([way.geometry], crs=4326).to_crs(RD).length.iloc[0]
    assert abs(m.distance_m[0, 1] - length) <= 1.0  # along the way itself
    assert m.distance_m[1, 0] > 1.5 * length  # against the arrow: around the block


def test_two_way_residential_streets_along_the_way(delft: RoadNetwork, ways: gpd.GeoDataFrame) -> None:
    """Both directions along a two-way street cost the same and equal the way's own length
    (shapely, in RD New) -- checked on every such street of 80-400 m inside the campus."""
    rd = ways.to_crs(RD)
    two_way = ways[(ways["highway"] == "residential") & ways["oneway"].isna() & ways["access"].isna()]
    checked = 0
    for idx, way in two_way.iterrows():
        length = rd.geometry[idx].length
        ends = [way.geometry.coords[0], way.geometry.coords[-1]]
        if not 80 < length < 400:
            continue
        m = delft.travel_matrix(ends, by="distance")
        if not (m.snap_m < 1e-6).all():
            continue  # a dead end outside the campus component
        assert m.distance_m[0, 1] == m.distance_m[1, 0], way["osm_way_id"]
        assert abs(m.distance_m[0, 1] - length) <= 1.0, way["osm_way_id"]
        checked += 1
    assert checked >= 30


def test_network_distance_is_never_below_the_straight_line(delft: RoadNetwork) -> None:
    rng = np.random.default_rng(7)
    pts = np.column_stack([rng.uniform(4.355, 4.386, 300), rng.uniform(51.995, 52.005, 300)])
    road = delft.travel_matrix(pts)
    line = straight_line_matrix(pts, detour=1.0)
    ok = road.reachable
    assert ok.sum() > 150
    sub = np.ix_(ok, ok)
    assert np.all(road.distance_m[sub] >= line.distance_m[sub] - 1)
    off = ~np.eye(ok.sum(), dtype=bool)
    ratio = road.distance_m[sub][off] / np.maximum(line.distance_m[sub][off], 1)
    assert 1.1 < np.median(ratio) < 3.0
    # fastest paths: never slower than the 80 km/h cap allows
    assert np.all(road.duration_s[sub][off] >= road.distance_m[sub][off] / (80 / 3.6) - 1)
    # the far side of a pair is reached one way or the other in similar time, mostly
    asym = road.duration_s[sub] / np.maximum(road.duration_s[sub].T, 1)
    assert np.median(asym[off]) == pytest.approx(1.0, abs=0.05)


def test_path_geometry_matches_the_matrix(delft: RoadNetwork) -> None:
    rng = np.random.default_rng(3)
    pts = np.column_stack([rng.uniform(4.36, 4.38, 40), rng.uniform(51.997, 52.003, 40)])
    m = delft.travel_matrix(pts)
    idx = np.flatnonzero(m.reachable)[:12]
    for i in idx:
        for j in idx:
            if i == j:
                continue
            path = m.path(int(i), int(j))
            assert path[0] == tuple(pts[i]) and path[-1] == tuple(pts[j])
            x, y = TO_RD.transform(*np.array(path).T)
            along = float(np.hypot(np.diff(x), np.diff(y)).sum())
            # edge lengths are summed in whole decimetres: allow their rounding
            assert along == pytest.approx(m.distance_m[i, j], rel=1e-3, abs=1.5)


def test_points_far_from_roads_are_unreachable(delft: RoadNetwork) -> None:
    # a point in the far south-west corner of the extract's box, kilometres from the campus
    m = delft.travel_matrix([(4.3700, 52.0000), (4.1700, 51.9200)])
    assert m.reachable.tolist() == [True, False]
    reason = m.unreachable_reason(1)
    assert reason is not None and reason.startswith("not reachable on the road network")
    assert m.unreachable_reason(0) is None


def test_one_thousand_points_are_fast(delft: RoadNetwork) -> None:
    rng = np.random.default_rng(11)
    pts = np.column_stack([rng.uniform(4.355, 4.386, 1000), rng.uniform(51.995, 52.005, 1000)])
    t0 = time.perf_counter()
    m = delft.travel_matrix(pts)
    elapsed = time.perf_counter() - t0
    print(f"\n1,000 points on the Delft network: {elapsed:.2f} s")
    assert m.distance_m.shape == (1000, 1000) and m.distance_m.dtype == np.int64
    assert elapsed < 20.0


# --- synthetic networks against an independent Floyd–Warshall -----------------------------


def grid_frame() -> gpd.GeoDataFrame:
    """3 × 3 blocks of 100 m: residential streets, a faster 'primary' along the bottom, one
    oneway street (x = 100, northbound) and one drawn against its direction (oneway=-1)."""
    rows: list[tuple[tuple[int, int, int, int], str, str | None, str | None]] = []
    for k in range(4):
        rows.append(((k * 100, 0, k * 100, 300), "residential", "yes" if k == 1 else None, None))
        highway = "primary" if k == 0 else "residential"
        rows.append(((0, k * 100, 300, k * 100), highway, "-1" if k == 2 else None, "50" if k == 0 else None))
    # a vertex every 100 m: lines join where they share a vertex (crossing is not joining)
    geoms = [
        shapely.LineString([(X0 + a + (c - a) * k / 3, Y0 + b + (d - b) * k / 3) for k in range(4)])
        for (a, b, c, d), *_ in rows
    ]
    return gpd.GeoDataFrame(
        {"highway": [r[1] for r in rows], "oneway": [r[2] for r in rows], "maxspeed": [r[3] for r in rows]},
        geometry=geoms,
        crs=RD,
    )


def floyd_warshall(
    frame: gpd.GeoDataFrame, speeds: dict[str, float], weight: str
) -> tuple[dict[tuple[int, int], int], np.ndarray]:
    """Shortest paths over the grid's 100 m pieces, built here from the lines themselves."""
    nodes: dict[tuple[int, int], int] = {}
    edges: list[tuple[int, int, float]] = []
    for geom, highway, oneway, maxspeed in zip(
        frame.geometry, frame["highway"], frame["oneway"], frame["maxspeed"], strict=True
    ):
        (x0, y0), (x1, y1) = geom.coords[0], geom.coords[-1]
        n = round(max(abs(x1 - x0), abs(y1 - y0)) / 100)
        pts = [(round(x0 + (x1 - x0) * k / n), round(y0 + (y1 - y0) * k / n)) for k in range(n + 1)]
        kmh = float(maxspeed) if isinstance(maxspeed, str) else speeds[highway]
        for a, b in itertools.pairwise(pts):
            ia, ib = (nodes.setdefault(p, len(nodes)) for p in (a, b))
            w = 100.0 if weight == "distance" else 100.0 / (kmh / 3.6)
            if oneway != "-1":
                edges.append((ia, ib, w))
            if oneway != "yes":
                edges.append((ib, ia, w))
    dist = np.full((len(nodes), len(nodes)), np.inf)
    np.fill_diagonal(dist, 0.0)
    for ia, ib, w in edges:
        dist[ia, ib] = min(dist[ia, ib], w)
    for k in range(len(nodes)):
        dist = np.minimum(dist, dist[:, k : k + 1] + dist[k : k + 1, :])
    return nodes, dist


@pytest.mark.parametrize("by", ["distance", "time"])
def test_matrix_equals_floyd_warshall_on_a_grid(by: Literal["time", "distance"]) -> None:
    frame = grid_frame()
    net = RoadNetwork.from_frame(frame, speeds_kmh={"residential": 30.0})
    nodes, fw = floyd_warshall(frame, {"residential": 30.0, "primary": 50.0}, by)
    keys = list(nodes)
    pts = [TO_LONLAT.transform(x, y) for x, y in keys]
    m = net.travel_matrix(pts, by=by)
    assert m.snap_m.max() < 1e-3
    expect = np.rint(fw).astype(np.int64)
    got = m.distance_m if by == "distance" else m.duration_s
    assert np.array_equal(got, expect)
    # the oneway pieces: north along x = 100 in 100 m, south around the block
    a, b = keys.index((round(X0 + 100), round(Y0))), keys.index((round(X0 + 100), round(Y0 + 100)))
    if by == "distance":
        assert (m.distance_m[a, b], m.distance_m[b, a]) == (100, 300)


def test_lines_without_node_ids_join_at_shared_coordinates() -> None:
    lines = [
        shapely.LineString([(X0, Y0), (X0 + 100, Y0)]),
        shapely.MultiLineString(
            [[(X0 + 100, Y0), (X0 + 100, Y0 + 100)], [(X0 + 100, Y0 + 100), (X0, Y0 + 100)]]
        ),
    ]
    net = RoadNetwork.from_frame(gpd.GeoDataFrame(geometry=lines, crs=RD), default_speed_kmh=36.0)
    m = net.travel_matrix([lonlat(0, 0), lonlat(0, 100)])
    assert (m.distance_m[0, 1], m.duration_s[0, 1]) == (300, 30)
    assert net.stats["main_component_vertices"] == net.stats["vertices"]


def test_snap_distance_is_walked_and_same_vertex_points_go_straight() -> None:
    line = shapely.LineString([(X0, Y0), (X0 + 1000, Y0)])
    net = RoadNetwork.from_frame(gpd.GeoDataFrame({"highway": ["residential"]}, geometry=[line], crs=RD))
    m = net.travel_matrix([lonlat(0, 30), lonlat(1000, 40), lonlat(5, 33)], snap_speed_kmh=3.6)
    assert m.snap_m[:2] == pytest.approx([30, 40], abs=1e-3)
    assert m.distance_m[0, 1] == 30 + 1000 + 40
    assert m.duration_s[0, 1] == round(30 + 1000 / (25 / 3.6) + 40)  # 1 m/s on foot, 25 km/h driving
    assert m.distance_m[0, 2] == round(np.hypot(5, 3))  # both on vertex (0, 0): straight across


def test_unreachable_reason_names_a_disconnected_road() -> None:
    lines = [
        shapely.LineString([(X0, Y0), (X0 + 500, Y0)]),
        shapely.LineString([(X0, Y0 + 900), (X0 + 50, Y0 + 900)]),
    ]
    frame = gpd.GeoDataFrame({"highway": ["residential", "service"]}, geometry=lines, crs=RD)
    m = RoadNetwork.from_frame(frame).travel_matrix([lonlat(0, 0), lonlat(0, 920)])
    assert m.reachable.tolist() == [True, False]
    assert m.unreachable_reason(1) == (
        "not reachable on the road network (nearest road of the connected network 920 m away; "
        "the nearest road, 20 m away, is disconnected from it)"
    )


def test_excluded_and_bad_inputs() -> None:
    foot = gpd.GeoDataFrame(
        {"highway": ["footway"]}, geometry=[shapely.LineString([(X0, Y0), (X0, Y0 + 9)])], crs=RD
    )
    with pytest.raises(RoadNetworkError, match="none of 1 features is a road a truck may use"):
        RoadNetwork.from_frame(foot)
    with pytest.raises(RoadNetworkError, match="has no CRS"):
        RoadNetwork.from_frame(gpd.GeoDataFrame(geometry=[shapely.LineString([(0, 0), (1, 1)])]))
    with pytest.raises(RoadNetworkError, match="does not exist"):
        RoadNetwork.from_file("/nonexistent/roads.geojson")
    with pytest.raises(ValueError, match="not lon/lat"):
        straight_line_matrix([(X0, Y0)])


def test_straight_line_matrix() -> None:
    pts = [lonlat(0, 0), lonlat(3000, 4000)]
    m = straight_line_matrix(pts, detour=1.3, speed_kmh=36.0)
    assert m.distance_m[0, 1] == m.distance_m[1, 0] == 6500
    assert m.duration_s[0, 1] == 650
    assert m.path(0, 1) == [pts[0], pts[1]]
    assert m.reachable.all() and m.source == "straight line"
