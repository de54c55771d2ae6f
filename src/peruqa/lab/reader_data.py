"""Training pairs for the reader: (question, sentence) -> does the sentence answer?

Built from SQuAD 2.0 (``../shared/qa-train``), each paragraph split into sentences by the
project's own splitter, so the reader sees sentences cut as served ones are:

- **positive**: the sentence that holds a gold answer;
- **negatives**: every other sentence of the paragraph, ranked by how many words they share
  with the question (``rank`` 0 is the hardest: the one-negative recipe keeps only it), and
  the sentence of another paragraph of the article that shares the most (what retrieval
  offers);
- **near misses**: for an unanswerable question, the sentence that holds its
  ``plausible_answers``; and generated ones (``near_miss``): an answerable question with a
  year, number or name swapped for one of the same kind from another paragraph, paired with
  its own answering sentence, kept only when the new value is absent from the paragraph
  (so the sentence cannot answer it).

Spanish questions (JSONL of ``{"id", "question_es"}``, several lines per id allowed: the
team's translations, Apertium's) are paired with the same English sentences and labels.
Everything is seeded, so the same inputs give the same pairs. Folds split by article.
"""

from __future__ import annotations

import json
import random
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from peruqa.errors import TrainingDataError
from peruqa.evaluation.evaluate import json_lines
from peruqa.ingest.chunking import Sentence, split_sentences
from peruqa.text.languages import en, es
from peruqa.text.lexical import STOPWORDS
from peruqa.text.names import CAPITALISED, YEAR_WORD

SQUAD_LANGUAGE = en.LANGUAGE.code  # SQuAD's questions and paragraphs
TRANSLATED_LANGUAGE = es.LANGUAGE.code  # the translations of its questions
NEAR_MISS_KINDS = frozenset({"plausible", "generated"})


@dataclass(frozen=True)
class Pair:
    question: str
    sentence: str
    label: int  # 1: the sentence answers the question
    article: str  # what folds split by
    kind: str  # "positive", "paragraph", "article", "plausible", "generated"
    language: str
    qid: str
    rank: int = 0  # among a question's plain negatives, 0 shares the most words with it
    before: str = ""  # the sentence before this one in its paragraph ("" for the first)


_NUMBER = re.compile(r"\b\d[\d,.]*\b")
_NAME = re.compile(rf"\b{CAPITALISED}(?:\s+{CAPITALISED})*")
_WORD = re.compile(r"\w+")


def _terms(text: str) -> set[str]:
    return {w for w in _WORD.findall(text.lower()) if w not in STOPWORDS}


def _sentence_at(sentences: list[Sentence], offset: int) -> int | None:
    for index, sentence in enumerate(sentences):
        if sentence.start <= offset < sentence.end:
            return index
    return None


@dataclass
class _Paragraph:
    article: str
    text: str
    sentences: list[Sentence]
    values: dict[str, set[str]]  # kind -> values found in the paragraph


def _values(text: str) -> dict[str, set[str]]:
    sentences = split_sentences(text)
    return {
        "year": set(YEAR_WORD.findall(text)),
        "number": {n for n in _NUMBER.findall(text) if not YEAR_WORD.fullmatch(n)},
        # Mid-sentence capitals only: a sentence's first word ("Climbers") is no name.
        "name": {
            m.group()
            for sentence in sentences
            for m in _NAME.finditer(sentence.text)
            if m.start() > 0 and len(m.group()) > 3
        },
    }


def read_squad(path: Path) -> list[dict[str, Any]]:
    try:
        articles: list[dict[str, Any]] = json.loads(path.read_text(encoding="utf-8"))["data"]
    except (OSError, ValueError, KeyError) as error:
        raise TrainingDataError(f"Cannot read SQuAD file {path}: {error}") from error
    return articles


def read_spanish(paths: Iterable[Path]) -> dict[str, list[str]]:
    """Every Spanish wording of each SQuAD question id, in file order."""
    translated: dict[str, list[str]] = {}
    for path in paths:
        # An unreadable file is a one-line error too (json_lines says which).
        for number, line in json_lines(path):
            try:
                row = json.loads(line)
                translated.setdefault(str(row["id"]), []).append(str(row["question_es"]))
            except (ValueError, KeyError) as error:
                raise TrainingDataError(f"{path}:{number}: not a translation line") from error
    return translated


def near_miss(
    question: str, paragraph: _Paragraph, pool: dict[str, list[str]], rng: random.Random
) -> str | None:
    """The question with one year, number or name swapped for another absent from the
    paragraph, or None when it has nothing to swap."""
    options: list[tuple[str, str]] = []
    for kind, pattern in (("year", YEAR_WORD), ("number", _NUMBER), ("name", _NAME)):
        for match in pattern.findall(question):
            if kind == "number" and YEAR_WORD.fullmatch(match):
                continue
            if kind == "name" and (len(match) <= 3 or question.startswith(match)):
                continue
            options.append((kind, match))
    rng.shuffle(options)
    for kind, value in options:
        for _ in range(8):
            other = rng.choice(pool[kind])
            if other != value and other not in paragraph.text and other not in question:
                return question.replace(value, other, 1)
    return None


def _pair(
    question: str, owner: _Paragraph, index: int, label: int, kind: str, lang: str, qid: str
) -> Pair:
    before = owner.sentences[index - 1].text if index > 0 else ""
    sentence = owner.sentences[index].text
    return Pair(question, sentence, label, owner.article, kind, lang, qid, before=before)


def squad_pairs(
    articles: list[dict[str, Any]],
    spanish: dict[str, list[str]],
    seed: int = 13,
    generated_share: float = 0.35,
) -> Iterator[Pair]:
    rng = random.Random(seed)
    paragraphs: list[tuple[_Paragraph, list[dict[str, Any]]]] = []
    pool: dict[str, set[str]] = {"year": set(), "number": set(), "name": set()}
    for article in articles:
        for raw in article["paragraphs"]:
            text = raw["context"]
            paragraph = _Paragraph(article["title"], text, split_sentences(text), _values(text))
            for kind, found in paragraph.values.items():
                pool[kind] |= found
            paragraphs.append((paragraph, raw["qas"]))
    pools = {kind: sorted(values) for kind, values in pool.items()}
    by_article: dict[str, list[_Paragraph]] = {}
    for paragraph, _ in paragraphs:
        by_article.setdefault(paragraph.article, []).append(paragraph)

    for paragraph, questions in paragraphs:
        sentences = paragraph.sentences
        if len(sentences) < 2:
            continue
        others = [p for p in by_article[paragraph.article] if p is not paragraph]
        for qa in questions:
            qid = str(qa["id"])
            asked = [(SQUAD_LANGUAGE, qa["question"])]
            asked += [(TRANSLATED_LANGUAGE, text) for text in spanish.get(qid, ())]
            impossible = bool(qa.get("is_impossible"))
            spans = qa["plausible_answers"] if impossible else qa["answers"]
            hits = {
                i for a in spans if (i := _sentence_at(sentences, a["answer_start"])) is not None
            }
            if not hits:
                continue
            terms = _terms(qa["question"])
            rest = [i for i in range(len(sentences)) if i not in hits]
            rng.shuffle(rest)  # ties in shared words fall in a seeded order
            rest.sort(key=lambda i: -len(terms & _terms(sentences[i].text)))
            best_other: tuple[_Paragraph, int] | None = None
            if others:
                candidates = rng.sample(others, min(6, len(others)))
                scored = [
                    (len(terms & _terms(s.text)), p, i)
                    for p in candidates
                    for i, s in enumerate(p.sentences)
                ]
                if scored:
                    _, p, i = max(scored, key=lambda row: row[0])
                    best_other = (p, i)
            swapped = None
            if not impossible and rng.random() < generated_share:
                swapped = near_miss(qa["question"], paragraph, pools, rng)
            for lang, text in asked:
                for index in sorted(hits):
                    if impossible:
                        yield _pair(text, paragraph, index, 0, "plausible", lang, qid)
                    else:
                        yield _pair(text, paragraph, index, 1, "positive", lang, qid)
                for rank, index in enumerate(rest):
                    negative = _pair(text, paragraph, index, 0, "paragraph", lang, qid)
                    yield replace(negative, rank=rank)
                if best_other is not None:
                    other = _pair(text, best_other[0], best_other[1], 0, "article", lang, qid)
                    yield replace(other, rank=len(rest))
            if swapped is not None:
                for index in sorted(hits):
                    yield _pair(swapped, paragraph, index, 0, "generated", SQUAD_LANGUAGE, qid)


def select_pairs(
    pairs: Sequence[Pair], negatives: int | None, kinds: frozenset[str] | None = None
) -> list[Pair]:
    """The pairs a recipe trains on: positives and near misses, the ``negatives`` hardest
    plain negatives of each question (all when None), only ``kinds`` when given."""
    return [
        p
        for p in pairs
        if (kinds is None or p.kind in kinds)
        and (p.kind not in ("paragraph", "article") or negatives is None or p.rank < negatives)
    ]
