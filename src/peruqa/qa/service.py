"""The question-answering service: validated questions in, answers out, with a small cache.

The web app, ``peruqa ask`` and ``peruqa eval`` all talk to this one object, and every check
on a question (``checks``) happens here, so they all give the same answer to the same
question. Its index can be swapped while it serves (``load``, ``use_index``): each request
reads one consistent ``Snapshot``.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import replace

from peruqa.config import Settings
from peruqa.errors import PeruQAError
from peruqa.index.embedding import Embedder, make_embedder
from peruqa.index.store import IndexData
from peruqa.qa.answering import Answer
from peruqa.qa.checks import Checked, QuestionChecks
from peruqa.qa.conversation import Context, Turn
from peruqa.qa.followup import Resolution, favour, settle
from peruqa.qa.reply import Reply
from peruqa.qa.snapshot import Snapshot, SnapshotLoader
from peruqa.qa.translating import Translations
from peruqa.text.i18n import message


class QAService:
    def __init__(
        self,
        settings: Settings,
        embedder: Embedder | None = None,
        first_stage_embedder: Embedder | None = None,
    ) -> None:
        self.settings = settings
        self.embedder = embedder or make_embedder(settings.model, settings.threads)
        self._loader = SnapshotLoader(settings, self.embedder, first_stage_embedder)
        self.checks = QuestionChecks(settings, self.embedder)
        self.translations = Translations(settings.translate)
        self._snapshot: Snapshot | None = None
        self._cache: OrderedDict[tuple[str, str, str | None, int], Answer] = OrderedDict()
        self._lock = threading.Lock()
        # Why the last load failed (None after a success), so readiness reports the real
        # problem (index_missing, index_corrupt, ...) rather than a guess.
        self.load_error: PeruQAError | None = None

    # -- index lifecycle -------------------------------------------------------------

    def load(self) -> None:
        """Load (or reload) the index from disk; the old one serves until the new is ready."""
        try:
            snapshot = self._loader.load()
        except PeruQAError as error:
            self.load_error = error
            raise
        self._swap(snapshot)
        self.translations.warm(snapshot.library)
        self.load_error = None

    def use_index(self, data: IndexData, first_stage: IndexData | None = None) -> None:
        """Serve index data already in memory (a build's quality gate, ``sibling``)."""
        self._swap(self._loader.make(data, first_stage))

    def _swap(self, snapshot: Snapshot) -> None:
        with self._lock:
            self._snapshot = snapshot
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
    def current(self) -> Snapshot | None:
        """The index being served, without loading one when there is none."""
        return self._snapshot

    def sibling(self, **overrides: object) -> QAService:
        """A service over the same loaded index and models with other settings (``peruqa
        eval`` asks again with the threshold at 0 to tabulate every threshold)."""
        other = QAService(
            self.settings.model_copy(update=overrides), self.embedder, self._loader.first_embedder
        )
        snapshot = self.snapshot
        first = snapshot.first_stage.data if snapshot.first_stage is not None else None
        other.use_index(snapshot.data, first)
        return other

    # -- questions -------------------------------------------------------------------

    def check(
        self, question: str, top_k: int | None = None, history: Sequence[Turn] = ()
    ) -> Checked:
        """The question ready to answer, or ``InvalidQuestionError`` (``checks``)."""
        return self.checks.check(question, top_k, history)

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
        if turns:
            resolution = snapshot.followups.read(cleaned, turns)
        key = (resolution.text.casefold(), resolution.earlier.casefold(), resolution.doc_id, k)
        with self._lock:
            cached = self._cache.get(key)
            if cached is not None:
                self._cache.move_to_end(key)
        if cached is not None:
            # The cache is keyed on folded text; echo the question as this visitor typed it.
            return replace(cached, question=cleaned), resolution.context
        asked = self.translations.read(resolution.question(), snapshot.library)
        favoured = favour(resolution)
        answer = None
        if snapshot.first_stage is not None:
            first = snapshot.first_stage.run(asked, k, "first", favoured)
            if first.confidence >= self.settings.escalate_below:
                answer = first
        if answer is None:
            answer = snapshot.main.run(asked, k, "main", favoured)
        answer = settle(answer, resolution, snapshot.answerer)
        # A follow-up is read with more words than the visitor typed; echo theirs.
        answer = replace(answer, question=cleaned)
        if self.settings.cache_size:
            with self._lock:
                self._cache[key] = answer
                while len(self._cache) > self.settings.cache_size:
                    self._cache.popitem(last=False)
        return answer, resolution.context
