"""The question, analysed once: every later stage reads this and never re-derives it."""

from __future__ import annotations

from collections.abc import Callable
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


def bound_question(
    question: str, max_words: int, max_tokens: int, tokens: Callable[[str], int]
) -> tuple[str, bool]:
    """The question cut to ``max_words`` words (and 8 characters a word) and to
    ``max_tokens`` as ``tokens`` counts them, and whether it was cut.

    The model's cost grows with the question's tokens: a 1,000-character question cost up
    to 2.4 s against ~20 ms for a normal one, and 256 rare characters (one word, a token
    each) 400 ms. Words and characters are a cheap first cut; the token count is the bound.
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
