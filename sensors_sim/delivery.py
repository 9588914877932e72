"""Getting a simulation's wire messages to their receiver, and knowing that they arrived.

An `Outlet` sends each message the way its format travels. MQTT messages go out through paho
at the run's QoS; a `DeliveryTracker` follows their PUBACKs, so the run can apply back-pressure
and report at shutdown what was never acknowledged. HTTP messages (Sensor.Community pushes) are
POSTed one by one by an `HttpPoster`, which counts a message as delivered only on a 2xx answer.
"""

from __future__ import annotations

import logging
import os
import secrets
import threading
import urllib.error
import urllib.request
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from sensors_sim.formats import Encoder, WireMessage
from sensors_sim.params import MqttProtocol, SimulationParams

log = logging.getLogger(__name__)

class SimulatorConnectionError(RuntimeError):
    """The simulator could not connect to (or was refused by) the MQTT broker or HTTP receiver."""


class DeliveryTracker:
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


def connect_mqtt(params: SimulationParams, tracker: DeliveryTracker) -> mqtt.Client:
    """A client connected to the run's broker, its network thread started, PUBACKs to `tracker`."""
    # Unique per process so two simulators never kick each other off the broker.
    client_id = params.client_id or f"pakhuis-sim-{os.getpid()}-{secrets.token_hex(3)}"
    client = _make_client(client_id, params.protocol)
    if params.username is not None:
        client.username_pw_set(params.username, params.password)
    # Bounded in flight on the wire; paho queues the rest in order until PUBACKs arrive.
    client.max_inflight_messages_set(params.max_inflight)
    _connect(client, params.host, params.port, params.connect_timeout_s, tracker)
    return client


def _make_client(client_id: str, protocol: MqttProtocol) -> mqtt.Client:
    if protocol == "5":
        return mqtt.Client(
            callback_api_version=CallbackAPIVersion.VERSION2,
            client_id=client_id,
            protocol=mqtt.MQTTv5,
        )
    return mqtt.Client(
        callback_api_version=CallbackAPIVersion.VERSION2,
        client_id=client_id,
        protocol=mqtt.MQTTv311,
        clean_session=True,
    )


def _connect(client: mqtt.Client, host: str, port: int, timeout_s: float, tracker: DeliveryTracker) -> None:
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


class HttpPoster:
    """POSTs HTTP wire messages to one receiver and counts the ones that failed."""

    def __init__(self, base_url: str, timeout_s: float) -> None:
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


class Outlet:
    """Where a run's messages go: the broker for MQTT formats, the HTTP receiver for HTTP ones.

    Opening an MQTT outlet connects (SimulatorConnectionError if that fails); `close` waits up
    to `drain_timeout_s` for outstanding PUBACKs, hangs up and says how many never came.
    """

    def __init__(self, params: SimulationParams, encoder: Encoder) -> None:
        self._params = params
        self._format = encoder.name
        self.tracker = DeliveryTracker(tracking=params.qos > 0)
        self._poster: HttpPoster | None = None
        self._client: mqtt.Client | None = None
        if encoder.kind == "http":
            assert params.http_base is not None  # SimulationParams requires it for HTTP formats
            self._poster = HttpPoster(params.http_base, params.http_timeout_s)
        if encoder.kind == "mqtt":
            self._client = connect_mqtt(params, self.tracker)

    @property
    def failed_posts(self) -> int:
        return self._poster.failed if self._poster is not None else 0

    def send(self, message: WireMessage) -> None:
        if message.kind == "http":
            if self._poster is None:
                raise RuntimeError(f"{self._format} produced an HTTP message but no http_base was given")
            self._poster.post(message)
            return
        if self._client is None:
            raise RuntimeError(f"{self._format} produced an MQTT message but is not an MQTT format")
        info = self._client.publish(message.topic_or_path, message.payload, qos=self._params.qos)
        if info.rc == mqtt.MQTT_ERR_QUEUE_SIZE:
            raise RuntimeError("paho refused to queue a message (queue full)")
        if self._params.qos > 0:
            self.tracker.sent(info.mid)

    def close(self) -> int:
        """Hang up once the broker has acknowledged what was sent (or the drain timeout passed).

        Returns the number of MQTT messages still unacknowledged.
        """
        if self._client is None:
            return 0
        params = self._params
        # Let paho deliver what is queued before we hang up; anything left is reported.
        if not self.tracker.wait_below(1, params.drain_timeout_s):
            log.warning(
                "%d messages not acknowledged by %s:%d at shutdown",
                self.tracker.pending,
                params.host,
                params.port,
            )
        unacknowledged = self.tracker.pending
        self._client.disconnect()
        self._client.loop_stop()
        return unacknowledged
