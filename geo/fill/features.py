"""What a drain's fill rate depends on, one row per drain: tree indicators, large-leaf load and
share, its seasonal group, the zones it lies in, the road category, its district and the
district's recorded sludge. The frame the environment model (`geo.fill.predicted`) learns
from and the schedule reads its groups and zones from."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from geo.registers import drain_zones
from geo.spatial import LEAF_WEIGHTS, GridIndex, drain_tree_indicators, metric_xy_of

__all__ = ["DISTRICT_CELL_M", "GROUPS", "drain_environment"]

# Seasonal groups: drains with a tree within 10 m see leaf fall, the others hardly.
GROUPS = ("open", "trees")
# Districts: the register's own (buurt/wijk) when it has one, else squares of this size.
DISTRICT_CELL_M = 1000.0
_DISTRICT_KEYS = ("district", "buurtcode", "buurt", "wijkcode", "wijk", "neighborhood", "neighbourhood")
_TREE_COLUMNS = (
    "nearest_tree_m",
    "trees_within_4m",
    "trees_within_10m",
    "large_leaf_within_10m",
    "leaf_load",
)


def drain_environment(
    drains: gpd.GeoDataFrame,
    trees: gpd.GeoDataFrame,
    zones: Sequence[Mapping[str, Any]],
    cleanings: Sequence[Mapping[str, Any]],
) -> gpd.GeoDataFrame:
    """Every drain of `drains` (WGS84 points indexed by drain id, with drain_key, lon, lat and
    the register's attributes) with its environment, from the tree register `trees`, the
    `zones` and the recorded `cleanings` (drain_key, sludge_m3). `attrs` keeps the metric CRS
    ("crs") and the trees ("trees") for the reasons."""
    crs, xy = metric_xy_of(drains)
    env = pd.DataFrame(index=drains.index)
    env["drain_key"] = drains["drain_key"].astype(str)
    env["lon"] = drains["lon"].astype(float)
    env["lat"] = drains["lat"].astype(float)
    env["x"] = xy[:, 0]
    env["y"] = xy[:, 1]
    _add_trees(env, drains, trees, xy, crs)
    in_zones = drain_zones(drains[["lon", "lat"]].to_numpy(), list(zones), crs)
    for column in in_zones.columns:
        env[column] = in_zones[column].to_numpy()
    env["road_category"] = np.where(in_zones["zone_main_road"].to_numpy(), 1.0, 0.0)
    env["district"] = _districts(drains["attributes"], xy)
    env["district_sludge_m3"] = _district_sludge(cleanings, env)
    env.attrs["crs"] = crs
    env.attrs["trees"] = trees
    return gpd.GeoDataFrame(env, geometry=drains.geometry, crs="EPSG:4326")


def _add_trees(
    env: pd.DataFrame, drains: gpd.GeoDataFrame, trees: gpd.GeoDataFrame, xy: np.ndarray, crs: Any
) -> None:
    # Indicators are recomputed here (a fraction of a second for a city) rather than read, so a
    # plan never rests on indicators older than the registers.
    ind = drain_tree_indicators(drains[["geometry"]], trees)
    for column in _TREE_COLUMNS:
        env[column] = ind[column].to_numpy(dtype=np.float64, na_value=np.nan)
    large_load = np.zeros(len(env))
    if len(trees):
        tree_xy = metric_xy_of(trees, crs)[1]
        weights = np.where(trees["leaf_class"].to_numpy() == "large", LEAF_WEIGHTS["large"], 0.0)
        large_load = GridIndex(tree_xy).nearby(xy, weights=weights, load_radius=10.0, nearest=False).load
    env["large_leaf_load"] = large_load
    with np.errstate(divide="ignore", invalid="ignore"):
        share = np.where(env["leaf_load"] > 0, large_load / env["leaf_load"], 0.0)
    env["large_leaf_share"] = share
    env["leaf_dominated"] = (share >= 0.5) & (env["large_leaf_within_10m"] >= 1)
    env["group"] = (env["trees_within_10m"] > 0).astype(np.int64)


def _districts(attributes: pd.Series, xy: np.ndarray) -> np.ndarray:
    out = np.empty(len(attributes), dtype=object)
    cells = np.floor(xy / DISTRICT_CELL_M).astype(np.int64)
    for i, attrs in enumerate(attributes):
        value = None
        if isinstance(attrs, Mapping):
            lower = {str(k).lower(): v for k, v in attrs.items()}
            value = next((lower[k] for k in _DISTRICT_KEYS if lower.get(k) not in (None, "")), None)
        out[i] = str(value) if value is not None else f"cell:{cells[i, 0]}:{cells[i, 1]}"
    return out


def _district_sludge(cleanings: Sequence[Mapping[str, Any]], env: pd.DataFrame) -> np.ndarray:
    """Mean recorded sludge per cleaning in the drain's district (NaN where none recorded)."""
    recorded = pd.DataFrame(list(cleanings))
    if recorded.empty or recorded["sludge_m3"].isna().all():
        return np.full(len(env), np.nan)
    by_key = pd.Series(env["district"].to_numpy(), index=env["drain_key"].to_numpy())
    recorded = recorded.dropna(subset=["sludge_m3"])
    recorded["district"] = recorded["drain_key"].map(by_key)
    means = recorded.dropna(subset=["district"]).groupby("district")["sludge_m3"].mean()
    out: np.ndarray = env["district"].map(means).to_numpy(dtype=np.float64, na_value=np.nan)
    return out
