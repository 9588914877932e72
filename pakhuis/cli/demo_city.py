"""The demo city: south-east Delft (`geo/data/demo_city/`, built by `tools/build_demo_city.py`
from OpenStreetMap), installed into any database for `pakhuis demo` and `pakhuis run --simulate`.

What an install puts in the database:
- the drain and tree registers, the zones (shops, bus stops, a school, main roads) and last
  year's cleaning round as work orders — once; a database holding the demo city keeps it;
- the demo's sensors at their places: fill sensors linked to their drains (metadata "drain"),
  air sensors at kerbsides, one sensor per movable bridge, all marked `"simulated": true`;
- their history (`sensors_sim.HISTORY`: fill sensors a year, air sensors 8 weeks, bridges 2
  weeks) of what the emulators would have sent, decoded by the ingest's decoder
  and written by the stream's pipeline (rollups, alerts) like live messages, in seconds.

Each sensor's history starts where the first install put it (kept in its metadata as
`simulated_since`), and a later install replays the emulators from there and writes only what
is newer than a sensor's last reading, so restarting `pakhuis run --simulate` fills the gap.
"""

from __future__ import annotations

import csv
import importlib.resources
import json
import shutil
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from pakhuis.cli import wiring
from pakhuis.errors import PakhuisError
from pakhuis.settings import Settings
from pakhuis.store import Store

if TYPE_CHECKING:
    from geo.registers import WorkOrder
    from sensors_sim import Emulator, PlacedDevice

__all__ = [
    "DemoCity",
    "DemoCityInstall",
    "DemoCityRefused",
    "export_demo_city",
    "install_demo_city",
    "with_demo_plan",
]

DEMO_SEED = 1
# Messages per pipeline call while writing the history: the size of a live batch.
_BATCH_MESSAGES = 2000
# Last year's round: every drain without a sensor cleaned once, 2-12 months ago.
_ROUND_DAYS = (60, 365)

OtherRegister = Literal["refuse", "replace", "keep"]


class DemoCityRefused(PakhuisError):
    """The database holds another drain register, and the install was not told to replace it."""


@dataclass(frozen=True)
class DemoCity:
    """The bundled city: its files and its devices (`devices.json`)."""

    directory: Path
    tenant: str
    depot: str  # 'lon,lat' of the trucks' depot, on the road network
    dump_sites: str  # 'lon,lat;lon,lat'
    devices: tuple[dict[str, Any], ...]
    zone_files: dict[str, str] = field(
        default_factory=lambda: {
            kind: f"zones_{kind}.geojson" for kind in ("shopping", "bus_stop", "school", "main_road")
        }
    )

    @classmethod
    def bundled(cls) -> DemoCity:
        directory = Path(str(importlib.resources.files("geo") / "data" / "demo_city"))
        spec = json.loads((directory / "devices.json").read_text(encoding="utf-8"))
        devices = [
            *({"kind": "drain", **d} for d in spec["drains"]),
            *({"kind": "air", **d} for d in spec["air"]),
            *({"kind": "bridge", **d} for d in spec["bridges"]),
        ]
        return cls(directory, spec["tenant"], spec["depot"], ";".join(spec["dump_sites"]), tuple(devices))

    def file(self, name: str) -> Path:
        return self.directory / name

    def placed_devices(self) -> list[PlacedDevice]:
        from sensors_sim import PlacedDevice

        return [
            PlacedDevice(
                d["kind"],
                d["sensor"],
                tree_factor=d.get("tree_factor", 0.0),
                traffic=d.get("traffic", "quiet"),
            )
            for d in self.devices
        ]

    def sensored_drains(self) -> set[str]:
        return {d["drain"] for d in self.devices if d["kind"] == "drain"}


@dataclass
class DemoCityInstall:
    """What an install did, and the fleet standing at the end of its history."""

    registers: str  # "loaded", "kept (already the demo city)", "kept (your own registers)"
    drains: int = 0
    trees: int = 0
    zones: int = 0
    work_orders: int = 0
    sensors: int = 0
    history_from: datetime | None = None
    readings: int = 0
    seconds: float = 0.0
    fleet: list[Emulator] = field(default_factory=list, repr=False)

    def __str__(self) -> str:
        lines = [f"demo city (Delft): registers {self.registers}"]
        if self.registers == "loaded":
            lines.append(
                f"  {self.drains:,} drains, {self.trees:,} trees, {self.zones:,} zones, "
                f"{self.work_orders:,} work orders of last year's round"
            )
        since = self.history_from.strftime("%Y-%m-%d") if self.history_from else "-"
        lines.append(
            f"  {self.sensors} simulated sensors linked to their places; history since {since} "
            f"(fill sensors a year, air 8 weeks, bridges 2 weeks): {self.readings:,} readings "
            f"written in {self.seconds:.1f} s"
        )
        return "\n".join(lines)


def with_demo_plan(settings: Settings, city: DemoCity) -> Settings:
    """`settings` with the demo city's depot, dump site and road file where they name none
    (for the API of `pakhuis run --simulate`: POST /api/v1/routes plans the demo's routes)."""
    demo = {
        "plan_depot": city.depot,
        "plan_dump_sites": city.dump_sites,
        "plan_roads_file": city.file("roads.geojson"),
    }
    return settings.model_copy(update={k: v for k, v in demo.items() if getattr(settings, k) is None})


def install_demo_city(
    settings: Settings,
    store: Store,
    *,
    now: datetime,
    other_register: OtherRegister = "refuse",
    seed: int = DEMO_SEED,
    city: DemoCity | None = None,
) -> DemoCityInstall:
    """Put the demo city, its sensors and their history up to `now` into `store` (the
    emulators drawn from `seed`); with `other_register="keep"` a database holding another
    drain register keeps it and gets only the sensors."""
    city = city or DemoCity.bundled()
    started = datetime.now(UTC)
    report = DemoCityInstall(registers=_install_registers(settings, store, city, now, other_register))
    if report.registers == "loaded":
        loads = {row["register"]: row["rows"] for row in store.register_loads()}
        report.drains, report.trees = int(loads.get("drains", 0)), int(loads.get("trees", 0))
        report.zones = len(store.zones())
        report.work_orders = len(store.cleanings())
    from sensors_sim import placed_fleet

    # The demo's drains, bridges and kerbside air sensors are the city's own: public as they
    # are (undeclared tenants count as citizen groups, whose sensors the public sees coarsened).
    store.set_tenant_kind(city.tenant, "city")
    report.fleet = placed_fleet(seed, city.tenant, city.placed_devices())
    starts = _register_sensors(store, city, report.fleet, now)
    report.sensors, report.history_from = len(city.devices), min(starts, default=None)
    report.readings = _write_history(settings, store, report.fleet, starts, now)
    report.seconds = (datetime.now(UTC) - started).total_seconds()
    return report


def _install_registers(
    settings: Settings, store: Store, city: DemoCity, now: datetime, other_register: OtherRegister
) -> str:
    from geo.jobs import load_drains, load_trees, load_zones, record_cleanings
    from geo.plan import PlanConfig
    from geo.registers import ReadOptions

    drains_load = next((r for r in store.register_loads() if r["register"] == "drains"), None)
    if drains_load is not None and drains_load["source"] == str(city.file("drains.geojson")):
        return "kept (already the demo city)"
    if drains_load is not None and drains_load["rows"] and other_register != "replace":
        if other_register == "keep":
            return "kept (your own registers)"
        raise DemoCityRefused(
            f"The database holds another drain register ({drains_load['rows']:,} drains from "
            f"{drains_load['source']}).",
            hint="Pass --replace to replace it with the demo city, or point the demo at another "
            "database (PAKHUIS_DATA_DIR or PAKHUIS_DATABASE_URL).",
        )
    load_drains(store, city.file("drains.geojson"), ReadOptions(id_column="id"), replace_anyway=True)
    load_trees(
        store,
        city.file("trees.geojson"),
        ReadOptions(id_column="id", species_column="species"),
        replace_anyway=True,
    )
    config = PlanConfig.from_settings(settings)
    for kind, name in city.zone_files.items():
        load_zones(store, city.file(name), kind, config)
    keys = [str(row["source_id"]) for row in store.drains_register()]
    record_cleanings(store, round_work_orders(keys, city.sensored_drains(), now), source="demo city")
    return "loaded"


def round_work_orders(drain_keys: Iterable[str], sensored: set[str], now: datetime) -> list[WorkOrder]:
    """Last year's fixed round as work orders: each drain without a sensor cleaned once on a
    weekday morning 2-12 months before `now` (the same for the same day)."""
    from geo.registers import WorkOrder

    rng = np.random.default_rng([DEMO_SEED, now.toordinal()])
    today = datetime(now.year, now.month, now.day, tzinfo=UTC)
    orders = []
    for key in drain_keys:
        if key in sensored:
            continue
        day = today - timedelta(days=int(rng.integers(*_ROUND_DAYS)))
        day -= timedelta(days=max(0, day.weekday() - 4))  # the crew works Monday to Friday
        at = day + timedelta(hours=7, minutes=int(rng.integers(0, 8 * 60)))
        orders.append(WorkOrder(key, at, "suction", round(float(rng.uniform(0.01, 0.05)), 3)))
    return orders


def _register_sensors(
    store: Store, city: DemoCity, fleet: Sequence[Emulator], now: datetime
) -> list[datetime]:
    """Register the demo's sensors at their places; each one's history start (kept from an
    earlier install, else its kind's span before `now`, on the hour)."""
    from sensors_sim import span_of

    known = {row["sensor"]: row["metadata"] or {} for row in store.sensors(tenant=city.tenant)}
    starts = []
    for device, emulator in zip(city.devices, fleet, strict=True):
        kept = known.get(device["sensor"], {}).get("simulated_since")
        start = (
            datetime.fromisoformat(kept)
            if kept
            else (now - span_of(emulator).span).replace(minute=0, second=0, microsecond=0)
        )
        metadata: dict[str, Any] = {"simulated": True, "simulated_since": start.isoformat()}
        if device["kind"] == "drain":
            metadata["drain"] = device["drain"]
        if device.get("name"):
            metadata["place"] = device["name"]
        store.register_sensor(
            city.tenant,
            device["sensor"],
            kind=device["kind"],
            lon=device["lon"],
            lat=device["lat"],
            metadata=metadata,
        )
        starts.append(start)
    return starts


def _write_history(
    settings: Settings, store: Store, fleet: Sequence[Emulator], starts: Sequence[datetime], now: datetime
) -> int:
    """Replay the emulators from their starts to `now`; write what is newer than each sensor's
    last reading through the ingest's decoder and the stream's pipeline."""
    from sensors_sim import encode_native, history

    last = store.last_reading_times(fleet[0].tenant) if fleet else {}
    decoder = wiring.message_decoder(settings, store)
    pipeline = wiring.pipeline(settings, store)
    written = 0
    batch = []
    for message in history(fleet, starts, now):
        seen = last.get(message.device.sensor_id)
        if seen is not None and message.time <= seen:
            continue
        batch.append(decoder.decode(message.device.topic, encode_native(message.readings), message.time))
        if len(batch) >= _BATCH_MESSAGES:
            written += pipeline(batch).inserted
            batch = []
    if batch:
        written += pipeline(batch).inserted
    return written


def export_demo_city(directory: Path, *, now: datetime, city: DemoCity | None = None) -> list[Path]:
    """Copy the demo city's files to `directory` (with last year's round as workorders.csv),
    to look at or to load like one's own registers."""
    import geopandas as gpd

    city = city or DemoCity.bundled()
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for path in sorted(city.directory.iterdir()):
        if path.is_file():
            written.append(Path(shutil.copy2(path, directory / path.name)))
    keys: Sequence[str] = gpd.read_file(city.file("drains.geojson"))["id"].astype(str).tolist()
    orders = directory / "workorders.csv"
    with orders.open("w", newline="", encoding="utf-8") as f:
        out = csv.writer(f)
        out.writerow(["drain", "time", "method", "sludge_m3"])
        for o in round_work_orders(keys, city.sensored_drains(), now):
            out.writerow([o.drain, o.time.strftime("%Y-%m-%dT%H:%M:%SZ"), o.method, o.sludge_m3])
    written.append(orders)
    return written
