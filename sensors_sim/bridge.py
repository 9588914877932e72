"""Movable bridge sensor: state, deck angle and vessels passing during an opening.

A bascule bridge is closed most of the time. When boats wait it opens (the deck swings
up over about a minute), stays open while the vessels pass, closes again and is closed
for a while. Openings are rarer at night, and on weekdays the bridge does not open in the
rush-hour lock-out windows, as Dutch city bridges commonly do. Rarely the bridge sticks
open for far longer than usual, which the warehouse should raise as an alert.
"""

from __future__ import annotations

import math
from datetime import datetime, time, timedelta

from sensors_sim.emulator import CITY_TZ, EmulatorBase, RngLike
from sensors_sim.wire import (
    BRIDGE_STATE,
    DECK_ANGLE,
    VESSEL_PASSAGE,
    BridgeState,
    NativeReading,
    clamp_to_range,
    make_reading,
)

#: Weekday local-time windows in which no opening starts (road traffic has priority).
LOCKOUT_WINDOWS: tuple[tuple[time, time], ...] = (
    (time(7, 0), time(9, 0)),
    (time(16, 0), time(18, 0)),
)


def lockout_end(t: datetime) -> datetime | None:
    """End (UTC-aware) of the lock-out window `t` falls in, or None if openings may start."""
    local = t.astimezone(CITY_TZ)
    if local.weekday() >= 5:
        return None
    for start, end in LOCKOUT_WINDOWS:
        if start <= local.time() < end:
            return datetime.combine(local.date(), end, tzinfo=CITY_TZ).astimezone(t.tzinfo)
    return None


class BridgeSensor(EmulatorBase):
    """bridge_state (0-3), deck_angle (deg) and vessel_passage (count) of one bridge.

    No battery: bridge sensors hang off the bridge's own mains-powered control cabinet.
    """

    QUANTITIES = (BRIDGE_STATE, DECK_ANGLE, VESSEL_PASSAGE)

    def __init__(
        self,
        tenant: str,
        sensor_id: str,
        rng: RngLike,
        *,
        open_angle_deg: float | None = None,
        mean_closed_minutes: float = 40.0,
        min_closed_minutes: float = 8.0,
        mean_vessels_per_opening: float = 2.5,
        stuck_probability: float = 0.01,
        rush_hour_lockout: bool = True,
    ) -> None:
        super().__init__(tenant, sensor_id, rng)
        if mean_closed_minutes <= 0 or min_closed_minutes < 0:
            raise ValueError("closed durations must be positive")
        if mean_vessels_per_opening < 1:
            raise ValueError("mean_vessels_per_opening must be >= 1 (a bridge opens for a vessel)")
        self.open_angle_deg = (
            float(self._rng.uniform(70.0, 80.0)) if open_angle_deg is None else open_angle_deg
        )
        if not 0 < self.open_angle_deg <= 90:
            raise ValueError("open_angle_deg must be in (0, 90]")
        self.mean_closed_minutes = mean_closed_minutes
        self.min_closed_minutes = min_closed_minutes
        self.mean_vessels_per_opening = mean_vessels_per_opening
        self.stuck_probability = stuck_probability
        self.rush_hour_lockout = rush_hour_lockout
        self._state = BridgeState.CLOSED
        self._phase_start: datetime | None = None
        self._phase_end: datetime | None = None
        self._passages: list[datetime] = []
        self.openings = 0

    @property
    def state(self) -> BridgeState:
        """State after the most recent `readings_at` call."""
        return self._state

    def _closed_until(self, start: datetime) -> datetime:
        local_hour = start.astimezone(CITY_TZ).hour
        # Hardly any recreational boats at night, so openings are further apart.
        mean = self.mean_closed_minutes * (3.0 if local_hour >= 23 or local_hour < 6 else 1.0)
        end = start + timedelta(minutes=self.min_closed_minutes + float(self._rng.exponential(mean)))
        if self.rush_hour_lockout:
            blocked_until = lockout_end(end)
            if blocked_until is not None:
                # Boats queue during the lock-out; the first opening comes right after it.
                end = blocked_until + timedelta(minutes=float(self._rng.uniform(0.0, 10.0)))
        return end

    def _enter(self, state: BridgeState, start: datetime) -> None:
        """Switch to `state` at `start` and draw how long that phase lasts."""
        self._state = state
        self._phase_start = start
        if state is BridgeState.CLOSED:
            self._phase_end = self._closed_until(start)
            self._passages = []
        elif state is BridgeState.OPENING:
            self.openings += 1
            self._phase_end = start + timedelta(seconds=float(self._rng.uniform(55.0, 80.0)))
        elif state is BridgeState.OPEN:
            minutes = float(self._rng.uniform(3.0, 10.0))
            if self._rng.random() < self.stuck_probability:
                minutes += float(self._rng.uniform(45.0, 120.0))
            self._phase_end = start + timedelta(minutes=minutes)
            # At least one vessel: the bridge opened because one was waiting.
            n = 1 + int(self._rng.poisson(self.mean_vessels_per_opening - 1.0))
            # Vessels pass while the deck is fully up, keeping clear of the phase edges.
            span = (self._phase_end - start).total_seconds()
            offsets = sorted(float(x) for x in self._rng.uniform(0.1 * span, 0.9 * span, size=n))
            self._passages = [start + timedelta(seconds=s) for s in offsets]
        else:
            self._phase_end = start + timedelta(seconds=float(self._rng.uniform(55.0, 80.0)))

    def _advance_to(self, t: datetime) -> None:
        if self._phase_end is None:
            # First reading: somewhere in a closed period, as a device switched on at random.
            self._enter(BridgeState.CLOSED, t)
            return
        # A long gap between readings may span several whole cycles; replay them all so
        # the state at `t` does not depend on how often we were asked.
        while t >= self._phase_end:
            next_state = BridgeState((self._state + 1) % 4)
            self._enter(next_state, self._phase_end)

    def _deck_angle(self, t: datetime) -> float:
        if self._state is BridgeState.CLOSED:
            return 0.0
        if self._state is BridgeState.OPEN:
            return self.open_angle_deg
        assert self._phase_start is not None and self._phase_end is not None
        total = (self._phase_end - self._phase_start).total_seconds()
        frac = min(1.0, max(0.0, (t - self._phase_start).total_seconds() / total))
        # Drives accelerate and brake, so the angle follows an S-curve, not a line.
        rising = 0.5 * (1.0 - math.cos(math.pi * frac))
        return self.open_angle_deg * (rising if self._state is BridgeState.OPENING else 1.0 - rising)

    def _vessels(self, t: datetime) -> int:
        if self._state in (BridgeState.CLOSED, BridgeState.OPENING):
            return 0
        return sum(1 for p in self._passages if p <= t)

    def _step(self, t: datetime, dt_hours: float) -> list[NativeReading]:
        self._advance_to(t)
        z_angle = float(self._rng.standard_normal())
        # Inclinometer noise of a tenth of a degree.
        angle = clamp_to_range(DECK_ANGLE, self._deck_angle(t) + 0.1 * z_angle)
        return [
            make_reading(t, BRIDGE_STATE, float(self._state)),
            make_reading(t, DECK_ANGLE, angle),
            make_reading(t, VESSEL_PASSAGE, float(self._vessels(t))),
        ]
