"""Extractive answers: quote the best candidate sentence with its citation, or decline.

Candidates come from ``candidates``; the trained ``decision`` ranks them and decides whether
the best one is an answer at all. The answer is the sentence itself (with its label or
lead-in line when it needs one), the phrase that answers is highlighted, and every retrieved
passage is cited.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from peruqa.index.store import IndexData
from peruqa.ingest.chunking import Sentence, offset_in_chunk
from peruqa.qa.answer_types import AnswerType
from peruqa.qa.candidates import Candidate
from peruqa.qa.decision import Decider
from peruqa.qa.model import StageModel
from peruqa.qa.reading import Reading
from peruqa.qa.retrieve import Passage, Retrieval
from peruqa.qa.spans import answer_span
from peruqa.text.i18n import message
from peruqa.text.lexical import LexicalIndex

_SHORT_ANSWER_WORDS = 4  # a bare value ("9am - 6pm") is clearer with the label line above it
# Passages shown beside a reply: the related ones of a refusal, the citations ``peruqa ask``
# prints. More is noise on a phone's screen; fewer often misses the one a visitor wanted.
PASSAGES_SHOWN = 3


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
    # The cited page's text was read by OCR from a scan (it may hold misread words).
    ocr: bool = False


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
    # Which cascade stage answered ("first" or "main") and what each step cost: returned with
    # the answer, never kept on the shared service, so concurrent requests can't mix them up.
    stage: str = "main"
    # Not part of an answer's identity: the same answer can take a different time.
    timings: Timings | None = field(default=None, compare=False)


@dataclass(frozen=True)
class Timings:
    embed_ms: float
    search_ms: float
    answer_ms: float


class Answerer:
    def __init__(
        self,
        data: IndexData,
        lexical: LexicalIndex,
        model: StageModel,
        abstain_threshold: float | None = None,
        reading: Reading | None = None,
    ) -> None:
        self.data = data
        self.lexical = lexical
        self.model = model
        self.decider = Decider(data, lexical, model)
        self.reading = reading
        self.abstain_threshold = model.threshold if abstain_threshold is None else abstain_threshold

    def respond(self, retrieval: Retrieval) -> Answer:
        """Quote the best sentence of ``retrieval``, or decline when unsure."""
        question = retrieval.query.question
        language = question.language
        decision = self.decider.decide(retrieval)
        if self.reading is not None and decision.ranked:
            cross = decision.ranked[0].passage.document.language != language
            decision = self.reading.refine(
                question.full_text, decision, cross, self.abstain_threshold
            )
        ranked, confidence = decision.ranked, decision.probability
        if not ranked or confidence < self.abstain_threshold:
            unsure = Answer(
                question=question.text,
                answer="",
                abstained=True,
                language=language,
                confidence=confidence,
                answer_type=question.answer_type.value,
            )
            return self.decline(unsure, [_citation(p) for p in retrieval.passages[:PASSAGES_SHOWN]])
        best = ranked[0]
        quoted = quoted_sentences(best)
        text = " ".join(s.text for s in quoted)
        highlight = None
        offset = 0
        for sentence in quoted:
            span = answer_span(sentence.text, question)
            if span:
                highlight = Highlight(offset + span[0], offset + span[1])
                break
            offset += len(sentence.text) + 1
        first = _citation(best.passage, quoted)
        others = [_citation(p) for p in retrieval.passages if p is not best.passage]
        return Answer(
            question=question.text,
            answer=text,
            abstained=False,
            language=language,
            confidence=confidence,
            citations=[first, *others],
            highlight=highlight,
            answer_language=best.passage.document.language,
            answer_type=question.answer_type.value,
        )

    @staticmethod
    def decline(answer: Answer, passages: Sequence[Citation]) -> Answer:
        """``answer`` as the bot's refusal: its own words, and the first ``passages`` as
        related ones, none of them quoted."""
        related = [replace(c, quote_start=-1, quote_end=-1) for c in passages[:PASSAGES_SHOWN]]
        return replace(
            answer,
            answer=message("abstain", answer.language),
            abstained=True,
            citations=[],
            related=related,
            highlight=None,
            answer_language=None,
        )


def quoted_sentences(best: Candidate) -> list[Sentence]:
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
    page = document.page_at(quoted[0].start if quoted else chunk.start)
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
        page=page,
        quote_start=quote_start,
        quote_end=quote_end,
        ocr=page in document.ocr_pages,
    )
