"""The privacy rules every public answer about a personal sensor goes through (issue 14 part 4).

A tenant is a citizen measurement `group` (its sensors stand on balconies and in gardens: they
are personal) or the `city` (its own drains and bridges, public as they are); a tenant nobody
declared takes `PAKHUIS_DEFAULT_TENANT_KIND`, "group" unless told otherwise: privacy by design.

What the public may learn of a personal sensor:
- a pseudonymous id instead of its name (the names are hardware ids: `esp8266-13374242`,
  `eui-70b3d57ed0051234`): "p-" + 16 hex digits of HMAC-SHA256(secret, tenant, sensor) —
  stable while the deployment's secret is, not reversible without it, different per deployment;
- its place coarsened to the centre of its grid cell (default 250 m) on the European LAEA grid
  (EPSG:3035, the grid of the EU's statistical grid cells), or nothing when it has no place;
- no metadata (device and gateway details) and no raw payloads.

Exact values are for the owning group and admins (`Viewer.sees_exact`).
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import numpy as np
from pyproj import Transformer

from pakhuis.errors import ConfigurationError

if TYPE_CHECKING:
    from numpy.typing import ArrayLike, NDArray

    from pakhuis.settings import Settings

__all__ = [
    "PSEUDONYM_PREFIX",
    "SECRET_FILE_NAME",
    "TENANT_KINDS",
    "PrivacyRules",
    "TenantKind",
    "load_or_create_secret",
]

TenantKind = Literal["group", "city"]
TENANT_KINDS: tuple[TenantKind, ...] = ("group", "city")
PSEUDONYM_PREFIX = "p-"
SECRET_FILE_NAME = "pseudonym.secret"

_PSEUDONYM_HEX = 16  # 64 bits: no collisions among any city's sensors, short enough to read
_MIN_SECRET_CHARS = 16
_GRID_CRS = "EPSG:3035"
# A cell centre to a decimetre is all it is; more digits would only carry float noise.
_CENTRE_DECIMALS = 6


@dataclass(frozen=True, slots=True)
class PrivacyRules:
    """The pseudonym key, the public grid and the kind of undeclared tenants, validated."""

    secret: bytes = field(repr=False)
    cell_m: float = 250.0
    default_tenant_kind: TenantKind = "group"
    # Pseudonyms of the sensors seen so far: a public answer of 10,000 rows costs dict
    # lookups, not 10,000 HMACs. Bounded by the sensors the store holds.
    _pseudonyms: dict[tuple[str, str], str] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )
    # And back: a public filter by pseudonym finds its sensor without hashing every sensor.
    _sensors: dict[str, tuple[str, str]] = field(default_factory=dict, init=False, repr=False, compare=False)
    _grid_lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if len(self.secret) < _MIN_SECRET_CHARS:
            raise ConfigurationError(
                f"The pseudonym secret is too short ({len(self.secret)} bytes).",
                hint=f"Set PAKHUIS_PSEUDONYM_SECRET to at least {_MIN_SECRET_CHARS} random characters, "
                "or unset it to have one generated in the data dir.",
            )
        if not 0 < self.cell_m < float("inf"):
            raise ConfigurationError(f"The public location cell must be a positive size, not {self.cell_m}.")
        if self.default_tenant_kind not in TENANT_KINDS:
            raise ConfigurationError(
                f"Unknown tenant kind {self.default_tenant_kind!r}.", hint="Use group or city."
            )

    @classmethod
    def from_settings(cls, settings: Settings) -> PrivacyRules:
        """The rules of a deployment: its secret (PAKHUIS_PSEUDONYM_SECRET, else the one kept in
        the data dir, generated on first use), its grid and its default tenant kind."""
        configured = settings.pseudonym_secret
        secret = (
            configured.get_secret_value().encode()
            if configured is not None
            else load_or_create_secret(settings.data_dir)
        )
        return cls(secret, settings.public_location_cell_m, settings.default_tenant_kind)

    @classmethod
    def ephemeral(cls) -> PrivacyRules:
        """Rules with a fresh random secret and the settings' defaults: for an app built without
        a deployment (tests, tools). Pseudonyms then last as long as the process."""
        from pakhuis.settings import Settings

        fields = Settings.model_fields
        return cls(
            secrets.token_hex(32).encode(),
            float(fields["public_location_cell_m"].default),
            fields["default_tenant_kind"].default,
        )

    def is_personal(self, declared_kind: str | None) -> bool:
        """Whether a tenant of this declared kind (None: undeclared) holds personal sensors."""
        return (declared_kind or self.default_tenant_kind) == "group"

    def pseudonym(self, tenant: str, sensor: str) -> str:
        key = (tenant, sensor)
        known = self._pseudonyms.get(key)
        if known is None:
            # NUL cannot occur in an identifier: ("a", "b/c") and ("a/b", "c") stay apart.
            digest = hmac.new(self.secret, f"{tenant}\x00{sensor}".encode(), hashlib.sha256)
            known = self._pseudonyms[key] = PSEUDONYM_PREFIX + digest.hexdigest()[:_PSEUDONYM_HEX]
            self._sensors[known] = key
        return known

    def known_sensor(self, pseudonym: str) -> tuple[str, str] | None:
        """(tenant, sensor) behind a pseudonym this process has given out, else None."""
        return self._sensors.get(pseudonym)

    def coarsen(self, lon: float | None, lat: float | None) -> tuple[float, float] | None:
        """The centre of the grid cell holding (lon, lat) (WGS84), or None without a position."""
        if lon is None or lat is None:
            return None
        lons, lats = self.coarsen_many([lon], [lat])
        return float(lons[0]), float(lats[0])

    def coarsen_many(
        self, lons: ArrayLike, lats: ArrayLike
    ) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """`coarsen` over arrays in one projection each way; NaN (no position) stays NaN."""
        lon = np.asarray(lons, dtype=np.float64)
        lat = np.asarray(lats, dtype=np.float64)
        out_lon = np.full(lon.shape, np.nan)
        out_lat = np.full(lat.shape, np.nan)
        placed = ~(np.isnan(lon) | np.isnan(lat))
        if placed.any():
            to_grid, from_grid = _grid_transformers()
            # pyproj transformers are not safe to share between threads (the API's pool).
            with self._grid_lock:
                x, y = to_grid.transform(lon[placed], lat[placed])
                cx = (np.floor(np.asarray(x) / self.cell_m) + 0.5) * self.cell_m
                cy = (np.floor(np.asarray(y) / self.cell_m) + 0.5) * self.cell_m
                centre_lon, centre_lat = from_grid.transform(cx, cy)
            out_lon[placed] = np.round(centre_lon, _CENTRE_DECIMALS)
            out_lat[placed] = np.round(centre_lat, _CENTRE_DECIMALS)
        return out_lon, out_lat


_TRANSFORMERS: tuple[Transformer, Transformer] | None = None


def _grid_transformers() -> tuple[Transformer, Transformer]:
    # Built on first use: creating them reads the PROJ database (tens of milliseconds).
    global _TRANSFORMERS
    if _TRANSFORMERS is None:
        _TRANSFORMERS = (
            Transformer.from_crs("EPSG:4326", _GRID_CRS, always_xy=True),
            Transformer.from_crs(_GRID_CRS, "EPSG:4326", always_xy=True),
        )
    return _TRANSFORMERS


def load_or_create_secret(data_dir: Path) -> bytes:
    """The pseudonym secret kept in `<data_dir>/pseudonym.secret`, created (owner-only, 0600) on
    first use. Two processes starting together agree: the file appears whole or not at all."""
    path = data_dir / SECRET_FILE_NAME
    if not path.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        draft = data_dir / f".{SECRET_FILE_NAME}.{os.getpid()}.{secrets.token_hex(4)}"
        fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="ascii") as out:
            out.write(secrets.token_hex(32) + "\n")
        try:
            os.link(draft, path)  # atomic, and refuses to replace a secret another process made
        except FileExistsError:
            pass
        finally:
            draft.unlink()
    secret = path.read_text(encoding="ascii").strip().encode()
    if len(secret) < _MIN_SECRET_CHARS:
        raise ConfigurationError(
            f"{path} holds no usable pseudonym secret.",
            hint="Delete the file to have a new one generated (public pseudonyms then change), "
            "or set PAKHUIS_PSEUDONYM_SECRET.",
        )
    return secret
