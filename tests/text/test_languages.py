"""The language registry: one module per language is all a new language needs."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from portuguese import LANGUAGE as PORTUGUESE

from peruqa.config import Settings
from peruqa.index.embedding import FakeEmbedder
from peruqa.text import languages
from peruqa.text.i18n import choose_language, messages
from peruqa.text.language import detect_language
from peruqa.web.app import create_app

SENTENCE = "O relatório da organização não está disponível para os municípios do interior."


@pytest.fixture
def portuguese() -> Iterator[languages.Language]:
    with languages.register(PORTUGUESE) as language:
        yield language
    assert "pt" not in languages.codes()


def test_a_registered_language_is_detected(portuguese: languages.Language) -> None:
    assert detect_language(SENTENCE) == "pt"
    # The two built-in languages are still told apart as before.
    assert detect_language("¿Dónde está la oficina del programa?") == "es"
    assert detect_language("Where is the office of the programme?") == "en"


@pytest.mark.parametrize(
    ("question", "language"),
    [
        # A name's accents are the name's: the words around it say the language.
        ("Who is Rocío del Pino?", "en"),
        ("When was Frédéric Chopin born?", "en"),
        ("What did the ICRC do in Junín?", "en"),
        # Spanish keeps its marks where they are Spanish: the first word, lower case, "¿".
        ("¿Qué hace el CICR en Junín?", "es"),
        ("Qué hace Rocío", "es"),
        ("cuándo llegó", "es"),
        ("¿Rocío?", "es"),
    ],
)
def test_accents_in_names_do_not_make_a_question_spanish(question: str, language: str) -> None:
    assert detect_language(question) == language


def test_without_it_the_same_text_is_not_portuguese() -> None:
    assert detect_language(SENTENCE) in ("en", "es")


def test_its_strings_fill_gaps_from_the_default(portuguese: languages.Language) -> None:
    table = messages("pt")
    assert table["ask"] == "Perguntar"
    assert table["footer"] == messages("en")["footer"]  # not translated: English fills in
    assert choose_language(None, None, "pt-BR,pt;q=0.9,en;q=0.5") == "pt"


def test_the_page_serves_its_strings_and_offers_every_language(
    settings: Settings, portuguese: languages.Language
) -> None:
    client = TestClient(create_app(settings, FakeEmbedder()))
    page = client.get("/", headers={"Accept-Language": "pt-BR"})
    assert page.status_code == 200
    assert '<html lang="pt">' in page.text
    assert "PeruQA: perguntas sobre relatórios do Peru" in page.text
    switches = re.findall(r'class="lang-switch" href="[^"]*lang=(\w+)"', page.text)
    assert switches == ["en", "es"]
    # The page's script is handed the "quoted in ..." note for every language it knows.
    attribute = re.search(r"data-quoted-in='([^']*)'", page.text)
    assert attribute is not None
    notes = json.loads(attribute.group(1).replace("&#34;", '"'))
    assert notes["en"] == "Citado como escrito, em inglês."
    # A Spanish page now offers Portuguese too, named in Portuguese.
    spanish = client.get("/?lang=es")
    assert 'hreflang="pt"' in spanish.text and "Português" in spanish.text
