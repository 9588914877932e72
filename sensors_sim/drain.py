"""Street-drain ("kolk") fill sensor: how full the sump under the grate is.

A drain's sump slowly fills with sand, litter and leaves. Drains under trees fill much
faster, above all during leaf fall (October-November, with September and December
in between), and a rain shower washes a burst of dirt in at once. When the
public-works crew cleans a drain the level drops back to a few percent; that happens
some days after it crosses the "due" threshold, or on a routine round at any time.
"""

from __future__ import annotations

import math
from datetime import datetime

from sensors_sim.battery import Battery
from sensors_sim.emulator import CITY_TZ, EmulatorBase, RngLike, event_probability
from sensors_sim.wire import (
    BATTERY,
    FILL_LEVEL,
    SLUDGE_DEPTH,
    NativeReading,
    clamp_to_range,
    make_reading,
)

# How much a tree's litter counts, by calendar month (1-12). Outside the leaf-fall
# season trees still drop blossom, seeds and twigs, hence not zero.
_LEAF_FACTOR: dict[int, float] = {9: 1.8, 10: 4.0, 11: 4.0, 12: 1.8}
_LEAF_FACTOR_OTHER = 0.5


def leaf_factor(month: int) -> float:
    """Relative amount of tree litter reaching drains in `month` (1-12)."""
    return _LEAF_FACTOR.get(month, _LEAF_FACTOR_OTHER)


class DrainSensor(EmulatorBase):
    """Fill level (%), sludge depth (mm) and battery (V) of one street drain."""

    QUANTITIES = (FILL_LEVEL, SLUDGE_DEPTH, BATTERY)

    def __init__(
        self,
        tenant: str,
        sensor_id: str,
        rng: RngLike,
        *,
        tree_factor: float = 0.0,
        sump_depth_mm: float = 450.0,
        base_fill_per_day: float = 0.25,
        clean_threshold: float = 75.0,
        clean_rate_per_day_when_due: float = 0.25,
        routine_cleanings_per_year: float = 1.0,
        storms_per_week: float = 1.0,
        initial_fill: float | None = None,
        battery_lifetime_days: float = 900.0,
    ) -> None:
        super().__init__(tenant, sensor_id, rng)
        if tree_factor < 0:
            raise ValueError("tree_factor must be >= 0 (0 = no trees nearby)")
        if not 0 < sump_depth_mm <= 2000:
            raise ValueError("sump_depth_mm must be in (0, 2000]")
        self.tree_factor = tree_factor
        self.sump_depth_mm = sump_depth_mm
        self.base_fill_per_day = base_fill_per_day
        self.clean_threshold = clean_threshold
        self.clean_rate_per_day_when_due = clean_rate_per_day_when_due
        self.routine_cleanings_per_year = routine_cleanings_per_year
        self.storms_per_week = storms_per_week
        self._fill = float(self._rng.uniform(5.0, 50.0)) if initial_fill is None else float(initial_fill)
        self._battery = Battery(self._rng, battery_lifetime_days)
        self.cleanings = 0
        self.last_cleaned: datetime | None = None

    @property
    def true_fill(self) -> float:
        """The simulated truth, before measurement noise (%)."""
        return self._fill

    def fill_rate_per_day(self, month: int) -> float:
        """Expected fill rate in %/day in `month`, storms not counted."""
        return self.base_fill_per_day * (1.0 + self.tree_factor * leaf_factor(month))

    def _step(self, t: datetime, dt_hours: float) -> list[NativeReading]:
        month = t.astimezone(CITY_TZ).month
        # Fixed number of draws per tick keeps the stream aligned whatever happens.
        z_rate, z_meas = self._rng.standard_normal(2)
        u_storm, u_due, u_routine, u_size, u_reset = self._rng.random(5)

        # Day-to-day variation in what blows in; the log-normal keeps it positive.
        growth = self.fill_rate_per_day(month) * dt_hours / 24.0 * math.exp(0.3 * float(z_rate) - 0.045)
        if u_storm < event_probability(self.storms_per_week / (7 * 24), dt_hours):
            # A shower flushes gutter dirt in at once; more of it where trees shed.
            growth += (0.3 + 2.2 * float(u_size)) * (1.0 + 0.5 * self.tree_factor * leaf_factor(month))
        self._fill = min(100.0, self._fill + growth)

        due = self._fill >= self.clean_threshold
        p_due = event_probability(self.clean_rate_per_day_when_due / 24.0, dt_hours)
        p_routine = event_probability(self.routine_cleanings_per_year / (365.25 * 24), dt_hours)
        cleaned = (due and u_due < p_due) or u_routine < p_routine
        if cleaned:
            # Suction never empties a sump completely.
            self._fill = 1.0 + 5.0 * float(u_reset)
            self.cleanings += 1
            self.last_cleaned = t

        battery = self._battery.step(dt_hours)
        # Ultrasonic distance measurement: about 0.7 % of the sump depth of noise.
        fill = clamp_to_range(FILL_LEVEL, self._fill + 0.7 * float(z_meas))
        sludge = clamp_to_range(SLUDGE_DEPTH, fill * self.sump_depth_mm / 100.0)
        return [
            make_reading(t, FILL_LEVEL, fill),
            make_reading(t, SLUDGE_DEPTH, sludge),
            make_reading(t, BATTERY, battery),
        ]
