"""Embedding many texts with several models across processes of one thread each.

On two cores, two single-thread processes embed faster than one process with two threads
(the engines' thread teams wait on each other, and more so when the machine is shared).
Workers load each model once, by name; the main process only hands out batches and stores
vectors. Small jobs (an incremental build) stay in process: starting workers costs seconds.
Embedders that cannot be rebuilt by name in a worker (test fakes) also stay in process.
"""

from __future__ import annotations

import contextlib
import ctypes
import multiprocessing
import os
import signal
import sys
import threading
import time
from collections.abc import Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass

import numpy as np

from peruqa.errors import EmbedderUnavailableError
from peruqa.index.embedding import Embedder, is_rebuildable, make_embedder
from peruqa.index.progress import Progress
from peruqa.index.vector_cache import VectorCache

# Texts per batch, and characters: bigger batches cost less per text, smaller ones report
# progress more often and share work out more evenly.
BATCH_TEXTS = 128
BATCH_CHARS = 24_000
# Below this many texts in all, worker start-up costs more than it saves.
MIN_PARALLEL_TEXTS = 400

_worker_models: dict[str, Embedder] = {}
# prctl option that asks the kernel to signal a process when its parent dies (Linux).
_PR_SET_PDEATHSIG = 1


def _follow_parent(parent: int) -> None:
    """Worker initializer: the worker dies with its build. A build killed with SIGKILL has no
    chance to stop its pool, and each orphaned worker would keep a model (~128 MB) loaded."""
    if sys.platform.startswith("linux"):
        # Without it, the watch thread below still notices within a second.
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:
        os._exit(1)  # the parent died before the request above was in place
    threading.Thread(target=_watch_parent, args=(parent,), daemon=True).start()


def _watch_parent(parent: int) -> None:
    # An orphan is adopted by another process, so its parent id changes.
    while os.getppid() == parent:
        time.sleep(1.0)
    os._exit(1)


def worker_pool(processes: int) -> ProcessPoolExecutor:
    """Embedding worker processes that exit when this process does, however it ends."""
    # Spawned, not forked: a fork would copy this process's model state and thread pools.
    context = multiprocessing.get_context("spawn")
    return ProcessPoolExecutor(
        max_workers=processes,
        mp_context=context,
        initializer=_follow_parent,
        initargs=(os.getpid(),),
    )


def _embed_in_worker(model: str, texts: list[str]) -> np.ndarray:
    embedder = _worker_models.get(model)
    if embedder is None:
        embedder = _worker_models[model] = make_embedder(model, threads=1)
    return embedder.embed_passages(texts)


@dataclass
class EmbedJob:
    """Texts to embed with one model into one cache; ``progress`` gets (done, total)."""

    embedder: Embedder
    cache: VectorCache
    texts: Sequence[str]
    progress: Progress | None = None


def batches(texts: Sequence[str]) -> list[list[str]]:
    """Texts in batches of similar length (less padding for models that pad), each within
    ``BATCH_TEXTS`` texts and ``BATCH_CHARS`` characters. Longest first: the last batches
    are the quickest, so workers finish together and the time left is not underestimated."""
    ordered = sorted(texts, key=len, reverse=True)
    out: list[list[str]] = []
    current: list[str] = []
    size = 0
    for text in ordered:
        if current and (len(current) >= BATCH_TEXTS or size + len(text) > BATCH_CHARS):
            out.append(current)
            current, size = [], 0
        current.append(text)
        size += len(text)
    if current:
        out.append(current)
    return out


class _Tally:
    """Progress of one job; shows a job's counts only once the jobs before it are done,
    so stages appear one after the other even while they run side by side."""

    def __init__(self, job: EmbedJob, total: int) -> None:
        self.job, self.total, self.done, self.shown = job, total, 0, False

    def show(self) -> None:
        if self.job.progress is not None:
            self.job.progress(self.done, self.total)
        self.shown = True


def embed_jobs(jobs: Sequence[EmbedJob], processes: int = 1) -> None:
    """Embed every job's texts missing from its cache; each cache counts what it embedded."""
    work = [(job, batches(job.cache.missing(job.texts))) for job in jobs]
    tallies = [_Tally(job, sum(map(len, todo))) for job, todo in work]
    total = sum(tally.total for tally in tallies)
    parallel = (
        processes > 1
        and total >= MIN_PARALLEL_TEXTS
        and all(is_rebuildable(job.embedder) for job in jobs)
    )

    def advance(index: int, batch: list[str], vectors: np.ndarray) -> None:
        tally = tallies[index]
        tally.job.cache.add(batch, vectors)
        tally.job.cache.embedded += len(batch)
        tally.done += len(batch)
        for position, each in enumerate(tallies):
            ready = all(t.done == t.total for t in tallies[:position])
            if ready and (each is tally or not each.shown):
                each.show()

    if tallies:
        tallies[0].show()
    if not parallel:
        for index, (job, todo) in enumerate(work):
            if not tallies[index].shown:
                tallies[index].show()
            for batch in todo:
                advance(index, batch, job.embedder.embed_passages(batch))
        return
    try:
        with worker_pool(processes) as pool:
            pending: list[tuple[int, list[str], Future[np.ndarray]]] = [
                (index, batch, pool.submit(_embed_in_worker, job.embedder.name, batch))
                for index, (job, todo) in enumerate(work)
                for batch in todo
            ]
            for index, batch, future in pending:
                advance(index, batch, future.result())
    except BrokenProcessPool as exc:
        raise EmbedderUnavailableError(
            "An embedding process stopped unexpectedly (out of memory?). The current index "
            "was kept; run again, or with PERUQA_BUILD_PROCESSES=1 to embed in one process."
        ) from exc
