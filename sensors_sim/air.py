"""Low-cost air-quality sensor: NO2 driven by traffic, plus temperature and humidity.

NO2 in a Dutch street is mostly traffic: a morning and an evening rush-hour peak on
weekdays, a flatter and lower curve at weekends, higher levels in winter when the air
mixes less. Low-cost electrochemical cells add noise and, now and then, a slow drift
away from the truth; radio links sometimes lose a message altogether.
"""

from __future__ import annotations

import math
from datetime import datetime

from sensors_sim.battery import Battery
from sensors_sim.emulator import CITY_TZ, EmulatorBase, RngLike, event_probability
from sensors_sim.wire import (
    BATTERY,
    HUMIDITY,
    NO2,
    TEMPERATURE,
    NativeReading,
    clamp_to_range,
    make_reading,
)

# Weekly factor on the traffic part, Monday = 0: fewer commuters on Friday, few on Sunday.
_WEEKDAY_FACTOR = (1.0, 1.0, 1.0, 1.0, 0.92, 0.62, 0.48)

_NOISE_TAU_HOURS = 0.5  # correlation time of short-lived NO2 fluctuations (a bus, a gust)
_WEATHER_TAU_HOURS = 48.0  # correlation time of temperature anomalies (weather systems)


def _bump(h: float, centre: float, width: float) -> float:
    return math.exp(-0.5 * ((h - centre) / width) ** 2)


def traffic_profile(local_hour: float, weekday: int) -> float:
    """Relative traffic intensity (about 0.1 at night, about 1 at the weekday morning peak)."""
    if weekday < 5:
        shape = (
            0.08
            + 1.0 * _bump(local_hour, 8.0, 1.1)  # morning rush
            + 0.85 * _bump(local_hour, 17.5, 1.5)  # evening rush, longer and a bit lower
            + 0.35 * _bump(local_hour, 12.5, 2.5)  # daytime deliveries and errands
        )
    else:
        # No commuter peaks at weekends: one broad afternoon hump of shopping and visits.
        shape = 0.08 + 0.55 * _bump(local_hour, 14.0, 3.5)
    return shape * _WEEKDAY_FACTOR[weekday]


def _ar1(previous: float, dt_hours: float, tau_hours: float, sd: float, innovation: float) -> float:
    """Advance an AR(1) process with stationary `sd` by `dt_hours` given a N(0,1) draw."""
    phi = math.exp(-dt_hours / tau_hours) if dt_hours > 0 else 1.0
    return phi * previous + math.sqrt(max(0.0, 1.0 - phi * phi)) * sd * innovation


class AirQualitySensor(EmulatorBase):
    """NO2 (µg/m³), temperature (°C), humidity (%) and battery (V) of one street sensor."""

    QUANTITIES = (NO2, TEMPERATURE, HUMIDITY, BATTERY)

    def __init__(
        self,
        tenant: str,
        sensor_id: str,
        rng: RngLike,
        *,
        background_no2: float = 18.0,
        traffic_no2: float = 35.0,
        noise_sd: float = 4.0,
        dropout_probability: float = 0.02,
        drift_rate_per_hour: float = 1.0 / (60 * 24),
        heat_island_c: float = 0.8,
        battery_lifetime_days: float = 400.0,
    ) -> None:
        super().__init__(tenant, sensor_id, rng)
        if not 0.0 <= dropout_probability < 1.0:
            raise ValueError("dropout_probability must be in [0, 1)")
        self.background_no2 = background_no2
        self.traffic_no2 = traffic_no2
        self.noise_sd = noise_sd
        self.dropout_probability = dropout_probability
        self.drift_rate_per_hour = drift_rate_per_hour
        self.heat_island_c = heat_island_c
        self._battery = Battery(self._rng, battery_lifetime_days)
        self._no2_noise = 0.0
        self._weather = 0.0
        # Drift state: an offset that grows while an episode lasts and stays afterwards,
        # as an uncalibrated cell's baseline does until someone recalibrates it.
        self._drift_offset = 0.0
        self._drift_speed_per_hour = 0.0
        self._drift_hours_left = 0.0

    @property
    def drift_offset(self) -> float:
        """Current accumulated sensor drift in µg/m³ (for tests and diagnostics)."""
        return self._drift_offset

    def _advance_drift(self, dt_hours: float) -> None:
        if self._drift_hours_left > 0.0:
            active = min(dt_hours, self._drift_hours_left)
            self._drift_offset += self._drift_speed_per_hour * active
            self._drift_hours_left -= active
        elif self._rng.random() < event_probability(self.drift_rate_per_hour, dt_hours):
            # A new episode: ±0.1..0.5 µg/m³ per day for 5..20 days.
            sign = 1.0 if self._rng.random() < 0.6 else -1.0  # cells drift up more often
            self._drift_speed_per_hour = sign * float(self._rng.uniform(0.1, 0.5)) / 24.0
            self._drift_hours_left = float(self._rng.uniform(5, 20)) * 24.0
        # Bound the offset: beyond this a real network would have flagged and fixed the cell.
        self._drift_offset = min(max(self._drift_offset, -10.0), 15.0)

    def _step(self, t: datetime, dt_hours: float) -> list[NativeReading]:
        local = t.astimezone(CITY_TZ)
        local_hour = local.hour + local.minute / 60.0 + local.second / 3600.0
        day_of_year = local.timetuple().tm_yday

        # Draw every random number on every tick, dropout or not, so a dropout does not
        # shift the random stream and change all later readings.
        z_no2, z_meas, z_weather, z_temp, z_hum = self._rng.standard_normal(5)
        dropped = self._rng.random() < self.dropout_probability
        self._advance_drift(dt_hours)
        battery = self._battery.step(dt_hours)

        # Less vertical mixing in winter keeps pollutants near the street.
        season_no2 = 1.0 + 0.25 * math.cos(2 * math.pi * (day_of_year - 15) / 365.25)
        true_no2 = (
            self.background_no2 + self.traffic_no2 * traffic_profile(local_hour, local.weekday())
        ) * season_no2
        self._no2_noise = _ar1(self._no2_noise, dt_hours, _NOISE_TAU_HOURS, self.noise_sd, float(z_no2))
        no2 = true_no2 + self._drift_offset + self._no2_noise + 0.5 * self.noise_sd * float(z_meas)

        season_t = 10.5 - 7.0 * math.cos(2 * math.pi * (day_of_year - 20) / 365.25)
        # Warmest mid-afternoon, coldest just before dawn.
        diurnal_t = 3.5 * math.cos(2 * math.pi * (local_hour - 15.0) / 24.0)
        self._weather = _ar1(self._weather, dt_hours, _WEATHER_TAU_HOURS, 3.0, float(z_weather))
        temperature = season_t + diurnal_t + self._weather + self.heat_island_c + 0.2 * float(z_temp)

        # Relative humidity falls as the air warms during the day; winters are damper.
        season_h = 80.0 + 6.0 * math.cos(2 * math.pi * (day_of_year - 15) / 365.25)
        humidity = season_h - 3.0 * (diurnal_t + self._weather) + 2.0 * float(z_hum)

        if dropped:
            return []
        return [
            make_reading(t, NO2, clamp_to_range(NO2, no2)),
            make_reading(t, TEMPERATURE, clamp_to_range(TEMPERATURE, temperature)),
            make_reading(t, HUMIDITY, clamp_to_range(HUMIDITY, humidity)),
            make_reading(t, BATTERY, battery),
        ]
