"""How many of numba's threads a kernel call gets, and which threading layer runs them."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

import numba

from geo.spatial import _kernels

__all__ = [
    "PARALLEL_MIN_POINTS",
    "PARALLEL_MIN_QUERIES",
    "kernel_threads",
    "many_points",
    "many_queries",
    "threading_layer",
]

# Below these sizes a kernel runs on the calling thread alone: a parallel region costs a thread
# wake-up, and when another core is busy the region waits for its share of a time slice, so
# for well under a millisecond of work one thread is faster and steadier. Measured at the
# Utrecht size (30k drains x 217k trees, 2 cores; issue 12), all threads already pay off, with
# a core free and with one kept busy: GeoDataFrame indicators 2.53x -> 2.8x cKDTree's nearest
# (busy core: 2.32x -> 2.65x), nearest 4.97x -> 5.5x (5.3x -> 6.3x) with these thresholds
# instead of ten times them.
PARALLEL_MIN_QUERIES = 10_000
PARALLEL_MIN_POINTS = 100_000


def many_queries(n: int) -> bool:
    """Whether `n` queries are worth all threads (read at call time, so tests can lower it)."""
    return n >= PARALLEL_MIN_QUERIES


def many_points(n: int) -> bool:
    """Whether `n` points to index or aggregate are worth all threads."""
    return n >= PARALLEL_MIN_POINTS


@contextmanager
def kernel_threads(parallel: bool) -> Iterator[int]:
    """numba's thread count for the kernels called inside (thread-local, restored after)."""
    threads = numba.get_num_threads()
    if parallel or threads == 1:
        yield threads
        return
    numba.set_num_threads(1)
    try:
        yield 1
    finally:
        numba.set_num_threads(threads)


def threading_layer() -> str:
    """The numba threading layer the kernels run on ('omp' or 'tbb': both thread-safe); the
    one configured until the first parallel kernel has run, then the one numba launched."""
    launched: Callable[[], str] = numba.threading_layer  # type: ignore[attr-defined]
    try:
        return str(launched())
    except ValueError:  # no parallel kernel has run yet in this process
        return _kernels.THREADING_LAYER
