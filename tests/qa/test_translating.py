"""Questions read in the library's language: terms from the translation, the rest as asked."""

from __future__ import annotations

from pathlib import Path

import pytest

from peruqa.qa.answer_types import AnswerType
from peruqa.qa.question import analyse
from peruqa.qa.service import QAService
from peruqa.qa.translating import Library, Translations, library_of, read_in
from peruqa.text import translation


def test_read_in_takes_terms_from_the_translation_and_keeps_the_visitors_words() -> None:
    asked = analyse("¿Cuántas personas recibieron agua limpia?")
    read = read_in(asked, "How many people received clean water?", "en", own=True)
    assert read.text == asked.text and read.language == "es"
    assert read.answer_type is AnswerType.NUMBER
    assert {"water", "clean"} <= set(read.terms)
    # An English passage is weighed with the English terms, all of them evidence ...
    terms, _, same = read.evidence("en")
    assert same and "water" in terms
    # ... a Spanish one with the question's own, which retrieval also looks for.
    terms, _, same = read.evidence("es")
    assert same and "agua" in terms and "water" not in terms
    assert {"agua", "water"} <= set(read.search_terms)
    # Of an English-only library, only the English terms are searched.
    alone = read_in(asked, "How many people received clean water?", "en")
    assert "agua" not in alone.search_terms


def test_a_question_not_translated_weighs_only_names_across_languages() -> None:
    asked = analyse("¿Cuántas personas recibieron agua en Cusco?")
    terms, names, same = asked.evidence("en")
    assert not same and "cusco" in names and terms == asked.terms


def test_translations_read_spanish_of_an_english_library_and_leave_english_alone() -> None:
    translations = Translations()
    english_library = Library("en", frozenset({"en"}))
    spanish = translations.read(analyse("¿Dónde está la oficina?"), english_library)
    assert spanish.terms_language == "en" and "office" in spanish.terms
    english = analyse("Where is the office?")
    assert translations.read(english, english_library) is english
    # A Spanish library reads Spanish questions as asked, English ones in Spanish.
    asked = analyse("¿Dónde está la oficina?")
    spanish_library = Library("es", frozenset({"es"}))
    assert translations.read(asked, spanish_library) is asked
    office = translations.read(english, spanish_library)
    assert office.terms_language == "es" and "oficin" in " ".join(office.terms)


def test_without_the_pair_or_when_switched_off_the_question_is_read_as_asked(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    asked = analyse("¿Dónde está la oficina?")
    library = Library("en", frozenset({"en"}))
    assert Translations(enabled=False).read(asked, library) is asked
    monkeypatch.setattr(translation, "MODES", tmp_path)
    assert Translations().read(asked, library) is asked


def test_the_service_reads_spanish_questions_in_the_librarys_language(
    service: QAService,
) -> None:
    # Two English documents and one Spanish: an English library with Spanish in it.
    assert library_of(service.snapshot.data) == Library("en", frozenset({"en", "es"}))
    seen = []
    original = service.snapshot.main.run

    def spy(question, *args, **kwargs):  # type: ignore[no-untyped-def]
        seen.append(question)
        return original(question, *args, **kwargs)

    # Loading the library started the translation its Spanish questions need.
    assert translation.pipeline("spa-eng")._process is not None
    object.__setattr__(service.snapshot.main, "run", spy)
    answer = service.ask("¿Cuántas personas recibieron agua limpia?")
    assert seen and seen[0].terms_language == "en" and "water" in seen[0].terms
    assert "agua" in seen[0].search_terms  # the Spanish report is searched in Spanish
    assert answer.language == "es"
