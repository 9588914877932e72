"""Identical reads that arrive together share one computation, and never answer from before
they were asked.

An operations wall of fifty screens polls `latest` at the same moment; each answer is a query,
10,000 rows and 2 MB of JSON, and fifty of them queue behind each other on a few cores. Here a
request joins the *next* computation of its key, never one already running: a running one may
have read the database before the request arrived, and answering with it could hide a write
whose acknowledgement the client saw before asking. So every answer reflects the database at
a moment after its request arrived (a linearizable read, the same guarantee as computing it
alone), at most one computation per key runs at a time, and all requests that arrive while it
runs are answered together by the one after it: the wait is at most two computations.

The key must name everything the answer depends on: the route and its parameters (and, once
reads depend on who asks, the caller's visibility).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable
from typing import Any, TypeVar

__all__ = ["SharedReads"]

T = TypeVar("T")


def _retrieve(flight: asyncio.Future[Any]) -> None:
    # Every waiter may have gone (clients disconnected); the outcome is still retrieved so
    # asyncio does not report a failed flight as "never retrieved".
    if not flight.cancelled():
        flight.exception()


class SharedReads:
    """Per key: the computation running now, and the next one that waiting requests join.

    Used from one event loop (the API's); the computation itself may run in a thread."""

    def __init__(self) -> None:
        self._running: dict[Hashable, asyncio.Future[Any]] = {}
        self._next: dict[Hashable, asyncio.Future[Any]] = {}

    async def get(self, key: Hashable, compute: Callable[[], Awaitable[T]]) -> T:
        """The result of a `compute()` started after this call: shared with the requests of
        the same key that arrive before it starts."""
        flight = self._next.get(key)
        if flight is None:
            flight = asyncio.ensure_future(self._fly(key, compute))
            flight.add_done_callback(_retrieve)
            self._next[key] = flight
        # shield: one client going away must not cancel the others' answer
        result: T = await asyncio.shield(flight)
        return result

    async def _fly(self, key: Hashable, compute: Callable[[], Awaitable[T]]) -> T:
        previous = self._running.get(key)
        if previous is not None:
            await asyncio.wait([previous])
        me = self._next.pop(key)
        # From here on the computation may read the database: later requests form the next flight.
        self._running[key] = me
        try:
            return await compute()
        finally:
            del self._running[key]

    def in_flight(self) -> int:
        """How many computations run or wait (for /metrics and tests)."""
        return len(self._running) + len(self._next)
