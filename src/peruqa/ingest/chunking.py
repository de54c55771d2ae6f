"""Chunking: split a document into sentences and group them into overlapping passages.

Every sentence and chunk keeps its character offsets in the document, so a citation can
point at the exact source text. Web pages and reports put many facts on lines of their own
("22,295" above "people went missing ..."), so lines are treated as sentence boundaries,
with a few rules that join a fragment to the line it belongs to.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from peruqa.config import default
from peruqa.ingest.documents import Document
from peruqa.text.languages import all_words

# A bullet or list marker at the start of a line is not part of the sentence.
# Markdown heading marks count too: "# Title" is the sentence "Title".
_BULLET = re.compile(r"^[ \t]*(?:[•·▪◦‣●○■□–—*+\-]|\d{1,2}[.)]|#{1,6})[ \t]+")
_SENTENCE_END = re.compile(r"[.!?…]+[\"'”’»)\]]*(?=\s+|$)")
_TERMINAL = re.compile(r"[.!?…][\"'”’»)\]]*$")
# Abbreviations whose full stop does not end a sentence, in every language.
_ABBREVIATIONS = frozenset(all_words("abbreviations"))
# Bump when the splitting rules change: indexes built by older rules are then rebuilt.
CHUNKER_VERSION = 2
# A line this short without an end mark is a heading or label, never a statement.
HEADING_MAX_WORDS = 10
_FRAGMENT_MAX_WORDS = 6


@dataclass(frozen=True)
class Sentence:
    start: int
    end: int
    text: str  # whitespace collapsed; document.text[start:end] is the raw span
    heading: str = ""  # nearest heading-like line above it, for context when scoring


@dataclass(frozen=True)
class Chunk:
    chunk_id: str
    doc_id: str
    start: int
    end: int
    text: str  # whitespace collapsed; every sentence's text is a substring of it
    sentences: tuple[Sentence, ...]


def collapse(text: str) -> str:
    return " ".join(text.split())


@dataclass
class _Line:
    start: int
    end: int
    text: str

    @property
    def n_words(self) -> int:
        return len(self.text.split())

    @property
    def is_heading(self) -> bool:
        return self.n_words <= HEADING_MAX_WORDS and not _TERMINAL.search(self.text)


def _lines(text: str) -> Iterator[_Line]:
    for match in re.finditer(r"[^\n]+", text):
        start, end = match.start(), match.end()
        bullet = _BULLET.match(match.group())
        if bullet:
            start += bullet.end()
        raw = text[start:end]
        stripped = raw.strip()
        if not stripped:
            continue
        start += len(raw) - len(raw.lstrip())
        end = start + len(stripped)
        yield _Line(start, end, stripped)


def _joins_next(line: _Line, following: _Line, text: str) -> bool:
    """Whether ``following`` continues the same sentence as ``line``."""
    if _BULLET.match(text[text.rfind("\n", 0, following.start) + 1 : following.end]):
        return False
    # "Opening Hours:" / "9am - 6pm": a label and its short value.
    if line.text.endswith(":"):
        return following.n_words <= _FRAGMENT_MAX_WORDS
    # "22,295" / "people went missing ...": a short fragment completed by a lower-case line.
    if line.n_words <= _FRAGMENT_MAX_WORDS and not _TERMINAL.search(line.text):
        return following.text[0].islower()
    return False


def _merged_lines(text: str) -> list[_Line]:
    merged: list[_Line] = []
    for line in _lines(text):
        if merged and _joins_next(merged[-1], line, text):
            last = merged[-1]
            merged[-1] = _Line(last.start, line.end, collapse(text[last.start : line.end]))
        else:
            merged.append(line)
    return merged


def _is_abbreviation(text: str, stop: int) -> bool:
    word = re.search(r"([\w.]+)\.?$", text[:stop])
    if not word:
        return False
    token = word.group(1).lower().rstrip(".")
    return token in _ABBREVIATIONS or (len(token) == 1 and token.isalpha())


def _split_line(line: _Line) -> Iterator[tuple[int, int]]:
    """Offsets (relative to the document) of the sentences within one line."""
    begin = 0
    for match in _SENTENCE_END.finditer(line.text):
        stop = match.end()
        rest = line.text[stop:].lstrip()
        if not rest:
            break
        if match.group().startswith(".") and _is_abbreviation(line.text, match.start() + 1):
            continue
        if not (rest[0].isupper() or rest[0].isdigit() or rest[0] in "¿¡\"“'‘(«"):
            continue
        yield line.start + begin, line.start + stop
        begin = stop + (len(line.text[stop:]) - len(rest))
    yield line.start + begin, line.end


def split_sentences(text: str) -> list[Sentence]:
    sentences: list[Sentence] = []
    heading = ""
    for line in _merged_lines(text):
        for start, end in _split_line(line):
            sentences.append(Sentence(start, end, collapse(text[start:end]), heading))
        if line.is_heading:
            heading = line.text
    return sentences


def chunk_document(
    document: Document,
    max_chars: int = default("chunk_max_chars"),
    overlap: int = default("chunk_overlap_sentences"),
) -> list[Chunk]:
    """Group sentences into chunks of at most ``max_chars`` (a single longer sentence stands
    alone), each starting with the last ``overlap`` sentences of the previous chunk."""
    sentences = split_sentences(document.text)
    groups: list[list[Sentence]] = []
    current: list[Sentence] = []
    fresh = 0  # sentences in ``current`` that are not carried over from the previous chunk
    for sentence in sentences:
        size = sum(len(s.text) + 1 for s in current) + len(sentence.text)
        if current and fresh and size > max_chars:
            groups.append(current)
            current = current[-overlap:] if overlap else []
            fresh = 0
            while (
                current and sum(len(s.text) + 1 for s in current) + len(sentence.text) > max_chars
            ):
                current = current[1:]
        current.append(sentence)
        fresh += 1
    if fresh:
        groups.append(current)
    return [
        Chunk(
            chunk_id=f"{document.doc_id}:{number}",
            doc_id=document.doc_id,
            start=group[0].start,
            end=group[-1].end,
            text=collapse(document.text[group[0].start : group[-1].end]),
            sentences=tuple(group),
        )
        for number, group in enumerate(groups)
    ]


def offset_in_chunk(chunk: Chunk, sentence: Sentence, document_text: str) -> int:
    """Where ``sentence.text`` starts inside ``chunk.text`` (both whitespace-collapsed)."""
    prefix = collapse(document_text[chunk.start : sentence.start])
    return len(prefix) + 1 if prefix else 0
