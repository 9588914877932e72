"""Simulated drain fill series with a known rate, for the fill-rate and fill-model tests.

Modelled on ``sensors_sim.drain`` (slow growth with day-to-day variation, storm bursts, a
crew cleaning some days after the drain is due or on a routine round, saturation at 100 %,
ultrasonic noise), but built so the truth is one number: the expected growth per day of
*seasonal* time, ``rate``, storms included -- a share ``storm_share`` of it arrives in bursts.
The season is the simulator's own leaf factor (:func:`leaf_season`). Vectorised between
cleanings, so a few hundred drain-years take well under a second.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from geo.fill.seasonal import SeasonalFactors
from sensors_sim.drain import leaf_factor


def leaf_season(tree_factor: float) -> SeasonalFactors:
    """The simulator's monthly rate shape ``1 + tree_factor * leaf_factor(month)``, mean 1."""
    return SeasonalFactors.from_values([1.0 + tree_factor * leaf_factor(m) for m in range(1, 13)])


@dataclass(frozen=True)
class SimDrain:
    times: np.ndarray  # datetime64[s], the readings kept
    fill: np.ndarray  # measured fill (%), with noise and outliers
    true_fill: np.ndarray  # the truth at those times
    cleanings: np.ndarray  # datetime64[s]: the tick at which each cleaning shows
    rate: float  # expected growth, %/day of seasonal time
    seasonal: SeasonalFactors


def simulate_drain(
    rng: np.random.Generator,
    *,
    rate: float,
    seasonal: SeasonalFactors | None = None,
    start: str = "2023-01-01T00:00:00",
    days: float = 365.0,
    interval_hours: float = 4.0,
    noise: float = 0.7,
    storm_share: float = 0.3,
    storms_per_week: float = 1.0,
    initial_fill: float | None = None,
    clean_threshold: float = 75.0,
    clean_rate_per_day_when_due: float = 0.25,
    routine_cleanings_per_year: float = 1.0,
    spike_prob: float = 0.0,
    dropout_prob: float = 0.0,
    gaps: Sequence[tuple[float, float]] = (),
) -> SimDrain:
    """One drain's readings every `interval_hours` for `days` days from `start` (UTC).

    `spike_prob`: share of readings replaced by a high spike (+20..60 points, at most 100);
    `dropout_prob`: share of readings that read 0 (a third of them followed by a second 0);
    `gaps`: (start day, length in days) periods without readings.
    """
    season = seasonal if seasonal is not None else SeasonalFactors.flat()
    n = int(days * 24 / interval_hours) + 1
    t0 = np.datetime64(start, "s")
    times = t0 + (np.arange(n) * interval_hours * 3600).astype("timedelta64[s]")
    dt = interval_hours / 24.0
    f = season.factor_at(times)
    drift = rate * f * dt * (1 - storm_share) * np.exp(0.3 * rng.standard_normal(n) - 0.045)
    lam = storms_per_week / 7.0
    storm = rng.random(n) < lam * dt
    size = (0.3 + 2.2 * rng.random(n)) / 1.4 * storm_share * rate * f / lam
    growth = drift + np.where(storm, size, 0.0)

    true = np.empty(n)
    level = float(rng.uniform(5, 50)) if initial_fill is None else initial_fill
    i0 = 0
    cleaned: list[int] = []
    while i0 < n:
        path = level + np.concatenate([[0.0], np.cumsum(growth[i0 + 1 :])])
        true[i0:] = np.minimum(100.0, path)
        due = np.flatnonzero(true[i0:] >= clean_threshold)
        c = n
        if due.size and clean_rate_per_day_when_due > 0:
            c = i0 + int(due[0]) + int(np.ceil(rng.exponential(1.0 / clean_rate_per_day_when_due) / dt))
        if routine_cleanings_per_year > 0:
            c = min(c, i0 + 1 + int(rng.exponential(365.25 / routine_cleanings_per_year) / dt))
        if c >= n:
            break
        level = 1.0 + 5.0 * float(rng.random())
        true[c] = level
        cleaned.append(c)
        i0 = c

    fill = np.clip(true + noise * rng.standard_normal(n), 0.0, 100.0)
    spikes = rng.random(n) < spike_prob
    fill[spikes] = np.minimum(100.0, fill[spikes] + rng.uniform(20, 60, spikes.sum()))
    drops = np.flatnonzero(rng.random(n) < dropout_prob)
    fill[drops] = 0.0
    doubles = drops[(rng.random(drops.size) < 1 / 3) & (drops + 1 < n)]
    fill[doubles + 1] = 0.0

    keep = np.ones(n, dtype=bool)
    day = (times - t0).astype(np.float64) / 86_400.0
    for g0, glen in gaps:
        keep &= ~((day >= g0) & (day < g0 + glen))
    return SimDrain(times[keep], fill[keep], true[keep], times[cleaned], rate, season)
