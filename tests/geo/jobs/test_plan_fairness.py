"""Fairness: two districts with the same environment -- one with many sensors, one with none --
get the same share of due drains (within ±10 %): the schedule follows the environment, not the
sensor density."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import numpy as np
import pyproj
import pytest

from geo.jobs import environment, plan_schedule, refit
from geo.plan import PlanConfig
from pakhuis.store import Store
from tests.geo.jobs.plan_scenario import OPEN_SEASON, TREE_SEASON, simulate, true_rate, write_sensors

pytestmark = pytest.mark.integration

ROUND = datetime(2025, 10, 15, tzinfo=UTC)
NOW = datetime(2026, 10, 15, tzinfo=UTC)
START = date(2026, 10, 15)
SIDE = 24  # drains per side of a district's grid
SPACING = 20.0  # m between drains
SHIFT_M = 3000.0  # district B lies this far east of A


def _to_lonlat(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    lon, lat = pyproj.Transformer.from_crs(28992, 4326, always_xy=True).transform(x, y)
    return np.asarray(lon), np.asarray(lat)


def test_same_environment_same_share_due_with_and_without_sensors(database_url: str) -> None:
    rng = np.random.default_rng(7)
    gx, gy = np.meshgrid(np.arange(SIDE) * SPACING, np.arange(SIDE) * SPACING)
    base_x = 110_000.0 + gx.ravel()
    base_y = 500_000.0 + gy.ravel()
    n = len(base_x)
    # The same trees around both districts: rows along some streets, large or small leaves.
    tree_rel = []
    for i in rng.choice(n, n // 3, replace=False):
        species = "Platanus x hispanica" if rng.random() < 0.5 else "Prunus avium"
        for _ in range(int(rng.integers(1, 4))):
            angle, dist = rng.uniform(0, 2 * np.pi), rng.uniform(2.0, 11.0)
            tree_rel.append((base_x[i] + dist * np.cos(angle), base_y[i] + dist * np.sin(angle), species))
    drains_rows = []
    trees_rows = []
    for district, shift in (("A", 0.0), ("B", SHIFT_M)):
        lon, lat = _to_lonlat(base_x + shift, base_y)
        for k in range(n):
            drains_rows.append((f"{district}{k:04d}", float(lon[k]), float(lat[k]), {"district": district}))
        tx = np.array([t[0] for t in tree_rel]) + shift
        ty = np.array([t[1] for t in tree_rel])
        tlon, tlat = _to_lonlat(tx, ty)
        for j, t in enumerate(tree_rel):
            genus = t[2].split()[0]
            leaf = "large" if genus == "Platanus" else "small"
            trees_rows.append((None, float(tlon[j]), float(tlat[j]), t[2], genus, leaf))

    with Store(database_url) as store:
        store.replace_drains(drains_rows, source="fairness")
        store.replace_trees(trees_rows, source="fairness")
        config = PlanConfig()
        env = environment(store, config)
        env["rate"] = true_rate(env) * rng.lognormal(0.0, 0.15, len(env))
        # The same true rate for twins (a drain of A and its copy in B).
        keys = env["drain_key"].to_numpy()
        twin_rate = dict(zip(keys[:n], env["rate"].to_numpy()[:n], strict=True))
        env["rate"] = [twin_rate["A" + k[1:]] for k in keys]
        # Last year's round: both districts on the same days (twins on the same day), recorded.
        offsets = rng.integers(0, 30, n)
        cleanings = [
            (key, ROUND + timedelta(days=int(offsets[int(key[1:])])), "suction", None) for key in keys
        ]
        store.add_cleanings(cleanings, source="round")
        # District A: half its drains carry a sensor; B none. No cleanings in the truth since
        # the round, so both districts are in the same true state today.
        sensor_keys = rng.choice(keys[:n], n // 2, replace=False)
        series = {}
        for key in sensor_keys:
            row = env[env["drain_key"] == key].iloc[0]
            season = TREE_SEASON if row["group"] else OPEN_SEASON
            cleaned = ROUND + timedelta(days=int(offsets[int(key[1:])]))
            series[f"s-{key}"] = simulate(
                rng, float(row["rate"]), season, cleaned, NOW, fill0=0.5, step_h=24.0, clean_above=101.0
            )
        write_sensors(store, "fair", series, {f"s-{k}": str(k) for k in sensor_keys})
        report = refit(store, config)
        assert report.measured_ok >= 0.9 * len(sensor_keys), str(report)
        result = plan_schedule(store, config, START, 28)

    due_keys = set(result.due["drain_key"])
    share_a = sum(1 for k in due_keys if k.startswith("A")) / n
    share_b = sum(1 for k in due_keys if k.startswith("B")) / n
    print(
        f"\nshare due: district A (sensors on {len(sensor_keys)} of {n}) "
        f"{share_a:.3f}, B (none) {share_b:.3f}"
    )
    assert 0.1 < share_b < 0.9  # the horizon is informative: neither none nor all are due
    assert abs(share_a - share_b) <= 0.10 * share_b
