"""The question-answering service: validated questions in, answers out, with a small cache.

The web app, ``peruqa ask`` and ``peruqa eval`` all talk to this one object, and every check
on a question (empty, too long, cut to the words the model reads) happens here, so they all
give the same answer to the same question. Its index can be swapped while it
serves (see ``reload``): each request reads one consistent snapshot.
"""

from __future__ import annotations

import functools
import logging
import threading
import time
import unicodedata
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, replace

from peruqa.config import (
    HISTORY_ANSWER_MAX_CHARS,
    HISTORY_MAX_TURNS,
    TOP_K_MAX,
    TOP_K_MIN,
    Settings,
)
from peruqa.errors import InvalidQuestionError, PeruQAError
from peruqa.index.embedding import Embedder, make_embedder, question_tokens
from peruqa.index.store import FIRST_STAGE_DIR, MANIFEST, IndexData, load_index
from peruqa.qa.answering import Answer, Answerer, Timings
from peruqa.qa.followup import FAVOUR, FOLLOWUP_BAR, Context, FollowUps, Resolution, Turn, declined
from peruqa.qa.model import load_stage_model
from peruqa.qa.question import Question, bound_question
from peruqa.qa.reading import load_reading
from peruqa.qa.reply import Reply
from peruqa.qa.retrieve import Favour, Retriever
from peruqa.text.i18n import message

log = logging.getLogger("peruqa.qa.service")


@dataclass(frozen=True)
class Checked:
    """A question that passed the checks: spaces collapsed, cut to the words the model reads."""

    text: str
    top_k: int
    cut: bool
    # The earlier turns, oldest first, each within the same bounds (``history`` on /ask).
    history: tuple[Turn, ...] = ()


@dataclass(frozen=True)
class Stage:
    data: IndexData
    retriever: Retriever
    answerer: Answerer

    def run(
        self, question: Question, top_k: int, name: str, favour: Favour | None = None
    ) -> Answer:
        """Answer with this stage's model, recording the stage and what each step cost."""
        started = time.perf_counter()
        query = self.retriever.embed(question)
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
class Snapshot(Stage):
    # The cascade's fast stage, when the index has one: it answers first and the main
    # stage (this snapshot itself) is asked only when it is unsure.
    first_stage: Stage | None = None
    # The library's names and quotes, for reading follow-up questions (built with it).
    followups: FollowUps | None = None


class QAService:
    def __init__(
        self,
        settings: Settings,
        embedder: Embedder | None = None,
        first_stage_embedder: Embedder | None = None,
    ) -> None:
        self.settings = settings
        self.embedder = embedder or make_embedder(settings.model, settings.threads)
        # Made on first use: an index without a first stage never loads the fast model.
        self._first_embedder = first_stage_embedder
        self._snapshot: Snapshot | None = None
        self._cache: OrderedDict[tuple[str, str, str | None, int], Answer] = OrderedDict()
        self._lock = threading.Lock()
        # Why the last load failed (None after a success), so readiness reports the real
        # problem (index_missing, index_corrupt, ...) rather than a guess.
        self.load_error: PeruQAError | None = None
        self._warmed: set[int] = set()  # ids of the embedders already run once

    # -- index lifecycle -------------------------------------------------------------

    def load(self) -> None:
        """Load (or reload) the index from disk; the old one serves until the new is ready."""
        try:
            data = load_index(
                self.settings.index_dir, self.embedder.name, self.settings.hnsw_ef_search
            )
            self.use_index(data, self._load_first_stage())
        except PeruQAError as error:
            self.load_error = error
            raise
        self.load_error = None

    def _load_first_stage(self) -> IndexData | None:
        name = self.settings.cascade_model
        folder = self.settings.index_dir / FIRST_STAGE_DIR
        if name is None or not (folder / MANIFEST).is_file():
            return None
        try:
            if self._first_embedder is None:
                self._first_embedder = make_embedder(name, self.settings.threads)
            return load_index(folder, self._first_embedder.name, self.settings.hnsw_ef_search)
        except PeruQAError as error:
            # The main model can answer everything alone; a broken first stage only costs time.
            log.warning("Cascade off, first stage not loaded: %s", error.message)
            return None

    def _stage(
        self, data: IndexData, embedder: Embedder, threshold: float | None, read: bool = False
    ) -> Stage:
        retriever = Retriever(data, embedder, self.settings.lexical_weight)
        model = load_stage_model(data.manifest.model)
        reading = load_reading(data.manifest.model) if read and self.settings.reader else None
        answerer = Answerer(data, retriever.lexical, model, threshold, reading)
        return Stage(data, retriever, answerer)

    def _warm_up(self, embedders: list[Embedder]) -> None:
        """Run each model once before its first index serves: a model's first forward pass
        costs far more than the next ones (a 2.6 s first answer under load, or about 1 s
        for a worker whose first index came by hot reload), and visitors would wait on it."""
        for embedder in embedders:
            if id(embedder) in self._warmed:
                continue
            try:
                embedder.embed_queries(["¿Desde cuándo trabaja en el Perú? Since?"])
            except Exception:  # a model that fails here fails on questions too, reported there
                log.exception("Warm-up of %s failed", embedder.name)
            self._warmed.add(id(embedder))

    def use_index(self, data: IndexData, first_stage: IndexData | None = None) -> None:
        main = self._stage(data, self.embedder, self.settings.abstain_threshold, read=True)
        first = None
        if first_stage is not None and self._first_embedder is not None:
            # The first stage never declines by itself: when unsure it hands over.
            first = self._stage(first_stage, self._first_embedder, 0.0)
        # Before the swap: the new snapshot never serves a cold model, whether it is the
        # first index of this process or one a hot reload brought.
        self._warm_up([main.retriever.embedder, *([first.retriever.embedder] if first else [])])
        reading = main.answerer.reading
        if reading is not None and id(reading.reader) not in self._warmed:
            reading.reader.score("¿Desde cuándo?", ["Since 1984."])  # its first pass is slow too
            self._warmed.add(id(reading.reader))
        with self._lock:
            self._snapshot = Snapshot(
                main.data, main.retriever, main.answerer, first, FollowUps(main.data)
            )
            self._cache.clear()

    @property
    def snapshot(self) -> Snapshot:
        snapshot = self._snapshot
        if snapshot is None:
            self.load()
            snapshot = self._snapshot
        assert snapshot is not None
        return snapshot

    def sibling(self, **overrides: object) -> QAService:
        """A service over the same loaded index and models with other settings (``peruqa
        eval`` asks again with the threshold at 0 to tabulate every threshold)."""
        other = QAService(
            self.settings.model_copy(update=overrides), self.embedder, self._first_embedder
        )
        snapshot = self.snapshot
        first = snapshot.first_stage.data if snapshot.first_stage is not None else None
        other.use_index(snapshot.data, first)
        return other

    @property
    def current(self) -> Snapshot | None:
        """The index being served, without loading one when there is none."""
        return self._snapshot

    # -- questions -------------------------------------------------------------------

    def check(
        self, question: str, top_k: int | None = None, history: Sequence[Turn] = ()
    ) -> Checked:
        """The question ready to answer, or ``InvalidQuestionError``: cheap, so the server runs
        it before a question waits for a model thread."""
        cleaned = " ".join(question.split())
        # Nothing visible (blank, or zero-width and other format characters only) is no
        # question: refused like an empty one rather than declined.
        if not any(unicodedata.category(char)[0] in "LMNPS" for char in cleaned):
            raise InvalidQuestionError("Please type a question.")
        if len(cleaned) > self.settings.max_question_chars:
            raise InvalidQuestionError(
                f"The question is too long ({len(cleaned)} characters); "
                f"the limit is {self.settings.max_question_chars}."
            )
        k = self.settings.top_k if top_k is None else top_k
        if not TOP_K_MIN <= k <= TOP_K_MAX:
            raise InvalidQuestionError(f"top_k must be between {TOP_K_MIN} and {TOP_K_MAX}.")
        text, cut = self._bound(cleaned)
        return Checked(text, k, cut, tuple(self._check_history(history)))

    def _bound(self, question: str) -> tuple[str, bool]:
        """The question cut to what the model may read (words, then tokens)."""
        return bound_question(
            question,
            self.settings.max_question_words,
            self.settings.max_question_tokens,
            functools.partial(question_tokens, self.embedder),
        )

    def _check_history(self, history: Sequence[Turn]) -> list[Turn]:
        """Earlier turns, cleaned; a turn out of bounds is refused by its number."""
        if len(history) > HISTORY_MAX_TURNS:
            raise InvalidQuestionError(
                f"history holds {len(history)} turns; at most {HISTORY_MAX_TURNS} are read."
            )
        cleaned = []
        for number, turn in enumerate(history, 1):
            question = " ".join(turn.question.split())
            if not question:
                raise InvalidQuestionError(f"history turn {number}: the question is empty.")
            if len(question) > self.settings.max_question_chars:
                raise InvalidQuestionError(
                    f"history turn {number}: the question is too long ({len(question)} "
                    f"characters); the limit is {self.settings.max_question_chars}."
                )
            answer = turn.answer
            if answer is not None and len(answer) > HISTORY_ANSWER_MAX_CHARS:
                raise InvalidQuestionError(
                    f"history turn {number}: the answer is too long ({len(answer)} "
                    f"characters); the limit is {HISTORY_ANSWER_MAX_CHARS}."
                )
            # An earlier question can be asked again ("what about Enabel?"): the same bound.
            question = self._bound(question)[0]
            cleaned.append(Turn(question, answer))
        return cleaned

    def reply(
        self, question: str | Checked, top_k: int | None = None, history: Sequence[Turn] = ()
    ) -> Reply:
        """The answer to ``question`` after the earlier turns in ``history`` (oldest first),
        with the notice that says when the question was cut and, for a follow-up, what it
        carried from those turns (``qa.followup``)."""
        if isinstance(question, Checked):
            checked = question
        else:
            checked = self.check(question, top_k, history)
        answer, context = self._answer(checked.text, checked.top_k, checked.history)
        notice = None
        if checked.cut:
            words = self.settings.max_question_words
            notice = message("truncated", answer.language).format(words=words)
        return Reply(answer, notice, context)

    def ask(self, question: str, top_k: int | None = None, history: Sequence[Turn] = ()) -> Answer:
        return self.reply(question, top_k, history).answer

    def _answer(
        self, cleaned: str, k: int, turns: Sequence[Turn] = ()
    ) -> tuple[Answer, Context | None]:
        snapshot = self.snapshot
        resolution = Resolution(cleaned, cleaned)
        if turns and snapshot.followups is not None:
            resolution = snapshot.followups.read(cleaned, turns)
        key = (resolution.text.casefold(), resolution.earlier.casefold(), resolution.doc_id, k)
        with self._lock:
            cached = self._cache.get(key)
            if cached is not None:
                self._cache.move_to_end(key)
        if cached is not None:
            # The cache is keyed on folded text; echo the question as this visitor typed it.
            return replace(cached, question=cleaned), resolution.context
        asked = resolution.question()
        favour = Favour(resolution.doc_id, FAVOUR) if resolution.doc_id else None
        answer = None
        if snapshot.first_stage is not None:
            first = snapshot.first_stage.run(asked, k, "first", favour)
            if first.confidence >= self.settings.escalate_below:
                answer = first
        if answer is None:
            answer = snapshot.run(asked, k, "main", favour)
        bar = snapshot.answerer.abstain_threshold + FOLLOWUP_BAR
        if resolution.context is not None and not answer.abstained and answer.confidence < bar:
            answer = declined(answer)
        # A follow-up is read with more words than the visitor typed; echo theirs.
        answer = replace(answer, question=cleaned)
        if self.settings.cache_size:
            with self._lock:
                self._cache[key] = answer
                while len(self._cache) > self.settings.cache_size:
                    self._cache.popitem(last=False)
        return answer, resolution.context
