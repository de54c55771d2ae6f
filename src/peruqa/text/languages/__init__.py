"""The language registry: every language PeruQA knows, one module each (``en``, ``es``).

A language module holds everything about its language in one ``Language`` record: how to
recognise it, its word lists, how its questions ask for each kind of answer, the
abbreviations whose full stop ends no sentence, tesseract's code for it and the bot's own
words in it. Detection, the lexical layer, answer types, chunking, OCR, the page and its
script all iterate over ``LANGUAGES``; adding a language is adding a module here and
listing it in ``_MODULES`` (a test wires a third one with ``register``).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Language:
    code: str  # ISO 639-1, as documents, the API and ?lang= name it
    name: str  # its own name for itself ("Español"): the page's switch link
    switch_label: str  # in itself: "View this page in English"
    ocr: str  # tesseract's trained-data code ("eng")
    # Detection: frequent function words (lower case, accents kept) and letters or marks
    # only this language uses; each mark counts twice.
    function_words: frozenset[str]
    marks: str
    # Folded (no accents) words that carry no evidence of a passage's topic.
    stopwords: frozenset[str]
    question_words: tuple[str, ...]  # folded
    months: tuple[str, ...]
    number_words: tuple[str, ...]
    name_joiners: frozenset[str]  # small words inside a long name ("Committee for the ...")
    # Abbreviations (lower case, no final full stop) whose full stop ends no sentence.
    abbreviations: frozenset[str]
    # Answer type (``peruqa.qa.answer_types.AnswerType`` value) -> regular expression run on
    # the folded words around the question word.
    question_patterns: Mapping[str, str]
    # "What is INPE?": the words before an acronym that ask what it stands for (a regular
    # expression anchored at the start, matched case-insensitively).
    percent_words: tuple[str, ...]  # regular expressions: "per ?cent"
    range_words: tuple[str, ...]  # "10 to 20"
    # Words around a number: "more than 300", "12 out of 20", "five years".
    number_leads: tuple[str, ...] = ()
    number_outs: tuple[str, ...] = ()
    number_units: tuple[str, ...] = ()
    ordinal_suffixes: tuple[str, ...] = ()  # "25th"
    person_joiners: tuple[str, ...] = ()  # inside a person's name: "Rocío del Pino"
    place_joiners: tuple[str, ...] = ()  # between places: "Ayacucho, Cusco and Junín"
    # Follow-up questions (``peruqa.qa.followup``), folded. A question leans on an earlier
    # turn when it opens with one of ``followup_openers`` ("what about ...?"), holds one of
    # ``followup_references`` (``followup_personal``: those pointing at a person), a place
    # word from ``followup_place`` not after an ``existential`` verb ("is there"), or one of
    # ``followup_nouns`` after a ``followup_determiners`` word ("that programme") and not
    # followed by a ``followup_qualifiers`` word, or one of ``followup_demonstratives``
    # before any word with content ("those workshops"); ``followup_fillers`` are words an
    # elliptical question ("ok, and for Enabel?") holds besides its new subject.
    followup_openers: tuple[str, ...] = ()
    followup_references: frozenset[str] = frozenset()
    followup_personal: frozenset[str] = frozenset()
    followup_place: frozenset[str] = frozenset()
    existential: frozenset[str] = frozenset()
    followup_determiners: frozenset[str] = frozenset()
    followup_nouns: frozenset[str] = frozenset()
    followup_demonstratives: frozenset[str] = frozenset()
    # Object pronouns among the references that a later ``followup_doubling`` word names
    # inside the question itself ("¿qué les pasó a las mujeres?": "les" is "a las mujeres").
    followup_clitics: frozenset[str] = frozenset()
    followup_doubling: frozenset[str] = frozenset()
    followup_qualifiers: frozenset[str] = frozenset()
    followup_fillers: frozenset[str] = frozenset()
    # This language's names for what the documents call otherwise, folded ("cicr": "icrc").
    name_aliases: Mapping[str, str] = field(default_factory=dict)
    # Apertium's mode that translates this language into another, by that language's code
    # ({"en": "spa-eng"}): a question is read in the library's language (``qa.translating``).
    apertium: Mapping[str, str] = field(default_factory=dict)
    # Negations (lower case): "Who did not ..." over a sentence without one is a near miss.
    negations: frozenset[str] = frozenset()
    # The bot's own words; any key it lacks is taken from the default language.
    messages: Mapping[str, str] = field(default_factory=dict)


def _load() -> dict[str, Language]:
    from peruqa.text.languages import en, es

    return {module.LANGUAGE.code: module.LANGUAGE for module in (en, es)}


LANGUAGES: dict[str, Language] = _load()
DEFAULT_LANGUAGE = "en"


def codes() -> tuple[str, ...]:
    return tuple(LANGUAGES)


def get(code: str) -> Language:
    """The language ``code`` names, or the default one for a code PeruQA does not know."""
    return LANGUAGES.get(code, LANGUAGES[DEFAULT_LANGUAGE])


def supported(code: str | None) -> str | None:
    """The registered language a tag like "es-PE" or "ES" names, or None."""
    if not code:
        return None
    primary = code.strip().lower().replace("_", "-").split("-")[0]
    return primary if primary in LANGUAGES else None


def all_name_aliases() -> dict[str, str]:
    """Every language's ``name_aliases``, merged: "cicr" is the ICRC whatever language
    the question is read as."""
    aliases: dict[str, str] = {}
    for language in LANGUAGES.values():
        aliases.update(language.name_aliases)
    return aliases


def all_words(attribute: str) -> list[str]:
    """One word list of every language, in registry order (``"months"``)."""
    out: list[str] = []
    for language in LANGUAGES.values():
        out.extend(getattr(language, attribute))
    return out


@contextmanager
def register(language: Language) -> Iterator[Language]:
    """Add ``language`` for the duration of a ``with`` block (tests wire a third one).

    Detection, the interface strings and the page read the registry on every call; the
    compiled lexical and answer-type rules are built once from the languages listed at
    import, so a language meant to be served is listed in ``_load``.
    """
    LANGUAGES[language.code] = language
    try:
        yield language
    finally:
        del LANGUAGES[language.code]
