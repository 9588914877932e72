"""A deterministic fleet of emulated devices for demos, tests and load generation.

Every device gets its own random stream derived from (seed, device kind, index), so
asking for one more drain does not change the air sensors or the other drains: a demo
with 5 drains and one with 50 share their first 5 drains exactly.
"""

from __future__ import annotations

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
