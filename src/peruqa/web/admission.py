"""Fair admission in front of the model: a bounded, round-robin queue per client address.

The model answers one question per thread at a time, so one client's burst of expensive
questions used to hold everyone else's for as long as it took. Here:

- questions run on their own small thread pool, never on the pool that serves pages,
  health checks and static files;
- each address may have ``per_client`` questions waiting or running, and the whole queue
  holds at most ``queue_max``; past that the answer is an immediate refusal with
  ``Retry-After``;
- waiting questions are served round-robin across addresses, and an address with nothing
  pending goes to the front of the rotation, so a second address waits for the questions
  running now, not for another address's burst;
- a question whose expected wait (jobs ahead of it times the recent cost per question)
  passes the timeout is refused at once, and a queued question whose client gave up or
  whose deadline can no longer be met is dropped before it starts.
"""

from __future__ import annotations

import asyncio
import functools
import math
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from peruqa.errors import AnswerTimeoutError, OverloadedError, TooManyPendingError

T = TypeVar("T")

# Cost assumed for a question before any has been timed (seconds).
_INITIAL_COST_S = 0.05
# Weight of the newest measurement in the moving average of cost per question.
_COST_WEIGHT = 0.2


@dataclass(eq=False)
class _Job(Generic[T]):
    call: Callable[[], T]
    future: asyncio.Future[T]
    deadline: float  # loop time by which the answer must be back
    client: str = field(default="")


class Admission:
    def __init__(
        self,
        threads: int,
        queue_max: int,
        per_client: int,
        timeout_s: float,
        on_depth: Callable[[int], None] | None = None,
    ) -> None:
        self.threads = threads
        self.queue_max = queue_max
        self.per_client = per_client
        self.timeout_s = timeout_s
        self._executor = ThreadPoolExecutor(threads, thread_name_prefix="peruqa-answer")
        # Round-robin order: the first client in the dict is served next, then moves last.
        self._queues: OrderedDict[str, deque[_Job[Any]]] = OrderedDict()
        self._running: dict[str, int] = {}
        self._cost_s = _INITIAL_COST_S
        self._lock = threading.Lock()  # only for the cost average, written by answer threads
        self._on_depth = on_depth

    # -- figures ---------------------------------------------------------------------

    @property
    def depth(self) -> int:
        """Questions waiting or running."""
        return sum(len(q) for q in self._queues.values()) + sum(self._running.values())

    def _pending(self, client: str) -> int:
        return len(self._queues.get(client, ())) + self._running.get(client, 0)

    def expected_wait_s(self, client: str) -> float:
        """Seconds until a new question from ``client`` would be answered.

        Under round-robin a new question at place ``p`` in its client's queue runs after
        the questions running now, ``p`` of its own, and at most ``p + 1`` of every other
        client's (an idle client's first question jumps the rotation: ``p = 0`` counts
        none of theirs, but this stays a cautious upper bound).
        """
        own = len(self._queues.get(client, ()))
        ahead = sum(self._running.values()) + own
        ahead += sum(min(len(q), own + 1) for c, q in self._queues.items() if c != client)
        return (ahead / self.threads + 1) * self._cost_s

    # -- admission -------------------------------------------------------------------

    async def run(self, client: str, call: Callable[[], T], share: int | None = None) -> T:
        """Run ``call`` on an answer thread in fair order, or refuse at once.

        ``share`` replaces ``per_client`` for this client (a staff key has its own)."""
        loop = asyncio.get_running_loop()
        if self._pending(client) >= (self.per_client if share is None else share):
            raise TooManyPendingError(
                "You already have questions waiting for an answer; "
                "please wait for them before asking more.",
                retry_after=max(1, math.ceil(self._pending(client) * self._cost_s)),
            )
        queued = sum(len(q) for q in self._queues.values())
        wait = self.expected_wait_s(client)
        if queued >= self.queue_max or wait > self.timeout_s:
            raise OverloadedError(
                "The server is busy answering other questions; please try again shortly.",
                retry_after=max(1, math.ceil(wait - self.timeout_s + self._cost_s)),
            )
        job: _Job[T] = _Job(call, loop.create_future(), loop.time() + self.timeout_s, client)
        idle = client not in self._queues and client not in self._running
        self._queues.setdefault(client, deque()).append(job)
        if idle:
            # An address with nothing waiting or running goes first in the rotation: it
            # waits only for the questions running now, not also for a busy address's turn.
            self._queues.move_to_end(client, last=False)
        self._dispatch()
        try:
            # wait_for cancels the future on timeout; a cancelled job never starts.
            return await asyncio.wait_for(job.future, job.deadline - loop.time())
        except TimeoutError as exc:
            raise AnswerTimeoutError(
                "Answering took too long. Please try again in a moment."
            ) from exc
        finally:
            if not job.future.done():
                job.future.cancel()  # the request itself was cancelled (client gone)
            self._report_depth()

    def _next_job(self) -> _Job[Any] | None:
        while self._queues:
            client, queue = next(iter(self._queues.items()))
            job = queue.popleft()
            if queue:
                self._queues.move_to_end(client)
            else:
                del self._queues[client]
            if job.future.done():
                continue  # cancelled or timed out while waiting: it never starts
            if job.deadline - job.future.get_loop().time() < self._cost_s:
                # It could not finish in time; say so now instead of spending the CPU.
                job.future.set_exception(
                    OverloadedError(
                        "The server is busy answering other questions; please try again shortly.",
                        retry_after=max(1, math.ceil(self._cost_s)),
                    )
                )
                continue
            return job
        return None

    def _dispatch(self) -> None:
        while sum(self._running.values()) < self.threads:
            job = self._next_job()
            if job is None:
                break
            self._running[job.client] = self._running.get(job.client, 0) + 1
            loop = job.future.get_loop()
            done = loop.run_in_executor(self._executor, self._timed, job.call)
            done.add_done_callback(functools.partial(self._finished, job))
        self._report_depth()

    def _timed(self, call: Callable[[], T]) -> T:
        started = time.perf_counter()
        try:
            return call()
        finally:
            elapsed = time.perf_counter() - started
            with self._lock:
                self._cost_s += _COST_WEIGHT * (elapsed - self._cost_s)

    def _finished(self, job: _Job[Any], result: asyncio.Future[Any]) -> None:
        left = self._running[job.client] - 1
        if left:
            self._running[job.client] = left
        else:
            del self._running[job.client]
        if not job.future.done():
            if result.cancelled():
                job.future.cancel()
            elif (error := result.exception()) is not None:
                job.future.set_exception(error)
            else:
                job.future.set_result(result.result())
        self._dispatch()

    def _report_depth(self) -> None:
        if self._on_depth is not None:
            self._on_depth(self.depth)

    def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)
