"""How long suction cleanings take a truck, for the yearly summary (not for routes: those are
solved on the travel matrix by `geo.plan.routing`)."""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd

from geo.plan.config import PlanConfig, plan_default
from geo.plan.sites import parse_sites
from geo.spatial import GridIndex, metric_xy_of

__all__ = ["TruckModel", "drain_spacing", "truck_for"]

# Without dump sites configured: how far the drains are from the nearest dump site (m).
ASSUMED_DUMP_DISTANCE_M = 5000.0


@dataclass(frozen=True)
class TruckModel:
    """How long a suction cleaning takes a truck: service at the drain, driving to the next
    drain (the typical spacing of the drains cleaned together, × detour at the set speed), and
    trips to empty the tank."""

    service_s: float = plan_default("service_s")
    speed_kmh: float = plan_default("speed_kmh")
    detour: float = plan_default("detour")
    tank_m3: float = plan_default("tank_m3")
    dump_service_s: float = plan_default("dump_service_s")  # emptying the tank at the dump site
    dump_distance_m: float = ASSUMED_DUMP_DISTANCE_M  # drains to the nearest dump, straight line

    @classmethod
    def from_config(cls, config: PlanConfig, *, dump_distance_m: float | None = None) -> TruckModel:
        return cls(
            service_s=config.service_s,
            speed_kmh=config.speed_kmh,
            detour=config.detour,
            tank_m3=config.tank_m3,
            dump_service_s=config.dump_service_s,
            dump_distance_m=ASSUMED_DUMP_DISTANCE_M if dump_distance_m is None else dump_distance_m,
        )

    @property
    def dump_trip_s(self) -> float:
        """Drive to the dump site and back (× detour) and empty the tank."""
        return self.dump_service_s + 2 * self.dump_distance_m * self.detour / (self.speed_kmh / 3.6)

    def hours(self, cleanings: int, spacing_m: float, sludge_m3: float) -> float:
        drive_s = spacing_m * self.detour / (self.speed_kmh / 3.6)
        dumps = np.ceil(sludge_m3 / self.tank_m3) if sludge_m3 > 0 else 0.0
        return float((cleanings * (self.service_s + drive_s) + dumps * self.dump_trip_s) / 3600.0)


def drain_spacing(xy: np.ndarray) -> float:
    """Mean distance from each point to its nearest other point (m)."""
    if len(xy) < 2:
        return float("nan")
    from scipy.spatial import cKDTree

    d, _ = cKDTree(xy).query(xy, k=2)
    return float(d[:, 1].mean())


def truck_for(env: pd.DataFrame, config: PlanConfig) -> TruckModel:
    """The configured truck, with the mean straight-line distance from the drains of `env`
    (x, y in `env.attrs["crs"]`) to their nearest dump site when dump sites are set (else
    the assumed distance, which the summary's notes state)."""
    dumps = parse_sites(config.dump_sites, "dump site")
    if not dumps:
        return TruckModel.from_config(config)
    points = gpd.GeoSeries(
        gpd.points_from_xy([d.lon for d in dumps], [d.lat for d in dumps]), crs="EPSG:4326"
    )
    _, dump_xy = metric_xy_of(points, env.attrs["crs"])
    drains_xy = np.ascontiguousarray(env[["x", "y"]].to_numpy(), dtype=np.float64)
    distance, _ = GridIndex(dump_xy).nearest(drains_xy)
    return TruckModel.from_config(config, dump_distance_m=float(distance.mean()))
