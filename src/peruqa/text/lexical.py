"""Lexical side of retrieval: accent- and case-folded terms, BM25 over chunks, term rarity."""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence

import bm25s
import numpy as np

from peruqa.text.language import fold, words
from peruqa.text.languages import all_words
from peruqa.text.names import CAPITALISED

# Function words of every language, and question words, carry no evidence of topic.
STOPWORDS = frozenset(all_words("stopwords"))
_DIGIT_GROUP = re.compile(r"(?<=\d)[,.](?=\d{3}\b)")
_POSSESSIVE = re.compile(r"['’]s\b")
# Capitalised words past the first, and numbers: the parts of a question that don't change
# with its language ("Bolivia", "ICRC", "2023").
_NAME = re.compile(rf"(?<!^)(?<![¿¡] )\b(?:{CAPITALISED}|\d[\d,.]*)")


def _stem(term: str) -> str:
    # A light plural strip that works for both languages; enough to match district/districts.
    if len(term) > 4 and not term.isdigit():
        if term.endswith("es") and len(term) > 5:
            return term[:-2]
        if term.endswith("s"):
            return term[:-1]
    return term


def terms(text: str) -> list[str]:
    """Folded, stemmed content terms; '22,295' and '22.295' both become '22295'."""
    folded = _POSSESSIVE.sub("", _DIGIT_GROUP.sub("", fold(text)))
    return [_stem(word) for word in words(folded) if word not in STOPWORDS]


def name_terms(question: str) -> list[str]:
    """Terms of the question's names and numbers (see ``_NAME``)."""
    return [t for m in _NAME.finditer(question.lstrip("¿¡ ")) for t in terms(m.group())]


class LexicalIndex:
    """BM25 over chunk texts, plus document frequencies for weighing question terms."""

    def __init__(self, texts: Sequence[str]) -> None:
        tokenised = [terms(text) for text in texts]
        self.size = len(tokenised)
        self.document_frequency: Counter[str] = Counter()
        for tokens in tokenised:
            self.document_frequency.update(set(tokens))
        self._bm25 = bm25s.BM25()
        # An empty corpus still needs one token for bm25s to build its matrices.
        self._bm25.index([tokens or ["∅"] for tokens in tokenised] or [["∅"]], show_progress=False)

    def idf(self, term: str) -> float:
        frequency = self.document_frequency.get(term, 0)
        return math.log(1 + (self.size - frequency + 0.5) / (frequency + 0.5))

    def known_fraction(self, query_terms: Sequence[str]) -> float:
        """Share of the query's terms that occur somewhere in the corpus (0 when it has none)."""
        if not query_terms:
            return 0.0
        return sum(term in self.document_frequency for term in query_terms) / len(query_terms)

    def scores(self, query_terms: Sequence[str]) -> np.ndarray:
        known = [term for term in query_terms if term in self.document_frequency]
        if not known or not self.size:
            return np.zeros(self.size, dtype=np.float32)
        return np.asarray(self._bm25.get_scores(known), dtype=np.float32)[: self.size]
