"""What a register load is told about its file: columns, CRS, layer, filter, outlier distance."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from pyproj import CRS

from geo.registers.errors import RegisterError

__all__ = ["DEFAULT_OUTLIER_KM", "ReadOptions"]

#: Points farther than this from the register's median position are rejected as outliers.
DEFAULT_OUTLIER_KM = 1000.0


@dataclass(frozen=True)
class ReadOptions:
    """The options of :func:`geo.registers.points.read_points` (see there), checked once.

    ``x``/``y`` and ``lon``/``lat`` name coordinate columns (each pair both or neither);
    ``crs`` is the CRS of the input coordinates; ``outlier_km`` None switches outliers off.
    """

    x: str | None = None
    y: str | None = None
    lon: str | None = None
    lat: str | None = None
    crs: str | int | CRS | None = None
    id_column: str | None = None
    species_column: str | Sequence[str] | None = None
    layer: str | int | None = None
    where: Mapping[str, object] | None = None
    keep_attributes: bool = False
    outlier_km: float | None = DEFAULT_OUTLIER_KM

    def __post_init__(self) -> None:
        if (self.x is None) != (self.y is None):
            raise RegisterError("give both x and y columns, or neither")
        if (self.lon is None) != (self.lat is None):
            raise RegisterError("give both lon and lat columns, or neither")

    @property
    def explicit_columns(self) -> bool:
        """Whether coordinate columns are named (they win over a file's geometry)."""
        return any(v is not None for v in (self.x, self.y, self.lon, self.lat))
