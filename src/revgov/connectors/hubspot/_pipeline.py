"""Pages read ahead and completed concurrently, yielded in order.

A list or search page names the next one, so those requests are sequential; what completes a
page (batch reads of more properties or history, associations) does not depend on other
pages. :func:`ordered_map` reads the sequential pages on one thread, completes up to
``ahead`` of them at once on a pool, and yields the results in the order read: the caller
commits page k (and its cursor) before page k+1, so a killed pull still resumes exactly. With
HubSpot's ~200 ms per request this is what lets a pull use its whole rate limit; the shared
limiter keeps every thread under it.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TypeVar

__all__ = ["ordered_map"]

T = TypeVar("T")
R = TypeVar("R")

_END = object()


def ordered_map(
    source: Iterator[T], fn: Callable[[T], R], *, workers: int, ahead: int
) -> Iterator[R]:
    """``fn(item)`` for each item of ``source``, in order, with up to ``ahead`` in flight.

    ``source`` is advanced on a thread of its own (one item at a time, in order); ``fn`` runs
    on ``workers`` threads. An exception from either is raised here, in order. Closing the
    iterator early stops reading ahead; a request already in flight finishes on its own.
    """
    if workers <= 1 and ahead <= 1:
        yield from map(fn, source)
        return
    reader = ThreadPoolExecutor(1, thread_name_prefix="revgov-read")
    pool = ThreadPoolExecutor(workers, thread_name_prefix="revgov-page")

    def read_one() -> Future[R] | object:
        item = next(source, _END)
        return _END if item is _END else pool.submit(fn, item)  # type: ignore[arg-type]

    queue: deque[Future[Future[R] | object]] = deque(
        reader.submit(read_one) for _ in range(max(1, ahead))
    )
    try:
        while queue:
            started = queue.popleft().result()
            if started is _END:
                break
            assert isinstance(started, Future)
            result = started.result()
            queue.append(reader.submit(read_one))
            yield result
    finally:
        for pending in queue:
            pending.cancel()
        reader.shutdown(wait=False, cancel_futures=True)
        pool.shutdown(wait=False, cancel_futures=True)
