"""Publishing a fleet's readings in one wire format at a steady tick.

Each tick, every emulator is asked for its readings at the simulated time and each
non-empty answer is encoded in the chosen format (`sensors_sim.formats`) into one or
more messages. MQTT messages go out at QoS 1 and delivery is tracked by PUBACK: the run
applies back-pressure when too many messages are unacknowledged, and at shutdown it
waits for the rest, reporting any it could not get acknowledged instead of dropping
them silently. HTTP messages (Sensor.Community pushes) are POSTed one by one and count
as delivered only on a 2xx answer (`sensors_sim.delivery`).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sensors_sim.delivery import Outlet
from sensors_sim.emulator import Emulator
from sensors_sim.params import SimulationParams

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class PublishStats:
    """What a simulation run has done so far, in numbers."""

    ticks: int = 0
    messages: int = 0  # handed to the MQTT client or POSTed (native: one per emulator per tick)
    readings: int = 0  # readings inside those messages
    dropouts: int = 0  # emulator ticks that produced no readings (simulated lost messages)
    skipped_ticks: int = 0  # ticks not run because publishing fell behind the clock
    # MQTT messages without PUBACK yet (at the end: never acknowledged), plus HTTP POSTs
    # that got no 2xx answer.
    unacknowledged: int = 0
    rejected: int = 0  # messages the broker refused (MQTT 5 PUBACK reason code >= 0x80)
    sim_time: datetime | None = None  # simulated time of the latest tick
    unencoded: int = 0  # readings the format cannot carry (e.g. battery in Sensor.Community)


@dataclass(slots=True)
class _Tally:
    """The counts of a run in progress (see PublishStats)."""

    ticks: int = 0
    messages: int = 0
    readings: int = 0
    dropouts: int = 0
    skipped_ticks: int = 0
    unencoded: int = 0
    sim_time: datetime | None = None


class _TickClock:
    """Tick k is due at wall-clock offset ``k * interval_s`` from the start of the run."""

    def __init__(self, interval_s: float) -> None:
        self._interval_s = interval_s
        self._t0 = time.monotonic()
        self.k = 0

    @property
    def offset_s(self) -> float:
        return self.k * self._interval_s

    def advance(self) -> int:
        """Move on to the next tick due; returns how many ticks were skipped on the way."""
        self.k += 1
        lag = time.monotonic() - (self._t0 + self.k * self._interval_s)
        if lag <= self._interval_s:
            return 0
        # Too far behind to catch up: skip ticks rather than burst them out, so
        # simulated time keeps following the wall clock.
        missed = int(lag // self._interval_s)
        self.k += missed
        return missed

    def wait(self, stop: threading.Event) -> None:
        """Sleep until the current tick is due, or until `stop` is set."""
        stop.wait(max(0.0, self._t0 + self.k * self._interval_s - time.monotonic()))


def run_simulation(
    fleet: Sequence[Emulator],
    params: SimulationParams,
    *,
    stop_event: threading.Event | None = None,
    on_published: Callable[[PublishStats], None] | None = None,
) -> PublishStats:
    """Publish `fleet`'s readings every `params.interval_s` seconds until stopped.

    The run ends after `params.duration_s` or when `stop_event` is set; `on_published` gets
    the cumulative `PublishStats` after every tick. Returns the final stats once every
    message is acknowledged or `params.drain_timeout_s` has passed.

    Raises SimulatorConnectionError if the broker or HTTP receiver cannot be reached or
    refuses us.
    """
    run = _Run(fleet, params, stop_event if stop_event is not None else threading.Event(), on_published)
    try:
        run.publish_ticks()
    finally:
        unacknowledged = run.outlet.close()
    return run.stats(unacknowledged)


class _Run:
    """One simulation run: the fleet, where its messages go, and what has been sent so far.

    Creating it connects to the broker (MQTT formats); the caller closes `outlet` at the end.
    """

    def __init__(
        self,
        fleet: Sequence[Emulator],
        params: SimulationParams,
        stop: threading.Event,
        on_published: Callable[[PublishStats], None] | None,
    ) -> None:
        self._fleet = fleet
        self._params = params
        self._stop = stop
        self._on_published = on_published
        self._start_time = params.start_time if params.start_time is not None else datetime.now(UTC)
        self._encoder = params.encoder()
        self._tally = _Tally()
        self.outlet = Outlet(params, self._encoder)

    def stats(self, unacknowledged_mqtt: int) -> PublishStats:
        tally = self._tally
        return PublishStats(
            ticks=tally.ticks,
            messages=tally.messages,
            readings=tally.readings,
            dropouts=tally.dropouts,
            skipped_ticks=tally.skipped_ticks,
            unacknowledged=unacknowledged_mqtt + self.outlet.failed_posts,
            rejected=self.outlet.tracker.rejected,
            sim_time=tally.sim_time,
            unencoded=tally.unencoded,
        )

    def publish_ticks(self) -> None:
        """Run the ticks in time until the duration is over or the run is stopped."""
        params, tally = self._params, self._tally
        clock = _TickClock(params.interval_s)
        while not self._stop.is_set():
            if params.duration_s is not None and clock.offset_s >= params.duration_s:
                break
            sim_time = self._start_time + timedelta(seconds=clock.offset_s * params.speedup)
            tally.sim_time = sim_time
            self._publish_tick(sim_time)
            tally.ticks += 1
            if self._on_published is not None:
                self._on_published(self.stats(self.outlet.tracker.pending))
            self._wait_for_acknowledgements()
            tally.skipped_ticks += clock.advance()
            clock.wait(self._stop)

    def _publish_tick(self, sim_time: datetime) -> None:
        """Send every emulator's readings at `sim_time`; one without readings is a dropout."""
        tally = self._tally
        for emulator in self._fleet:
            readings = emulator.readings_at(sim_time)
            if not readings:
                tally.dropouts += 1
                continue
            carried = 0
            for message in self._encoder.encode(emulator.tenant, emulator.sensor_id, readings):
                self.outlet.send(message)
                tally.messages += 1
                carried += message.readings
            tally.readings += carried
            tally.unencoded += len(readings) - carried

    def _wait_for_acknowledgements(self) -> None:
        """Back-pressure: if the broker falls behind, wait rather than queue without bound."""
        tracker = self.outlet.tracker
        while not tracker.wait_below(self._params.max_pending, 1.0):
            if self._stop.is_set():
                break
            log.warning("%d messages awaiting acknowledgement; pausing", tracker.pending)
