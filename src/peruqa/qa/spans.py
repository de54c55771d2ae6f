"""Where, in a sentence, the phrase that answers the question sits (for typed questions)."""

from __future__ import annotations

import re

from peruqa.qa.answer_types import RULE_FOR, AnswerType
from peruqa.qa.question import Question
from peruqa.text.language import fold
from peruqa.text.languages import all_words
from peruqa.text.lexical import terms
from peruqa.text.names import acronyms

_WORD = re.compile(r"[^\W_]+", re.UNICODE)
_JOINERS = frozenset(all_words("name_joiners"))


def answer_span(sentence: str, question: Question) -> tuple[int, int] | None:
    """Offsets of the phrase in ``sentence`` that answers ``question``, if any.

    A candidate must bring something new: a number or name the question already contains
    is what the question is about, not its answer.
    """
    if question.answer_type is AnswerType.EXPANSION:
        return _expansion_span(sentence, question.full_text)
    rule = RULE_FOR.get(question.answer_type)
    if rule is None or rule.span is None:
        return None
    spans = []
    for match in rule.span.finditer(sentence):
        phrase = match.group().strip(" ,.;:")
        if not phrase or re.search(rf"\b{re.escape(fold(phrase))}\b", question.folded):
            continue
        start = match.start() + match.group().index(phrase)
        if rule.skip is not None and rule.skip(phrase, start):
            continue
        spans.append((start, start + len(phrase)))
    return _nearest_to_question(spans, sentence, question)


def _nearest_to_question(
    spans: list[tuple[int, int]], sentence: str, question: Question
) -> tuple[int, int] | None:
    """Of several candidate phrases, the one closest to the words the question uses:
    in "some 20 organisations ... thousands of women who were forcibly sterilised",
    "How many women were sterilised?" asks for "thousands"."""
    if len(spans) < 2:
        return spans[0] if spans else None
    wanted = set(question.terms)
    anchors = [m.start() for m in _WORD.finditer(sentence) if set(terms(m.group())) & wanted]
    if not anchors:
        return spans[0]
    return min(spans, key=lambda span: min(abs(span[0] - a) for a in anchors))


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
    return run


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
