"""Language detection over the registry (``peruqa.text.languages``), and the text folding
shared by the lexical layers."""

from __future__ import annotations

import re
import unicodedata

from peruqa.text.languages import DEFAULT_LANGUAGE, LANGUAGES

LanguageCode = str  # a code of the registry (peruqa.text.languages)

_WORD = re.compile(r"[^\W_]+(?:[.,'’][^\W_]+)*", re.UNICODE)


def words(text: str) -> list[str]:
    return _WORD.findall(text)


def fold(text: str) -> str:
    """Lower-case and strip accents so that 'Perú' matches 'peru' and 'CICR' matches 'cicr'."""
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def _marks(text: str, marks: str) -> int:
    # re caches the compiled class, so this costs one scan of the text per language.
    return len(re.findall(f"[{re.escape(marks)}]", text, re.IGNORECASE)) if marks else 0


def _without_names(text: str) -> str:
    """``text`` with its capitalised words after the first blanked: a name's accents
    ("Rocío", "Junín", "Frédéric") say where the name comes from, not which language the
    question around it is in."""
    kept, last = [], 0
    for number, match in enumerate(_WORD.finditer(text)):
        if number and match.group()[0].isupper():
            kept.append(text[last : match.start()])
            last = match.end()
    return "".join(kept) + text[last:]


def detect_language(text: str, default: LanguageCode = DEFAULT_LANGUAGE) -> LanguageCode:
    """The registered language whose function words (and marks outside names, counted
    twice) ``text`` uses most; ``default`` when two or more tie for the lead."""
    tokens = [word.lower() for word in words(text)]
    marked = _without_names(text)
    scores = {
        code: sum(token in language.function_words for token in tokens)
        + 2 * _marks(marked, language.marks)
        for code, language in LANGUAGES.items()
    }
    best = max(scores.values())
    leaders = [code for code, score in scores.items() if score == best]
    return leaders[0] if len(leaders) == 1 else default
