"""Build the demo city bundled in `geo/data/demo_city/` (a developer's tool, not shipped).

    python tools/build_demo_city.py ../shared/data/nl-delft-tudelft-osm

The demo city is the south-east of Delft around the TU campus. Everything in it is either
OpenStreetMap (ODbL: the roads, bus stops, shops, schools, movable bridges and mapped trees, kept
with their attribution) or generated here from OSM's streets, with a fixed seed:

- drains along both curbs of every street a car may use, about every 25 m (gullies sit in the
  gutter a few metres from the centre line; junctions are thinned so no two are within 6 m);
- street trees: most residential and tertiary streets planted with one species each (Dutch
  streets usually are), the mix of species Dutch municipal registers show, besides OSM's own
  mapped trees;
- the demo's devices (`devices.json`): drain sensors on drains under trees and in the open,
  air sensors at kerbsides of busy and quiet streets, and a sensor on each movable bridge.

No municipal register is copied (their licences do not all allow it). Re-running the script
gives the same files.
"""

from __future__ import annotations

import gzip
import json
import math
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
from scipy.spatial import cKDTree
from shapely.geometry import LineString, Point, box
from shapely.ops import substring

OUT = Path(__file__).resolve().parent.parent / "geo" / "data" / "demo_city"
SEED = 20261208
# The city: the extract's own box (lon, lat), where OSM holds every street; the roads reach a
# little further, as far as the ways crossing its edge go.
CITY = (4.355, 51.995, 4.386, 52.005)
ROAD_MARGIN = 0.004
RD = "EPSG:28992"
WGS84 = "EPSG:4326"

DRAIN_STREETS = {
    "residential": 3.0,
    "living_street": 2.5,
    "unclassified": 3.0,
    "tertiary": 3.8,
    "tertiary_link": 3.5,
    "secondary": 5.0,
    "secondary_link": 4.0,
    "primary": 5.5,
}
TRUCK_WAYS = {*DRAIN_STREETS, "service", "primary_link", "trunk", "trunk_link"}
DRAIN_SPACING_M = 25.0
DRAIN_MIN_GAP_M = 6.0
TREE_STREETS = {"residential": 0.6, "living_street": 0.5, "tertiary": 0.7, "unclassified": 0.35}
# Street-tree species and their weights: the mix of Dutch municipal registers (limes first).
SPECIES = [
    ("Tilia x europaea", "gewone linde", 18),
    ("Tilia cordata", "kleinbladige linde", 10),
    ("Ulmus 'Lobel'", "iep", 9),
    ("Platanus x hispanica", "plataan", 8),
    ("Fraxinus excelsior", "es", 8),
    ("Acer platanoides", "noorse esdoorn", 7),
    ("Aesculus hippocastanum", "paardenkastanje", 6),
    ("Quercus robur", "zomereik", 6),
    ("Betula pendula", "ruwe berk", 5),
    ("Prunus serrulata", "japanse sierkers", 5),
    ("Carpinus betulus", "haagbeuk", 5),
    ("Alnus glutinosa", "zwarte els", 4),
    ("Pinus nigra", "oostenrijkse den", 3),
    ("Robinia pseudoacacia", "robinia", 3),
    ("Sorbus aucuparia", "lijsterbes", 3),
]
LARGE_LEAVES = ("Tilia x europaea", "Platanus", "Aesculus", "Acer platanoides", "Quercus robur")
DRAIN_SENSORS_UNDER_TREES = 24
DRAIN_SENSORS_OPEN = 24
ATTRIBUTION = "© OpenStreetMap contributors, ODbL 1.0 (https://www.openstreetmap.org/copyright)"


def main(osm_dir: Path) -> None:
    rng = np.random.default_rng(SEED)
    OUT.mkdir(parents=True, exist_ok=True)
    ways = gpd.read_file(osm_dir / "tudelft_highways.geojson")
    roads = _roads(ways)
    _write_roads(roads)
    streets = _streets(ways)
    drains = _reachable(_drains(streets, rng))
    nodes = _tagged_nodes(osm_dir / "tudelft.osm.gz")
    trees = _trees(streets, nodes, rng)
    zones = _zones(nodes, ways)
    bridges = _bridges(ways)
    devices = _devices(drains, trees, streets, bridges, rng)
    _write(roads, drains, trees, zones, devices)
    _place_sites(devices)


def _in_city(gdf: gpd.GeoDataFrame, margin: float = 0.0) -> gpd.GeoDataFrame:
    x0, y0, x1, y1 = CITY
    return gdf[gdf.intersects(box(x0 - margin, y0 - margin, x1 + margin, y1 + margin))]


def _roads(ways: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """The ways a suction truck may use, cut to the city and a margin around it. A way is cut
    into its runs of vertices inside, each with its node ids (the routing graph's junctions)."""
    x0, y0, x1, y1 = CITY
    x0, y0, x1, y1 = x0 - ROAD_MARGIN, y0 - ROAD_MARGIN, x1 + ROAD_MARGIN, y1 + ROAD_MARGIN
    columns = ["osm_way_id", "highway", "name", "oneway", "maxspeed", "access", "bridge"]
    rows: list[dict[str, Any]] = []
    for record in ways[ways["highway"].isin(TRUCK_WAYS)].to_dict("records"):
        coords = np.asarray(record["geometry"].coords)
        ids = np.asarray(record["node_ids"])
        inside = (coords[:, 0] >= x0) & (coords[:, 0] <= x1) & (coords[:, 1] >= y0) & (coords[:, 1] <= y1)
        edges = np.flatnonzero(np.diff(np.concatenate([[0], inside.astype(int), [0]])))
        for start, end in zip(edges[::2], edges[1::2], strict=True):
            if end - start >= 2:
                rows.append(
                    {
                        **{c: record.get(c) for c in columns},
                        "node_ids": [int(i) for i in ids[start:end]],
                        "geometry": LineString(coords[start:end]),
                    }
                )
    return gpd.GeoDataFrame(rows, geometry="geometry", crs=WGS84)


def _streets(ways: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Streets with gutters, clipped to the city, in RD New metres."""
    streets = ways[ways["highway"].isin(DRAIN_STREETS)]
    streets = streets[streets["access"].fillna("yes").isin(["yes", "destination", "permissive"])]
    clipped = streets.clip(box(*CITY)).explode(index_parts=False)
    clipped = clipped[clipped.geom_type == "LineString"]
    return clipped.to_crs(RD).reset_index(drop=True)


def _offset_points(line: LineString, spacing: float, offset: float, rng: np.random.Generator) -> list[Point]:
    """Points every `spacing` m (jittered) along `line`, `offset` m to its left and right."""
    points: list[Point] = []
    s = float(rng.uniform(0.3, 1.0)) * spacing
    while s < line.length:
        a, b = line.interpolate(max(0.0, s - 1.0)), line.interpolate(min(line.length, s + 1.0))
        dx, dy = b.x - a.x, b.y - a.y
        norm = math.hypot(dx, dy) or 1.0
        nx, ny = -dy / norm, dx / norm
        centre = line.interpolate(s)
        for side in (1.0, -1.0):
            along = float(rng.normal(0.0, 1.5))
            d = offset + float(rng.normal(0.0, 0.3))
            points.append(
                Point(
                    centre.x + side * d * nx + along * dx / norm, centre.y + side * d * ny + along * dy / norm
                )
            )
        s += spacing * float(rng.uniform(0.8, 1.2))
    return points


def _thinned(xy: np.ndarray, min_gap: float) -> np.ndarray:
    """Indices of points kept so that no two are within `min_gap` (first come, first kept)."""
    tree = cKDTree(xy)
    dropped = np.zeros(len(xy), dtype=bool)
    for i, j in sorted(tree.query_pairs(min_gap)):
        if not dropped[i]:
            dropped[j] = True
    return np.flatnonzero(~dropped)


def _drains(streets: gpd.GeoDataFrame, rng: np.random.Generator) -> gpd.GeoDataFrame:
    points, names, kinds = [], [], []
    for line, highway, name in zip(streets.geometry, streets["highway"], streets["name"], strict=True):
        for p in _offset_points(line, DRAIN_SPACING_M, DRAIN_STREETS[highway], rng):
            points.append(p)
            names.append(name if isinstance(name, str) else None)
            kinds.append(highway)
    xy = np.array([(p.x, p.y) for p in points])
    keep = _thinned(xy, DRAIN_MIN_GAP_M)
    frame = gpd.GeoDataFrame(
        {"street": np.array(names, dtype=object)[keep], "road": np.array(kinds)[keep]},
        geometry=[points[i] for i in keep],
        crs=RD,
    )
    frame.insert(0, "id", [f"DK{i:05d}" for i in range(1, len(frame) + 1)])
    return frame


def _reachable(drains: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """The drains within 30 m of the part of the road network every vertex reaches: where a
    street's only links run outside the extract (one-way pairs, missing side streets), its
    drains would be unreachable for every route, so the demo city has none there."""
    from geo.plan.roads import RoadNetwork

    network = RoadNetwork.from_file(OUT / "roads.geojson")
    metric = drains.to_crs(network.crs)
    dist, _ = cKDTree(network.vertex_xy[network.main]).query(
        np.column_stack([metric.geometry.x, metric.geometry.y])
    )
    kept = drains[dist <= 30.0].reset_index(drop=True)
    kept["id"] = [f"DK{i:05d}" for i in range(1, len(kept) + 1)]
    return kept


def _tagged_nodes(path: Path) -> pd.DataFrame:
    """OSM nodes with the tags the city uses: bus stops, shops, schools, trees."""
    rows = []
    with gzip.open(path) as f:
        for _, elem in ET.iterparse(f):
            if elem.tag == "node":
                tags = {t.get("k"): t.get("v") for t in elem.findall("tag")}
                kind = (
                    "bus_stop"
                    if tags.get("highway") == "bus_stop"
                    else "shop"
                    if "shop" in tags
                    else "school"
                    if tags.get("amenity") == "school"
                    else "tree"
                    if tags.get("natural") == "tree"
                    else None
                )
                if kind:
                    rows.append(
                        {
                            "kind": kind,
                            "lon": float(elem.get("lon", "nan")),
                            "lat": float(elem.get("lat", "nan")),
                            **tags,
                        }
                    )
                elem.clear()
            elif elem.tag in ("way", "relation"):
                elem.clear()
    nodes = pd.DataFrame(rows)
    x0, y0, x1, y1 = CITY
    return nodes[(nodes.lon.between(x0, x1)) & (nodes.lat.between(y0, y1))].reset_index(drop=True)


def _trees(streets: gpd.GeoDataFrame, nodes: pd.DataFrame, rng: np.random.Generator) -> gpd.GeoDataFrame:
    names, weights = [s[0] for s in SPECIES], np.array([s[2] for s in SPECIES], dtype=float)
    species_of: dict[str, int] = {}
    points, species = [], []
    for line, highway, name in zip(streets.geometry, streets["highway"], streets["name"], strict=True):
        if highway not in TREE_STREETS:
            continue
        key = name if isinstance(name, str) else f"unnamed-{len(species_of)}"
        if key not in species_of:
            planted = rng.random() < TREE_STREETS[highway]
            species_of[key] = int(rng.choice(len(names), p=weights / weights.sum())) if planted else -1
        choice = species_of[key]
        if choice < 0:
            continue
        spacing = float(rng.uniform(9.0, 14.0))
        for p in _offset_points(line, spacing, float(rng.uniform(4.5, 7.0)), rng):
            if rng.random() < 0.88:  # a gap where a driveway or a felled tree is
                points.append(p)
                species.append(names[choice])
    xy = np.array([(p.x, p.y) for p in points])
    keep = _thinned(xy, 4.0)
    made = gpd.GeoDataFrame(
        {"species": np.array(species, dtype=object)[keep], "source": "generated"},
        geometry=[points[i] for i in keep],
        crs=RD,
    )
    mapped = nodes[nodes.kind == "tree"]
    osm_species = [
        next((t[k] for k in ("species", "genus", "species:nl", "taxon") if isinstance(t.get(k), str)), None)
        for t in mapped.to_dict("records")
    ]
    osm = gpd.GeoDataFrame(
        {"species": osm_species, "source": "OpenStreetMap"},
        geometry=gpd.points_from_xy(mapped.lon, mapped.lat),
        crs=WGS84,
    ).to_crs(RD)
    trees = pd.concat([osm, made], ignore_index=True)
    trees = gpd.GeoDataFrame(trees, geometry="geometry", crs=RD)
    trees.insert(0, "id", [f"BM{i:05d}" for i in range(1, len(trees) + 1)])
    return trees


def _zones(nodes: pd.DataFrame, ways: gpd.GeoDataFrame) -> dict[str, gpd.GeoDataFrame]:
    def points(kind: str) -> gpd.GeoDataFrame:
        rows = nodes[nodes.kind == kind]
        return gpd.GeoDataFrame(
            {"name": [n if isinstance(n, str) else None for n in rows.get("name", [None] * len(rows))]},
            geometry=gpd.points_from_xy(rows.lon, rows.lat),
            crs=WGS84,
        )

    main = ways[ways["highway"].isin(["primary", "secondary"])].clip(box(*CITY))
    main = main[main.geom_type.isin(["LineString", "MultiLineString"])]
    return {
        "shopping": points("shop"),
        "bus_stop": points("bus_stop"),
        "school": points("school"),
        "main_road": gpd.GeoDataFrame(
            {"name": main["name"].to_numpy()}, geometry=main.geometry.to_numpy(), crs=WGS84
        ),
    }


def _bridges(ways: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    movable = _in_city(ways[ways["bridge"] == "movable"])
    metric = movable.to_crs(RD)
    middles = [substring(g, 0.5, 0.5, normalized=True) for g in metric.geometry]
    frame = gpd.GeoDataFrame({"name": movable["name"].to_numpy()}, geometry=middles, crs=RD)
    # One sensor per bridge: the carriageways of a bridge are separate ways.
    keep = _thinned(np.array([(p.x, p.y) for p in frame.geometry]), 40.0)
    return frame.iloc[keep].reset_index(drop=True)


def _devices(
    drains: gpd.GeoDataFrame,
    trees: gpd.GeoDataFrame,
    streets: gpd.GeoDataFrame,
    bridges: gpd.GeoDataFrame,
    rng: np.random.Generator,
) -> dict[str, Any]:
    dxy = np.column_stack([drains.geometry.x, drains.geometry.y])
    txy = np.column_stack([trees.geometry.x, trees.geometry.y])
    large = trees["species"].fillna("").str.startswith(LARGE_LEAVES).to_numpy()
    tree_index = cKDTree(txy)
    near = tree_index.query_ball_point(dxy, 10.0)
    # The litter a drain gets: large-leaf trees count double, nearer ones more.
    litter = np.array(
        [
            sum((2.0 if large[j] else 1.0) * (1 - math.dist(dxy[i], txy[j]) / 10.0) for j in js)
            for i, js in enumerate(near)
        ]
    )
    under = np.flatnonzero(litter > 0.8)
    open_ = np.flatnonzero(np.array([len(js) for js in near]) == 0)
    chosen = [
        *rng.choice(under, DRAIN_SENSORS_UNDER_TREES, replace=False),
        *rng.choice(open_, DRAIN_SENSORS_OPEN, replace=False),
    ]
    wgs = drains.to_crs(WGS84)
    drain_devices = []
    for n, i in enumerate(sorted(chosen), start=1):
        p = wgs.geometry.iloc[i]
        drain_devices.append(
            {
                "sensor": f"kolk-{n:03d}",
                "drain": drains["id"].iloc[i],
                "lon": round(p.x, 7),
                "lat": round(p.y, 7),
                # the emulator's litter factor: what the trees around this drain shed
                "tree_factor": round(min(3.0, 0.45 * float(litter[i])), 3),
            }
        )
    busy = streets[streets["highway"].isin(["secondary", "primary", "tertiary"])]
    quiet = streets[streets["highway"].isin(["residential", "living_street"])]
    air_devices = []
    for n, (source, traffic) in enumerate(
        [
            (busy, "busy"),
            (busy, "busy"),
            (busy, "busy"),
            (quiet, "quiet"),
            (quiet, "quiet"),
            (quiet, "quiet"),
        ],
        start=1,
    ):
        line = source.geometry.iloc[int(rng.integers(len(source)))]
        p = gpd.GeoSeries([line.interpolate(0.5, normalized=True)], crs=RD).to_crs(WGS84).iloc[0]
        air_devices.append(
            {"sensor": f"no2-{n}", "lon": round(p.x, 6), "lat": round(p.y, 6), "traffic": traffic}
        )
    bridge_wgs = bridges.to_crs(WGS84)
    bridge_devices = [
        {"sensor": f"brug-{n}", "name": name, "lon": round(p.x, 6), "lat": round(p.y, 6)}
        for n, (name, p) in enumerate(zip(bridge_wgs["name"], bridge_wgs.geometry, strict=True), start=1)
    ]
    return {
        "tenant": "demo",
        "drains": drain_devices,
        "air": air_devices,
        "bridges": bridge_devices,
    }


def _place_sites(devices: dict[str, Any]) -> None:
    """The trucks' depot and dump site: the road vertices nearest to two spots at the city's
    edges that lie on the part of the network every vertex reaches (written into devices.json)."""
    from geo.plan.roads import RoadNetwork

    network = RoadNetwork.from_file(OUT / "roads.geojson")
    lonlat = network.vertex_lonlat[network.main]

    def nearest(lon: float, lat: float) -> str:
        i = int(np.argmin((lonlat[:, 0] - lon) ** 2 + (lonlat[:, 1] - lat) ** 2))
        return f"{lonlat[i, 0]:.6f},{lonlat[i, 1]:.6f}"

    devices["depot"] = nearest(4.3795, 51.9905)
    devices["dump_sites"] = [nearest(4.3560, 52.0075)]
    (OUT / "devices.json").write_text(json.dumps(devices, indent=1, ensure_ascii=False) + "\n")
    print(
        "roads:",
        {k: v for k, v in network.stats.items() if k != "excluded"},
        "depot",
        devices["depot"],
        "dump",
        devices["dump_sites"],
    )


def _write_roads(roads: gpd.GeoDataFrame) -> None:
    # Written by hand: the node-id lists (one id per vertex) must stay JSON arrays.
    features = [
        {
            "type": "Feature",
            "properties": {k: _plain(v) for k, v in row.items() if k != "geometry" and _plain(v) is not None},
            "geometry": {
                "type": "LineString",
                "coordinates": [[round(x, 7), round(y, 7)] for x, y in row["geometry"].coords],
            },
        }
        for row in roads.to_dict("records")
    ]
    (OUT / "roads.geojson").write_text(
        json.dumps({"type": "FeatureCollection", "features": features}, separators=(",", ":"))
    )


def _plain(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        return [int(v) for v in value]
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def _write(
    roads: gpd.GeoDataFrame,
    drains: gpd.GeoDataFrame,
    trees: gpd.GeoDataFrame,
    zones: dict[str, gpd.GeoDataFrame],
    devices: dict[str, Any],
) -> None:
    def geojson(frame: gpd.GeoDataFrame, name: str) -> None:
        frame = frame.to_crs(WGS84)
        frame.to_file(OUT / name, driver="GeoJSON", COORDINATE_PRECISION=7, WRITE_BBOX="NO")

    geojson(drains, "drains.geojson")
    geojson(trees, "trees.geojson")
    for kind, frame in zones.items():
        geojson(frame, f"zones_{kind}.geojson")
    (OUT / "devices.json").write_text(json.dumps(devices, indent=1, ensure_ascii=False) + "\n")
    print(
        f"drains {len(drains):,}, trees {len(trees):,}, roads {len(roads):,}, "
        + ", ".join(f"{k} {len(v):,}" for k, v in zones.items())
        + f", drain sensors {len(devices['drains'])}, air {len(devices['air'])}, "
        f"bridges {len(devices['bridges'])}"
    )
    print("attribution:", ATTRIBUTION)


if __name__ == "__main__":
    main(Path(sys.argv[1]))
