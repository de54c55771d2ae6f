"""Spanish word lists: every Spanish word the text and answer-type rules know, in one place."""

from __future__ import annotations

# Frequent function words (with and without accents): enough to tell Spanish from English.
FUNCTION_WORDS = frozenset(
    """
    el la los las de del y en es son fue fueron que qué cual cuál cuáles quien quién
    quienes cuando cuándo donde dónde por porqué cómo como cuanto cuánto cuántos cuántas
    tiene tienen ha han para con un una unos unas se su sus al lo le este esta
    estos estas hay desde entre sobre más muy está están
    """.split()
)

# Words that carry no evidence of a passage's topic (folded: no accents).
STOPWORDS = frozenset(
    """
    el la los las de del y o u en es son fue fueron ser estar esta este estos estas ese esa
    eso que cual cuales quien quienes cuando donde como cuanto cuanta cuantos cuantas por
    para con sin sobre un una unos unas se su sus al lo le les ha han hay tiene tienen
    desde hasta entre mas muy ya si no qu
    """.split()
)

QUESTION_WORDS = (
    "que cual cuales quien quienes cuando donde como cuanto cuanta cuantos cuantas por"
).split()

MONTHS = (
    "enero febrero marzo abril mayo junio julio agosto septiembre setiembre octubre "
    "noviembre diciembre"
).split()

NUMBER_WORDS = (
    "dos tres cuatro cinco seis siete ocho nueve diez cien mil millones mitad tercio"
).split()

NAME_JOINERS = frozenset({"de", "la", "las", "los", "del", "y", "para", "en"})
PHRASE_STARTS = frozenset({"el", "la", "los", "las", "de", "del", "por", "para", "con", "en", "al"})

# Marks that only Spanish uses.
MARKS = "¿¡ñáéíóú"
