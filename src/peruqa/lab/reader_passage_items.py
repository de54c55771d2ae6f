"""The passage reader's training items (``lab/reader_passage``): a question with the
sentences of one passage and those that answer it. From SQuAD's gold paragraphs
(``passage_items``), asked in Spanish for a share (``in_spanish``), or the passage the served
ranker puts first (``pipeline_items``), where "no answer" is often right.
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from peruqa.index.embedding import Embedder
from peruqa.index.store import load_index
from peruqa.ingest.chunking import Sentence, split_sentences
from peruqa.lab.train_data import (
    TOP_K,
    TRANSLATIONS,
    QuestionSet,
    _holds,
    held_out_articles,
    index_for,
    question_vectors,
)
from peruqa.qa.decision import Decider
from peruqa.qa.model import StageModel
from peruqa.qa.question import analyse
from peruqa.qa.retrieve import Retriever
from peruqa.qa.translating import library_of


@dataclass(frozen=True)
class PassageItem:
    question: str
    sentences: tuple[str, ...]
    gold: frozenset[int]  # the sentences holding an answer; empty: unanswerable
    qid: str = ""  # SQuAD's question id (its Spanish wordings are keyed by it)


def paragraph_questions(
    articles: Sequence[dict[str, Any]],
) -> Iterator[tuple[list[Sentence], dict[str, Any], frozenset[int]]]:
    """Every question of ``articles`` with its paragraph's sentences and those that hold one
    of its answers (none for an unanswerable question, and for an answer the sentence
    splitter lost)."""
    for article in articles:
        for paragraph in article["paragraphs"]:
            sentences = split_sentences(paragraph["context"])
            for qa in paragraph["qas"]:
                answers = [] if qa.get("is_impossible") else qa["answers"]
                starts = {a["answer_start"] for a in answers}
                gold = frozenset(
                    i for i, s in enumerate(sentences) if any(s.start <= x < s.end for x in starts)
                )
                yield sentences, qa, gold


def passage_items(articles: Sequence[dict[str, Any]]) -> list[PassageItem]:
    """Every question of ``articles`` with its paragraph's sentences."""
    items = []
    for sentences, qa, gold in paragraph_questions(articles):
        if gold or qa.get("is_impossible"):
            texts = tuple(s.text for s in sentences)
            items.append(PassageItem(qa["question"], texts, gold, str(qa.get("id", ""))))
    return items


def pipeline_items(
    qset: QuestionSet, embedder: Embedder, model: StageModel, work: Path
) -> list[PassageItem]:
    """Each question of ``qset`` asked through the main stage as served, with the passage
    of the ranker's top candidate, which is often another paragraph's or another
    article's: its sentences that hold an answer are gold, and when none does, the right
    reading is "no answer". Questions of the measure-only articles are left out, and so is a
    question whose top passage comes from one of them."""
    data = load_index(index_for(qset, embedder, work), embedder.name)
    retriever = Retriever(data, embedder)
    decider = Decider(data, retriever.lexical, model)
    held = {title.replace("_", " ") for title in held_out_articles()}
    library = library_of(data)
    items = []
    vectors = question_vectors(qset, embedder, work)
    for question, vector in zip(qset.questions, vectors, strict=True):
        if question.group.endswith("-held"):
            continue
        analysed = TRANSLATIONS.read(analyse(question.text), library)
        query = retriever.query_from(analysed, vector)
        ranked = decider.decide(retriever.retrieve(query, TOP_K)).ranked
        if not ranked or ranked[0].passage.document.title in held:
            continue
        texts = tuple(s.text for s in ranked[0].passage.chunk.sentences)
        gold = frozenset(
            i for i, t in enumerate(texts) if question.answerable and _holds(t, question.answers)
        )
        items.append(PassageItem(question.text, texts, gold))
    return items


def in_spanish(
    items: Sequence[PassageItem], spanish: dict[str, list[str]], share: float, seed: int = 13
) -> list[PassageItem]:
    """``items``, each that has Spanish wordings (``reader_data.read_spanish``) asked in one
    of them with probability ``share``: visitors ask in Spanish about English reports."""
    rng = random.Random(seed)
    asked = []
    for item in items:
        wordings = spanish.get(item.qid)
        if wordings and rng.random() < share:
            item = replace(item, question=rng.choice(wordings))
        asked.append(item)
    return asked
