"""The ingest MQTT client: paho-mqtt 2, QoS 1, persistent session, manual acknowledgement.

A message is acknowledged only when the envelope made from it has been handed on (written to
the store, or produced to Kafka): the `ack` callback in the envelope sends the PUBACK. Until
then the broker keeps the message in our session, so killing this process loses nothing; on
restart with the same client id the broker redelivers, and idempotent writes make the
redelivery a no-op.

Nothing raised while handling a message may reach paho (an exception there ends its network
thread, and with it the ingest, silently): a message whose decoding or hand-on fails stays
unacknowledged and goes to a `Redelivery` queue that retries it off the network thread.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from ingest.decode import MessageDecoder
from ingest.redelivery import Redelivery
from pakhuis.errors import ServiceStartError
from pakhuis.reading import DeadLetter, Envelope, Rejection

log = logging.getLogger(__name__)

# MQTT 5 DISCONNECT reason "Session taken over": another client connected with our client id.
_SESSION_TAKEN_OVER = 0x8E


@dataclass(frozen=True, slots=True)
class MqttOptions:
    host: str
    port: int
    client_id: str
    topics: tuple[str, ...] = ("pakhuis/v1/#",)
    protocol: str = "5"
    username: str | None = None
    password: str | None = None
    session_expiry_s: int = 7 * 24 * 3600
    max_inflight: int = 1000
    max_future_s: float = 300.0
    keepalive_s: int = 30


class MqttIngest:
    """Subscribes, decodes each message into an Envelope and hands it on with an ack callback."""

    def __init__(
        self, options: MqttOptions, hand_on: Callable[[Envelope], None], decoder: MessageDecoder | None = None
    ) -> None:
        self.options = options
        self._decoder = decoder if decoder is not None else MessageDecoder(max_future_s=options.max_future_s)
        self._hand_on = hand_on
        self._connected = threading.Event()
        self._connect_error: str | None = None
        self.received = 0
        # time.time() of the last message from the broker (None: none yet), for /health.
        self.last_message_at: float | None = None
        # Times another client took our session (MQTT 5 DISCONNECT 0x8E), for /health.
        self.takeovers = 0
        self.last_takeover_at: float | None = None
        # time.time() of the last connection losses (a few are enough to tell flapping).
        self.connection_losses: deque[float] = deque(maxlen=16)
        self._redelivery: Redelivery[mqtt.MQTTMessage] = Redelivery(
            self._handle, self._dead_letter, capacity=options.max_inflight
        )
        v5 = options.protocol == "5"
        self._client = mqtt.Client(
            callback_api_version=CallbackAPIVersion.VERSION2,
            client_id=options.client_id,
            protocol=MQTTProtocolVersion.MQTTv5 if v5 else MQTTProtocolVersion.MQTTv311,
            # MQTT 3.1.1 persistent session; MQTT 5 uses clean_start + session expiry instead.
            clean_session=None if v5 else False,
            manual_ack=True,
        )
        # The ingest client always sends a username: brokers (and the embedded one) treat
        # anonymous sessions as disposable.
        self._client.username_pw_set(options.username or options.client_id, options.password)
        self._client.max_inflight_messages_set(options.max_inflight)
        self._client.max_queued_messages_set(0)
        self._client.reconnect_delay_set(min_delay=1, max_delay=30)
        self._client.on_connect = self._on_connect
        self._client.on_disconnect = self._on_disconnect
        self._client.on_message = self._on_message
        # Belt and braces: our callbacks catch what they can handle, and paho logs (instead of
        # dying on) anything that still escapes one.
        self._client.suppress_exceptions = True

    # -- lifecycle -----------------------------------------------------------------------------

    def start(self, timeout: float = 15.0) -> None:
        o = self.options
        properties = None
        if o.protocol == "5":
            properties = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
            properties.SessionExpiryInterval = o.session_expiry_s
            # Receive Maximum: the broker never has more unacknowledged messages in flight to
            # us than this, which is our backpressure while a batch is being written.
            properties.ReceiveMaximum = o.max_inflight
        try:
            self._client.connect(
                o.host,
                o.port,
                keepalive=o.keepalive_s,
                clean_start=False if o.protocol == "5" else mqtt.MQTT_CLEAN_START_FIRST_ONLY,
                properties=properties,
            )
        except OSError as exc:
            raise ServiceStartError(
                f"Cannot reach the MQTT broker at {o.host}:{o.port}: {exc.strerror or exc}",
                hint="Start the broker (deploy/scripts/start-mosquitto.sh for a local Mosquitto) "
                "or check PAKHUIS_MQTT_URL.",
            ) from exc
        self._redelivery.start()
        self._client.loop_start()
        if not self._connected.wait(timeout):
            self._client.loop_stop()
            self._redelivery.stop()
            reason = self._connect_error or "no CONNACK"
            raise ServiceStartError(
                f"The MQTT broker at {o.host}:{o.port} did not accept the connection ({reason}).",
                hint="Check credentials and that the broker speaks MQTT "
                f"{o.protocol} (PAKHUIS_MQTT_PROTOCOL).",
            )

    def stop(self) -> None:
        self._client.disconnect()
        self._client.loop_stop()
        self._redelivery.stop()

    @property
    def connected(self) -> bool:
        return self._client.is_connected()

    @property
    def network_thread_alive(self) -> bool:
        """paho's loop thread runs (it is gone only after `stop()`, or if paho itself broke)."""
        thread = self._client._thread  # paho keeps no public handle on its loop thread
        return thread is not None and thread.is_alive()

    @property
    def backlog(self) -> int:
        """Messages received but not yet handed on because handling them failed (being retried)."""
        return self._redelivery.backlog

    @property
    def redelivery(self) -> Redelivery[mqtt.MQTTMessage]:
        return self._redelivery

    # -- callbacks (paho's network thread) ----------------------------------------------------------

    def _on_connect(
        self,
        client: mqtt.Client,
        userdata: object,
        flags: mqtt.ConnectFlags,
        reason_code: ReasonCode,
        properties: Properties | None,
    ) -> None:
        if reason_code.is_failure:
            self._connect_error = str(reason_code)
            log.error("MQTT connection refused: %s", reason_code)
            return
        log.info(
            "connected to MQTT %s:%d as %s (session present: %s)",
            self.options.host,
            self.options.port,
            self.options.client_id,
            flags.session_present,
        )
        # Subscribing again on a resumed session is harmless and covers an expired one.
        client.subscribe([(topic, 1) for topic in self.options.topics])
        self._connected.set()

    def _on_disconnect(
        self,
        client: mqtt.Client,
        userdata: object,
        flags: mqtt.DisconnectFlags,
        reason_code: ReasonCode,
        properties: Properties | None,
    ) -> None:
        if reason_code.value == _SESSION_TAKEN_OVER:
            # Another client connected with our client id (MQTT 5 tells us; 3.1.1 just drops us).
            self.takeovers += 1
            self.last_takeover_at = time.time()
            log.error(
                "another client connected as %s and took over this ingest's session; reconnecting. "
                "Give each ingest process its own PAKHUIS_MQTT_CLIENT_ID, and see deploy/mosquitto/",
                self.options.client_id,
            )
        elif reason_code.is_failure:
            log.warning("MQTT connection lost (%s); paho reconnects", reason_code)
        if reason_code.is_failure:
            # Some brokers (Mosquitto 2.0) close a taken-over session without a reason: a
            # connection that keeps getting lost is what /health can show.
            self.connection_losses.append(time.time())

    def _on_message(self, client: mqtt.Client, userdata: object, message: mqtt.MQTTMessage) -> None:
        self.received += 1
        self.last_message_at = time.time()
        if self._redelivery.busy:
            # Earlier messages are being retried: keep the order, and do not hammer whatever
            # failed with every new message.
            self._redelivery.put(message)
            return
        try:
            self._handle(message)
        except Exception as exc:  # not lost, not fatal: unacknowledged and retried off this thread
            log.exception("handling a message from %s failed; it is retried", message.topic)
            self._redelivery.put(message, exc)

    def _handle(self, message: mqtt.MQTTMessage) -> None:
        """Decode and hand on; raises if either fails (the message is then still unacknowledged)."""
        envelope = self._decoder.decode(message.topic, bytes(message.payload), datetime.now(UTC))
        self._hand_on_acking(envelope, message)

    def _hand_on_acking(self, envelope: Envelope, message: mqtt.MQTTMessage) -> None:
        client, mid, qos = self._client, message.mid, message.qos

        def ack() -> None:
            if qos > 0:
                client.ack(mid, qos)

        envelope.ack = ack
        # May block while the stream is behind: that is the backpressure on the broker.
        self._hand_on(envelope)

    def _dead_letter(self, message: mqtt.MQTTMessage, exc: Exception) -> None:
        """A message that kept failing for a reason other than an outage: kept as a dead letter
        with its raw bytes (replayable once the cause is fixed), so the ones behind it move on."""
        payload = bytes(message.payload)
        dead = DeadLetter(
            topic=message.topic,
            payload=payload,
            decoder="ingest",
            rejections=(Rejection("ingest_error", f"handling failed repeatedly: {exc!r}"[:500]),),
            received=datetime.now(UTC),
        )
        self._hand_on_acking(Envelope([], dead, topic=message.topic, payload=payload), message)
