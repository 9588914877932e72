"""The embedded broker's per-connection protocol handler: amqtt's, with three changes.

- Outgoing QoS 1: amqtt forgets a copy whose PUBACK does not arrive within 5 s (10 s when it
  redelivers after a reconnect) or whose connection ends. MQTT requires redelivery instead, and
  the ingest PUBACKs only after a commit, which may wait out a database outage: the handler waits
  for the PUBACK without a deadline and leaves an unacknowledged copy in the session, where the
  reconnect path (`_retry_deliveries`) sends it again.
- Incoming QoS 1: the PUBACK to the publisher waits until the message is in the broker's
  journal (broker_journal), or — without a journal, or with its backlog full — for the message's
  `Delivery` (broker_acks): the ingest's commit.
- CONNECT with a reserved client id (the ingest's) is refused unless it carries the ingest
  credential — checked before amqtt looks the session up, because amqtt drops a persistent
  session on a clean-session CONNECT and takes a connected one over before it authenticates.
"""

from __future__ import annotations

import asyncio
import functools
import hmac
import itertools
import logging
from dataclasses import dataclass
from typing import Any

from amqtt.errors import MQTTError
from amqtt.mqtt.connack import NOT_AUTHORIZED, ConnackPacket
from amqtt.mqtt.constants import QOS_1
from amqtt.mqtt.protocol.broker_handler import BrokerProtocolHandler
from amqtt.mqtt.protocol.handler import INCOMING, OUTGOING
from amqtt.mqtt.puback import PubackPacket

from ingest.broker_acks import Delivery, TrackedIncoming, TrackedOutgoing, release_copy
from ingest.broker_journal import AckJournal

log = logging.getLogger(__name__)

# Where the handler finds the broker's `ReservedClientIds` and `AckJournal` (on amqtt's BrokerContext).
RESERVED_IDS_ATTRIBUTE = "pakhuis_reserved_client_ids"
JOURNAL_ATTRIBUTE = "pakhuis_ack_journal"
RESERVED_PREFIX = "pakhuis-ingest-"


@dataclass(frozen=True, slots=True)
class ReservedClientIds:
    """Client ids only the in-process ingest may use; `secret` is its password for this run."""

    secret: str | None
    ids: frozenset[str] = frozenset()

    def admits(self, client_id: str | None, password: str | None) -> bool:
        if not client_id or not (client_id.startswith(RESERVED_PREFIX) or client_id in self.ids):
            return True
        if self.secret is None or password is None:
            return False
        return hmac.compare_digest(password.encode(), self.secret.encode())


class PakhuisBrokerHandler(BrokerProtocolHandler):  # type: ignore[misc]
    @classmethod
    async def init_from_connect(
        cls, reader: Any, writer: Any, plugins_manager: Any, loop: asyncio.AbstractEventLoop | None = None
    ) -> tuple[PakhuisBrokerHandler, Any]:
        handler, session = await super().init_from_connect(reader, writer, plugins_manager, loop)
        reserved = getattr(plugins_manager.context, RESERVED_IDS_ATTRIBUTE, None)
        if isinstance(reserved, ReservedClientIds) and not reserved.admits(
            session.client_id, session.password
        ):
            await ConnackPacket.build(0, NOT_AUTHORIZED).to_stream(writer)
            await writer.close()
            raise MQTTError(f"client id {session.client_id!r} is reserved for the pakhuis ingest")
        return handler, session

    def _routes_deliveries(self) -> bool:
        # amqtt picks this handler class module-wide, so a plain amqtt Broker in the same process
        # (a test's, a simulator's) gets it too; only the pakhuis broker's routing releases a
        # Delivery, so elsewhere a publish must keep amqtt's own flow or its PUBACK never comes.
        reserved = getattr(self.plugins_manager.context, RESERVED_IDS_ATTRIBUTE, None)
        return isinstance(reserved, ReservedClientIds)

    async def handle_publish(self, publish_packet: Any) -> None:
        header = publish_packet.variable_header
        if (
            publish_packet.qos != QOS_1
            or header is None
            or publish_packet.topic_name is None
            or not self._routes_deliveries()
        ):
            await super().handle_publish(publish_packet)
            return
        if publish_packet.data is None:
            return
        message = TrackedIncoming(
            header.packet_id,
            publish_packet.topic_name,
            QOS_1,
            publish_packet.data,
            publish_packet.retain_flag,
        )
        message.publish_packet = publish_packet
        message.delivery = Delivery()
        await self._handle_message_flow(message)

    async def publish_copy(
        self,
        topic: str,
        data: bytes | bytearray,
        qos: int,
        delivery: Delivery | None,
        *,
        retain: bool = False,
    ) -> None:
        """Send one routed copy; a QoS 1 copy's PUBACK releases `delivery`."""
        packet_id = self.session.next_packet_id if qos > 0 else None
        message = TrackedOutgoing(packet_id, topic, qos, data, retain)
        message.delivery = delivery if qos == QOS_1 else None
        await self._handle_message_flow(message)

    async def _handle_qos1_message_flow(self, app_message: Any) -> None:
        if self.session is None:
            await super()._handle_qos1_message_flow(app_message)
        elif app_message.direction == INCOMING and isinstance(app_message, TrackedIncoming):
            await self._receive_held(app_message)
        elif app_message.direction == OUTGOING:
            await self._send_until_acked(app_message)
        else:
            await super()._handle_qos1_message_flow(app_message)

    async def _receive_held(self, app_message: TrackedIncoming) -> None:
        delivery = app_message.delivery
        await self.session.delivered_message_queue.put(app_message)
        if delivery is not None and not await self._journal(app_message, delivery):
            await delivery.wait()
        puback = PubackPacket.build(app_message.packet_id)
        await self._send_packet(puback)
        app_message.puback_packet = puback

    async def _journal(self, app_message: TrackedIncoming, delivery: Delivery) -> bool:
        """On disk in the broker's journal (fsynced) until delivered: then the PUBACK need not
        wait for the commit. False (hold the PUBACK) without a journal, when its backlog is full
        (the ingest is behind: publishers must slow down) or when the disk fails."""
        journal = getattr(self.plugins_manager.context, JOURNAL_ATTRIBUTE, None)
        if not isinstance(journal, AckJournal) or not journal.has_room():
            return False
        try:
            seq = await journal.append(app_message.topic, bytes(app_message.data))
        except OSError as exc:
            log.warning("broker journal write failed (%s); holding PUBACKs until commit", exc)
            return False
        delivery.on_done(functools.partial(journal.retire, seq))
        return True

    async def _send_until_acked(self, app_message: Any) -> None:
        session = self.session
        session.inflight_out[app_message.packet_id] = app_message
        packet = app_message.build_publish_packet(dup=app_message.publish_packet is not None)
        waiter: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._puback_waiters[app_message.packet_id] = waiter
        try:
            await self._send_packet(packet)
            app_message.publish_packet = packet
            app_message.puback_packet = await waiter
        except asyncio.CancelledError:
            # The connection ended before the PUBACK: keep the copy for redelivery.
            raise
        else:
            session.inflight_out.pop(app_message.packet_id, None)
            release_copy(app_message)
        finally:
            if self._puback_waiters.get(app_message.packet_id) is waiter:
                del self._puback_waiters[app_message.packet_id]

    async def _retry_deliveries(self) -> None:
        # amqtt gives each redelivery 10 s and then forgets it; the ingest may take longer (its
        # PUBACK follows a commit), and the waiters end anyway when the connection does.
        messages = list(
            itertools.chain(self.session.inflight_in.values(), self.session.inflight_out.values())
        )
        if messages:
            await asyncio.gather(*(self._handle_message_flow(m) for m in messages), return_exceptions=True)
