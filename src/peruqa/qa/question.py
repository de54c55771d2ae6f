"""The question, analysed once: every later stage reads this and never re-derives it."""

from __future__ import annotations

from dataclasses import dataclass

from peruqa.qa.answer_types import RULE_FOR, AnswerType, question_type
from peruqa.text.language import Language, detect_language, fold
from peruqa.text.lexical import name_terms, terms


@dataclass(frozen=True)
class Question:
    text: str
    folded: str  # lower case, no accents: what span and name checks compare against
    language: Language
    answer_type: AnswerType
    terms: tuple[str, ...]  # folded, stemmed content terms (see ``lexical.terms``)
    # Terms of its names and numbers ("Bolivia", "ICRC", "2023"): the parts that stay the
    # same across languages and that a near miss gets wrong.
    names: tuple[str, ...]

    @property
    def strict(self) -> bool:
        """Whether only a sentence holding an answer of the expected type can answer it."""
        rule = RULE_FOR.get(self.answer_type)
        return rule is not None and rule.strict


def bound_question(question: str, max_words: int) -> tuple[str, bool]:
    """The question cut to ``max_words`` words (and 8 characters a word), and whether it was.

    The model's cost grows with the question's tokens, and a 1,000-character question cost
    up to 2.4 s against ~20 ms for a normal one. Words stand in for tokens here; the
    character cap catches long runs without spaces, which split into many tokens.
    """
    words = question.split()
    cut = " ".join(words[:max_words])
    limit = max_words * 8
    if len(cut) > limit:
        cut = cut[:limit].rstrip()
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
