"""Retrying a blocking store call from asyncio while the database is unreachable."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import TypeVar

from pakhuis.errors import StoreUnavailable

log = logging.getLogger(__name__)

T = TypeVar("T")
A = TypeVar("A")


async def call_with_retry(
    fn: Callable[[A], T],
    arg: A,
    *,
    max_backoff_s: float = 30.0,
    on_retry: Callable[[StoreUnavailable], None] | None = None,
    what: str = "batch",
) -> T:
    """Run `fn(arg)` in a thread; on `StoreUnavailable` wait (0.25 s doubling to `max_backoff_s`)
    and try again, for as long as it takes. Anything else propagates: that is a bug, not an outage."""
    backoff = 0.25
    while True:
        try:
            return await asyncio.to_thread(fn, arg)
        except StoreUnavailable as exc:
            if on_retry is not None:
                on_retry(exc)
            log.warning("%s; retrying in %.1f s (%s held, unacknowledged)", exc.message, backoff, what)
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, max_backoff_s)
