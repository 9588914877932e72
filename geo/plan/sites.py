"""What a route is planned over: the drains to clean (`RouteStop`), the depot and the dump sites
(`Site`), and the checks that refuse inputs no plan can come from (`RouteInputError`)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from pakhuis.errors import ConfigurationError

__all__ = ["RouteInputError", "RouteStop", "Site", "check_sites", "check_stops", "parse_sites"]


class RouteInputError(ValueError):
    """Inputs a route plan cannot be made from; the message says what to change."""


@dataclass(frozen=True)
class RouteStop:
    """A drain to clean: expected sludge (m³) and time on site (None: the plan's default)."""

    id: str
    lon: float
    lat: float
    volume_m3: float
    service_s: float | None = None


@dataclass(frozen=True)
class Site:
    """The depot or a dump site."""

    name: str
    lon: float
    lat: float


def parse_sites(text: str | None, kind: str) -> list[Site]:
    """'lon,lat;lon,lat' → sites (WGS84), with a clear error for anything else."""
    if not text:
        return []
    sites = []
    for i, part in enumerate(p for p in text.split(";") if p.strip()):
        try:
            lon_s, lat_s = part.split(",")
            lon, lat = float(lon_s), float(lat_s)
        except ValueError:
            raise ConfigurationError(
                f"cannot read {kind} {part!r}", hint="give WGS84 'lon,lat' pairs separated by ';'"
            ) from None
        if not (-180 <= lon <= 180 and -90 <= lat <= 90):
            raise ConfigurationError(f"{kind} {part!r} is not a WGS84 lon,lat", hint="e.g. 4.66,52.55")
        sites.append(Site(f"{kind} {i + 1}", lon, lat))
    return sites


def _lonlat_ok(lon: float, lat: float) -> bool:
    return math.isfinite(lon) and math.isfinite(lat) and abs(lon) <= 180 and abs(lat) <= 90


def check_sites(depot: Site, dump_sites: Sequence[Site]) -> None:
    for site, what in [(depot, "depot"), *((d, "dump site") for d in dump_sites)]:
        if not _lonlat_ok(site.lon, site.lat):
            raise RouteInputError(f"{what} {site.name!r} has no valid lon/lat ({site.lon}, {site.lat})")


def check_stops(stops: Sequence[RouteStop]) -> None:
    seen: set[str] = set()
    for s in stops:
        if s.id in seen:
            raise RouteInputError(f"stop id {s.id!r} occurs twice; give every drain its own id")
        seen.add(s.id)
        if not _lonlat_ok(s.lon, s.lat):
            raise RouteInputError(
                f"stop {s.id!r} has no valid lon/lat ({s.lon}, {s.lat}); fix or leave it out"
            )
        if not math.isfinite(s.volume_m3) or s.volume_m3 < 0:
            raise RouteInputError(f"stop {s.id!r} has sludge volume {s.volume_m3} m³; it must be 0 or more")
        if s.service_s is not None and (not math.isfinite(s.service_s) or s.service_s < 0):
            raise RouteInputError(
                f"stop {s.id!r} has service time {s.service_s} s; it must be 0 or more "
                "(or None for the default)"
            )
