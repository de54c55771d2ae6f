"""The question-answering service: validated questions in, answers out, with a small cache.

The web app and the CLI both talk to this one object. Its index can be swapped while it
serves (see ``reload``): each request reads one consistent snapshot.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, replace

from peruqa.answer import Answer, Answerer
from peruqa.confidence import load_calibration
from peruqa.config import Settings
from peruqa.embedding import Embedder, make_embedder
from peruqa.errors import InvalidQuestionError
from peruqa.index import IndexData, load_index
from peruqa.retrieve import Retriever


@dataclass(frozen=True)
class Timings:
    embed_ms: float
    search_ms: float
    answer_ms: float


@dataclass(frozen=True)
class Snapshot:
    data: IndexData
    retriever: Retriever
    answerer: Answerer


class QAService:
    def __init__(self, settings: Settings, embedder: Embedder | None = None) -> None:
        self.settings = settings
        self.embedder = embedder or make_embedder(settings.model, settings.threads)
        self._snapshot: Snapshot | None = None
        self._cache: OrderedDict[tuple[str, int], Answer] = OrderedDict()
        self._lock = threading.Lock()
        self.last_timings: Timings | None = None

    # -- index lifecycle -------------------------------------------------------------

    def load(self) -> None:
        """Load (or reload) the index from disk; the old one serves until the new is ready."""
        data = load_index(self.settings.index_dir, self.embedder.name)
        self.use_index(data)

    def use_index(self, data: IndexData) -> None:
        retriever = Retriever(data, self.embedder, self.settings.lexical_weight)
        calibration = load_calibration(data.manifest.model)
        answerer = Answerer(data, retriever.lexical, calibration, self.settings.abstain_threshold)
        with self._lock:
            self._snapshot = Snapshot(data, retriever, answerer)
            self._cache.clear()

    @property
    def snapshot(self) -> Snapshot:
        snapshot = self._snapshot
        if snapshot is None:
            self.load()
            snapshot = self._snapshot
        assert snapshot is not None
        return snapshot

    @property
    def loaded(self) -> bool:
        return self._snapshot is not None

    # -- questions -------------------------------------------------------------------

    def validate(self, question: str) -> str:
        cleaned = " ".join(question.split())
        if not cleaned:
            raise InvalidQuestionError("Please type a question.")
        if len(cleaned) > self.settings.max_question_chars:
            raise InvalidQuestionError(
                f"The question is too long ({len(cleaned)} characters); "
                f"the limit is {self.settings.max_question_chars}."
            )
        return cleaned

    def ask(self, question: str, top_k: int | None = None) -> Answer:
        cleaned = self.validate(question)
        k = self.settings.top_k if top_k is None else top_k
        if not 1 <= k <= 20:
            raise InvalidQuestionError("top_k must be between 1 and 20.")
        key = (cleaned.casefold(), k)
        with self._lock:
            cached = self._cache.get(key)
            if cached is not None:
                self._cache.move_to_end(key)
        if cached is not None:
            # The cache is keyed on folded text; echo the question as this visitor typed it.
            return replace(cached, question=cleaned)
        snapshot = self.snapshot
        started = time.perf_counter()
        query = snapshot.retriever.make_query(cleaned)
        embedded = time.perf_counter()
        retrieval = snapshot.retriever.search_query(query, k)
        searched = time.perf_counter()
        answer = snapshot.answerer.answer(retrieval)
        done = time.perf_counter()
        self.last_timings = Timings(
            (embedded - started) * 1000, (searched - embedded) * 1000, (done - searched) * 1000
        )
        if self.settings.cache_size:
            with self._lock:
                self._cache[key] = answer
                while len(self._cache) > self.settings.cache_size:
                    self._cache.popitem(last=False)
        return answer
