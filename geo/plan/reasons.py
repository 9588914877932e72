"""Why a drain is due, in words a planner can read: its rate and where the rate comes from, the
trees and zone around it, what makes it due, and why it is swept rather than sucked."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

__all__ = ["due_reasons", "join_reasons", "month_name", "rate_text"]

_MONTH_NAMES = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_ZONE_LABELS = {
    "shopping": "shopping zone",
    "bus_stop": "bus stop",
    "main_road": "main road",
    "school": "school zone",
    "construction": "building site",
}


def month_name(day: date) -> str:
    return _MONTH_NAMES[day.month - 1]


def rate_text(rate_per_day: float) -> str:
    return f"{rate_per_day:.2f}" if rate_per_day < 0.995 else f"{rate_per_day:.1f}"


def join_reasons(parts: Sequence[str]) -> str:
    return "; ".join(p for p in parts if p)


def due_reasons(
    due: pd.DataFrame,
    info: pd.DataFrame,
    states: pd.DataFrame,
    trees: gpd.GeoDataFrame,
    crs: Any,
    model: Mapping[str, Any],
) -> list[str]:
    """One reason per row of `due` (the schedule's due drains), from the drains' environment
    rows `info` (x, y in `crs`, tree counts, zone) and fill states `states`, aligned with it."""
    genera = _large_genera(info, trees, crs)
    env_rows = info[["large_leaf_within_10m", "trees_within_10m", "zone"]].to_dict("records")
    state_rows = states[["rate_source", "predicted_sd", "last_cleaning", "n_since_cleaning"]].to_dict(
        "records"
    )
    reasons = []
    for i, row in enumerate(due.itertuples(index=False)):
        e = env_rows[i]
        parts = [
            f"fills {rate_text(float(row.rate_at_due))} %/day in {month_name(row.due)} "
            + _rate_source(state_rows[i], model["version"]),
            _trees(e, genera[i]),
        ]
        if e["zone"]:
            parts.append(f"{_ZONE_LABELS[e['zone']]} threshold {row.threshold:.0f} %")
        if row.multiplier > 1:
            parts.append(f"building-site sand ×{row.multiplier:g}")
        parts += _due_and_method(row)
        reasons.append(join_reasons(parts))
    return reasons


def _rate_source(state: Mapping[str, Any], version: str) -> str:
    if state["rate_source"] == "model":
        sd = state["predicted_sd"]
        spread = f", ±{sd:.2f}" if sd is not None and not pd.isna(sd) else ""
        return f"(environment model {version}{spread}; no sensor)"
    since = state["last_cleaning"]
    since_text = (
        f" since cleaning on {since.date().isoformat()}" if since is not None and not pd.isna(since) else ""
    )
    shrunk = ", shrunk towards the model" if state["rate_source"] == "sensor+model" else ""
    return f"(sensor, {int(state['n_since_cleaning'])} readings{since_text}{shrunk})"


def _trees(env: Mapping[str, Any], genus: str) -> str:
    n_large = int(env["large_leaf_within_10m"]) if np.isfinite(env["large_leaf_within_10m"]) else 0
    n_trees = int(env["trees_within_10m"]) if np.isfinite(env["trees_within_10m"]) else 0
    if n_large:
        named = f" ({genus})" if genus else ""
        return f"{n_large} large-leaf tree{'s' if n_large != 1 else ''} within 10 m{named}"
    if n_trees:
        return f"{n_trees} tree{'s' if n_trees != 1 else ''} within 10 m"
    return "no trees within 10 m"


def _due_and_method(row: Any) -> list[str]:
    """What makes the drain due (and an assumed last cleaning), and why sweep or both."""
    if row.cause == "max_interval":
        parts = [
            f"maximum interval since cleaning on {row.last_cleaning.isoformat()} "
            f"runs out on {row.due.isoformat()}"
        ]
    elif row.cause == "overdue":
        parts = [f"already at {row.fill_now:.0f} % (threshold {row.threshold:.0f} %): due now"]
    else:
        parts = [f"reaches {row.threshold:.0f} % on {row.due.isoformat()}"]
    if row.assumed_cleaning:
        parts.append(
            "no cleaning on record: assumed emptied in the yearly round on " + row.last_cleaning.isoformat()
        )
    if row.method == "sweep":
        parts.append(
            f"large-leaf litter in leaf fall: sweep (without it the drain would be at "
            f"{row.fill_without_litter:.0f} %)"
        )
    elif row.method == "both":
        parts.append(
            f"large-leaf litter in leaf fall, and {row.fill_without_litter:.0f} % without it: "
            "sweep and suction"
        )
    return parts


def _large_genera(info: pd.DataFrame, trees: gpd.GeoDataFrame, crs: Any) -> list[str]:
    """The most common large-leaf genus within 10 m of each drain ('' where none)."""
    out = [""] * len(info)
    large = trees[trees["leaf_class"] == "large"]
    if large.empty or info.empty:
        return out
    tree_geoms = np.asarray(large.to_crs(crs).geometry.array)
    drain_geoms = shapely.points(info[["x", "y"]].to_numpy())
    d_idx, t_idx = shapely.STRtree(tree_geoms).query(drain_geoms, predicate="dwithin", distance=10.0)
    genera = large["genus"].fillna("").to_numpy()
    for d, names in pd.Series(genera[t_idx]).groupby(d_idx):
        counted = Counter(n for n in names if n)
        if counted:
            out[int(d)] = counted.most_common(1)[0][0]
    return out
