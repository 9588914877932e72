"""What every device emulator is, and the bookkeeping they share.

An emulator is stateful (a drain fills up, a bridge is mid-cycle) but deterministic:
its output depends only on its random seed and the sequence of times it is asked
about. To keep that true, every emulator draws from one private numpy Generator, and
advances its state by the time elapsed since the previous call, never by wall-clock time.
"""

from __future__ import annotations

import math
import random
from abc import ABC, abstractmethod
from datetime import UTC, datetime, tzinfo
from typing import ClassVar, Final, Protocol, runtime_checkable
from zoneinfo import ZoneInfo

import numpy as np

from sensors_sim.wire import NativeReading, native_topic

#: Local time drives human patterns (rush hours, bridge lock-out windows); readings stay UTC.
CITY_TZ: Final[tzinfo] = ZoneInfo("Europe/Amsterdam")

RngLike = np.random.Generator | random.Random | int


@runtime_checkable
class Emulator(Protocol):
    """A simulated device: who it is, where it publishes, what it reads at a time."""

    @property
    def tenant(self) -> str: ...

    @property
    def sensor_id(self) -> str: ...

    @property
    def topic(self) -> str: ...

    def readings_at(self, t: datetime) -> list[NativeReading]:
        """Readings for time `t` (aware); an empty list means the device sent nothing."""
        ...


def as_generator(rng: RngLike) -> np.random.Generator:
    """One numpy Generator from whichever seeded source the caller has."""
    if isinstance(rng, np.random.Generator):
        return rng
    if isinstance(rng, random.Random):
        # Take entropy from the caller's Random once, so the emulator is still fully
        # determined by that Random's seed but never interleaves draws with other users.
        return np.random.default_rng(rng.getrandbits(128))
    if isinstance(rng, int) and not isinstance(rng, bool):
        return np.random.default_rng(rng)
    raise TypeError(f"rng must be a numpy Generator, random.Random or int seed, not {type(rng).__name__}")


def event_probability(rate_per_hour: float, dt_hours: float) -> float:
    """Chance that a Poisson event of the given rate happens within `dt_hours`.

    Emulators use this instead of a fixed per-tick probability so that behaviour per
    simulated hour does not depend on the tick interval the publisher happens to use.
    """
    if rate_per_hour <= 0.0 or dt_hours <= 0.0:
        return 0.0
    return 1.0 - math.exp(-rate_per_hour * dt_hours)


class EmulatorBase(ABC):
    """Identity, topic, time ordering and the private random stream of an emulator."""

    #: The quantities every non-empty answer of `readings_at` holds, in that order.
    QUANTITIES: ClassVar[tuple[str, ...]] = ()

    def __init__(self, tenant: str, sensor_id: str, rng: RngLike) -> None:
        self._tenant = tenant
        self._sensor_id = sensor_id
        self._topic = native_topic(tenant, sensor_id)  # validates the ids early
        self._rng = as_generator(rng)
        self._last_t: datetime | None = None

    @property
    def tenant(self) -> str:
        return self._tenant

    @property
    def sensor_id(self) -> str:
        return self._sensor_id

    @property
    def topic(self) -> str:
        return self._topic

    @property
    def quantities(self) -> tuple[str, ...]:
        """What this device measures (e.g. to register SensorThings Datastreams up front)."""
        return self.QUANTITIES

    def readings_at(self, t: datetime) -> list[NativeReading]:
        """Advance to `t` and return the readings sent at that time."""
        if t.tzinfo is None or t.utcoffset() is None:
            raise ValueError(f"time {t!r} has no timezone; pass an aware UTC datetime")
        t = t.astimezone(UTC)
        # Going back in time would need the state we have already overwritten.
        if self._last_t is not None and t < self._last_t:
            raise ValueError(
                f"{self._sensor_id}: time went backwards ({t.isoformat()} < {self._last_t.isoformat()})"
            )
        dt_hours = 0.0 if self._last_t is None else (t - self._last_t).total_seconds() / 3600.0
        self._last_t = t
        return self._step(t, dt_hours)

    @abstractmethod
    def _step(self, t: datetime, dt_hours: float) -> list[NativeReading]:
        """Evolve the state by `dt_hours` (0 on the first call) and read it at UTC `t`."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}(tenant={self._tenant!r}, sensor_id={self._sensor_id!r})"
