"""Publishing a fleet's readings in one wire format at a steady tick.

Each tick, every emulator is asked for its readings at the simulated time and each
non-empty answer is encoded in the chosen format (`sensors_sim.formats`) into one or
more messages. MQTT messages go out at QoS 1 and delivery is tracked by PUBACK: the run
applies back-pressure when too many messages are unacknowledged, and at shutdown it
waits for the rest, reporting any it could not get acknowledged instead of dropping
them silently. HTTP messages (Sensor.Community pushes) are POSTed one by one and count
as delivered only on a 2xx answer.
"""

from __future__ import annotations

import logging
import os
import secrets
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from sensors_sim.emulator import Emulator
from sensors_sim.formats import Encoder, WireMessage, new_encoder

log = logging.getLogger(__name__)

MqttProtocol = Literal["3.1.1", "5"]


class SimulatorConnectionError(RuntimeError):
    """The simulator could not connect to (or was refused by) the MQTT broker or HTTP receiver."""


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


class _DeliveryTracker:
    """Message ids awaiting PUBACK.

    Tracked through on_publish rather than MQTTMessageInfo, because a message published
    while the connection is briefly down is queued and resent by paho, yet its info
    object already reports it as failed.
    """

    def __init__(self, *, tracking: bool) -> None:
        # QoS 0 has no PUBACK; paho still calls on_publish once written, which we ignore.
        self._tracking = tracking
        self._cond = threading.Condition()
        self._pending: set[int] = set()
        # paho may deliver the PUBACK before publish() has returned the mid to us.
        self._early: set[int] = set()
        self.rejected = 0

    def sent(self, mid: int) -> None:
        with self._cond:
            if mid in self._early:
                self._early.discard(mid)
            else:
                self._pending.add(mid)

    def acked(self, mid: int, failed: bool) -> None:
        if not self._tracking:
            return
        with self._cond:
            if failed:
                self.rejected += 1
            if mid in self._pending:
                self._pending.discard(mid)
            else:
                self._early.add(mid)
            self._cond.notify_all()

    @property
    def pending(self) -> int:
        with self._cond:
            return len(self._pending)

    def wait_below(self, limit: int, timeout_s: float) -> bool:
        """Wait until fewer than `limit` messages are pending; False on timeout."""
        with self._cond:
            return self._cond.wait_for(lambda: len(self._pending) < limit, timeout=timeout_s)


def _make_client(client_id: str, protocol: MqttProtocol) -> mqtt.Client:
    if protocol == "5":
        return mqtt.Client(
            callback_api_version=CallbackAPIVersion.VERSION2,
            client_id=client_id,
            protocol=mqtt.MQTTv5,
        )
    if protocol == "3.1.1":
        return mqtt.Client(
            callback_api_version=CallbackAPIVersion.VERSION2,
            client_id=client_id,
            protocol=mqtt.MQTTv311,
            clean_session=True,
        )
    raise ValueError(f"unsupported MQTT protocol {protocol!r}; use '3.1.1' or '5'")


def _connect(client: mqtt.Client, host: str, port: int, timeout_s: float, tracker: _DeliveryTracker) -> None:
    """Connect, start the network thread and wait for a successful CONNACK."""
    connected = threading.Event()
    refusal: list[str] = []

    def on_connect(
        _c: mqtt.Client,
        _u: Any,
        _flags: mqtt.ConnectFlags,
        reason: ReasonCode,
        _p: Properties | None,
    ) -> None:
        if reason.is_failure:
            refusal.append(str(reason))
        else:
            log.info("connected to MQTT broker %s:%d", host, port)
        connected.set()

    def on_disconnect(
        _c: mqtt.Client,
        _u: Any,
        _f: mqtt.DisconnectFlags,
        reason: ReasonCode,
        _p: Properties | None,
    ) -> None:
        if reason.is_failure:
            # paho reconnects by itself and resends unacknowledged QoS 1 messages.
            log.warning("connection to %s:%d lost (%s); reconnecting", host, port, reason)

    def on_publish(_c: mqtt.Client, _u: Any, mid: int, reason: ReasonCode, _p: Properties | None) -> None:
        tracker.acked(mid, failed=reason.is_failure)

    client.on_connect = on_connect
    client.on_disconnect = on_disconnect
    client.on_publish = on_publish
    hint = "start a broker there (`pakhuis run` embeds one) or point the simulator at the right host and port"
    try:
        client.connect(host, port, keepalive=30)
    except OSError as exc:
        raise SimulatorConnectionError(f"cannot reach MQTT broker at {host}:{port} ({exc}); {hint}") from exc
    client.loop_start()
    if not connected.wait(timeout_s):
        client.loop_stop()
        raise SimulatorConnectionError(
            f"MQTT broker at {host}:{port} did not answer CONNECT within {timeout_s:g} s; "
            f"check that it is an MQTT broker and reachable, or {hint}"
        )
    if refusal:
        client.loop_stop()
        raise SimulatorConnectionError(
            f"MQTT broker at {host}:{port} refused the connection ({refusal[0]}); "
            "check the username/password and the broker's ACLs for pakhuis/v1/#"
        )


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """A redirect is not a 2xx: report it instead of silently re-sending as GET."""

    def redirect_request(self, *_args: Any, **_kwargs: Any) -> None:
        return None


class _HttpPoster:
    """POSTs HTTP wire messages to one receiver and counts the ones that failed."""

    def __init__(self, base_url: str, timeout_s: float) -> None:
        if not base_url.startswith(("http://", "https://")):
            raise ValueError(f"http_base {base_url!r} must be an http:// or https:// URL")
        self.base_url = base_url.rstrip("/")
        self._timeout_s = timeout_s
        self._opener = urllib.request.build_opener(_NoRedirect())
        self.delivered = 0
        self.failed = 0
        self._reported: set[str] = set()

    def post(self, message: WireMessage) -> None:
        url = self.base_url + message.topic_or_path
        request = urllib.request.Request(url, data=message.payload, headers=message.headers, method="POST")
        try:
            with self._opener.open(request, timeout=self._timeout_s) as response:
                response.read()
                status = int(response.status)
        except urllib.error.HTTPError as exc:  # an answer, but not a 2xx
            status = exc.code
            exc.close()
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            if self.delivered == 0 and self.failed == 0:
                # Nothing ever got through: a wrong URL or no server, not a hiccup.
                raise SimulatorConnectionError(
                    f"cannot reach HTTP receiver at {self.base_url} ({reason}); start the API there "
                    "(`pakhuis run` or `pakhuis api`) or point the simulator at the right URL"
                ) from exc
            self._fail(f"{url}: {reason}")
            return
        if 200 <= status < 300:
            self.delivered += 1
        else:
            self._fail(f"{url} answered HTTP {status}")

    def _fail(self, what: str) -> None:
        self.failed += 1
        # Once per kind of failure: a server refusing every push must not flood the log.
        if what not in self._reported:
            self._reported.add(what)
            log.warning("POST failed: %s (further identical failures are only counted)", what)


def run_simulation(
    host: str,
    port: int,
    fleet: Sequence[Emulator],
    interval_s: float = 1.0,
    duration_s: float | None = None,
    stop_event: threading.Event | None = None,
    on_published: Callable[[PublishStats], None] | None = None,
    start_time: datetime | None = None,
    speedup: float = 1.0,
    *,
    protocol: MqttProtocol = "3.1.1",
    client_id: str | None = None,
    username: str | None = None,
    password: str | None = None,
    qos: Literal[0, 1, 2] = 1,
    max_inflight: int = 100,
    max_pending: int = 10_000,
    connect_timeout_s: float = 10.0,
    drain_timeout_s: float = 10.0,
    fmt: str | Encoder = "native",
    http_base: str | None = None,
    http_timeout_s: float = 10.0,
) -> PublishStats:
    """Publish `fleet`'s readings every `interval_s` seconds until stopped.

    Tick k runs at wall-clock offset ``k * interval_s`` and reads the emulators at
    simulated time ``start_time + k * interval_s * speedup`` (start_time defaults to now,
    UTC), so a run's payloads are reproducible given the fleet seed and start_time.
    The run ends after `duration_s` (None: no limit) or when `stop_event` is set;
    `on_published` gets the cumulative `PublishStats` after every tick. Returns the final
    stats once every message is acknowledged or `drain_timeout_s` has passed.

    `fmt` is the wire format (a name in `sensors_sim.formats.FORMATS`, or an encoder
    such as ``StaEncoder(interval=True)``). Formats sent over MQTT use the broker at
    `host`:`port`; formats sent over HTTP (``sensorcommunity``) POST to `http_base` +
    path and need no broker.

    Raises SimulatorConnectionError if the broker or HTTP receiver cannot be reached or
    refuses us.
    """
    if interval_s <= 0:
        raise ValueError("interval_s must be positive")
    if speedup <= 0:
        raise ValueError("speedup must be positive")
    if start_time is None:
        start_time = datetime.now(UTC)
    elif start_time.tzinfo is None or start_time.utcoffset() is None:
        raise ValueError("start_time must be timezone-aware (UTC)")
    encoder = new_encoder(fmt) if isinstance(fmt, str) else fmt
    poster: _HttpPoster | None = None
    if encoder.kind == "http":
        if http_base is None:
            raise ValueError(f"format {encoder.name!r} is sent over HTTP: pass http_base, the receiver's URL")
        poster = _HttpPoster(http_base, http_timeout_s)
    stop = stop_event if stop_event is not None else threading.Event()

    tracker = _DeliveryTracker(tracking=qos > 0)
    client: mqtt.Client | None = None
    if encoder.kind == "mqtt":
        # Unique per process so two simulators never kick each other off the broker.
        cid = client_id or f"pakhuis-sim-{os.getpid()}-{secrets.token_hex(3)}"
        client = _make_client(cid, protocol)
        if username is not None:
            client.username_pw_set(username, password)
        # Bounded in flight on the wire; paho queues the rest in order until PUBACKs arrive.
        client.max_inflight_messages_set(max_inflight)
        _connect(client, host, port, connect_timeout_s, tracker)

    ticks = messages = readings_total = dropouts = skipped = unencoded = 0
    sim_time: datetime | None = None

    def _stats(unacknowledged: int) -> PublishStats:
        return PublishStats(
            ticks=ticks,
            messages=messages,
            readings=readings_total,
            dropouts=dropouts,
            skipped_ticks=skipped,
            unacknowledged=unacknowledged + (poster.failed if poster is not None else 0),
            rejected=tracker.rejected,
            sim_time=sim_time,
            unencoded=unencoded,
        )

    def _send(message: WireMessage) -> None:
        if message.kind == "http":
            if poster is None:
                raise RuntimeError(f"{encoder.name} produced an HTTP message but no http_base was given")
            poster.post(message)
            return
        if client is None:
            raise RuntimeError(f"{encoder.name} produced an MQTT message but is not an MQTT format")
        info = client.publish(message.topic_or_path, message.payload, qos=qos)
        if info.rc == mqtt.MQTT_ERR_QUEUE_SIZE:
            raise RuntimeError("paho refused to queue a message (queue full)")
        if qos > 0:
            tracker.sent(info.mid)

    t0 = time.monotonic()
    k = 0
    try:
        while not stop.is_set():
            offset_s = k * interval_s
            if duration_s is not None and offset_s >= duration_s:
                break
            sim_time = start_time + timedelta(seconds=offset_s * speedup)
            for emulator in fleet:
                readings = emulator.readings_at(sim_time)
                if not readings:
                    dropouts += 1
                    continue
                carried = 0
                for message in encoder.encode(emulator.tenant, emulator.sensor_id, readings):
                    _send(message)
                    messages += 1
                    carried += message.readings
                readings_total += carried
                unencoded += len(readings) - carried
            ticks += 1
            if on_published is not None:
                on_published(_stats(tracker.pending))
            # Back-pressure: if the broker falls behind, wait rather than queue without bound.
            while not tracker.wait_below(max_pending, 1.0):
                if stop.is_set():
                    break
                log.warning("%d messages awaiting acknowledgement; pausing", tracker.pending)
            k += 1
            lag = time.monotonic() - (t0 + k * interval_s)
            if lag > interval_s:
                # Too far behind to catch up: skip ticks rather than burst them out, so
                # simulated time keeps following the wall clock.
                missed = int(lag // interval_s)
                skipped += missed
                k += missed
            stop.wait(max(0.0, t0 + k * interval_s - time.monotonic()))
    finally:
        unacked = 0
        if client is not None:
            # Let paho deliver what is queued before we hang up; anything left is reported.
            if not tracker.wait_below(1, drain_timeout_s):
                log.warning("%d messages not acknowledged by %s:%d at shutdown", tracker.pending, host, port)
            unacked = tracker.pending
            client.disconnect()
            client.loop_stop()
    return _stats(unacked)
