"""Finding the record a batch keeps failing on, so one poison record cannot stall a partition.

The pipeline itself never raises on data (the store's refusals become dead letters), and an
unavailable database is retried for as long as it takes (`call_with_retry`). What is left is
a failure nobody foresaw — a bug that one record triggers. Restarting the worker would meet
the same record again (a crash loop), so the batch is tried `attempts` times, then bisected
until the records that fail alone are found; those are handed to `quarantine` (the Faust app
produces them to the dead-letter topic, with the error) and the rest is processed.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence

from pakhuis.errors import StoreUnavailable
from pakhuis.reading import Envelope
from pakhuis.store import WriteResult
from stream.pipeline import PipelineOutcome
from stream.retry import call_with_retry

log = logging.getLogger(__name__)

Quarantine = Callable[[Envelope, BaseException], Awaitable[None]]


def merge(a: PipelineOutcome, b: PipelineOutcome) -> PipelineOutcome:
    w, v = a.write, b.write
    write = WriteResult(
        w.readings + v.readings,
        w.inserted + v.inserted,
        w.dead_letters + v.dead_letters,
        (*w.alerts, *v.alerts),
    )
    return PipelineOutcome(write, [*a.alerts, *b.alerts], [*a.live, *b.live])


async def run_isolating(
    pipeline: Callable[[Sequence[Envelope]], PipelineOutcome],
    batch: Sequence[Envelope],
    quarantine: Quarantine,
    *,
    attempts: int = 3,
    what: str = "batch",
) -> PipelineOutcome:
    """`pipeline(batch)`, retried on outages; a batch that fails `attempts` times otherwise is
    split until the failing records are alone, and those go to `quarantine`."""
    failure: Exception | None = None
    for attempt in range(attempts):
        try:
            return await call_with_retry(pipeline, batch, what=what)
        except StoreUnavailable:
            raise  # call_with_retry retries these itself; never quarantine an outage
        except Exception as exc:  # logged here, and the record is quarantined, not dropped
            failure = exc
            log.exception("the stream failed on %s (attempt %d of %d)", what, attempt + 1, attempts)
            await asyncio.sleep(0.1 * (attempt + 1))
    assert failure is not None
    if len(batch) == 1:
        await quarantine(batch[0], failure)
        return PipelineOutcome(WriteResult(0, 0, 0))
    middle = len(batch) // 2
    first = await run_isolating(pipeline, batch[:middle], quarantine, attempts=attempts, what=what)
    second = await run_isolating(pipeline, batch[middle:], quarantine, attempts=attempts, what=what)
    return merge(first, second)
