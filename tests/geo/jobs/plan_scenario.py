"""Synthetic truth for the drain-plan scenarios: trees around real drain positions, a true fill
rate per drain from its environment, and sensor series drawn from it (noise, spikes, dropouts,
storm bursts, cleanings when full), written through the store as readings."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import numpy as np
import pandas as pd

from pakhuis.quantities import Quantity
from pakhuis.reading import Reading
from pakhuis.store import Store

# Monthly factors of the truth (Jan..Dec): drains under trees fill much faster in leaf fall.
TREE_SEASON = np.array([0.7, 0.6, 0.6, 0.7, 0.8, 0.8, 0.8, 0.8, 1.0, 1.8, 2.1, 1.3])
TREE_SEASON = TREE_SEASON / TREE_SEASON.mean()
OPEN_SEASON = np.ones(12)
# Storms wash in U(0, 1.5) % about every 10 days: on average this much per day, on top of the
# drain's own rate (a sensor sees both; the truth's projection adds it).
STORM_BURST_MAX = 0.3
STORM_EVERY_DAYS = 10.0
STORM_PER_DAY = STORM_BURST_MAX / 2 / STORM_EVERY_DAYS

LARGE_GENERA = ("Platanus x hispanica", "Tilia europaea", "Aesculus hippocastanum", "Acer platanoides")
SMALL_GENERA = ("Prunus avium", "Sorbus aucuparia", "Crataegus monogyna", "Malus sylvestris")


def synthetic_trees(
    rng: np.random.Generator,
    drain_xy: np.ndarray,
    *,
    share_with_trees: float = 0.35,
    large_share: float = 0.5,
) -> pd.DataFrame:
    """Trees (RD New x, y, species) planted near a share of the drains: rows along the street,
    2-12 m from the drain, large-leaf species in some streets and small-leaf ones in others."""
    n = len(drain_xy)
    chosen = rng.random(n) < share_with_trees
    xs, ys, species = [], [], []
    for i in np.flatnonzero(chosen):
        large_street = rng.random() < large_share
        for _ in range(int(rng.integers(1, 4))):
            angle = rng.uniform(0, 2 * np.pi)
            dist = rng.uniform(2.0, 12.0)
            xs.append(drain_xy[i, 0] + dist * np.cos(angle))
            ys.append(drain_xy[i, 1] + dist * np.sin(angle))
            names = LARGE_GENERA if large_street else SMALL_GENERA
            species.append(names[int(rng.integers(len(names)))])
    return pd.DataFrame({"x": xs, "y": ys, "species": species})


def true_rate(env: pd.DataFrame) -> np.ndarray:
    """The truth's base rate (% per seasonal day) from the environment: sand and litter from
    the street, plus leaves by leaf load and trees right over the drain, times a zone factor.

    Scaled to the premise of yearly cleaning being wasteful for most drains: a drain without
    trees reaches 60 % in about four years, one under a large tree within months."""
    leaf = env["leaf_load"].fillna(0).to_numpy()
    close = env["trees_within_4m"].fillna(0).to_numpy()
    rate: np.ndarray = 0.025 + 0.25 * leaf + 0.05 * close
    if "multiplier" in env:
        rate = rate * env["multiplier"].to_numpy()
    return rate


@dataclass(frozen=True)
class Series:
    times: list[datetime]
    values: list[float]
    cleanings: list[datetime]
    fill_end: float  # true fill at the end


def simulate(
    rng: np.random.Generator,
    rate: float,
    season: np.ndarray,
    start: datetime,
    end: datetime,
    *,
    fill0: float = 5.0,
    step_h: float = 6.0,
    clean_above: float = 80.0,
    noise: float = 1.5,
) -> Series:
    """A fill_level series: growth at rate × month factor, storm bursts, a cleaning a few days
    after the fill passes `clean_above`, Gaussian noise, occasional spikes and dropouts."""
    times: list[datetime] = []
    values: list[float] = []
    cleanings: list[datetime] = []
    fill = fill0
    t = start
    step = timedelta(hours=step_h)
    due_at: datetime | None = None
    while t < end:
        fill = min(100.0, fill + rate * season[t.month - 1] * step_h / 24.0)
        if rng.random() < step_h / (24 * STORM_EVERY_DAYS):  # a storm washes a little in
            fill = min(100.0, fill + rng.uniform(0.0, STORM_BURST_MAX))
        if due_at is None and fill >= clean_above:
            due_at = t + timedelta(days=float(rng.uniform(2, 8)))
        if due_at is not None and t >= due_at:
            fill = float(rng.uniform(1.0, 4.0))
            cleanings.append(t)
            due_at = None
        if rng.random() > 0.05:  # dropouts
            value = fill + rng.normal(0, noise)
            if rng.random() < 0.01:  # spikes (a leaf on the sensor, a splash)
                value = rng.uniform(0, 100)
            times.append(t)
            values.append(float(np.clip(value, 0.0, 100.0)))
        t += step
    return Series(times, values, cleanings, fill)


def write_sensors(store: Store, tenant: str, series: dict[str, Series], drain_keys: dict[str, str]) -> int:
    """Register each sensor against its drain (metadata 'drain') and store its readings."""
    received = datetime.now(UTC)
    total = 0
    batch: list[Reading] = []
    for name, s in series.items():
        store.register_sensor(tenant, name, kind="drain", metadata={"drain": drain_keys[name]})
        for t, v in zip(s.times, s.values, strict=True):
            batch.append(Reading(tenant, name, Quantity.FILL_LEVEL, v, t, received, "native"))
        if len(batch) >= 20_000:
            total += store.write_batch(batch).inserted
            batch = []
    if batch:
        total += store.write_batch(batch).inserted
    return total


def as_utc(d: date) -> datetime:
    return datetime(d.year, d.month, d.day, tzinfo=UTC)


def season_of(group: Sequence[int] | np.ndarray) -> list[np.ndarray]:
    return [TREE_SEASON if g else OPEN_SEASON for g in group]
