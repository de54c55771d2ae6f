"""What kind of answer a question expects, and where such an answer sits in a sentence."""

from __future__ import annotations

import re
from enum import StrEnum

from peruqa.text.language import fold
from peruqa.text.lexical import terms


class AnswerType(StrEnum):
    NUMBER = "number"
    PERCENT = "percent"
    DATE = "date"
    PERSON = "person"
    PLACE = "place"
    EXPANSION = "expansion"  # what an acronym stands for
    OTHER = "other"


# Patterns run on folded text (lower case, no accents), English and Spanish together.
_QUESTION_TYPES: list[tuple[AnswerType, re.Pattern[str]]] = [
    (AnswerType.EXPANSION, re.compile(r"\bstand for\b|\bstands for\b|\bsignifica\b|\bsiglas?\b")),
    (
        AnswerType.DATE,
        re.compile(
            # "when" only as the question word itself, not "... check when it visits".
            r"^(?:\S+ ){0,2}(?:when|cuando)\b|\bwhat year\b|\bwhich year\b|\bwhat date\b"
            r"|\bsince what\b"
            r"|\bque (ano|fecha)\b|\ben que ano\b|\bdesde que\b|\bdesde cuando\b"
        ),
    ),
    (
        AnswerType.PERCENT,
        re.compile(
            r"\b(percentage|share|proportion|per cent|percent|rate|porcentaje|proporcion|tasa)\b"
        ),
    ),
    (
        AnswerType.NUMBER,
        re.compile(
            r"\bhow (many|much|old|long)\b|\bwhat (number|amount|place|rank|score)\b"
            r"|\bcuant[oa]s?\b|\bque (numero|cantidad|puesto|edad)\b"
        ),
    ),
    (
        AnswerType.PERSON,
        re.compile(
            r"\bwho\b|\bwhom\b|\bquien(es)?\b|\bwhat is the name\b|\bcomo se llama\b"
            r"|\bwhich (partner|organi[sz]ation|agency|group|ngo|institution)s?\b"
            r"|\bque (organizacion|socio|institucion|entidad|agencia|ong)\b"
        ),
    ),
    (
        AnswerType.PLACE,
        re.compile(
            r"\bwhere\b|\bin which (region|country|city|province|district|place)s?\b"
            r"|\bwhich (region|country|city|countries|regions)\b|\bdonde\b"
            r"|\ben que (region|pais|ciudad|provincia|lugar)\b|\bque (region|pais|ciudad|lugar)\b"
        ),
    ),
]

_MONTHS = (
    r"january|february|march|april|may|june|july|august|september|october|november|december|"
    r"enero|febrero|marzo|abril|mayo|junio|julio|agosto|septiembre|setiembre|octubre|noviembre|"
    r"diciembre"
)
_NUMBER_WORDS = (
    r"one|two|three|four|five|six|seven|eight|nine|ten|twenty|thirty|forty|fifty|hundred|"
    r"thousand|thousands|million|millions|half|third|quarter|fifth|tenth|dozens|hundreds|"
    r"dos|tres|cuatro|cinco|seis|siete|ocho|nueve|diez|cien|mil|millones|mitad|tercio"
)
_SPANS: dict[AnswerType, re.Pattern[str]] = {
    AnswerType.PERCENT: re.compile(r"\d[\d,.]*\s*(?:%|per cent|percent|por ciento)", re.IGNORECASE),
    AnswerType.DATE: re.compile(
        rf"\b(?:(?:{_MONTHS})\s+)?(?:1[89]\d\d|20\d\d)(?:\s*[–-]\s*(?:1[89]\d\d|20\d\d))?\b",
        re.IGNORECASE,
    ),
    AnswerType.NUMBER: re.compile(
        rf"[£$€]?\d[\d,.]*(?:\s*(?:%|per cent|percent|por ciento|th|st|nd|rd))?"
        rf"(?:\s+(?:to|-|–|a)\s+\d[\d,.]*)?(?:\s+out of\s+\d+)?"
        rf"|\b(?:more than |over |about |some |a |one )?(?:{_NUMBER_WORDS})\b"
        rf"(?:\s+(?:years|per cent))?",
        re.IGNORECASE,
    ),
    # Runs of capitalised words (with the small joiners names use; "and" joins two names).
    AnswerType.PERSON: re.compile(
        r"\b[A-ZÁÉÍÓÚÑ][\w’'-]+(?:\s+(?:de|del|la|of)?\s*[A-ZÁÉÍÓÚÑ][\w’'-]+)+"
    ),
    AnswerType.PLACE: re.compile(
        r"\b[A-ZÁÉÍÓÚÑ][\w’'-]+(?:,?\s+(?:and|y|de|del)?\s*[A-ZÁÉÍÓÚÑ][\w’'-]+)*"
    ),
}
# Capitals with an optional plural "s": IHL, VRAEM, CSOs.
_ACRONYM = re.compile(r"\b[A-Z][A-Z0-9]{1,9}(?=s?\b)")
_WORD = re.compile(r"[^\W_]+", re.UNICODE)
_YEAR = re.compile(r"^(?:1[89]|20)\d\d$")
_PERCENT = re.compile(r"%|per ?cent|por ciento", re.IGNORECASE)


_WH_WORD = re.compile(
    r"^(what|which|who|whom|whose|when|where|why|how|que|cual|cuales|quien|quienes|cuando"
    r"|donde|como|cuanto|cuanta|cuantos|cuantas|por)$"
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


_WHAT_IS_ACRONYM = re.compile(
    r"^(?:what|who) (?:is|are|was|were) (?:the )?[A-Z][A-Z0-9]{1,9}\W*$"
    r"|^(?:qu[eé]|qui[eé]n) (?:es|son|era) (?:el |la |los |las )?[A-Z][A-Z0-9]{1,9}\W*$",
    re.IGNORECASE,
)


def question_type(question: str) -> AnswerType:
    clause = _interrogative_clause(question)
    # "What is INPE?" asks what the letters stand for. Case-sensitive on the acronym itself.
    if _WHAT_IS_ACRONYM.match(clause) and acronyms(clause):
        return AnswerType.EXPANSION
    folded = fold(clause)
    for answer_type, pattern in _QUESTION_TYPES:
        if pattern.search(folded):
            return answer_type
    return AnswerType.OTHER


def acronyms(text: str) -> list[str]:
    return _ACRONYM.findall(text)


def answer_span(sentence: str, question: str, answer_type: AnswerType) -> tuple[int, int] | None:
    """Offsets of the phrase in ``sentence`` that answers a question of this type, if any.

    A candidate must bring something new: a number or name the question already contains
    is what the question is about, not its answer.
    """
    folded_question = fold(question)
    if answer_type is AnswerType.EXPANSION:
        return _expansion_span(sentence, question)
    pattern = _SPANS.get(answer_type)
    if pattern is None:
        return None
    spans = []
    for match in pattern.finditer(sentence):
        phrase = match.group().strip(" ,.;:")
        if not phrase or re.search(rf"\b{re.escape(fold(phrase))}\b", folded_question):
            continue
        if answer_type is AnswerType.PERSON and match.start() == 0 and " " not in phrase:
            continue
        # A count is neither a year nor a percentage ("How many volunteers?" vs "since 1984").
        if answer_type is AnswerType.NUMBER and (_YEAR.match(phrase) or _PERCENT.search(phrase)):
            continue
        start = match.start() + match.group().index(phrase)
        spans.append((start, start + len(phrase)))
    return _nearest_to_question(spans, sentence, question)


def _nearest_to_question(
    spans: list[tuple[int, int]], sentence: str, question: str
) -> tuple[int, int] | None:
    """Of several candidate phrases, the one closest to the words the question uses:
    in "some 20 organisations ... thousands of women who were forcibly sterilised",
    "How many women were sterilised?" asks for "thousands"."""
    if len(spans) < 2:
        return spans[0] if spans else None
    wanted = set(terms(question))
    anchors = [m.start() for m in _WORD.finditer(sentence) if set(terms(m.group())) & wanted]
    if not anchors:
        return spans[0]
    return min(spans, key=lambda span: min(abs(span[0] - a) for a in anchors))


_JOINERS = {"of", "the", "and", "for", "on", "de", "la", "las", "los", "del", "y", "para", "en"}
_PHRASE_STARTS = {"the", "a", "an", "to", "of", "by", "for", "in", "on", "with", "from"}
_PHRASE_STARTS |= {"el", "la", "los", "las", "de", "del", "por", "para", "con", "en", "al"}


def _expansion_words(words: list[str], acronym: str) -> int:
    """How many trailing ``words`` spell out ``acronym``: by initials when they match
    ("international humanitarian law" for IHL), else the run of capitalised words and
    joiners ("National Committee for the Study ... Law" for CONADIH)."""
    letters = [ch.lower() for ch in acronym if ch.isalpha()]
    taken, position = 0, len(letters) - 1
    for word in reversed(words):
        if position < 0:
            break
        taken += 1
        if word.lower() in _JOINERS:
            continue
        if word[0].lower() != letters[position]:
            taken = -1
            break
        position -= 1
    if taken > 0 and position < 0:
        return taken
    run = 0
    for word in reversed(words):
        if not (word[0].isupper() or word.lower() in _JOINERS):
            break
        run += 1
    while run and words[len(words) - run].lower() in _JOINERS:
        run -= 1  # a name does not start with "of the"
    if run:
        return run
    # A translated name: "the Peruvian prison service (INPE)" -> back to the article.
    phrase = 0
    for word in reversed(words[-6:]):
        if word.lower() in _PHRASE_STARTS or not word[0].isalnum():
            break
        phrase += 1
    return phrase


def _expansion_span(sentence: str, question: str) -> tuple[int, int] | None:
    for acronym in acronyms(question):
        # "ACR (Long Name)" or "Long Name (ACR)".
        after = re.search(rf"\b{re.escape(acronym)}s?\s*\(([^)]+)\)", sentence)
        if after:
            return after.start(1), after.end(1)
        before = re.search(rf"([^()]+?)\s*\({re.escape(acronym)}s?\)", sentence)
        if before:
            words = before.group(1).split()
            count = _expansion_words(words, acronym)
            if count:
                phrase = " ".join(words[-count:])
                end = before.end(1)
                return end - len(phrase), end
    return None


def has_type(sentence: str, question: str, answer_type: AnswerType) -> bool:
    return (
        answer_type is AnswerType.OTHER or answer_span(sentence, question, answer_type) is not None
    )
