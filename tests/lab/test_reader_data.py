"""Reader training pairs: labels from SQuAD's offsets, near misses checked, seeded."""

from __future__ import annotations

import random
from typing import Any

from peruqa.ingest.chunking import split_sentences
from peruqa.lab.reader_data import (
    Pair,
    _Paragraph,
    _values,
    near_miss,
    select_pairs,
    squad_pairs,
)

CONTEXT = (
    "The river was first mapped in 1871 by a survey team. "
    "Its delta covers 4,500 square kilometres. "
    "Fishing villages line the northern bank. "
    "The Ortega family founded the first school there in 1902."
)


def article(title: str, context: str, qas: list[dict[str, Any]]) -> dict[str, Any]:
    return {"title": title, "paragraphs": [{"context": context, "qas": qas}]}


def answerable(qid: str, question: str, answer: str, context: str = CONTEXT) -> dict[str, Any]:
    start = context.index(answer)
    return {
        "id": qid,
        "question": question,
        "is_impossible": False,
        "answers": [{"text": answer, "answer_start": start}],
    }


ARTICLES = [
    article(
        "River",
        CONTEXT,
        [
            answerable("q1", "When was the river first mapped?", "1871"),
            answerable("q2", "When did the Ortega family found the first school?", "1902"),
            {
                "id": "q3",
                "question": "When was the river last mapped?",
                "is_impossible": True,
                "answers": [],
                "plausible_answers": [{"text": "1871", "answer_start": CONTEXT.index("1871")}],
            },
        ],
    ),
    article(
        "Mountain",
        "The peak rises 6,768 metres. Climbers first reached it in 1932. "
        "Guides of the Huaman family led them.",
        [],
    ),
]


def pairs(spanish: dict[str, list[str]] | None = None, seed: int = 3) -> list[Pair]:
    return list(squad_pairs(ARTICLES, spanish or {}, seed=seed, generated_share=1.0))


def test_the_sentence_holding_the_answer_is_the_positive() -> None:
    found = [p for p in pairs() if p.qid == "q1" and p.kind == "positive"]
    assert [p.sentence for p in found] == ["The river was first mapped in 1871 by a survey team."]
    assert all(p.label == 1 for p in found)


def test_other_sentences_and_plausible_answers_are_negatives() -> None:
    made = pairs()
    assert {p.label for p in made if p.kind != "positive"} == {0}
    plausible = [p for p in made if p.kind == "plausible"]
    assert [p.sentence for p in plausible] == [
        "The river was first mapped in 1871 by a survey team."
    ]
    assert any(p.kind == "paragraph" and p.qid == "q1" for p in made)
    assert any(p.kind == "article" for p in made) is False  # a one-paragraph article


def test_generated_near_misses_ask_for_a_value_the_paragraph_lacks() -> None:
    generated = [p for p in pairs() if p.kind == "generated"]
    # Only q2 names something to swap ("Ortega"); its stand-in comes from another article.
    assert [p.qid for p in generated] == ["q2"]
    assert generated[0].label == 0
    swapped = generated[0].question
    assert swapped.startswith("When did the ") and swapped.endswith(
        " family found the first school?"
    )
    stand_in = swapped.removeprefix("When did the ").split()[0]
    # A mid-sentence capital of the other article; "Climbers" opens a sentence: no name.
    assert stand_in == "Huaman"
    assert "Climbers" not in _values(ARTICLES[1]["paragraphs"][0]["context"])["name"]
    paragraph = _Paragraph("River", CONTEXT, split_sentences(CONTEXT), _values(CONTEXT))
    # A value already in the paragraph is never the stand-in.
    pool = {"year": ["1871", "1932"], "number": ["6,768"], "name": ["Huaman"]}
    for seed in range(20):
        swapped = near_miss(
            "When was the river first mapped in 1871?", paragraph, pool, random.Random(seed)
        )
        assert swapped is None or ("1932" in swapped and "1871" not in swapped)


def test_spanish_translations_get_the_same_sentences_and_labels() -> None:
    wordings = ["¿Cuándo se cartografió el río por primera vez?", "cuando se mapeo el rio"]
    made = pairs({"q1": wordings})
    english = [
        (p.sentence, p.label, p.kind, p.rank)
        for p in made
        if p.qid == "q1" and p.language == "en" and p.kind != "generated"
    ]
    for wording in wordings:
        spanish = [(p.sentence, p.label, p.kind, p.rank) for p in made if p.question == wording]
        assert spanish == english


def test_the_one_negative_recipe_keeps_the_hardest_negative_of_each_question() -> None:
    made = pairs()
    kept = select_pairs(made, 1, frozenset({"positive", "paragraph", "plausible"}))
    q1 = [p for p in kept if p.qid == "q1"]
    # The positive and the one sentence sharing most words with "When was the river
    # first mapped?" ("first" in the school sentence), nothing else.
    assert [(p.kind, p.sentence) for p in q1] == [
        ("positive", "The river was first mapped in 1871 by a survey team."),
        ("paragraph", "The Ortega family founded the first school there in 1902."),
    ]
    assert not [p for p in kept if p.kind == "generated"]
    assert len(select_pairs(made, None)) == len(made)


def test_pairs_are_the_same_for_the_same_seed() -> None:
    assert pairs(seed=5) == pairs(seed=5)
