"""Which ways of a road file a suction truck may drive, how fast and in which direction: OSM
`highway`, `maxspeed`, access and `oneway` tags read into one row per usable way (`Ways`)."""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import shapely

__all__ = ["NO_ACCESS", "TRUCK_SPEEDS_KMH", "Ways", "select_ways"]

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
class Ways:
    """The usable ways of a road file: one row per kept feature."""

    geoms: np.ndarray  # shapely lines in the source CRS
    speed_kmh: np.ndarray
    direction: np.ndarray  # +1, -1, 0
    node_ids: list[np.ndarray | None]
    excluded: dict[str, int]


def select_ways(
    gdf: gpd.GeoDataFrame, speeds: Mapping[str, float], default_speed_kmh: float, max_speed_kmh: float
) -> Ways:
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
    return Ways(
        np.array(geoms, dtype=object),
        np.array(speed),
        np.array(direction, dtype=np.int8),
        node_ids,
        dict(excluded),
    )
