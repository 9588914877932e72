"""End-to-end acknowledgement in the embedded broker: a publisher's PUBACK waits for its copies.

amqtt PUBACKs an incoming QoS 1 PUBLISH as soon as it has queued it, and that queue lives in
memory: a crash between that PUBACK and the ingest's commit lost the message although the
publisher had been told it was safe. In the embedded broker the PUBACK to the publisher waits
until every acknowledging session the message was routed to has PUBACKed its copy: the
in-process ingest's (declared in the broker before it listens, so it exists, offline, even right
after a crash), which PUBACKs only after the local runner committed the readings. So whenever the
publisher holds a PUBACK, the readings are in PostgreSQL; whatever it does not hold, it still has
and resends.

With the broker journal (broker_journal) the PUBACK waits only for the message's fsync there,
and the done delivery retires the journal record instead; the wait for the delivery itself is
the fallback (no journal, or its backlog full).

A message routed to no acknowledging session is acknowledged at once: pakhuis does not store
it, and there is nothing to wait for. QoS 2 publishes keep amqtt's own flow (pakhuis' contract
is QoS 1).

amqtt's message classes use `__slots__`, so the delivery rides in a slot of a subclass.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from amqtt.broker import RetainedApplicationMessage
from amqtt.session import IncomingApplicationMessage, OutgoingApplicationMessage


class Delivery:
    """One incoming QoS 1 message: done when the routing is over and every counted copy is acked."""

    __slots__ = ("_done", "_pending")

    def __init__(self) -> None:
        # One hold for the routing itself, so a copy acknowledged before the others were even
        # counted cannot complete the delivery early.
        self._pending = 1
        self._done: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def add_copy(self) -> None:
        self._pending += 1

    def release(self) -> None:
        """One copy was acknowledged, or the routing has counted all copies."""
        self._pending -= 1
        if self._pending <= 0 and not self._done.done():
            self._done.set_result(None)

    @property
    def done(self) -> bool:
        return self._done.done()

    def on_done(self, callback: Callable[[], None]) -> None:
        """Call `callback` once the delivery is done (now, if it already is)."""
        if self._done.done():
            callback()
        else:
            self._done.add_done_callback(lambda _: callback())

    async def wait(self) -> None:
        # Shielded: a publisher that disconnects cancels its waiting flow, not the delivery.
        await asyncio.shield(self._done)


class TrackedIncoming(IncomingApplicationMessage):  # type: ignore[misc]
    """A publisher's message; its PUBACK is sent when `delivery` is done."""

    __slots__ = ("delivery",)

    def __init__(self, packet_id: int | None, topic: str, qos: int | None, data: bytes, retain: bool) -> None:
        super().__init__(packet_id, topic, qos, data, retain)
        self.delivery: Delivery | None = None


class TrackedOutgoing(OutgoingApplicationMessage):  # type: ignore[misc]
    """A copy sent to a subscriber; its PUBACK releases `delivery` (once)."""

    __slots__ = ("delivery",)

    def __init__(
        self, packet_id: int | None, topic: str, qos: int | None, data: bytes | bytearray, retain: bool
    ) -> None:
        super().__init__(packet_id, topic, qos, data, retain)
        self.delivery: Delivery | None = None


class TrackedQueued(RetainedApplicationMessage):  # type: ignore[misc]
    """A copy queued for an offline persistent session; `delivery` goes on to the copy sent later."""

    __slots__ = ("delivery",)

    def __init__(self, source_session: object, topic: str, data: bytes | bytearray, qos: int | None) -> None:
        super().__init__(source_session, topic, data, qos)
        self.delivery: Delivery | None = None


def release_copy(message: object) -> None:
    """The subscriber acknowledged (or will never get) this copy: count it once."""
    if isinstance(message, TrackedOutgoing | TrackedQueued) and message.delivery is not None:
        delivery, message.delivery = message.delivery, None
        delivery.release()
