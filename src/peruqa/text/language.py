"""Language detection (English / Spanish) and text folding shared by the lexical layers."""

from __future__ import annotations

import re
import unicodedata

Language = str  # "en" or "es"

SUPPORTED = ("en", "es")

_WORD = re.compile(r"[^\W_]+(?:[.,'’][^\W_]+)*", re.UNICODE)

# Frequent function words: a handful is enough to tell the two languages apart.
_EN = frozenset(
    """
    the of and to in is are was were what which who whom whose when where why how does do
    did has have had for with on by from at this that these those it its an a be been many
    much since long there their they our we you your can will would about between
    """.split()
)
_ES = frozenset(
    """
    el la los las de del y en es son fue fueron que qué cual cuál cuáles quien quién
    quienes cuando cuándo donde dónde por porqué cómo como cuanto cuánto cuántos cuántas
    cuántas tiene tienen ha han para con un una unos unas se su sus al lo le este esta
    estos estas hay desde entre sobre más muy está están
    """.split()
)
# Marks that only Spanish uses.
_ES_MARKS = re.compile(r"[¿¡ñáéíóú]", re.IGNORECASE)


def words(text: str) -> list[str]:
    return _WORD.findall(text)


def fold(text: str) -> str:
    """Lower-case and strip accents so that 'Perú' matches 'peru' and 'CICR' matches 'cicr'."""
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def detect_language(text: str, default: Language = "en") -> Language:
    """Guess 'en' or 'es' from function words and Spanish-only marks."""
    tokens = [word.lower() for word in words(text)]
    en = sum(token in _EN for token in tokens)
    es = sum(token in _ES for token in tokens)
    es += 2 * len(_ES_MARKS.findall(text))
    if en == es:
        return default
    return "es" if es > en else "en"
