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

from peruqa.text import vocab_en, vocab_es
from peruqa.text.language import fold
from peruqa.text.names import CAPITALISED, acronyms


class AnswerType(StrEnum):
    NUMBER = "number"
    PERCENT = "percent"
    DATE = "date"
    PERSON = "person"
    PLACE = "place"
    EXPANSION = "expansion"  # what an acronym stands for
    OTHER = "other"


_MONTHS = "|".join(vocab_en.MONTHS + vocab_es.MONTHS)
_NUMBER_WORDS = "|".join(vocab_en.NUMBER_WORDS + vocab_es.NUMBER_WORDS)
_YEAR = re.compile(r"^(?:1[89]|20)\d\d$")
_PERCENT = re.compile(r"%|per ?cent|por ciento", re.IGNORECASE)

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
    TypeRule(
        AnswerType.EXPANSION,
        re.compile(r"\bstand for\b|\bstands for\b|\bsignifica\b|\bsiglas?\b"),
        None,
    ),
    TypeRule(
        AnswerType.DATE,
        re.compile(
            # "when" only as the question word itself, not "... check when it visits".
            r"^(?:\S+ ){0,2}(?:when|cuando)\b|\bwhat year\b|\bwhich year\b|\bwhat date\b"
            r"|\bsince what\b"
            r"|\bque (ano|fecha)\b|\ben que ano\b|\bdesde que\b|\bdesde cuando\b"
        ),
        re.compile(
            rf"\b(?:(?:{_MONTHS})\s+)?(?:1[89]\d\d|20\d\d)(?:\s*[–-]\s*(?:1[89]\d\d|20\d\d))?\b",
            re.IGNORECASE,
        ),
    ),
    TypeRule(
        AnswerType.PERCENT,
        re.compile(
            r"\b(percentage|share|proportion|per cent|percent|rate|porcentaje|proporcion|tasa)\b"
        ),
        re.compile(r"\d[\d,.]*\s*(?:%|per cent|percent|por ciento)", re.IGNORECASE),
    ),
    TypeRule(
        AnswerType.NUMBER,
        re.compile(
            r"\bhow (many|much|old|long)\b|\bwhat (number|amount|place|rank|score)\b"
            r"|\bcuant[oa]s?\b|\bque (numero|cantidad|puesto|edad)\b"
        ),
        re.compile(
            rf"[£$€]?\d[\d,.]*(?:\s*(?:%|per cent|percent|por ciento|th|st|nd|rd))?"
            rf"(?:\s+(?:to|-|–|a)\s+\d[\d,.]*)?(?:\s+out of\s+\d+)?"
            rf"|\b(?:more than |over |about |some |a |one )?(?:{_NUMBER_WORDS})\b"
            rf"(?:\s+(?:years|per cent))?",
            re.IGNORECASE,
        ),
        skip=_year_or_percent,
    ),
    TypeRule(
        AnswerType.PERSON,
        re.compile(
            r"\bwho\b|\bwhom\b|\bquien(es)?\b|\bwhat is the name\b|\bcomo se llama\b"
            r"|\bwhich (partner|organi[sz]ation|agency|group|ngo|institution)s?\b"
            r"|\bque (organizacion|socio|institucion|entidad|agencia|ong)\b"
        ),
        # Runs of capitalised words (with the small joiners names use).
        re.compile(rf"\b{CAPITALISED}(?:\s+(?:de|del|la|of)?\s*{CAPITALISED})+"),
        skip=_lone_first_word,
    ),
    TypeRule(
        AnswerType.PLACE,
        re.compile(
            r"\bwhere\b|\bin which (region|country|city|province|district|place)s?\b"
            r"|\bwhich (region|country|city|countries|regions)\b|\bdonde\b"
            r"|\ben que (region|pais|ciudad|provincia|lugar)\b|\bque (region|pais|ciudad|lugar)\b"
        ),
        # "and" joins two places: "Ayacucho, Cusco and Junín".
        re.compile(rf"\b{CAPITALISED}(?:,?\s+(?:and|y|de|del)?\s*{CAPITALISED})*"),
    ),
)
RULE_FOR: dict[AnswerType, TypeRule] = {rule.type: rule for rule in RULES}

_WH_WORD = re.compile(rf"^({'|'.join([*vocab_en.QUESTION_WORDS, *vocab_es.QUESTION_WORDS])})$")
_WHAT_IS_ACRONYM = re.compile(
    r"^(?:what|who) (?:is|are|was|were) (?:the )?[A-Z][A-Z0-9]{1,9}\W*$"
    r"|^(?:qu[eé]|qui[eé]n) (?:es|son|era) (?:el |la |los |las )?[A-Z][A-Z0-9]{1,9}\W*$",
    re.IGNORECASE,
)


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
    # "What is INPE?" asks what the letters stand for. Case-sensitive on the acronym itself.
    if _WHAT_IS_ACRONYM.match(clause) and acronyms(clause):
        return AnswerType.EXPANSION
    folded = fold(clause)
    for rule in RULES:
        if rule.question.search(folded):
            return rule.type
    return AnswerType.OTHER
