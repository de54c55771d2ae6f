"""Debian's Apertium, kept running: questions in, their English out, in order."""

from __future__ import annotations

import os
import signal

import pytest

from peruqa.text import translation
from peruqa.text.translation import Apertium, available

WATER = "¿Dónde está el agua?"


def water(reply: str | None) -> bool:
    """Whether ``reply`` is Apertium's English of ``WATER`` (its wording may vary by
    version: "Where is the water?", "Where it is the water?")."""
    return reply is not None and reply.startswith("Where") and reply.endswith("the water?")


@pytest.fixture(scope="module")
def apertium() -> Apertium:
    # The Makefile installs it (``make translation``); a missing pair is a failure here.
    assert available("spa-eng"), "apertium-eng-spa is not installed: make translation"
    return Apertium("spa-eng")


def test_a_spanish_question_comes_back_in_english_with_its_names_as_written(
    apertium: Apertium,
) -> None:
    english = apertium.translate("¿Dónde está la oficina de Womankind en Puno?")
    assert english is not None
    words = english.lower().split()
    assert "office" in words and "where" in words
    # Names pass through untouched, even those Apertium has a word for.
    assert "Womankind" in english and "Puno" in english


def test_one_pipeline_answers_many_questions_each_with_its_own_reply(
    apertium: Apertium,
) -> None:
    questions = ["¿Cuántas mujeres?", "¿Qué agua?", "¿Cuándo llegó la misión?"]
    replies = [apertium.translate(q) for q in questions]
    assert [r.split()[0].lower() if r else "" for r in replies] == ["how", "what", "when"]
    assert "water" in (replies[1] or "")


def test_characters_apertium_reserves_do_not_break_the_stream(apertium: Apertium) -> None:
    before = apertium.translate(WATER)
    odd = apertium.translate("¿Qué es [esto] ^ $5 / <b> @todo \\ #1?")
    assert odd is not None and "5" in odd
    # The next question still gets its own reply, not the rest of the odd one.
    assert water(before) and apertium.translate(WATER) == before


def test_a_pipeline_that_died_is_started_again(apertium: Apertium) -> None:
    assert water(apertium.translate(WATER))
    process = apertium._process
    assert process is not None
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    assert water(apertium.translate(WATER))


def test_a_stuck_pipeline_gives_no_translation_and_is_replaced(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    stuck = Apertium("spa-eng")
    monkeypatch.setattr(translation, "_pipeline", lambda mode: "sleep 30")
    monkeypatch.setattr(translation, "TIMEOUT_S", 0.2)
    assert stuck.translate(WATER) is None
    assert stuck._process is None  # killed, so the next question starts afresh
    monkeypatch.undo()
    assert water(stuck.translate(WATER))
    stuck.close()


def test_an_empty_question_needs_no_pipeline() -> None:
    idle = Apertium("spa-eng")
    assert idle.translate("  \0 ") == ""
    assert idle._process is None
