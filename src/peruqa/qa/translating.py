"""A question asked in one language of a library written in another, read in the library's.

The question keeps its own words for what the visitor sees, for its embedding (the
multilingual models read Spanish well) and for its type of answer; its terms, names and
folded text, the lexical evidence retrieval and the decision weigh, come from its
translation (``text.translation``). Its language stays the visitor's, so the decision's
cross-language weights still apply and replies are in the visitor's language.
``Question.terms_language`` says which language the terms are in.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, replace

from peruqa.index.data import IndexData
from peruqa.qa.question import Question, analyse
from peruqa.text.languages import codes, get
from peruqa.text.translation import available, pipeline


@dataclass(frozen=True)
class Library:
    """The languages a library is written in: most of it in ``language``."""

    language: str | None
    languages: frozenset[str] = frozenset()


def library_of(data: IndexData) -> Library:
    counts = Counter(document.language for document in data.documents.values())
    main = counts.most_common(1)[0][0] if counts else None
    return Library(main, frozenset(counts))


def read_in(question: Question, translation: str, language: str, own: bool = False) -> Question:
    """``question`` with the terms, names and folded text of ``translation``, its wording
    in ``language``; with ``own``, its own terms are kept for passages in its language
    (searched with them, they cost an English-only library 0.03 of Spanish top-1)."""
    read = analyse(translation)
    return replace(
        question,
        folded=read.folded,
        terms=read.terms,
        names=read.names,
        terms_language=language,
        own=question if own else None,
    )


class Translations:
    """Reads each question in its library's language, where Apertium can translate it."""

    def __init__(self, enabled: bool = True) -> None:
        self.enabled = enabled

    def read(self, question: Question, library: Library) -> Question:
        """``question`` as the library's language reads it; unchanged when it is already
        in that language, or no translation into it is installed or succeeds."""
        target = library.language
        if not self.enabled or target is None or question.language == target:
            return question
        mode = get(question.language).apertium.get(target)
        if mode is None:
            return question
        if not available(mode):
            return question
        translation = pipeline(mode).translate(question.text)
        if not translation:
            return question
        return read_in(question, translation, target, question.language in library.languages)

    def warm(self, library: Library) -> None:
        """Start the pipelines questions of ``library`` will need (loading Apertium's
        dictionaries takes about 0.1 s), so that no visitor waits for them."""
        if not self.enabled or library.language is None:
            return
        for code in codes():
            mode = get(code).apertium.get(library.language)
            if code != library.language and mode is not None and available(mode):
                pipeline(mode).translate("hola")
