"""Follow-up questions: deciding, carrying, switching topic, and the service's history."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from conftest import THREAD_CORPUS, write_corpus
from peruqa.config import HISTORY_ANSWER_MAX_CHARS, HISTORY_MAX_TURNS, Settings
from peruqa.errors import InvalidQuestionError
from peruqa.qa.conversation import Turn
from peruqa.qa.followup import FollowUps
from peruqa.qa.followup_words import RULES
from peruqa.qa.service import QAService

DIRECTOR = "Who is the country director of the Puno Water Trust?"
DIRECTOR_ANSWER = "Maria Condori is the country director of the Puno Water Trust."


@pytest.fixture
def corpus_dir(tmp_path: Path) -> Path:
    return write_corpus(tmp_path / "docs", THREAD_CORPUS)


@pytest.fixture
def followups(service: QAService) -> FollowUps:
    followups = service.snapshot.followups
    assert followups is not None
    return followups


def test_without_history_a_question_is_read_as_typed(followups: FollowUps) -> None:
    reading = followups.read("And what is its phone number?")
    assert reading.text == reading.asked == "And what is its phone number?"
    assert reading.context is None and reading.doc_id is None


@pytest.mark.parametrize(
    "question",
    [
        "And what is its phone number?",  # opener and possessive
        "What is the phone number of that organisation?",  # demonstrative and generic noun
        "phone number?",  # short, no subject of its own
        "¿y cuál es su teléfono?",  # Spanish opener and possessive
        "cual es su telefono",  # as visitors type it: no accents, no marks
        "What do they do there?",  # pronoun and "there" as a place
        "When was the report published online?",  # "the report": which one, it does not say
        "¿cuál es el número de teléfono del programa?",  # "del" holds the article
        "¿quién les paga el salario mensual?",  # "les" is only ever an object pronoun
        "¿cuánto duraron esos talleres?",  # a demonstrative points back, whatever it names
        "How many women attended those workshops?",
    ],
)
def test_a_follow_up_carries_the_earlier_subject_and_document(
    followups: FollowUps, question: str
) -> None:
    reading = followups.read(question, [Turn(DIRECTOR, DIRECTOR_ANSWER)])
    assert reading.context is not None
    assert "Puno Water Trust" in reading.context.carried
    assert reading.context.turn == 1
    assert reading.doc_id == "puno-water"
    # The model reads the carried name; the visitor's words stay as typed.
    assert "Puno Water Trust" in reading.text and reading.asked == question
    assert {"puno", "water", "trust"} <= set(reading.question().names)


def test_the_cited_document_is_carried_without_names(followups: FollowUps) -> None:
    # The earlier question names nothing; its answer was quoted from one document.
    history = [Turn("Who builds rainwater tanks?", THREAD_CORPUS_SENTENCE)]
    reading = followups.read("since when?", history)
    assert reading.doc_id == "puno-water"
    assert reading.context is not None and reading.context.carried == ("Puno Water Trust",)


THREAD_CORPUS_SENTENCE = "The Puno Water Trust has built rainwater tanks in Puno since 2005."


def test_the_answer_is_found_in_its_document(followups: FollowUps) -> None:
    assert followups.names.document_of(THREAD_CORPUS_SENTENCE) == "puno-water"
    # Two quoted sentences, spacing as a client may send it back.
    both = "Ana Quispe is the country director of Andes Relief.   Its phone number is"
    assert followups.names.document_of(both) == "andes-relief"
    assert followups.names.document_of("A sentence no document holds.") is None


def test_a_new_subject_switches_topic_and_carries_nothing(followups: FollowUps) -> None:
    history = [Turn(DIRECTOR, DIRECTOR_ANSWER)]
    reading = followups.read("And Andes Relief, what is its phone number?", history)
    assert reading.context is None and reading.doc_id is None
    assert reading.text == "And Andes Relief, what is its phone number?"


def test_a_bare_new_subject_asks_the_earlier_question_again(followups: FollowUps) -> None:
    history = [Turn("Since when has the Puno Water Trust built tanks?")]
    for question in ("What about Andes Relief?", "¿Y Andes Relief?", "and andes relief"):
        reading = followups.read(question, history)
        assert reading.context is not None, question
        assert reading.context.question == "Since when has the Andes Relief built tanks?"
        assert reading.text == reading.context.question
        assert reading.doc_id == "andes-relief"
        assert "Puno" not in reading.text


def test_a_new_place_takes_the_earlier_places_place(followups: FollowUps) -> None:
    history = [Turn("When did the Puno Water Trust open its office in Juliaca?")]
    for question in ("And in Ilave?", "¿y en ilave?"):
        reading = followups.read(question, history)
        assert reading.context is not None, question
        assert reading.text == "When did the Puno Water Trust open its office in Ilave?"
        # The organisation is still carried, and its document favoured.
        assert reading.doc_id == "puno-water"


@pytest.mark.parametrize(
    "question",
    [
        "Which organisation has run mobile clinics in Cusco since 1984?",
        # "del programa de ..." says which programme: nothing to carry.
        "¿Cuál es el presupuesto del programa de salud materna en Ayacucho?",
        # "those who ...", "aquellos que ...": a demonstrative before a relative says who.
        "What help do those who lost a relative receive?",
        "¿Qué apoyo reciben aquellos que perdieron a un familiar?",
        # "les" doubles "a las mujeres": it points inside the question.
        "¿Qué les pasó a las mujeres esterilizadas?",
        # A person named in full, typed in lower case, then "she": the question's own.
        "maria condori, where did she study?",
    ],
)
def test_a_question_that_stands_on_its_own_is_read_as_typed(
    followups: FollowUps, question: str
) -> None:
    history = [Turn(DIRECTOR, DIRECTOR_ANSWER)]
    reading = followups.read(question, history)
    assert reading.context is None and reading.text == question


def test_the_subject_is_followed_through_three_turns(followups: FollowUps) -> None:
    history = [
        Turn(DIRECTOR, DIRECTOR_ANSWER),
        Turn("And its phone number?", "Its phone number is +51 51 333 444."),
        Turn("since when?", None),  # declined: no answer to carry
    ]
    reading = followups.read("what does it build?", history)
    assert reading.context is not None
    assert reading.context.carried == ("Puno Water Trust",) and reading.context.turn == 1
    assert reading.doc_id == "puno-water"


def test_a_wrong_earlier_answer_does_not_steer_the_next(followups: FollowUps) -> None:
    # The earlier question named the Puno Water Trust; its answer came from elsewhere.
    history = [Turn(DIRECTOR, "Ana Quispe is the country director of Andes Relief.")]
    reading = followups.read("And its phone number?", history)
    assert reading.doc_id == "puno-water"


def test_who_then_his_or_her_carries_the_name_answered(followups: FollowUps) -> None:
    history = [Turn(DIRECTOR, DIRECTOR_ANSWER)]
    reading = followups.read("what is her phone number?", history)
    assert reading.context is not None
    assert "Maria Condori" in reading.context.carried


def test_rules_are_data_a_new_language_adds_words(service: QAService) -> None:
    # German openers, with no code: "und Andes Relief?" is a bare new subject.
    rules = replace(RULES, openers=(("und",), *RULES.openers), quiet=RULES.quiet | {"und"})
    german = FollowUps(service.snapshot.data, rules)
    history = [Turn("Since when has the Puno Water Trust built tanks?")]
    assert german.read("und Andes Relief?", history).context is not None
    assert service.snapshot.followups is not None
    plain = service.snapshot.followups.read("und Andes Relief?", history)
    assert plain.context is None


def test_service_answers_a_follow_up_from_the_carried_document(settings: Settings) -> None:
    from peruqa.index.embedding import FakeEmbedder

    service = QAService(settings.model_copy(update={"abstain_threshold": 0.0}), FakeEmbedder())
    for director, doc in ((DIRECTOR, "puno-water"), ("Who directs Andes Relief?", "andes-relief")):
        first = service.reply(director)
        assert first.context is None
        reply = service.reply(
            "And what is its phone number?", history=[Turn(director, first.answer.answer)]
        )
        assert reply.context is not None
        assert reply.answer.question == "And what is its phone number?"
        cited = reply.answer.citations or reply.answer.related
        assert cited[0].doc_id == doc


def test_service_without_history_answers_as_before(service: QAService) -> None:
    alone = service.ask("What is its phone number?")
    again = service.reply("What is its phone number?", history=())
    assert again.context is None and again.answer == alone


def test_service_checks_history_and_names_the_turn(service: QAService) -> None:
    too_many = [Turn("a question")] * (HISTORY_MAX_TURNS + 1)
    with pytest.raises(InvalidQuestionError, match="at most 3"):
        service.ask("since when?", history=too_many)
    long_question = [Turn("a"), Turn("b" * (service.settings.max_question_chars + 1))]
    with pytest.raises(InvalidQuestionError, match="history turn 2"):
        service.ask("since when?", history=long_question)
    long_answer = [Turn("a", "b" * (HISTORY_ANSWER_MAX_CHARS + 1))]
    with pytest.raises(InvalidQuestionError, match="history turn 1: the answer"):
        service.ask("since when?", history=long_answer)
    with pytest.raises(InvalidQuestionError, match="history turn 1: the question is empty"):
        service.ask("since when?", history=[Turn("   ")])
