"""The embedded MQTT broker for the default mode: amqtt, on loopback, in the caller's event loop.

amqtt (pinned exactly) speaks MQTT 3.1.1. Two of its behaviours are adjusted here so the
embedded mode keeps the "nothing is lost" contract:

- Sessions of anonymous clients get no offline queue in amqtt. We let everyone connect, but
  only clients without a username count as anonymous, so the ingest client (which always sends
  a username) keeps a persistent session and receives what arrived while it was down.
- amqtt forgets an outgoing QoS 1 message whose PUBACK does not arrive within 5 s or whose
  connection ends. MQTT requires it to be redelivered on reconnect instead; the handler below
  waits for the PUBACK without a deadline and leaves an unacknowledged message in the session,
  where amqtt's own reconnect path (`_retry_deliveries`) sends it again.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import socket
from dataclasses import dataclass, field
from typing import Any

import amqtt.broker
from amqtt.broker import Broker
from amqtt.mqtt.constants import QOS_1
from amqtt.mqtt.protocol.broker_handler import BrokerProtocolHandler
from amqtt.mqtt.protocol.handler import OUTGOING
from amqtt.plugins.base import BaseAuthPlugin
from amqtt.session import Session

from pakhuis.errors import ServiceStartError

log = logging.getLogger(__name__)


class UsernameMarksSessionAuth(BaseAuthPlugin):  # type: ignore[misc]
    """Accept every client; only those without a username are anonymous (no offline queue)."""

    @dataclass
    class Config:
        allow_all: bool = field(default=True)

    async def authenticate(self, *, session: Session) -> bool | None:
        session.is_anonymous = not session.username
        return True


class _RedeliveringBrokerHandler(BrokerProtocolHandler):  # type: ignore[misc]
    async def _handle_qos1_message_flow(self, app_message: Any) -> None:
        if app_message.direction != OUTGOING or app_message.qos != QOS_1 or self.session is None:
            await super()._handle_qos1_message_flow(app_message)
            return
        session = self.session
        session.inflight_out[app_message.packet_id] = app_message
        dup = app_message.publish_packet is not None
        packet = app_message.build_publish_packet(dup=dup)
        waiter: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._puback_waiters[app_message.packet_id] = waiter
        try:
            await self._send_packet(packet)
            app_message.publish_packet = packet
            app_message.puback_packet = await waiter
        except asyncio.CancelledError:
            # The connection ended before the PUBACK: keep the message for redelivery.
            raise
        else:
            session.inflight_out.pop(app_message.packet_id, None)
        finally:
            self._puback_waiters.pop(app_message.packet_id, None)


def _port_in_use(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            return exc.errno in (errno.EADDRINUSE, errno.EACCES)
    return False


class EmbeddedBroker:
    def __init__(self, host: str = "127.0.0.1", port: int = 1883) -> None:
        self.host = host
        self.port = port
        self._broker: Broker | None = None

    async def start(self) -> None:
        if _port_in_use(self.host, self.port):
            raise ServiceStartError(
                f"MQTT port {self.host}:{self.port} is already in use.",
                hint=f"Stop the other broker (e.g. `systemctl stop mosquitto`) or pass "
                f"--mqtt-port {self.port + 1}.",
            )
        # amqtt builds a handler per connection from this module-level name.
        amqtt.broker.BrokerProtocolHandler = _RedeliveringBrokerHandler
        config = {
            "listeners": {"default": {"type": "tcp", "bind": f"{self.host}:{self.port}"}},
            "plugins": {f"{__name__}.UsernameMarksSessionAuth": {}},
        }
        self._broker = Broker(config, loop=asyncio.get_running_loop())
        await self._broker.start()
        log.info("embedded MQTT broker listening on %s:%d", self.host, self.port)

    async def stop(self) -> None:
        if self._broker is not None:
            await self._broker.shutdown()
            self._broker = None
