"""Candidate sentences: every sentence of the retrieved passages, scored and ranked.

A sentence's score weighs its similarity to the question, its coverage of the question's
rarer terms, whether it holds the kind of answer asked for, its passage's score, and
whether it is a mere label line; the weights are calibrated (see ``confidence``).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from peruqa.index.store import IndexData
from peruqa.ingest.chunking import Sentence
from peruqa.qa.answer_types import AnswerType, answer_span, question_type
from peruqa.qa.retrieve import Passage, Retrieval
from peruqa.text.language import detect_language
from peruqa.text.lexical import LexicalIndex, name_terms, terms


@dataclass(frozen=True)
class Candidate:
    sentence: Sentence
    passage: Passage
    score: float
    similarity: float
    coverage: float
    typed: bool
    label: bool  # a heading or lead-in line ("Media contact", "we have:"), not a statement
    novelty: float  # share of the sentence's terms the question does not already contain


def sentence_score(candidate: Candidate, weights: dict[str, float], known_fraction: float) -> float:
    return (
        weights["similarity"] * candidate.similarity
        + weights["coverage"] * candidate.coverage * known_fraction
        + weights["type"] * candidate.typed
        + weights["passage"] * candidate.passage.score
        + weights["label"] * candidate.label
        + weights.get("novelty", 0.0) * candidate.novelty
    )


def rank_candidates(
    candidates: list[Candidate], wanted: AnswerType, weights: dict[str, float], known: float
) -> list[Candidate]:
    scored = [replace(c, score=sentence_score(c, weights, known)) for c in candidates]
    ranked = sorted(scored, key=lambda c: c.score, reverse=True)
    if wanted in STRICT_TYPES and any(c.typed for c in ranked):
        # A "how many" question is answered by a sentence with a number in it, even
        # when a number-free sentence reads closer to the question.
        ranked = [c for c in ranked if c.typed] + [c for c in ranked if not c.typed]
    return ranked


STRICT_TYPES: tuple[AnswerType, ...] = (
    AnswerType.NUMBER,
    AnswerType.PERCENT,
    AnswerType.DATE,
    AnswerType.EXPANSION,
    AnswerType.PERSON,
    AnswerType.PLACE,
)


def is_label(text: str) -> bool:
    """A heading, caption or lead-in line rather than a statement ("Media contact",
    "Man with hat in the mountains Peru", "With our partner DEMUS, we have:")."""
    if text.endswith(":"):
        return True
    statement = text[-1] in '.!?…"”’)' or any(ch.isdigit() or ch == "," for ch in text)
    return not statement and len(text.split()) <= 10


def _coverage(
    lexical: LexicalIndex, query_terms: list[str], sentence: Sentence, title: str
) -> float:
    """IDF-weighted share of the question's known terms found in the sentence's context."""
    known = [t for t in set(query_terms) if t in lexical.document_frequency]
    if not known:
        return 0.0
    present = set(terms(f"{title} {sentence.heading} {sentence.text}"))
    total = sum(lexical.idf(t) for t in known)
    return sum(lexical.idf(t) for t in known if t in present) / total


def gather_candidates(
    retrieval: Retrieval, data: IndexData, lexical: LexicalIndex, weights: dict[str, float]
) -> tuple[list[Candidate], AnswerType]:
    """Every distinct sentence of the retrieved passages, scored and ranked."""
    query = retrieval.query
    wanted = question_type(query.text)
    language = detect_language(query.text)
    # Across languages only names and numbers are evidence: "mujer" in a Spanish question
    # matching "Derechos de la Mujer" inside an English report is a coincidence.
    names = set(name_terms(query.text))
    seen: dict[tuple[str, int], Candidate] = {}
    for passage in retrieval.passages:
        for sentence in passage.chunk.sentences:
            key = (passage.chunk.doc_id, sentence.start)
            if key in seen:
                continue
            vector = data.sentence_vector(passage.chunk.doc_id, sentence)
            similarity = float(np.dot(vector, query.vector))
            evidence = (
                query.terms
                if passage.document.language == language
                else [t for t in query.terms if t in names]
            )
            coverage = _coverage(lexical, evidence, sentence, passage.document.title)
            typed = (
                wanted is not AnswerType.OTHER
                and answer_span(sentence.text, query.text, wanted) is not None
            )
            sentence_terms = set(terms(sentence.text))
            novelty = len(sentence_terms - set(query.terms)) / max(len(sentence_terms), 1)
            seen[key] = Candidate(
                sentence,
                passage,
                0.0,
                similarity,
                coverage,
                typed,
                is_label(sentence.text),
                novelty,
            )
    ranked = rank_candidates(list(seen.values()), wanted, weights, query.known_fraction)
    return ranked, wanted
