"""HTTP ingest enters the same pipeline as MQTT: the request is published to the broker at QoS 1
and answered only after the broker accepted it, so a 2xx means the message is safe with the
broker (and from there goes through ingest's decoders, validation and dead letters).

Accepted means a PUBACK whose reason code is below 0x80 (MQTT 5: 0x00 success, 0x10 no matching
subscribers). A broker refuses with a reason code of 0x80 or above, e.g. 0x87 "Not authorized"
when the bridge's user may not publish on the topic: that is a 503 naming the reason, never a
202. On MQTT 3.1.1 a PUBACK carries no reason, so it is acceptance (Mosquitto then drops a
refused publish silently: run the bridge on MQTT 5, as PAKHUIS_MQTT_PROTOCOL defaults to).
"""

from __future__ import annotations

import threading
import time
import uuid
from typing import Literal

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode, MQTTProtocolVersion
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from pakhuis.errors import PakhuisError

__all__ = ["BridgeState", "BrokerRefused", "BrokerUnavailable", "MqttBridge"]

BridgeState = Literal["idle", "connected", "disconnected"]

_RETRY_HINT = "Retry later; the sender should keep the data until it gets a 2xx."


class BrokerUnavailable(PakhuisError):
    status = 503
    code = "broker_unavailable"


class BrokerRefused(PakhuisError):
    """The broker answered the publish with a failure reason code (0x80 or above)."""

    status = 503
    code = "broker_refused"


class MqttBridge:
    def __init__(
        self,
        host: str,
        port: int,
        *,
        protocol: str = "5",
        username: str | None = None,
        password: str | None = None,
        timeout_s: float = 10.0,
    ) -> None:
        self._host, self._port, self._timeout_s = host, port, timeout_s
        self._client = mqtt.Client(
            callback_api_version=CallbackAPIVersion.VERSION2,
            client_id=f"pakhuis-api-{uuid.uuid4().hex[:8]}",
            protocol=MQTTProtocolVersion.MQTTv5 if protocol == "5" else MQTTProtocolVersion.MQTTv311,
        )
        if username:
            self._client.username_pw_set(username, password)
        self._client.reconnect_delay_set(1, 10)
        self._client.on_publish = self._on_publish
        self._client.suppress_exceptions = True
        # PUBACK reason codes by message id, filled by the network thread before it marks the
        # message published (paho calls on_publish first), read and removed by the publisher.
        self._acks: dict[int, ReasonCode] = {}
        self._started = False
        self._lock = threading.Lock()

    def state(self) -> BridgeState:
        if not self._started:
            return "idle"
        return "connected" if self._client.is_connected() else "disconnected"

    def _ensure_started(self) -> None:
        with self._lock:
            if self._started:
                return
            try:
                self._client.connect(self._host, self._port)
            except OSError as exc:
                raise BrokerUnavailable(
                    f"The MQTT broker at {self._host}:{self._port} is unreachable; nothing was accepted.",
                    hint=_RETRY_HINT,
                ) from exc
            self._client.loop_start()
            self._started = True

    def _wait_connected(self, timeout_s: float = 2.0) -> bool:
        """Right after start (or during a reconnect) the CONNACK may be a moment away."""
        deadline = time.monotonic() + min(timeout_s, self._timeout_s)
        while time.monotonic() < deadline:
            if self._client.is_connected():
                return True
            time.sleep(0.05)
        return False

    def _on_publish(
        self,
        client: mqtt.Client,
        userdata: object,
        mid: int,
        reason_code: ReasonCode,
        properties: Properties | None,
    ) -> None:
        self._acks[mid] = reason_code

    def publish(self, topic: str, payload: bytes) -> None:
        """Publish at QoS 1 and wait for the broker's PUBACK; 503 unless it accepted the message."""
        self._ensure_started()
        if not self._client.is_connected() and not self._wait_connected():
            # Not handed to paho at all: it would keep the message and send it after a
            # reconnect, after we had answered 503.
            raise BrokerUnavailable(
                f"Not connected to the MQTT broker at {self._host}:{self._port}; nothing was accepted.",
                hint=_RETRY_HINT,
            )
        info = self._client.publish(topic, payload, qos=1)
        try:
            info.wait_for_publish(self._timeout_s)
        except (RuntimeError, ValueError) as exc:
            self._acks.pop(info.mid, None)
            reason = "not connected" if info.rc == MQTTErrorCode.MQTT_ERR_NO_CONN else str(exc)
            raise BrokerUnavailable(
                f"The MQTT broker did not accept the message ({reason}).", hint=_RETRY_HINT
            ) from exc
        if not info.is_published():
            self._acks.pop(info.mid, None)
            raise BrokerUnavailable(
                "The MQTT broker did not acknowledge the message in time.", hint=_RETRY_HINT
            )
        reason_code = self._acks.pop(info.mid, None)
        if reason_code is not None and reason_code.is_failure:
            raise BrokerRefused(
                f"The MQTT broker refused the message on {topic}: {reason_code} "
                f"(reason code {reason_code.value:#04x}); nothing was accepted.",
                hint="The API's MQTT user may not publish there: give it publish rights on the "
                "TTN (v3/#) and pakhuis (pakhuis/v1/#) topics (see deploy/mosquitto/acl).",
            )

    def close(self) -> None:
        if self._started:
            self._client.disconnect()
            self._client.loop_stop()
