"""What kind of answer a question expects: one record per type, in the order they are tried.

Each record says how to recognise a question of its type (on the folded words around the
question word), what a phrase of that type looks like in a sentence, which phrases to skip,
and whether a sentence holding such a phrase outranks one without (``strict``).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from peruqa.text.language import fold
from peruqa.text.languages import LANGUAGES, all_words
from peruqa.text.names import CAPITALISED, YEAR


class AnswerType(StrEnum):
    NUMBER = "number"
    PERCENT = "percent"
    DATE = "date"
    PERSON = "person"
    PLACE = "place"
    EXPANSION = "expansion"  # what an acronym stands for
    OTHER = "other"


def _either(attribute: str) -> str:
    """Every language's words of one kind, as alternatives of a regular expression."""
    return "|".join(all_words(attribute))


def _asks(kind: str) -> re.Pattern[str]:
    """How any language's question asks for an answer of ``kind`` (see ``Language``)."""
    patterns = [language.question_patterns[kind] for language in LANGUAGES.values()]
    return re.compile("|".join(p for p in patterns if p))


_MONTHS = _either("months")
_NUMBER_WORDS = _either("number_words")
_PERCENT_WORDS = _either("percent_words")
_YEAR = re.compile(rf"^{YEAR}$")
_PERCENT = re.compile(rf"%|{_PERCENT_WORDS}", re.IGNORECASE)

# (phrase, where it starts in the sentence) -> True when the phrase is not an answer.
Skip = Callable[[str, int], bool]


def _lone_first_word(phrase: str, start: int) -> bool:
    # Every sentence starts with a capital; one capitalised first word is not a name.
    return start == 0 and " " not in phrase


def _year_or_percent(phrase: str, start: int) -> bool:
    # A count is neither a year nor a percentage ("How many volunteers?" vs "since 1984").
    return bool(_YEAR.match(phrase) or _PERCENT.search(phrase))


@dataclass(frozen=True)
class TypeRule:
    type: AnswerType
    question: re.Pattern[str]  # runs on the folded interrogative clause
    span: re.Pattern[str] | None  # None: found by a rule of its own (see ``spans``)
    skip: Skip | None = None
    strict: bool = True


# Tried in this order: "what percentage" is a percent question before it is a number one.
RULES: tuple[TypeRule, ...] = (
    TypeRule(AnswerType.EXPANSION, _asks("expansion"), None),
    TypeRule(
        AnswerType.DATE,
        _asks("date"),
        re.compile(
            rf"\b(?:(?:{_MONTHS})\s+)?{YEAR}(?:\s*[–-]\s*{YEAR})?\b",
            re.IGNORECASE,
        ),
    ),
    TypeRule(
        AnswerType.PERCENT,
        _asks("percent"),
        re.compile(rf"\d[\d,.]*\s*(?:%|{_PERCENT_WORDS})", re.IGNORECASE),
    ),
    TypeRule(
        AnswerType.NUMBER,
        _asks("number"),
        re.compile(
            rf"[£$€]?\d[\d,.]*(?:\s*(?:%|{_PERCENT_WORDS}|{_either('ordinal_suffixes')}))?"
            rf"(?:\s+(?:-|–|{_either('range_words')})\s+\d[\d,.]*)?"
            rf"(?:\s+(?:{_either('number_outs')})\s+\d+)?"
            rf"|\b(?:(?:{_either('number_leads')}) )?(?:{_NUMBER_WORDS})\b"
            rf"(?:\s+(?:{_either('number_units')}))?",
            re.IGNORECASE,
        ),
        skip=_year_or_percent,
    ),
    TypeRule(
        AnswerType.PERSON,
        _asks("person"),
        # Runs of capitalised words (with the small joiners names use).
        re.compile(rf"\b{CAPITALISED}(?:\s+(?:{_either('person_joiners')})?\s*{CAPITALISED})+"),
        skip=_lone_first_word,
    ),
    TypeRule(
        AnswerType.PLACE,
        _asks("place"),
        # "and" joins two places: "Ayacucho, Cusco and Junín".
        re.compile(rf"\b{CAPITALISED}(?:,?\s+(?:{_either('place_joiners')})?\s*{CAPITALISED})*"),
    ),
)
RULE_FOR: dict[AnswerType, TypeRule] = {rule.type: rule for rule in RULES}

_WH_WORD = re.compile(rf"^({_either('question_words')})$")


def _interrogative_clause(question: str) -> str:
    """The words around the first question word: 'Además de X, ¿qué ...' -> 'qué ...'.

    Only those decide the type, so 'What does it check when it visits?' is not a 'when'
    question, while 'Since when ...' and 'In which region ...' keep their lead-in.
    """
    words = question.rsplit("¿", 1)[-1].split()
    for position, word in enumerate(words):
        if _WH_WORD.match(fold(word.strip("¿?,.;:"))):
            return " ".join(words[max(position - 2, 0) : position + 6])
    return " ".join(words[:5])


def question_type(question: str) -> AnswerType:
    clause = _interrogative_clause(question)
    folded = fold(clause)
    for rule in RULES:
        if rule.question.search(folded):
            return rule.type
    return AnswerType.OTHER
