"""A deterministic fleet of emulated devices for demos, tests and load generation.

Every device gets its own random stream derived from (seed, device kind, index), so
asking for one more drain does not change the air sensors or the other drains: a demo
with 5 drains and one with 50 share their first 5 drains exactly.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

from sensors_sim.air import AirQualitySensor
from sensors_sim.bridge import BridgeSensor
from sensors_sim.drain import DrainSensor
from sensors_sim.emulator import Emulator

# Fixed per-kind keys for the seed derivation; never renumber, or every fleet changes.
_AIR_KEY = 1
_DRAIN_KEY = 2
_BRIDGE_KEY = 3


def sensor_id(kind: str, index: int) -> str:
    """Sensor id of the `index`-th (1-based) device of `kind`, e.g. ``drain-007``."""
    return f"{kind}-{index:03d}"


def _rngs(seed: int, key: int, index: int) -> tuple[np.random.Generator, np.random.Generator]:
    """Two independent streams for one device: one for its parameters, one for its run."""
    params_seq, run_seq = np.random.SeedSequence(entropy=seed, spawn_key=(key, index)).spawn(2)
    return np.random.default_rng(params_seq), np.random.default_rng(run_seq)


@dataclass(frozen=True, slots=True)
class PlacedDevice:
    """A device of a described city (the demo city): its id and what its place decides.

    `tree_factor` (drains): how much litter the trees around the drain shed into it;
    `traffic` (air): a kerbside on a busy street or a quiet one.
    """

    kind: Literal["air", "drain", "bridge"]
    sensor_id: str
    tree_factor: float = 0.0
    traffic: Literal["busy", "quiet"] = "quiet"


# NO2 from traffic at the kerb (µg/m³): a busy street's and a quiet street's range.
_TRAFFIC_NO2 = {"busy": (30.0, 55.0), "quiet": (5.0, 15.0)}


def placed_fleet(seed: int, tenant: str, devices: Sequence[PlacedDevice]) -> list[Emulator]:
    """Emulators for `devices`, in their order; the n-th device of a kind draws from the same
    random streams as the n-th of `build_fleet`, with its place's parameters set."""
    fleet: list[Emulator] = []
    counts = {"air": 0, "drain": 0, "bridge": 0}
    for device in devices:
        counts[device.kind] += 1
        index = counts[device.kind]
        if device.kind == "air":
            p, run = _rngs(seed, _AIR_KEY, index)
            low, high = _TRAFFIC_NO2[device.traffic]
            fleet.append(
                AirQualitySensor(
                    tenant,
                    device.sensor_id,
                    run,
                    background_no2=float(p.uniform(12.0, 25.0)),
                    traffic_no2=float(p.uniform(low, high)),
                    noise_sd=float(p.uniform(2.5, 6.0)),
                    heat_island_c=float(p.uniform(0.0, 1.5)),
                )
            )
        elif device.kind == "drain":
            p, run = _rngs(seed, _DRAIN_KEY, index)
            p.random()  # the draw build_fleet spends on the tree factor, which the place sets here
            fleet.append(
                DrainSensor(
                    tenant,
                    device.sensor_id,
                    run,
                    tree_factor=device.tree_factor,
                    sump_depth_mm=float(p.uniform(300.0, 600.0)),
                    # Slower than build_fleet's drains: a city's gullies, cleaned once or twice a
                    # year, not a test bench that must show a cleaning within days.
                    base_fill_per_day=float(p.uniform(0.08, 0.2)),
                    clean_threshold=float(p.uniform(65.0, 85.0)),
                )
            )
        else:
            p, run = _rngs(seed, _BRIDGE_KEY, index)
            fleet.append(
                BridgeSensor(
                    tenant,
                    device.sensor_id,
                    run,
                    open_angle_deg=float(p.uniform(70.0, 80.0)),
                    mean_closed_minutes=float(p.uniform(25.0, 90.0)),
                )
            )
    return fleet


def build_fleet(
    seed: int, tenant: str = "demo", air: int = 3, drains: int = 5, bridges: int = 1
) -> list[Emulator]:
    """`air` air-quality sensors, `drains` drain sensors and `bridges` bridges of `tenant`.

    Ids are ``air-001``, ``drain-001``, ``bridge-001`` ...; device parameters (traffic load,
    trees near the drain, sump depth, ...) are drawn from `seed`, so the same arguments
    always give the same fleet.
    """
    if min(air, drains, bridges) < 0:
        raise ValueError("device counts must be >= 0")
    fleet: list[Emulator] = []
    for i in range(1, air + 1):
        p, run = _rngs(seed, _AIR_KEY, i)
        fleet.append(
            AirQualitySensor(
                tenant,
                sensor_id("air", i),
                run,
                # From quiet residential streets to a busy arterial road.
                background_no2=float(p.uniform(12.0, 25.0)),
                traffic_no2=float(p.uniform(10.0, 55.0)),
                noise_sd=float(p.uniform(2.5, 6.0)),
                heat_island_c=float(p.uniform(0.0, 1.5)),
            )
        )
    for i in range(1, drains + 1):
        p, run = _rngs(seed, _DRAIN_KEY, i)
        # About a third of drains have no tree close by; the rest range up to under a
        # dense canopy.
        tree_factor = 0.0 if p.random() < 0.35 else float(p.uniform(0.3, 3.0))
        fleet.append(
            DrainSensor(
                tenant,
                sensor_id("drain", i),
                run,
                tree_factor=tree_factor,
                sump_depth_mm=float(p.uniform(300.0, 600.0)),
                base_fill_per_day=float(p.uniform(0.15, 0.4)),
                clean_threshold=float(p.uniform(65.0, 85.0)),
            )
        )
    for i in range(1, bridges + 1):
        p, run = _rngs(seed, _BRIDGE_KEY, i)
        fleet.append(
            BridgeSensor(
                tenant,
                sensor_id("bridge", i),
                run,
                open_angle_deg=float(p.uniform(70.0, 80.0)),
                mean_closed_minutes=float(p.uniform(25.0, 90.0)),
            )
        )
    return fleet
