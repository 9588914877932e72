"""The embedded MQTT broker for the default mode: amqtt, on loopback, in the caller's event loop.

amqtt (pinned exactly: the overrides below replace a few of its private methods) speaks MQTT
3.1.1. It is adjusted so the embedded mode keeps the "nothing acknowledged is lost" contract:

- Only clients without a username are anonymous (amqtt keeps no offline queue for those), so the
  ingest, which always sends one, keeps a persistent session.
- A publisher's QoS 1 PUBACK waits until every declared session the message was routed to (the
  in-process ingest's) has PUBACKed its copy (broker_acks; the routing below counts the copies,
  also those queued while that session is offline), and the ingest PUBACKs after its commit:
  PUBACK to a device means stored. Other clients' persistent sessions still get their copies
  and offline queues, but do not hold the PUBACK: their acknowledgement says nothing about
  storage, and a dashboard that subscribed once and went away must not stall every device.
- The ingest's session and subscriptions are declared before the listener accepts anyone: after
  a crash amqtt remembers nothing, and a device reconnecting before the ingest would otherwise
  get its resent messages acknowledged with no subscriber to store them.
- With a journal (broker_journal), the PUBACK waits only until the message is fsynced there; a
  start replays what was journaled but never committed into the declared sessions.
- The ingest's client ids are reserved for the ingest credential (broker_handler).
"""

from __future__ import annotations

import asyncio
import contextvars
import errno
import functools
import logging
import socket
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import amqtt.broker
from amqtt.broker import Broker
from amqtt.contexts import Action
from amqtt.mqtt.constants import QOS_1, QOS_2
from amqtt.plugins.base import BaseAuthPlugin
from amqtt.session import Session

from ingest.broker_acks import Delivery, TrackedIncoming, TrackedQueued, release_copy
from ingest.broker_handler import (
    JOURNAL_ATTRIBUTE,
    RESERVED_IDS_ATTRIBUTE,
    PakhuisBrokerHandler,
    ReservedClientIds,
)
from ingest.broker_journal import AckJournal, Journaled
from pakhuis.errors import ServiceStartError

log = logging.getLogger(__name__)

# The delivery of the message a client's message loop is handing to the routing (per task).
_routing: contextvars.ContextVar[Delivery | None] = contextvars.ContextVar("pakhuis_routing", default=None)
_DELIVERY = "pakhuis_delivery"


class UsernameMarksSessionAuth(BaseAuthPlugin):  # type: ignore[misc]
    """Accept every client; only those without a username are anonymous (no offline queue)."""

    @dataclass
    class Config:
        allow_all: bool = field(default=True)

    async def authenticate(self, *, session: Session) -> bool | None:
        session.is_anonymous = not session.username
        return True


@dataclass(frozen=True, slots=True)
class DeclaredSession:
    """A persistent session that exists before its client first connects (the ingest's)."""

    client_id: str
    topics: tuple[str, ...]


def _keeps_messages(session: Any) -> bool:
    return not session.clean_session and not session.is_anonymous


class _PakhuisBroker(Broker):  # type: ignore[misc]
    def __init__(
        self,
        config: dict[str, Any],
        declared: Sequence[DeclaredSession],
        journal: AckJournal | None,
        replay: Sequence[Journaled],
        **kwargs: Any,
    ) -> None:
        super().__init__(config, **kwargs)
        self._declared = tuple(declared)
        self._journal = journal
        self._to_replay = list(replay)
        # The sessions whose PUBACK of a copy the publisher's PUBACK waits for.
        self._acknowledgers = frozenset(d.client_id for d in declared)

    async def _start_listeners(self) -> None:
        for declared in self._declared:
            await self.plugins_manager.context.add_subscription(declared.client_id, None, None)
            session = self._sessions[declared.client_id][0]
            session.clean_session = False
            session.is_anonymous = False
            session.username = declared.client_id
            for topic in declared.topics:
                await self.add_subscription((topic, QOS_1), session)
        if self._journal is not None:
            self._replay(self._journal, self._to_replay)
            self._to_replay = []
        await super()._start_listeners()

    def _replay(self, journal: AckJournal, replayed: Sequence[Journaled]) -> None:
        """Queue what a previous run acknowledged but never saw committed for the declared sessions."""
        for record in replayed:
            delivery = Delivery()
            delivery.on_done(functools.partial(journal.retire, record.seq))
            for declared in self._declared:
                if any(self._matches(record.topic, topic) for topic in declared.topics):
                    queued = TrackedQueued(None, record.topic, record.payload, QOS_1)
                    queued.delivery = delivery
                    delivery.add_copy()
                    self._sessions[declared.client_id][0].retained_messages.put_nowait(queued)
            delivery.release()
        if replayed:
            log.warning("replaying %d acknowledged messages the last run did not store", len(replayed))

    async def _handle_message_delivery(self, client_session: Any, handler: Any, wait_deliver: Any) -> bool:
        message = wait_deliver.result()
        delivery = message.delivery if isinstance(message, TrackedIncoming) else None
        token = _routing.set(delivery)
        try:
            return bool(await super()._handle_message_delivery(client_session, handler, wait_deliver))
        finally:
            unrouted = _routing.get()
            _routing.reset(token)
            if unrouted is not None:
                # Refused (not permitted, bad topic): nothing will store it, so nothing to wait for.
                unrouted.release()

    async def _broadcast_message(
        self, session: Any, topic: str | None, data: Any, force_qos: int | None = None
    ) -> None:
        broadcast: dict[str, Any] = {"session": session, "topic": topic, "data": data}
        if force_qos is not None:
            broadcast["qos"] = force_qos
        delivery = _routing.get()
        if delivery is not None:
            broadcast[_DELIVERY] = delivery
            _routing.set(None)
        await self._broadcast_queue.put(broadcast)

    async def _run_broadcast(self, running_tasks: Any) -> None:
        # amqtt 0.12.1's routing loop (`_run_broadcast` + `_retain_broadcast_message`), with the
        # copies to acknowledging sessions counted; the RETAINED_MESSAGE plugin event for queued
        # copies is left out (no plugin here listens to it).
        broadcast = await self._broadcast_queue.get()
        delivery: Delivery | None = broadcast.get(_DELIVERY)
        topic, data = broadcast["topic"], broadcast["data"]
        for topic_filter, subscriptions in list(self._subscriptions.items()):
            if not self._matches(topic, topic_filter):
                continue
            for target, sub_qos in list(subscriptions):
                qos = broadcast.get("qos", sub_qos)
                if not await self._topic_filtering(target, topic=topic, action=Action.RECEIVE):
                    continue
                tracked = delivery if qos == QOS_1 and target.client_id in self._acknowledgers else None
                if target.transitions.state != "connected":
                    if qos in (QOS_1, QOS_2) and _keeps_messages(target):
                        await self._queue_for_offline(broadcast, qos, target, tracked)
                    continue
                handler = self._get_handler(target)
                if isinstance(handler, PakhuisBrokerHandler):
                    if tracked is not None:
                        tracked.add_copy()
                    running_tasks.append(
                        asyncio.ensure_future(handler.publish_copy(topic, data, qos, tracked))
                    )
        if delivery is not None:
            delivery.release()

    async def _queue_for_offline(
        self, broadcast: dict[str, Any], qos: int, target: Any, delivery: Delivery | None
    ) -> None:
        queued = TrackedQueued(broadcast["session"], broadcast["topic"], broadcast["data"], qos)
        if delivery is not None:
            delivery.add_copy()
            queued.delivery = delivery
        await target.retained_messages.put(queued)

    async def _publish_session_retained_messages(self, session: Any) -> None:
        # What was queued while the session was offline; the copy sent carries the delivery on.
        handler = self._get_handler(session)
        if not isinstance(handler, PakhuisBrokerHandler):
            return
        tasks = []
        while not session.retained_messages.empty():
            queued = session.retained_messages.get_nowait()
            delivery = queued.delivery if isinstance(queued, TrackedQueued) else None
            tasks.append(
                asyncio.ensure_future(handler.publish_copy(queued.topic, queued.data, queued.qos, delivery))
            )
        if tasks:
            await asyncio.wait(tasks)

    async def _delete_session(self, client_id: str) -> None:
        # A clean-session CONNECT discards the session's copies: no one will store them now.
        session = self._sessions.get(client_id, (None, None))[0]
        if session is not None:
            for message in list(session.inflight_out.values()):
                release_copy(message)
            while not session.retained_messages.empty():
                release_copy(session.retained_messages.get_nowait())
        await super()._delete_session(client_id)


def _port_in_use(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            return exc.errno in (errno.EADDRINUSE, errno.EACCES)
    return False


class EmbeddedBroker:
    """`ingest_secret` admits the in-process ingest to the reserved client ids (none without it);
    `declared` are the ingest sessions that exist, subscribed, before anyone connects, and whose
    acknowledgements a publisher's PUBACK waits for (none declared: PUBACK on receipt) — or,
    with `journal_dir`, the message's fsync into the journal there (replayed after a crash)."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 1883,
        *,
        ingest_secret: str | None = None,
        declared: Sequence[DeclaredSession] = (),
        journal_dir: Path | None = None,
        journal_backlog: int = 20_000,
    ) -> None:
        self.host = host
        self.port = port
        self._reserved = ReservedClientIds(ingest_secret, frozenset(d.client_id for d in declared))
        self._declared = tuple(declared)
        self._journal = None if journal_dir is None else AckJournal(journal_dir, max_backlog=journal_backlog)
        self._broker: Broker | None = None

    async def start(self) -> None:
        if _port_in_use(self.host, self.port):
            raise ServiceStartError(
                f"MQTT port {self.host}:{self.port} is already in use.",
                hint=f"Stop the other broker (e.g. `systemctl stop mosquitto`) or pass "
                f"--mqtt-port {self.port + 1}.",
            )
        # amqtt builds a handler per connection (and per offline session) from this module name.
        amqtt.broker.BrokerProtocolHandler = PakhuisBrokerHandler
        config = {
            "listeners": {"default": {"type": "tcp", "bind": f"{self.host}:{self.port}"}},
            "plugins": {f"{__name__}.UsernameMarksSessionAuth": {}},
        }
        # Opened here, not inside amqtt's start, so a journal in use is a plain ServiceStartError.
        replay = [] if self._journal is None else self._journal.open()
        self._broker = _PakhuisBroker(
            config, self._declared, self._journal, replay, loop=asyncio.get_running_loop()
        )
        context = self._broker.plugins_manager.context
        setattr(context, RESERVED_IDS_ATTRIBUTE, self._reserved)
        setattr(context, JOURNAL_ATTRIBUTE, self._journal)
        await self._broker.start()
        log.info("embedded MQTT broker listening on %s:%d", self.host, self.port)

    async def stop(self) -> None:
        if self._broker is not None:
            await self._broker.shutdown()
            self._broker = None
        if self._journal is not None:
            self._journal.close()
