"""Language detection (English / Spanish) and text folding shared by the lexical layers."""

from __future__ import annotations

import re
import unicodedata

from peruqa.text import vocab_en, vocab_es

Language = str  # "en" or "es"

_WORD = re.compile(r"[^\W_]+(?:[.,'’][^\W_]+)*", re.UNICODE)
_ES_MARKS = re.compile(f"[{vocab_es.MARKS}]", re.IGNORECASE)


def words(text: str) -> list[str]:
    return _WORD.findall(text)


def fold(text: str) -> str:
    """Lower-case and strip accents so that 'Perú' matches 'peru' and 'CICR' matches 'cicr'."""
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def detect_language(text: str, default: Language = "en") -> Language:
    """Guess 'en' or 'es' from function words and Spanish-only marks."""
    tokens = [word.lower() for word in words(text)]
    en = sum(token in vocab_en.FUNCTION_WORDS for token in tokens)
    es = sum(token in vocab_es.FUNCTION_WORDS for token in tokens)
    es += 2 * len(_ES_MARKS.findall(text))
    if en == es:
        return default
    return "es" if es > en else "en"
