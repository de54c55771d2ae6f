"""Terms of every sentence and passage, worked out once per loaded index.

Folding and stemming a sentence's words costs far more than looking them up; candidate
scoring and the trained decision ask for the same sentences' terms question after
question, so each text is analysed the first time it is needed and kept for the life of
the index (a few hundred bytes per sentence).
"""

from __future__ import annotations

import itertools

from peruqa.ingest.chunking import Sentence
from peruqa.qa.retrieve import Passage
from peruqa.text.lexical import terms

SentenceKey = tuple[str, int]  # (doc_id, sentence start), as the index keys sentences


def lower_words(text: str) -> frozenset[str]:
    """Lower-cased whitespace words, with "n't" spelt out (for negation checks)."""
    return frozenset(text.lower().replace("n't", " not").split())


class TermCache:
    """Memoised term sets; safe to share between threads (a race only repeats work)."""

    def __init__(self) -> None:
        self._sentence: dict[SentenceKey, tuple[str, ...]] = {}
        self._sentence_set: dict[SentenceKey, frozenset[str]] = {}
        self._sentence_bigrams: dict[SentenceKey, frozenset[tuple[str, str]]] = {}
        self._words: dict[SentenceKey, frozenset[str]] = {}
        self._context: dict[SentenceKey, frozenset[str]] = {}
        self._passage: dict[str, frozenset[str]] = {}
        self._passage_bigrams: dict[str, frozenset[tuple[str, str]]] = {}

    def sentence_terms(self, doc_id: str, sentence: Sentence) -> tuple[str, ...]:
        key = (doc_id, sentence.start)
        found = self._sentence.get(key)
        if found is None:
            found = self._sentence[key] = tuple(terms(sentence.text))
        return found

    def sentence(self, doc_id: str, sentence: Sentence) -> frozenset[str]:
        key = (doc_id, sentence.start)
        found = self._sentence_set.get(key)
        if found is None:
            found = self._sentence_set[key] = frozenset(self.sentence_terms(doc_id, sentence))
        return found

    def sentence_bigrams(self, doc_id: str, sentence: Sentence) -> frozenset[tuple[str, str]]:
        key = (doc_id, sentence.start)
        found = self._sentence_bigrams.get(key)
        if found is None:
            sequence = self.sentence_terms(doc_id, sentence)
            found = frozenset(itertools.pairwise(sequence))
            self._sentence_bigrams[key] = found
        return found

    def lower_words_of(self, doc_id: str, sentence: Sentence) -> frozenset[str]:
        key = (doc_id, sentence.start)
        found = self._words.get(key)
        if found is None:
            found = self._words[key] = lower_words(sentence.text)
        return found

    def lower_words(self, text: str) -> frozenset[str]:
        return lower_words(text)

    def context(self, passage: Passage, sentence: Sentence) -> frozenset[str]:
        """Terms of the sentence with its document title and heading: what it is about."""
        key = (passage.chunk.doc_id, sentence.start)
        found = self._context.get(key)
        if found is None:
            text = f"{passage.document.title} {sentence.heading} {sentence.text}"
            found = self._context[key] = frozenset(terms(text))
        return found

    def passage(self, passage: Passage) -> frozenset[str]:
        """Terms of the passage with its document title."""
        key = passage.chunk.chunk_id
        found = self._passage.get(key)
        if found is None:
            text = f"{passage.document.title} {passage.chunk.text}"
            found = self._passage[key] = frozenset(terms(text))
        return found

    def passage_bigrams(self, passage: Passage) -> frozenset[tuple[str, str]]:
        key = passage.chunk.chunk_id
        found = self._passage_bigrams.get(key)
        if found is None:
            sequence = terms(passage.chunk.text)
            found = frozenset(itertools.pairwise(sequence))
            self._passage_bigrams[key] = found
        return found
