"""Follow-up questions: a question read in the light of the earlier turns, without an LLM.

"¿y cuál es su teléfono?" after "¿Quién dirige Diakonia en el Perú?" is about Diakonia.
This module decides whether a question leans on an earlier turn (by rules that are data in
each language's vocabulary), which subject it carries over (the names of the earlier
question and the document its answer was quoted from), and what the model should read:

- a question that stands on its own is read as it is;
- a follow-up ("y cuál es su teléfono?") is read with the earlier names added, and retrieval
  favours the earlier answer's document;
- a bare new subject ("¿Y Womankind?", "what about Enabel?") asks the earlier question
  again about it;
- a question that names a subject of its own that conflicts with the earlier one ("¿y Enabel
  desde cuándo trabaja en el Perú?") switches topic and carries nothing.

The server keeps no state: the earlier turns come with every question and are read again,
oldest first, each in the light of the one before (a few microseconds of string work).
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from peruqa.index.store import IndexData
from peruqa.qa.answer_types import AnswerType, question_type
from peruqa.qa.answering import Answer
from peruqa.qa.question import Question, analyse
from peruqa.text.i18n import message
from peruqa.text.language import detect_language, fold
from peruqa.text.languages import LANGUAGES, Language, all_words
from peruqa.text.lexical import STOPWORDS

# Every language's rules apply to every question: short questions are hard to tell apart
# by language, and the word lists do not overlap in ways that matter.

# A question with at most this many content words and no subject of its own ("in which
# regions?", "¿y a qué hora abren?") is taken as a follow-up.
SHORT_TERMS = 2
# A pronoun or "that programme" points back only in a question of at most this many content
# words; past that, it mostly points inside the question itself.
LEANING_TERMS = 4
# A name in more than this share of the documents ("Peru" in a library about Peru) says
# nothing about which one a question is about.
_GENERIC_SHARE = 0.5
# A word counts as a name when the documents capitalise it mid-sentence this often.
_CAPITALISED_SHARE = 0.6
# A carried question reads the earlier turn's words too, which lifts the decision's
# probability for any quote about the earlier subject: its answer must clear the served
# threshold by this much (dev conversations: 9 of 10 unanswerable follow-ups declined with
# it, 7 without, for the same answered ones; eval/conv_dev.jsonl).
FOLLOWUP_BAR = 0.10
# Retrieval favours the carried document's passages by this much of fused score: enough to
# win over passages that only share the question's words, not over a clear answer elsewhere
# (a standalone question read as a follow-up by mistake still finds it).
FAVOUR = 0.15

_TOKEN = re.compile(r"[^\W_]+(?:['’][^\W_]+)*")
_POSSESSIVE = re.compile(r"['’]s$")
_ACRONYM = re.compile(r"^[A-Z][A-Z0-9]{1,9}s?$")


def _union(attribute: str) -> frozenset[str]:
    return frozenset(all_words(attribute))


@dataclass(frozen=True)
class Rules:
    """The follow-up rules of every language, merged (folded words)."""

    openers: tuple[tuple[str, ...], ...]  # longest first
    references: frozenset[str]
    personal: frozenset[str]
    place: frozenset[str]
    existential: frozenset[str]
    determiners: frozenset[str]
    nouns: frozenset[str]
    qualifiers: frozenset[str]
    fillers: frozenset[str]
    aliases: dict[str, str]
    question_words: frozenset[str]
    quiet: frozenset[str]  # words that are never names: function words, question words, months

    @classmethod
    def from_languages(cls) -> Rules:
        languages: list[Language] = list(LANGUAGES.values())
        openers = {tuple(o.split()) for lang in languages for o in lang.followup_openers}
        aliases: dict[str, str] = {}
        for language in languages:
            aliases.update(language.name_aliases)
        quiet = set(STOPWORDS)
        for language in languages:
            quiet |= {fold(w) for w in language.function_words}
            quiet |= set(language.question_words) | set(language.months)
            quiet |= set(language.number_words)
        return cls(
            openers=tuple(sorted(openers, key=len, reverse=True)),
            references=_union("followup_references"),
            personal=_union("followup_personal"),
            place=_union("followup_place"),
            existential=_union("existential"),
            determiners=_union("followup_determiners"),
            nouns=_union("followup_nouns"),
            qualifiers=_union("followup_qualifiers"),
            fillers=_union("followup_fillers"),
            aliases=aliases,
            question_words=frozenset(all_words("question_words")),
            quiet=frozenset(quiet) | _union("followup_fillers"),
        )


RULES = Rules.from_languages()


@dataclass(frozen=True)
class Turn:
    """An earlier turn as a client sends it back: the question, and the bot's answer when
    it gave one (the quote itself; None when it declined or the client does not say)."""

    question: str
    answer: str | None = None


@dataclass(frozen=True)
class Context:
    """What was carried into a question, for the visitor to see."""

    carried: tuple[str, ...]  # names, or the earlier answer's document title
    turn: int  # the earlier turn it came from, counted from 1, oldest first
    question: str | None = None  # the question as read, when an earlier one was asked again


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
class _Token:
    start: int
    end: int
    raw: str
    word: str  # folded, possessive dropped, alias applied


@dataclass(frozen=True)
class _Parsed:
    text: str
    mentions: tuple[Mention, ...]
    opener: bool
    leans: bool  # a reference, opener or "that programme": it points back explicitly
    personal: bool  # "his", "her", "su": it may point at a person
    short: bool  # few content words and no subject of its own
    elliptical: bool  # nothing but a subject (and an opener): "what about Enabel?"


@dataclass(frozen=True)
class _State:
    """What a turn was about, as the next turn sees it."""

    text: str  # the turn as read
    subjects: tuple[Mention, ...]  # spans are in ``text``
    origin: int  # the turn that named the subjects
    doc: str | None = None
    doc_turn: int = 0
    person: Mention | None = None  # the name a "who ...?" turn was answered with


@dataclass(frozen=True)
class Resolution:
    """How to answer a question: what the model reads and which document retrieval favours."""

    asked: str  # as typed
    text: str  # what is embedded and matched; ``asked`` when it stands on its own
    names: tuple[str, ...] = ()  # folded terms of the carried names
    doc_id: str | None = None
    context: Context | None = None
    rewritten: bool = False  # an earlier question asked again about a new subject
    language_hint: str | None = None  # the earlier turn's language, for short questions
    # The earlier turn as read. Its words give the follow-up its meaning ("in which
    # regions?" of what?), so they are embedded with it; they are not terms the answer must
    # hold, or the earlier answer would look like an answer to every follow-up.
    earlier: str = ""

    def question(self) -> Question:
        """The analysed question the model reads."""
        if self.context is None:
            return analyse(self.asked)
        read = analyse(self.text)
        default = self.language_hint or read.language
        language = detect_language(self.asked, default=default)
        # The type of answer is asked by the visitor's own words unless an earlier
        # question is asked again ("¿Y Womankind?" has no question word of its own).
        kind = read.answer_type if self.rewritten else question_type(self.asked)
        names = tuple(dict.fromkeys((*read.names, *self.names)))
        # The decision's question-length and wording signals see the earlier turn too:
        # on the dev conversations, 14 of 20 follow-ups right with it, 11 with it embedded
        # alone (eval/conv_dev.jsonl).
        text = f"{self.text} {self.earlier}" if self.earlier else self.text
        return replace(read, text=text, language=language, answer_type=kind, names=names)


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


class FollowUps:
    """The names a library knows and which documents hold them, and the rules that read a
    question against the earlier turns. Built once per loaded index."""

    def __init__(self, data: IndexData, rules: Rules = RULES) -> None:
        self.rules = rules
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
            if _ACRONYM.match(raw) and not shouting:
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
            if word in self.rules.quiet or len(word) < 2 or word.isdigit():
                continue
            label = counts.labels[word].most_common(1)[0][0] if counts.labels[word] else word
            strong = word in counts.acronyms or counts.titled[word] > 0
            self._names[word] = Name(word, label, frozenset(docs), strong)

    # -- what a text names ---------------------------------------------------------------

    def name(self, word: str) -> Name | None:
        return self._names.get(word)

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

    def _tokens(self, text: str) -> list[_Token]:
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
            word = self.rules.aliases.get(word, word)
            tokens.append(_Token(start, end, match.group(), word))
        return tokens

    def _mentions(self, text: str, tokens: list[_Token]) -> list[Mention]:
        """Runs of names: the library's names, however typed, and words the visitor
        capitalised past the first that the library does not know ("Oxfam"). Punctuation
        ends a run: "Rocio Palomino, Country Director" is two."""
        mentions: list[Mention] = []
        run: list[tuple[_Token, Name | None]] = []

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
                (position > 0 or _ACRONYM.match(token.raw) is not None)
                and token.raw[0].isupper()
                and token.word not in self.rules.quiet
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

    def _parse(self, text: str) -> _Parsed:
        rules = self.rules
        tokens = self._tokens(text)
        words = [t.word for t in tokens]
        start = 0
        while start < len(words) and words[start] in rules.fillers:
            start += 1
        opener = 0
        for phrase in rules.openers:
            if tuple(words[start : start + len(phrase)]) == phrase:
                opener = len(phrase)
                break
        mentions = self._mentions(text, tokens)
        inside = {i for i, t in enumerate(tokens) for m in mentions if m.start <= t.start < m.end}
        rest = [
            w
            for i, w in enumerate(words)
            if i not in inside and i >= start + opener and w not in rules.quiet
        ]
        # Words with content: no function, question or filler words, no names.
        content = rest
        # A pronoun in a long question mostly points inside it ("women ... their forced
        # sterilisation"); an opening "and"/"y" always points back.
        leans = opener > 0
        if len(content) + len(inside) <= LEANING_TERMS:
            leans = leans or self._points_back(words)
        # "And the Puno Water Trust, since when?" asks its own question about its subject.
        asks = any(w in rules.question_words for i, w in enumerate(words) if i >= start + opener)
        return _Parsed(
            text=text,
            mentions=tuple(mentions),
            opener=opener > 0,
            leans=leans,
            personal=any(w in rules.personal for w in words),
            short=not mentions and len(content) <= SHORT_TERMS,
            elliptical=bool(mentions) and not content and not asks,
        )

    def _points_back(self, words: list[str]) -> bool:
        rules = self.rules
        for i, word in enumerate(words):
            after = words[i + 1 : i + 2]
            if word in rules.references:
                return True
            if word in rules.place and not (
                set(words[max(i - 1, 0) : i] + after) & rules.existential
            ):
                return True
            # "that programme", not "the programme of health" (which names which one).
            if word in rules.determiners and after and after[0] in rules.nouns:
                following = words[i + 2 : i + 3]
                if not (following and following[0] in rules.qualifiers):
                    return True
        return False

    # -- reading a question against the earlier turns ------------------------------------

    def read(self, question: str, history: Sequence[Turn] = ()) -> Resolution:
        """How to answer ``question`` after ``history`` (oldest first)."""
        if not history:
            return Resolution(question, question)
        state: _State | None = None
        for number, turn in enumerate(history, 1):
            reading, state = self._read(turn.question, state, number)
            state = self._answered(state, turn.answer, number)
        reading, _ = self._read(question, state, len(history) + 1)
        return reading

    def _answered(self, state: _State, answer: str | None, number: int) -> _State:
        """The state after a turn's answer: the document it was quoted from, when that
        document is about what the turn named (a wrong answer does not steer the next)."""
        if answer and question_type(state.text) is AnswerType.PERSON:
            # "Who is the media contact?" "Media contact José Carlos Thissen": "his phone"
            # is then his. A name of one word in an answer is too often something else.
            names = [m for m in self._mentions(answer, self._tokens(answer)) if len(m.terms) > 1]
            state = replace(state, person=names[0] if names else None)
        doc = self.document_of(answer) if answer else None
        known = [m.docs for m in state.subjects if m.docs]
        if doc is not None and (not known or any(doc in docs for docs in known)):
            return replace(state, doc=doc, doc_turn=number)
        if known and state.doc is None:
            common = frozenset.intersection(*known)
            if len(common) == 1:
                return replace(state, doc=next(iter(common)), doc_turn=state.origin)
        return state

    def _compatible(self, mention: Mention, state: _State) -> bool:
        if mention.key in {s.key for s in state.subjects}:
            return True
        if not mention.docs:
            return False
        if state.doc is not None:
            return state.doc in mention.docs
        return any(s.docs and mention.docs & s.docs for s in state.subjects)

    def _read(self, text: str, state: _State | None, number: int) -> tuple[Resolution, _State]:
        parsed = self._parse(text)
        alone = Resolution(text, text)
        own = _State(text, parsed.mentions, number)
        if state is None or not (state.subjects or state.doc):
            return alone, own
        if not (parsed.leans or parsed.short):
            return alone, own
        hint = detect_language(state.text)
        if parsed.mentions:
            clash = [m for m in parsed.mentions if not self._compatible(m, state)]
            if parsed.elliptical:
                return self._ask_again(parsed, state, not clash, number, hint)
            # A question that names its own organisation or person stands on its own, and
            # one with a new subject switches topic: neither carries anything. A weak name
            # (a word the documents capitalise, typed in lower case: "lima", "salud") in a
            # question that points back does not switch topic on its own.
            if any(m.strong for m in parsed.mentions) or (clash and not parsed.leans):
                return alone, own
        return self._carry(parsed, state, number, hint)

    def _carry(
        self, parsed: _Parsed, state: _State, number: int, hint: str
    ) -> tuple[Resolution, _State]:
        own = {m.key for m in parsed.mentions}
        # The organisations and people named, when there are any; else every name.
        carried_over = [s for s in state.subjects if s.strong] or list(state.subjects)
        if parsed.personal and state.person is not None:
            carried_over.append(state.person)
        added = [s for s in carried_over if s.key not in own]
        text = parsed.text
        moved = []
        for subject in added:
            text += " "
            moved.append(replace(subject, start=len(text), end=len(text) + len(subject.label)))
            text += subject.label
        labels = tuple(s.label for s in carried_over)
        if labels:
            carried, turn = labels, state.origin
        elif state.doc is not None:
            carried, turn = (self.titles.get(state.doc, state.doc),), state.doc_turn
        else:
            return Resolution(parsed.text, parsed.text), _State(
                parsed.text, parsed.mentions, number
            )
        reading = Resolution(
            asked=parsed.text,
            text=text,
            names=tuple(t for s in added for t in s.terms),
            doc_id=state.doc,
            context=Context(carried, turn),
            language_hint=hint,
            earlier=state.text,
        )
        subjects = (*parsed.mentions, *moved)
        return reading, _State(text, subjects, state.origin, state.doc, state.doc_turn)

    def _ask_again(
        self, parsed: _Parsed, state: _State, compatible: bool, number: int, hint: str
    ) -> tuple[Resolution, _State]:
        """The earlier question asked again about the new subject: "¿Y Womankind?"."""
        new = parsed.mentions
        label = " ".join(m.label for m in new)
        frame = state.text
        if compatible or not state.subjects:
            text = f"{frame} {label}"
            start = len(frame) + 1
            kept = state.subjects if compatible else ()
        else:
            # The new subject takes the place of the earlier one: its first organisation-like
            # name (an acronym, a title's word), else its first name. Others (a place) stay.
            old = next((s for s in state.subjects if s.strong), state.subjects[0])
            start = old.start
            text = frame[:start] + label + frame[old.end :]
            kept = ()
        placed = []
        offset = start
        for mention in new:
            placed.append(replace(mention, start=offset, end=offset + len(mention.label)))
            offset += len(mention.label) + 1
        docs = [m.docs for m in new if m.docs]
        common = frozenset.intersection(*docs) if docs and len(docs) == len(new) else frozenset()
        if compatible:
            doc, doc_turn = state.doc, state.doc_turn
        elif len(common) == 1:
            doc, doc_turn = next(iter(common)), number
        else:
            doc, doc_turn = None, 0
        reading = Resolution(
            asked=parsed.text,
            text=text,
            names=tuple(t for s in kept for t in s.terms),
            doc_id=doc,
            context=Context(tuple(s.label for s in kept), number - 1, text),
            rewritten=True,
            language_hint=hint,
        )
        origin = state.origin if compatible else number
        return reading, _State(text, (*kept, *placed), origin, doc, doc_turn)


def declined(answer: Answer) -> Answer:
    """A carried answer under the follow-up bar, declined the way the answerer declines:
    the bot's own words, and the passages as related ones, none of them quoted."""
    related = [replace(c, quote_start=-1, quote_end=-1) for c in answer.citations[:3]]
    return replace(
        answer,
        answer=message("abstain", answer.language),
        abstained=True,
        citations=[],
        related=related,
        highlight=None,
        answer_language=None,
    )
