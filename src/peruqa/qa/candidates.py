"""Candidate sentences: every sentence of the retrieved passages, scored and ranked.

A sentence's prior score weighs its similarity to the question, its coverage of the
question's rarer terms, whether it holds the kind of answer asked for, its passage's score,
and whether it is a mere label line. The trained ranker (``decision``) has the last word;
this prior order is one of its features (``features``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from peruqa.index.store import IndexData
from peruqa.ingest.chunking import HEADING_MAX_WORDS, Sentence
from peruqa.qa.answer_types import AnswerType
from peruqa.qa.question import Question
from peruqa.qa.retrieve import Passage, Retrieval
from peruqa.qa.spans import answer_span
from peruqa.qa.terms import TermCache
from peruqa.text.lexical import LexicalIndex


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
    candidates: list[Candidate], question: Question, weights: dict[str, float], known: float
) -> list[Candidate]:
    scored = [replace(c, score=sentence_score(c, weights, known)) for c in candidates]
    ranked = sorted(scored, key=lambda c: c.score, reverse=True)
    if question.strict and any(c.typed for c in ranked):
        # A "how many" question is answered by a sentence with a number in it, even
        # when a number-free sentence reads closer to the question.
        ranked = [c for c in ranked if c.typed] + [c for c in ranked if not c.typed]
    return ranked


def is_label(text: str) -> bool:
    """A heading, caption or lead-in line rather than a statement ("Media contact",
    "Man with hat in the mountains Peru", "With our partner DEMUS, we have:")."""
    if text.endswith(":"):
        return True
    statement = text[-1] in '.!?…"”’)' or any(ch.isdigit() or ch == "," for ch in text)
    return not statement and len(text.split()) <= HEADING_MAX_WORDS


def _coverage(lexical: LexicalIndex, query_terms: Sequence[str], present: frozenset[str]) -> float:
    """IDF-weighted share of the question's known terms found in the sentence's context."""
    known = [t for t in set(query_terms) if t in lexical.document_frequency]
    if not known:
        return 0.0
    total = sum(lexical.idf(t) for t in known)
    return sum(lexical.idf(t) for t in known if t in present) / total


def gather_candidates(
    retrieval: Retrieval,
    data: IndexData,
    lexical: LexicalIndex,
    weights: dict[str, float],
    cache: TermCache | None = None,
) -> list[Candidate]:
    """Every distinct sentence of the retrieved passages, scored and ranked."""
    query = retrieval.query
    question = query.question
    cache = cache if cache is not None else TermCache()
    typed_question = question.answer_type is not AnswerType.OTHER
    seen: dict[tuple[str, int], Candidate] = {}
    for passage in retrieval.passages:
        for sentence in passage.chunk.sentences:
            key = (passage.chunk.doc_id, sentence.start)
            if key in seen:
                continue
            vector = data.sentence_vector(passage.chunk.doc_id, sentence)
            similarity = float(np.dot(vector, query.vector))
            terms, names, same = question.evidence(passage.document.language)
            # Across languages only names and numbers are evidence: "mujer" in a Spanish
            # question matching "Derechos de la Mujer" in an English report is a coincidence.
            evidence = terms if same else tuple(t for t in terms if t in names)
            coverage = _coverage(lexical, evidence, cache.context(passage, sentence))
            typed = typed_question and answer_span(sentence.text, question) is not None
            sentence_terms = cache.sentence(passage.chunk.doc_id, sentence)
            novelty = len(sentence_terms - set(terms)) / max(len(sentence_terms), 1)
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
    return rank_candidates(list(seen.values()), question, weights, query.known_fraction)
