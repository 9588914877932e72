"""HTTP ingest enters the same pipeline as MQTT: the request is published to the broker at QoS 1
and answered only after the broker acknowledged it, so a 2xx means the message is safe with the
broker (and from there goes through ingest's decoders, validation and dead letters)."""

from __future__ import annotations

import threading
import uuid

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion

from pakhuis.errors import PakhuisError


class BrokerUnavailable(PakhuisError):
    status = 503
    code = "broker_unavailable"


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
        self._started = False
        self._lock = threading.Lock()

    def _ensure_started(self) -> None:
        with self._lock:
            if self._started:
                return
            try:
                self._client.connect(self._host, self._port)
            except OSError as exc:
                raise BrokerUnavailable(
                    f"The MQTT broker at {self._host}:{self._port} is unreachable; nothing was accepted.",
                    hint="Retry later; the sender should keep the data until it gets a 2xx.",
                ) from exc
            self._client.loop_start()
            self._started = True

    def publish(self, topic: str, payload: bytes) -> None:
        """Publish at QoS 1 and wait for the broker's PUBACK; 503 if it does not come."""
        self._ensure_started()
        info = self._client.publish(topic, payload, qos=1)
        try:
            info.wait_for_publish(self._timeout_s)
        except (RuntimeError, ValueError) as exc:
            raise BrokerUnavailable(f"The MQTT broker did not accept the message: {exc}") from exc
        if not info.is_published():
            raise BrokerUnavailable(
                "The MQTT broker did not acknowledge the message in time; nothing was accepted."
            )

    def close(self) -> None:
        if self._started:
            self._client.disconnect()
            self._client.loop_stop()
