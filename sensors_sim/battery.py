"""Battery voltage of a battery-powered field device.

Every emulated device reports its battery so that the warehouse's "sensor going flat"
handling has something realistic to look at: a slow decline over months, a knee near
empty, and a jump back up when the maintenance crew swaps the battery.
"""

from __future__ import annotations

import numpy as np

from sensors_sim.wire import BATTERY, clamp_to_range

_V_EMPTY = 3.0
_V_FULL = 4.15
_REPLACE_AT = 0.05  # charge fraction at which the crew has swapped the battery


class Battery:
    """State of charge that drains with time and is replaced when nearly empty."""

    def __init__(self, rng: np.random.Generator, lifetime_days: float) -> None:
        if lifetime_days <= 0:
            raise ValueError("lifetime_days must be positive")
        self._rng = rng
        self._lifetime_days = lifetime_days
        # Devices in a fleet were not all installed on the same day.
        self._charge = float(rng.uniform(0.3, 1.0))

    @property
    def charge(self) -> float:
        """State of charge, 0..1."""
        return self._charge

    def step(self, dt_hours: float) -> float:
        """Drain for `dt_hours` and return the measured voltage in V."""
        self._charge -= dt_hours / 24.0 / self._lifetime_days
        if self._charge <= _REPLACE_AT:
            self._charge = 1.0
        # Concave curve: nearly flat for most of the life, dropping fast near empty,
        # like the lithium cells these devices use.
        voltage = _V_EMPTY + (_V_FULL - _V_EMPTY) * self._charge**0.35
        voltage += float(self._rng.normal(0.0, 0.005))  # ADC noise
        return clamp_to_range(BATTERY, voltage)
