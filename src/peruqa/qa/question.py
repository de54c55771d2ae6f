"""The question, analysed once: every later stage reads this and never re-derives it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from peruqa.qa.answer_types import RULE_FOR, AnswerType, question_type
from peruqa.text.language import LanguageCode, detect_language, fold
from peruqa.text.lexical import name_terms, terms


@dataclass(frozen=True)
class Question:
    text: str
    folded: str  # lower case, no accents: what span and name checks compare against
    language: LanguageCode
    answer_type: AnswerType
    terms: tuple[str, ...]  # folded, stemmed content terms (see ``lexical.terms``)
    # Terms of its names and numbers ("Bolivia", "ICRC", "2023"): the parts that stay the
    # same across languages and that a near miss gets wrong.
    names: tuple[str, ...]
    # A follow-up's earlier turn, as read (``followup``). Its words give the follow-up its
    # meaning ("in which regions?" of what?), so they are embedded with it; they are not
    # terms the answer must hold, or the earlier answer would look like an answer to every
    # follow-up. Analysis (``folded``, ``terms``, ``names``) is of ``text`` alone.
    earlier: str = ""
    # The language ``terms`` and ``names`` are in: the question's own, unless it was read in
    # a translation into the library's language, whose words are then evidence as an
    # English question's are (the decision still sees that it was asked in another).
    terms_language: LanguageCode | None = None
    # Read in a translation, of a library that has passages in the question's own language
    # too, the question read in its own words: those passages are searched and weighed
    # with them.
    own: Question | None = None

    @property
    def search_terms(self) -> tuple[str, ...]:
        """What lexical retrieval looks for: the terms and, read in a translation of a
        library in both languages, the question's own as well."""
        own = self.own.terms if self.own is not None else ()
        return tuple(dict.fromkeys((*self.terms, *own)))

    def evidence(self, language: str) -> tuple[tuple[str, ...], tuple[str, ...], bool]:
        """The terms and names weighed against a passage in ``language``, and whether they
        are in that language (else only names and numbers are evidence)."""
        if self.own is not None and language == self.language:
            return self.own.terms, self.own.names, True
        return self.terms, self.names, language == (self.terms_language or self.language)

    @property
    def full_text(self) -> str:
        """The question with its earlier turn: what is embedded, what the reader reads, and
        what the decision's question-length and wording signals see."""
        return f"{self.text} {self.earlier}" if self.earlier else self.text

    @property
    def strict(self) -> bool:
        """Whether only a sentence holding an answer of the expected type can answer it."""
        rule = RULE_FOR.get(self.answer_type)
        return rule is not None and rule.strict


def bound_question(
    question: str, max_words: int, max_tokens: int, tokens: Callable[[str], int]
) -> tuple[str, bool]:
    """The question cut to ``max_words`` words (and 8 characters a word) and to
    ``max_tokens`` as ``tokens`` counts them, and whether it was cut.

    The model's cost grows with the question's tokens, and a run of rare characters is a
    token each (docs/configuration.md has the figures). Words and characters are a cheap
    first cut; the token count is the bound.
    """
    words = question.split()
    cut = " ".join(words[:max_words])
    limit = max_words * 8
    if len(cut) > limit:
        cut = cut[:limit].rstrip()
    if tokens(cut) > max_tokens:
        # The longest prefix within the budget: tokens grow with the prefix.
        low, high = 0, len(cut)
        while low < high:
            middle = (low + high + 1) // 2
            if tokens(cut[:middle]) <= max_tokens:
                low = middle
            else:
                high = middle - 1
        cut = cut[:low].rstrip()
    return cut, cut != " ".join(words)


def analyse(text: str) -> Question:
    return Question(
        text=text,
        folded=fold(text),
        language=detect_language(text),
        answer_type=question_type(text),
        terms=tuple(terms(text)),
        names=tuple(name_terms(text)),
    )
