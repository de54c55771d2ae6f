"""A question's own words, read for whether they lean on an earlier turn: the follow-up
rules of every language (data in each language's vocabulary, ``text.languages``), merged.

"y cuál es su teléfono?" opens with "y" and points back with "su"; "in which regions?" has
too few words of its own to stand alone; "what about Enabel?" names only a subject.
Every language's rules apply to every question: short questions are hard to tell apart by
language, and the word lists do not overlap in ways that matter.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from peruqa.text.language import fold
from peruqa.text.languages import LANGUAGES, Language, all_name_aliases, all_words
from peruqa.text.lexical import STOPWORDS

if TYPE_CHECKING:
    from peruqa.qa.library_names import LibraryNames, Mention

# A question with at most this many content words and no subject of its own ("in which
# regions?", "¿y a qué hora abren?") is taken as a follow-up.
SHORT_TERMS = 2
# A pronoun or "that programme" points back only in a question of at most this many content
# words; past that, it mostly points inside the question itself.
LEANING_TERMS = 4


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
    demonstratives: frozenset[str]
    clitics: frozenset[str]
    doubling: frozenset[str]
    qualifiers: frozenset[str]
    fillers: frozenset[str]
    aliases: dict[str, str]
    question_words: frozenset[str]
    quiet: frozenset[str]  # words that are never names: function words, question words, months

    @classmethod
    def from_languages(cls) -> Rules:
        languages: list[Language] = list(LANGUAGES.values())
        openers = {tuple(o.split()) for lang in languages for o in lang.followup_openers}
        aliases = all_name_aliases()
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
            demonstratives=_union("followup_demonstratives"),
            clitics=_union("followup_clitics"),
            doubling=_union("followup_doubling"),
            qualifiers=_union("followup_qualifiers"),
            fillers=_union("followup_fillers"),
            aliases=aliases,
            question_words=frozenset(all_words("question_words")),
            quiet=frozenset(quiet) | _union("followup_fillers"),
        )


RULES = Rules.from_languages()


@dataclass(frozen=True)
class Parsed:
    """A question's own words, read for what they lean on."""

    text: str
    mentions: tuple[Mention, ...]
    opener: bool
    leans: bool  # a reference, opener or "that programme": it points back explicitly
    personal: bool  # "his", "her", "su": it may point at a person
    short: bool  # few content words and no subject of its own
    elliptical: bool  # nothing but a subject (and an opener): "what about Enabel?"


def parse(text: str, names: LibraryNames, rules: Rules = RULES) -> Parsed:
    """What a question's own words say about how it leans on an earlier turn."""
    tokens = names.tokens(text)
    words = [t.word for t in tokens]
    start = 0
    while start < len(words) and words[start] in rules.fillers:
        start += 1
    opener = 0
    for phrase in rules.openers:
        if tuple(words[start : start + len(phrase)]) == phrase:
            opener = len(phrase)
            break
    mentions = names.mentions(text, tokens)
    # Each token inside a name, and the name it is in.
    named_by = {i: m for i, t in enumerate(tokens) for m in mentions if m.start <= t.start < m.end}
    inside = set(named_by)
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
        # A person named in full before "she" / "su" is who the pronoun means.
        named = max((i for i, m in named_by.items() if len(m.terms) > 1), default=-1)
        leans = leans or _points_back(words, rules, named)
    # "And the Puno Water Trust, since when?" asks its own question about its subject.
    asks = any(w in rules.question_words for i, w in enumerate(words) if i >= start + opener)
    return Parsed(
        text=text,
        mentions=tuple(mentions),
        opener=opener > 0,
        leans=leans,
        personal=any(w in rules.personal for w in words),
        short=not mentions and len(content) <= SHORT_TERMS,
        elliptical=bool(mentions) and not content and not asks,
    )


def _points_back(words: list[str], rules: Rules, named: int = -1) -> bool:
    """Whether ``words`` point back at an earlier turn; ``named`` is the last word of a
    person the question names in full (-1: none)."""
    for i, word in enumerate(words):
        after = words[i + 1 : i + 2]
        if word in rules.references:
            if word in rules.clitics and rules.doubling & set(words[i + 1 :]):
                continue  # "les ... a los agricultores": named inside the question
            if word in rules.personal and 0 <= named < i:
                continue  # "Teófila Ochoa, where did she ...": named before
            return True
        # "those workshops", "esas visitas"; not "those who ...", "aquellos que ...".
        if word in rules.demonstratives and not (after and after[0] in rules.quiet):
            return True
        if word in rules.place and not (set(words[max(i - 1, 0) : i] + after) & rules.existential):
            return True
        # "that programme", not "the programme of health" (which names which one).
        if word in rules.determiners and after and after[0] in rules.nouns:
            following = words[i + 2 : i + 3]
            if not (following and following[0] in rules.qualifiers):
                return True
    return False
