"""The guards of a register load (`geo.jobs.registers`): a load that would lose most of the
register it replaces (fewer than half as many points), or that brings lines or polygons where a
register holds points, is refused before anything is written unless the caller says
`replace_anyway`; what a replace removed, and a warning when the drains and trees lie too far
apart for any tree indicator to count."""

from __future__ import annotations

from typing import Literal

from pyproj import Geod

from geo.registers import LoadResult
from pakhuis.errors import PakhuisError
from pakhuis.store import Store

__all__ = [
    "Register",
    "RegisterLoadRefused",
    "distance_warning",
    "refuse_losing_load",
    "removed_indicators",
    "removed_with_drains",
]

Register = Literal["drains", "trees"]
Bounds = tuple[float, float, float, float]  # min lon, min lat, max lon, max lat

_SINGULAR: dict[Register, str] = {"drains": "drain", "trees": "tree"}
_POINT_TYPES = frozenset({"Point", "MultiPoint"})  # a multipoint is one position too
_GEOMETRY_NAMES = {
    "Point": "point",
    "MultiPoint": "multipoint",
    "LineString": "line",
    "LinearRing": "ring",
    "MultiLineString": "multiline",
    "Polygon": "polygon",
    "MultiPolygon": "multipolygon",
    "GeometryCollection": "geometry collection",
}
# The largest radius of the drain ↔ tree indicators (geo.spatial's default): registers farther
# apart than this get no tree within reach of any drain.
_INDICATOR_REACH_M = 10.0
_WGS84 = Geod(ellps="WGS84")


class RegisterLoadRefused(PakhuisError):
    """A load that would lose most of a register, or bring lines or polygons where the register
    holds points; refused before anything is written (`--replace` loads it anyway)."""

    status = 409
    code = "register_load_refused"


def refuse_losing_load(store: Store, what: Register, result: LoadResult) -> None:
    """Raise before anything is written when the load would replace a register with fewer than
    half as many points, or with points taken from lines or polygons (a wrong file, most
    likely: an area, a network); an empty register has nothing to lose."""
    current = store.register_count(what)
    shrinks = 2 * len(result.frame) < current
    not_points = [kind for kind in result.geometry_types if kind not in _POINT_TYPES]
    if current == 0 or not (shrinks or not_points):
        return
    raise _refusal(what, current, result, not_points)


def _refusal(what: Register, current: int, result: LoadResult, not_points: list[str]) -> RegisterLoadRefused:
    """What the file holds, what the register holds, and what the load would have done."""
    singular = _SINGULAR[what]
    # Rejected rows explain a shortfall (a wrong CRS rejects every row as out of range).
    detail = f" ({result.counts.rejected:,} rows rejected)" if result.counts.rejected else ""
    if not_points:
        detail += f", each {' or '.join(_geometry_name(kind) for kind in not_points)} reduced to one point"
    removed = "the old register is removed"
    if what == "drains":
        removed = "the old register and the fitted fill model's drain states are removed"
    return RegisterLoadRefused(
        f"{result.path.name} holds {_describe_geometries(result.geometry_types)}; "
        f"the {singular} register holds {_how_many(current, 'point')}. "
        f"Refused: the load would replace {_how_many(current, singular)} with {len(result.frame):,}{detail}.",
        hint=(
            f"Check that {result.path.name} is the {singular} register you mean (one point per "
            f"{singular}, at least half as many as now). To replace the register anyway, run the "
            f"same command again with --replace ({removed})."
        ),
    )


def _describe_geometries(types: dict[str, int]) -> str:
    """The counts by type, most common first: "1 polygon", "3 points and 2 lines"."""
    if not types:
        return "no geometries"
    parts = [
        _how_many(n, _geometry_name(kind)) for kind, n in sorted(types.items(), key=lambda item: -item[1])
    ]
    return parts[0] if len(parts) == 1 else f"{', '.join(parts[:-1])} and {parts[-1]}"


def _how_many(count: int, noun: str) -> str:
    """`count` of `noun`, plural unless one: "1 drain", "25,153 drains"."""
    return f"{count:,} {noun}" if count == 1 else f"{count:,} {noun}s"


def _geometry_name(kind: str) -> str:
    return _GEOMETRY_NAMES.get(kind, kind.lower())


def removed_with_drains(removed: dict[str, int]) -> tuple[str, ...]:
    """What replacing the drains took with it (the store cascades to every row naming a drain)."""
    warnings = removed_indicators(removed["drain_indicators"], "drain")
    if removed["drain_fill_state"]:
        warnings += (
            f"the fitted fill model's drain states ({removed['drain_fill_state']:,} drains) were "
            "removed with the old register: run `pakhuis plan refit`",
        )
    return warnings


def removed_indicators(count: int, register: str) -> tuple[str, ...]:
    if not count:
        return ()
    return (
        f"the indicators of {count:,} drains were removed with the old {register} register: "
        "run `pakhuis geo indicators`",
    )


def distance_warning(store: Store, loaded: Register) -> tuple[str, ...]:
    """A warning when the register just loaded lies out of indicator reach of the other one
    (a file of another town, or the wrong CRS): every tree count and leaf load would be zero."""
    other: Register = "trees" if loaded == "drains" else "drains"
    loaded_box, other_box = store.register_bounds(loaded), store.register_bounds(other)
    if loaded_box is None or other_box is None:
        return ()
    metres = _box_distance_m(loaded_box, other_box)
    if metres <= _INDICATOR_REACH_M:
        return ()
    return (
        f"the {loaded} lie {_distance_text(metres)} from the {other} (bounding boxes do not "
        "overlap): tree indicators will all be zero",
    )


def _box_distance_m(a: Bounds, b: Bounds) -> float:
    """Geodesic distance in metres between the nearest points of two lon/lat boxes (0 when they
    overlap): per axis the facing edges, or one shared value where the boxes overlap on it."""
    lon_a, lon_b = _facing(a[0], a[2], b[0], b[2])
    lat_a, lat_b = _facing(a[1], a[3], b[1], b[3])
    _, _, metres = _WGS84.inv(lon_a, lat_a, lon_b, lat_b)
    return float(metres)


def _facing(low_a: float, high_a: float, low_b: float, high_b: float) -> tuple[float, float]:
    """The nearest values of two intervals: their facing ends, or one value in both."""
    if high_a < low_b:
        return high_a, low_b
    if high_b < low_a:
        return low_a, high_b
    shared = max(low_a, low_b)
    return shared, shared


def _distance_text(metres: float) -> str:
    return f"{metres / 1000:,.1f} km" if metres >= 1000 else f"{metres:,.0f} m"
