"""The names a library knows, mined once per loaded index: which words its documents treat
as names (an organisation, a person, a place), which documents hold each, and which document
every sentence was quoted from.

The follow-up reader (``followup``) asks it what a question or an earlier answer names: runs
of known names, however typed, and capitalised words the library has never seen ("Oxfam").
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field

from peruqa.index.store import IndexData
from peruqa.text.language import fold
from peruqa.text.names import ACRONYM_WORD

# A name in more than this share of the documents ("Peru" in a library about Peru) says
# nothing about which one a question is about.
_GENERIC_SHARE = 0.5
# A word counts as a name when the documents capitalise it mid-sentence this often.
_CAPITALISED_SHARE = 0.6

_TOKEN = re.compile(r"[^\W_]+(?:['’][^\W_]+)*")
_POSSESSIVE = re.compile(r"['’]s$")


@dataclass(frozen=True)
class Name:
    term: str  # folded
    label: str  # as the documents write it
    docs: frozenset[str]
    strong: bool  # an acronym, or a word of a document's title or publisher


@dataclass(frozen=True)
class Mention:
    """A subject named in a text: one name, or a run of them ("Rocio Palomino")."""

    start: int
    end: int
    label: str
    terms: tuple[str, ...]
    docs: frozenset[str] | None  # None: the library does not know it ("Oxfam")
    strong: bool

    @property
    def key(self) -> str:
        return " ".join(self.terms)


@dataclass(frozen=True)
class Token:
    start: int
    end: int
    raw: str
    word: str  # folded, possessive dropped, alias applied


@dataclass
class _Counts:
    capital_mid: Counter[str] = field(default_factory=Counter)
    total_mid: Counter[str] = field(default_factory=Counter)
    lower: Counter[str] = field(default_factory=Counter)
    initial: Counter[str] = field(default_factory=Counter)
    titled: Counter[str] = field(default_factory=Counter)
    labels: defaultdict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    docs: defaultdict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    acronyms: set[str] = field(default_factory=set)
    leads: defaultdict[str, set[str]] = field(default_factory=lambda: defaultdict(set))


def _fold_word(raw: str) -> str:
    return _POSSESSIVE.sub("", fold(raw))


def _shouting(text: str) -> bool:
    letters = [c for c in text if c.isalpha()]
    return len(letters) > 3 and all(c.isupper() for c in letters)


def _normal(text: str) -> str:
    return " ".join(text.split())


class LibraryNames:
    """The names of one library and the document of each of its sentences. Built once per
    loaded index; ``quiet`` words are never names, ``aliases`` map a word to its name."""

    def __init__(self, data: IndexData, quiet: frozenset[str], aliases: dict[str, str]) -> None:
        self.quiet = quiet
        self.aliases = aliases
        self.titles = {doc_id: doc.title for doc_id, doc in data.documents.items()}
        self._names: dict[str, Name] = {}
        # Each sentence's text, to find the document an earlier answer was quoted from.
        self._sentence_doc: dict[str, str | None] = {}
        counts = _Counts()
        seen: set[tuple[str, int]] = set()
        for chunk in data.chunks:
            for sentence in chunk.sentences:
                if (chunk.doc_id, sentence.start) in seen:
                    continue
                seen.add((chunk.doc_id, sentence.start))
                self._count(counts, sentence.text, chunk.doc_id)
                key = _normal(sentence.text)
                known = self._sentence_doc.get(key, chunk.doc_id)
                self._sentence_doc[key] = known if known == chunk.doc_id else None
        for doc_id, doc in data.documents.items():
            for raw in _TOKEN.findall(f"{doc.title} {doc.publisher}"):
                word = _fold_word(raw)
                counts.docs[word].add(doc_id)
                if raw[0].isupper():
                    counts.titled[word] += 1
                    counts.labels[word][_POSSESSIVE.sub("", raw)] += 1
        self._settle(counts, len(data.documents))
        self._words = frozenset(counts.docs)

    def _count(self, counts: _Counts, text: str, doc_id: str) -> None:
        shouting = _shouting(text)
        tokens = _TOKEN.findall(text)
        for position, raw in enumerate(tokens):
            word = _fold_word(raw)
            counts.docs[word].add(doc_id)
            capital = raw[0].isupper() and not shouting
            if raw[0].islower():
                counts.lower[word] += 1
            if ACRONYM_WORD.fullmatch(raw) and not shouting:
                counts.acronyms.add(word)
            if position == 0:
                if capital:
                    counts.initial[word] += 1
                    if len(tokens) > 1 and tokens[1][0].isupper():
                        counts.leads[word].add(_fold_word(tokens[1]))
            else:
                counts.total_mid[word] += 1
                counts.capital_mid[word] += capital
            if capital:
                counts.labels[word][_POSSESSIVE.sub("", raw)] += 1

    def _settle(self, counts: _Counts, documents: int) -> None:
        def named(word: str) -> bool:
            if word in counts.acronyms:
                return True
            capital = counts.capital_mid[word] + counts.titled[word]
            total = counts.total_mid[word] + counts.titled[word]
            return capital > 0 and capital >= _CAPITALISED_SHARE * total

        limit = max(1.0, _GENERIC_SHARE * documents)
        names = {w for w in counts.docs if named(w) and len(counts.docs[w]) <= limit}
        # A word only ever seen capitalised at a line's start, before a name, starts one
        # ("Rocio Palomino, Country Director", "José Carlos Thissen").
        names |= {
            w
            for w, followers in counts.leads.items()
            if not counts.lower[w] and not counts.total_mid[w] and followers & names
        }
        for word in names:
            docs = counts.docs[word]
            if word in self.quiet or len(word) < 2 or word.isdigit():
                continue
            label = counts.labels[word].most_common(1)[0][0] if counts.labels[word] else word
            strong = word in counts.acronyms or counts.titled[word] > 0
            self._names[word] = Name(word, label, frozenset(docs), strong)

    def organisation(self, mention: Mention) -> bool:
        """Whether ``mention`` names an organisation (an acronym, a word of a title or
        publisher, or a name the library does not hold) rather than a place or a person."""
        return mention.docs is None or any(
            (name := self._names.get(term)) is not None and name.strong for term in mention.terms
        )

    def document_of(self, answer: str) -> str | None:
        """The document an earlier answer was quoted from: answers are sentences of the
        library, word for word (one or two, joined by a space)."""
        text = _normal(answer)
        spaces = [m.start() for m in re.finditer(" ", text)]
        # The whole answer, then its first sentence (a prefix), then its second (a suffix).
        pieces = [text, *(text[:i] for i in reversed(spaces)), *(text[i + 1 :] for i in spaces)]
        for piece in pieces:
            doc = self._sentence_doc.get(piece)
            if doc is not None:
                return doc
        return None

    def tokens(self, text: str) -> list[Token]:
        # Folding the whole text once is much cheaper than word by word; it keeps every
        # offset unless a character folds into several (a ligature), then words are folded
        # one at a time.
        folded = fold(text)
        same = len(folded) == len(text)
        tokens = []
        for match in _TOKEN.finditer(text):
            start, end = match.span()
            word = folded[start:end] if same else fold(match.group())
            word = _POSSESSIVE.sub("", word)
            word = self.aliases.get(word, word)
            tokens.append(Token(start, end, match.group(), word))
        return tokens

    def mentions(self, text: str, tokens: list[Token]) -> list[Mention]:
        """Runs of names: the library's names, however typed, and words the visitor
        capitalised past the first that the library does not know ("Oxfam"). Punctuation
        ends a run: "Rocio Palomino, Country Director" is two."""
        mentions: list[Mention] = []
        run: list[tuple[Token, Name | None]] = []

        def close() -> None:
            if run:
                known = [n for _, n in run if n is not None]
                docs = frozenset.intersection(*(n.docs for n in known)) if known else None
                if known and len(known) < len(run):
                    docs = None  # "Oxfam Worldwide": a name the library does not hold
                mentions.append(
                    Mention(
                        run[0][0].start,
                        run[-1][0].end,
                        " ".join(n.label if n else t.raw for t, n in run),
                        tuple(t.word for t, _ in run),
                        docs,
                        any(n is None or n.strong for _, n in run)
                        or any(t.raw[0].isupper() for t, _ in run),
                    )
                )
                run.clear()

        for position, token in enumerate(tokens):
            if run and text[run[-1][0].end : token.start].strip():
                close()
            known = self._names.get(token.word)
            typed = (
                (position > 0 or ACRONYM_WORD.fullmatch(token.raw) is not None)
                and token.raw[0].isupper()
                and token.word not in self.quiet
                and not token.word.isdigit()
            )
            if known is not None:
                run.append((token, known))
            elif typed and not self._generic(token.word):
                run.append((token, None))
            else:
                close()
        close()
        return mentions

    def _generic(self, word: str) -> bool:
        # A capitalised word the library holds but does not take as a name ("Peru",
        # "Country"); one it has never seen ("Oxfam") is a name it does not know.
        return word in self._words and word not in self._names
