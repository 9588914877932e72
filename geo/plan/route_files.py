"""A route plan as files: GeoJSON (a line per truck, a point per visit and per unserved drain),
CSV (a row per visit) and GPX 1.1 (waypoints, a route and a track per truck)."""

from __future__ import annotations

import csv
import io
import json
import xml.etree.ElementTree as ET
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pakhuis.errors import ConfigurationError

if TYPE_CHECKING:
    from geo.plan.route_plan import RoutePlan, TruckRoute, Visit

__all__ = ["csv_text", "geojson", "gpx", "write_route_plan"]

_GPX_NS = "http://www.topografix.com/GPX/1/1"


def write_route_plan(plan: RoutePlan, out: Path) -> None:
    """Write the plan as .geojson, .csv or .gpx, by the file's suffix."""
    suffix = out.suffix.lower()
    if suffix == ".geojson":
        out.write_text(json.dumps(geojson(plan)), encoding="utf-8")
    elif suffix == ".csv":
        out.write_text(csv_text(plan), encoding="utf-8")
    elif suffix == ".gpx":
        out.write_text(gpx(plan), encoding="utf-8")
    else:
        raise ConfigurationError(f"cannot write {out.suffix!r} files", hint="use .geojson, .csv or .gpx")


def geojson(plan: RoutePlan) -> dict[str, Any]:
    """FeatureCollection: a LineString per truck, a Point per visit, a Point per unserved
    drain that has a position (kind "unserved", with the reason)."""
    features: list[dict[str, Any]] = []
    for route in plan.routes:
        features.append(
            {
                "type": "Feature",
                "geometry": {"type": "LineString", "coordinates": [list(p) for p in route.geometry()]},
                "properties": {
                    "truck": route.truck,
                    "distance_m": route.distance_m,
                    "duration_s": route.duration_s,
                    "dumps": route.dump_visits,
                    "stops": route.stops,
                    "volume_m3": round(route.volume_m3, 3),
                },
            }
        )
        for seq, v in enumerate(route.visits):
            features.append(
                {
                    "type": "Feature",
                    "geometry": {"type": "Point", "coordinates": [v.lon, v.lat]},
                    "properties": {
                        "truck": route.truck,
                        "sequence": seq,
                        "kind": v.kind,
                        "id": v.id,
                        "arrival": plan.clock(v.arrival_s),
                        "departure": plan.clock(v.departure_s),
                        "arrival_s": v.arrival_s,
                        "load_m3": round(v.load_m3, 3),
                        "distance_from_previous_m": v.distance_from_previous_m,
                    },
                }
            )
    for u in plan.unserved:
        if u.lon is not None and u.lat is not None:
            features.append(
                {
                    "type": "Feature",
                    "geometry": {"type": "Point", "coordinates": [u.lon, u.lat]},
                    "properties": {"kind": "unserved", "id": u.id, "reason": u.reason},
                }
            )
    return {"type": "FeatureCollection", "features": features}


def csv_text(plan: RoutePlan) -> str:
    """One row per visit, in driving order per truck."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(
        [
            "truck",
            "seq",
            "kind",
            "id",
            "lon",
            "lat",
            "arrival",
            "departure",
            "load_m3",
            "distance_from_previous_m",
        ]
    )
    for route in plan.routes:
        for seq, v in enumerate(route.visits):
            writer.writerow(
                [
                    route.truck,
                    seq,
                    v.kind,
                    v.id,
                    f"{v.lon:.7f}",
                    f"{v.lat:.7f}",
                    plan.clock(v.arrival_s),
                    plan.clock(v.departure_s),
                    f"{v.load_m3:.3f}",
                    f"{v.distance_from_previous_m:.0f}",
                ]
            )
    return buf.getvalue()


def gpx(plan: RoutePlan) -> str:
    """GPX 1.1 for navigation devices: a waypoint per drain and dump visit, a route
    (rtept per visit) and a track (the road geometry) per truck."""
    ET.register_namespace("", _GPX_NS)
    root = ET.Element(f"{{{_GPX_NS}}}gpx", {"version": "1.1", "creator": "pakhuis"})
    meta = ET.SubElement(root, f"{{{_GPX_NS}}}metadata")
    ET.SubElement(meta, f"{{{_GPX_NS}}}name").text = "Drain cleaning routes"

    def point(tag: str, parent: ET.Element, lon: float, lat: float) -> ET.Element:
        return ET.SubElement(parent, f"{{{_GPX_NS}}}{tag}", {"lat": f"{lat:.7f}", "lon": f"{lon:.7f}"})

    def describe(el: ET.Element, route: TruckRoute, seq: int, v: Visit) -> None:
        if plan.start_time is not None and plan.start_time.tzinfo is not None:
            when = plan.start_time + timedelta(seconds=v.arrival_s)
            ET.SubElement(el, f"{{{_GPX_NS}}}time").text = when.isoformat()
        ET.SubElement(el, f"{{{_GPX_NS}}}name").text = f"T{route.truck} {seq:03d} {v.id}"
        ET.SubElement(
            el, f"{{{_GPX_NS}}}desc"
        ).text = f"{v.kind}, arrival {plan.clock(v.arrival_s)}, load after {v.load_m3:.2f} m³"
        ET.SubElement(el, f"{{{_GPX_NS}}}type").text = v.kind

    for route in plan.routes:
        for seq, v in enumerate(route.visits):
            if v.kind != "depot":
                describe(point("wpt", root, v.lon, v.lat), route, seq, v)
    for route in plan.routes:
        rte = ET.SubElement(root, f"{{{_GPX_NS}}}rte")
        ET.SubElement(rte, f"{{{_GPX_NS}}}name").text = f"Truck {route.truck}"
        for seq, v in enumerate(route.visits):
            describe(point("rtept", rte, v.lon, v.lat), route, seq, v)
    for route in plan.routes:
        trk = ET.SubElement(root, f"{{{_GPX_NS}}}trk")
        ET.SubElement(trk, f"{{{_GPX_NS}}}name").text = f"Truck {route.truck}"
        seg = ET.SubElement(trk, f"{{{_GPX_NS}}}trkseg")
        for lon, lat in route.geometry():
            point("trkpt", seg, lon, lat)
    return ET.tostring(root, encoding="unicode", xml_declaration=True)
