"""What one loaded index serves with, and loading it.

A ``Snapshot`` holds everything a question is answered from: the main model's ``Stage``
(index, retriever, answerer), the cascade's fast first stage when the index has one, and
the library's names for reading follow-ups. ``SnapshotLoader`` builds one from disk or from
index data already in memory, with every model warmed up first, so a snapshot never serves
a cold model; the service swaps snapshots whole (``QAService.use_index``).
"""

from __future__ import annotations

import functools
import logging
import time
from dataclasses import dataclass, replace

from peruqa.config import Settings
from peruqa.errors import PeruQAError
from peruqa.index.embedding import Embedder, make_embedder
from peruqa.index.store import FIRST_STAGE_DIR, MANIFEST, IndexData, load_index
from peruqa.qa.answering import Answer, Answerer, Timings
from peruqa.qa.followup import FollowUps
from peruqa.qa.model import load_stage_model
from peruqa.qa.question import Question
from peruqa.qa.reading import load_reading
from peruqa.qa.retrieve import Favour, Retriever
from peruqa.qa.translating import Library, library_of

log = logging.getLogger("peruqa.qa.snapshot")


@dataclass(frozen=True)
class Stage:
    """One model's index, retriever and answerer."""

    data: IndexData
    retriever: Retriever
    answerer: Answerer

    def run(
        self, question: Question, top_k: int, name: str, favour: Favour | None = None
    ) -> Answer:
        """Answer with this stage's model, recording the stage and what each step cost."""
        started = time.perf_counter()
        query = self.retriever.embed(question)
        own = question.own
        if own is not None and self.retriever.nearest_language(query) == question.language:
            # Of a library in both languages, a question whose closest passage is in its own
            # language is read in its own words, not its translation's.
            query = self.retriever.query_from(own, query.vector)
        embedded = time.perf_counter()
        retrieval = self.retriever.retrieve(query, top_k, favour)
        searched = time.perf_counter()
        answer = self.answerer.respond(retrieval)
        done = time.perf_counter()
        timings = Timings(
            (embedded - started) * 1000, (searched - embedded) * 1000, (done - searched) * 1000
        )
        return replace(answer, stage=name, timings=timings)


@dataclass(frozen=True)
class Snapshot:
    main: Stage
    # The cascade's fast stage, when the index has one: it answers first and the main
    # stage is asked only when it is unsure.
    first_stage: Stage | None
    # The library's names and quotes, for reading follow-up questions (built with it).
    followups: FollowUps

    @property
    def data(self) -> IndexData:
        return self.main.data

    @functools.cached_property
    def library(self) -> Library:
        """The languages the library is written in (questions are read in its main one)."""
        return library_of(self.data)

    @property
    def retriever(self) -> Retriever:
        return self.main.retriever

    @property
    def answerer(self) -> Answerer:
        return self.main.answerer


class SnapshotLoader:
    """Builds snapshots for one service: its settings, its models, warmed once each."""

    def __init__(
        self, settings: Settings, embedder: Embedder, first_embedder: Embedder | None = None
    ) -> None:
        self.settings = settings
        self.embedder = embedder
        # Made on first use: an index without a first stage never loads the fast model.
        self.first_embedder = first_embedder
        self._warmed: set[int] = set()  # ids of the models already run once

    def load(self) -> Snapshot:
        """A snapshot of the index on disk (and of its first stage, when it has one)."""
        settings = self.settings
        data = load_index(settings.index_dir, self.embedder.name, settings.hnsw_ef_search)
        return self.make(data, self._load_first_stage())

    def _load_first_stage(self) -> IndexData | None:
        name = self.settings.cascade_model
        folder = self.settings.index_dir / FIRST_STAGE_DIR
        if name is None or not (folder / MANIFEST).is_file():
            return None
        try:
            if self.first_embedder is None:
                self.first_embedder = make_embedder(name, self.settings.threads)
            return load_index(folder, self.first_embedder.name, self.settings.hnsw_ef_search)
        except PeruQAError as error:
            # The main model can answer everything alone; a broken first stage only costs time.
            log.warning("Cascade off, first stage not loaded: %s", error.message)
            return None

    def make(self, data: IndexData, first_stage: IndexData | None = None) -> Snapshot:
        """A snapshot of index data already in memory, every model warmed."""
        main = self._stage(data, self.embedder, self.settings.abstain_threshold, read=True)
        first = None
        if first_stage is not None and self.first_embedder is not None:
            # The first stage never declines by itself: when unsure it hands over.
            first = self._stage(first_stage, self.first_embedder, 0.0)
        self._warm_up([main.retriever.embedder, *([first.retriever.embedder] if first else [])])
        reading = main.answerer.reading
        if reading is not None and id(reading.reader) not in self._warmed:
            reading.reader.score("¿Desde cuándo?", ["Since 1984."])  # its first pass is slow too
            self._warmed.add(id(reading.reader))
        return Snapshot(main, first, FollowUps(main.data))

    def _stage(
        self, data: IndexData, embedder: Embedder, threshold: float | None, read: bool = False
    ) -> Stage:
        settings = self.settings
        retriever = Retriever(data, embedder, settings.lexical_weight)
        model = load_stage_model(data.manifest.model, settings.decision_model)
        reading = load_reading(data.manifest.model) if read and settings.reader else None
        answerer = Answerer(data, retriever.lexical, model, threshold, reading)
        return Stage(data, retriever, answerer)

    def _warm_up(self, embedders: list[Embedder]) -> None:
        """Run each model once before its first index serves: a model's first forward pass
        costs far more than the next ones (docs/operations.md), and visitors would wait."""
        for embedder in embedders:
            if id(embedder) in self._warmed:
                continue
            try:
                embedder.embed_queries(["¿Desde cuándo trabaja en el Perú? Since?"])
            except Exception:  # a model that fails here fails on questions too, reported there
                log.exception("Warm-up of %s failed", embedder.name)
            self._warmed.add(id(embedder))
