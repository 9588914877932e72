"""Registering a sensor, for `pakhuis sensors register` and `PUT /api/v1/sensors/{tenant}/{sensor}`:
a fill sensor is linked to a drain by the drain's id (checked against the register), or by its
position, in which case the registration reports the nearest drain and whether it lies within
`SENSOR_LINK_M` (the refit links it then)."""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd

from geo.jobs.sensor_links import SENSOR_LINK_M
from geo.spatial import GridIndex, metric_xy_of
from pakhuis.errors import InvalidParameter
from pakhuis.store import Store

__all__ = ["SensorRegistration", "register_sensor"]


@dataclass(frozen=True)
class SensorRegistration:
    tenant: str
    sensor: str
    kind: str
    lon: float | None
    lat: float | None
    drain: str | None  # the drain it measures, by id
    nearest_drain: str | None  # by position: the nearest drain of the register
    nearest_m: float | None
    linked: bool  # the refit will link it to a drain (by id, or within SENSOR_LINK_M)

    def as_dict(self) -> dict[str, object]:
        return {
            "tenant": self.tenant,
            "sensor": self.sensor,
            "kind": self.kind,
            "lon": self.lon,
            "lat": self.lat,
            "drain": self.drain,
            "nearest_drain": self.nearest_drain,
            "nearest_m": None if self.nearest_m is None else round(self.nearest_m, 2),
            "linked": self.linked,
        }

    def __str__(self) -> str:
        head = f"registered sensor {self.tenant}/{self.sensor} ({self.kind}"
        if self.drain is not None:
            return f"{head}, measuring drain {self.drain})"
        if self.nearest_drain is None or self.nearest_m is None:
            where = "" if self.lon is None or self.lat is None else f" at {self.lon:.6f},{self.lat:.6f}"
            return f"{head}{where})" + (
                "; not linked to a drain: give --drain ID or --lon/--lat" if self.kind == "drain" else ""
            )
        near = f"nearest drain {self.nearest_drain}, {self.nearest_m:,.1f} m away"
        if self.linked:
            return f"{head}); {near}: linked (within {SENSOR_LINK_M:g} m)"
        return (
            f"{head}); {near}: not linked (farther than {SENSOR_LINK_M:g} m; give --drain ID "
            "or a position on the drain)"
        )


def register_sensor(
    store: Store,
    tenant: str,
    sensor: str,
    *,
    kind: str = "other",
    lon: float | None = None,
    lat: float | None = None,
    drain: str | None = None,
    expected_interval_s: float | None = None,
) -> SensorRegistration:
    """Register (or update) a sensor; one naming a drain the register lacks is refused before
    anything is written. A fill sensor given by position learns its nearest drain."""
    if drain is not None and not store.has_drain(drain):
        raise InvalidParameter(
            f"--drain {drain}: the drain register has no drain with that id.",
            hint="Load the register first (`pakhuis load drains FILE`) and give a drain's own id "
            "(`GET /api/v1/drains/{id}` shows it), or leave --drain out and give --lon/--lat "
            f"within {SENSOR_LINK_M:g} m of the drain.",
        )
    kind = "drain" if drain is not None and kind == "other" else kind
    store.register_sensor(
        tenant,
        sensor,
        kind=kind,
        lon=lon,
        lat=lat,
        metadata={"drain": drain} if drain is not None else None,
        expected_interval_s=expected_interval_s,
    )
    nearest, metres = (None, None)
    if drain is None and kind == "drain" and lon is not None and lat is not None:
        nearest, metres = _nearest_drain(store, lon, lat)
    linked = drain is not None or (metres is not None and metres <= SENSOR_LINK_M)
    return SensorRegistration(tenant, sensor, kind, lon, lat, drain, nearest, metres, linked)


def _nearest_drain(store: Store, lon: float, lat: float) -> tuple[str | None, float | None]:
    drains = store.drains_register()
    if not drains:
        return None, None
    points = gpd.GeoSeries(
        gpd.points_from_xy([d["lon"] for d in drains] + [lon], [d["lat"] for d in drains] + [lat]),
        crs="EPSG:4326",
    )
    _, xy = metric_xy_of(points)
    dist, idx = GridIndex(xy[:-1].copy()).nearest(xy[-1:].copy())
    chosen = drains[int(idx[0])]
    key = chosen["source_id"] if chosen["source_id"] is not None else str(chosen["id"])
    return str(key), float(dist[0])
