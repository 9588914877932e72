"""A device-like MQTT publisher for the fault and soak runs, and ending a persistent session.

The publisher is what the fault suite calls "acknowledged by the broker": it keeps one persistent
MQTT 5 session, publishes at QoS 1 at a steady pace with a bounded in-flight window, and records
for each message whether a PUBACK with a success reason came back.
"""

from __future__ import annotations

import threading
import time
import uuid

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from tests.support import Broker


class DevicePublisher:
    """A device: one persistent MQTT 5 session, QoS 1, paced, at most `window` messages unacknowledged.

    It publishes only while connected (a device buffers while offline); paho re-sends what was in
    flight when it reconnects, and `finish` re-publishes whatever still has no PUBACK. `acked[m]`
    is set by a PUBACK with a success reason code, the broker's promise for message m.
    """

    def __init__(
        self,
        broker: Broker,
        messages: list[tuple[str, bytes]],
        *,
        per_second: float,
        window: int = 100,
        client_id: str | None = None,
    ) -> None:
        self.messages = messages
        self.per_second = per_second
        self.window = window
        self.sent = 0  # messages published at least once
        self.republished = 0
        self.refused = 0  # PUBACKs with a failure reason (the message is then published again)
        self.reconnects = 0
        self.sessions_kept: list[bool] = []
        self.acked = [False] * len(messages)
        self._mids: dict[int, int] = {}  # in flight: packet id → message index
        self._early: dict[int, bool] = {}
        self._retry: list[int] = []  # refused by the broker: published again
        self._lock = threading.Lock()
        self._connected = threading.Event()
        self._ever_connected = False
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="device-publisher", daemon=True)
        self.client_id = client_id or f"device-{uuid.uuid4().hex[:10]}"
        self._client = mqtt.Client(
            callback_api_version=CallbackAPIVersion.VERSION2,
            client_id=self.client_id,
            protocol=MQTTProtocolVersion.MQTTv5,
        )
        self._client.max_inflight_messages_set(window)
        self._client.max_queued_messages_set(0)
        self._client.reconnect_delay_set(min_delay=1, max_delay=2)
        self._client.on_connect = self._on_connect
        self._client.on_disconnect = self._on_disconnect
        self._client.on_publish = self._on_publish
        properties = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
        properties.SessionExpiryInterval = 3600
        self._client.connect(broker.host, broker.port, clean_start=False, properties=properties)
        self._client.loop_start()
        assert self._connected.wait(15), "the device publisher could not connect"

    # -- paho callbacks ------------------------------------------------------------------------

    def _on_connect(
        self, client: mqtt.Client, userdata: object, flags: object, rc: ReasonCode, props: object
    ) -> None:
        if rc.is_failure:
            return
        if self._ever_connected:
            self.reconnects += 1
            # After a broker restart this says whether the broker's persistence kept our session.
            self.sessions_kept.append(bool(getattr(flags, "session_present", False)))
        self._ever_connected = True
        self._connected.set()

    def _on_disconnect(
        self, client: mqtt.Client, userdata: object, flags: object, rc: object, props: object
    ) -> None:
        self._connected.clear()

    def _on_publish(
        self, client: mqtt.Client, userdata: object, mid: int, rc: ReasonCode, props: object
    ) -> None:
        # paho calls this holding its own lock: only ours is taken here, and paho is never
        # called while ours is held.
        with self._lock:
            index = self._mids.pop(mid, None)
            if index is None:
                self._early[mid] = not rc.is_failure  # the PUBACK beat `_publish` to the lock
                return
            self._settle(index, ok=not rc.is_failure)

    def _settle(self, index: int, *, ok: bool) -> None:
        if ok:
            self.acked[index] = True
        else:
            self.refused += 1
            self._retry.append(index)

    # -- publishing ----------------------------------------------------------------------------

    @property
    def unacked(self) -> int:
        with self._lock:
            return len(self._mids)

    @property
    def acked_count(self) -> int:
        with self._lock:
            return sum(self.acked)

    def _publish(self, index: int) -> None:
        topic, payload = self.messages[index]
        info = self._client.publish(topic, payload, qos=1)
        with self._lock:
            early = self._early.pop(info.mid, None)
            if early is None:
                self._mids[info.mid] = index
            else:
                self._settle(index, ok=early)

    def _run(self) -> None:
        started = time.monotonic()
        for index in range(len(self.messages)):
            while not self._stop.is_set() and (not self._connected.is_set() or self.unacked >= self.window):
                time.sleep(0.005)
            if self._stop.is_set():
                return
            self._publish(index)
            self.sent = index + 1
            self._publish_refused()
            ahead = started + (index + 1) / self.per_second - time.monotonic()
            if ahead > 0:
                time.sleep(ahead)
            elif ahead < -1:
                started = time.monotonic() - (index + 1) / self.per_second  # after a stall: no burst

    def _publish_refused(self) -> None:
        with self._lock:
            again, self._retry = self._retry, []
        for index in again:
            self._publish(index)
        self.republished += len(again)

    def start(self) -> None:
        self._thread.start()

    def finish(self, timeout: float) -> None:
        """Wait for the last publish and every PUBACK; re-publish what has none after 30 s."""
        deadline = time.monotonic() + timeout
        self._thread.join(max(deadline - time.monotonic(), 0))
        assert not self._thread.is_alive(), f"publishing did not finish ({self.sent} of {len(self.messages)})"
        quiet_since = time.monotonic()
        while time.monotonic() < deadline and self.acked_count < len(self.messages):
            time.sleep(0.2)
            self._publish_refused()
            if time.monotonic() - quiet_since > 30 and self._connected.is_set():
                with self._lock:
                    missing = [
                        i for i, ok in enumerate(self.acked) if not ok and i not in self._mids.values()
                    ]
                for index in missing:
                    self._publish(index)
                self.republished += len(missing)
                quiet_since = time.monotonic()

    def close(self) -> None:
        self._stop.set()
        self._client.disconnect()
        self._client.loop_stop()


def forget_session(broker: Broker, client_id: str) -> None:
    """End a persistent session for good (clean start, expiry 0): Mosquitto would otherwise keep
    queueing its subscriptions' messages, without limit here, for days after this run."""
    client = mqtt.Client(
        callback_api_version=CallbackAPIVersion.VERSION2,
        client_id=client_id,
        protocol=MQTTProtocolVersion.MQTTv5,
    )
    client.username_pw_set(client_id)
    properties = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
    properties.SessionExpiryInterval = 0
    client.connect(broker.host, broker.port, clean_start=True, properties=properties)
    client.loop_start()
    deadline = time.monotonic() + 10
    while not client.is_connected() and time.monotonic() < deadline:
        time.sleep(0.05)
    client.disconnect()
    client.loop_stop()
