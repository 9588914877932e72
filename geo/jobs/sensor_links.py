"""Which drain each fill sensor measures: the drain named in its metadata ("drain": the drain's
key), else the nearest drain within `SENSOR_LINK_M` of its position; for every other sensor,
why not (no position, a drain id the register lacks, the nearest drain too far)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from geo.spatial import GridIndex, metric_xy_of

__all__ = ["SENSOR_LINK_M", "SensorLinks", "link_sensors"]

SENSOR_LINK_M = 5.0


@dataclass(frozen=True)
class SensorLinks:
    drain_of: dict[int, int]  # sensor id → drain id
    names: dict[int, str]  # sensor id → "tenant/name", every drain sensor
    unlinked: dict[str, str]  # "tenant/name" → why no drain was found for it

    def summary(self) -> str:
        """Why sensors are unlinked, counted per reason with a few names each."""
        by_reason: dict[str, list[str]] = {}
        for name, reason in self.unlinked.items():
            kind = reason.split(":")[0]
            by_reason.setdefault(kind, []).append(f"{name} ({reason})" if ":" in reason else name)
        return "; ".join(
            f"{len(names)} {kind}: " + ", ".join(names[:5]) + (" …" if len(names) > 5 else "")
            for kind, names in sorted(by_reason.items())
        )


def link_sensors(sensors: Sequence[Mapping[str, Any]], env: pd.DataFrame) -> SensorLinks:
    """Link the drain `sensors` (id, tenant, name, lon, lat, metadata) to the drains of `env`
    (drain_key, x, y in `env.attrs["crs"]`)."""
    by_key = pd.Series(env.index.to_numpy(), index=env["drain_key"].to_numpy())
    by_key = by_key[~by_key.index.duplicated()]
    links: dict[int, int] = {}
    names: dict[int, str] = {}
    unlinked: dict[str, str] = {}
    positioned = []
    for s in sensors:
        names[int(s["id"])] = f"{s['tenant']}/{s['name']}"
        key = (s.get("metadata") or {}).get("drain")
        if key is not None and str(key) in by_key.index:
            links[int(s["id"])] = int(by_key[str(key)])
        elif key is not None:
            unlinked[names[int(s["id"])]] = f"drain not in the register: {key}"
        elif s.get("lon") is not None and s.get("lat") is not None:
            positioned.append(s)
        else:
            unlinked[names[int(s["id"])]] = "no position and no drain id"
    if positioned:
        pts = gpd.GeoSeries(
            gpd.points_from_xy([s["lon"] for s in positioned], [s["lat"] for s in positioned]),
            crs="EPSG:4326",
        )
        _, sxy = metric_xy_of(pts, env.attrs["crs"])
        dist, idx = GridIndex(env[["x", "y"]].to_numpy()).nearest(sxy)
        for s, d, i in zip(positioned, dist, idx, strict=True):
            if np.isfinite(d) and d <= SENSOR_LINK_M:
                links[int(s["id"])] = int(env.index[i])
            elif np.isfinite(d):
                unlinked[names[int(s["id"])]] = f"no drain within {SENSOR_LINK_M:g} m: nearest {d:,.1f} m"
            else:
                unlinked[names[int(s["id"])]] = f"no drain within {SENSOR_LINK_M:g} m: the register is empty"
    return SensorLinks(links, names, unlinked)
