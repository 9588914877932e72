"""The stored registers as WGS84 GeoDataFrames, the form every geo computation takes them in."""

from __future__ import annotations

import geopandas as gpd
import pandas as pd

from pakhuis.store import Store

__all__ = ["drain_frame", "planning_drain_frame", "tree_frame"]

_DRAIN_COLUMNS = ["id", "source_id", "lon", "lat"]
_TREE_COLUMNS = ["id", "source_id", "lon", "lat", "species", "genus", "leaf_class"]


def _points(frame: pd.DataFrame) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(frame, geometry=gpd.points_from_xy(frame["lon"], frame["lat"]), crs="EPSG:4326")


def drain_frame(store: Store) -> gpd.GeoDataFrame:
    """The drain register, indexed by drain id: source_id, lon, lat, geometry."""
    return _points(pd.DataFrame(store.drains_register(), columns=_DRAIN_COLUMNS)).set_index("id")


def planning_drain_frame(store: Store) -> gpd.GeoDataFrame:
    """The drains as the plan reads them, indexed by drain id: drain_key (the register's own
    id, else pakhuis'), lon, lat, the register's attributes, geometry. Empty when no register
    is loaded."""
    rows = store.drains_for_planning()
    if not rows:
        return gpd.GeoDataFrame()
    frame = pd.DataFrame(rows).set_index("id")
    return gpd.GeoDataFrame(frame, geometry=gpd.points_from_xy(frame["lon"], frame["lat"]), crs="EPSG:4326")


def tree_frame(store: Store) -> gpd.GeoDataFrame:
    """The tree register: id, source_id, lon, lat, species, genus, leaf_class, geometry."""
    return _points(pd.DataFrame(store.trees_register(), columns=_TREE_COLUMNS))
