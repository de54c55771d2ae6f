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

# Follow-up questions (``qa.followup``), all folded (no accents, as visitors often type).
# See vocab_en for what each list does.
FOLLOWUP_OPENERS = (
    "y que hay de",
    "que hay de",
    "y en cuanto a",
    "en cuanto a",
    "y sobre",
    "y",
    "tambien",
)
# "el" (article) and "la"/"lo" (also articles) are left out: folded, "él" is "el".
FOLLOWUP_REFERENCES = frozenset(
    "su sus suyo suya ella ellas ellos eso esto aquello dicho dicha dichos dichas".split()
)
FOLLOWUP_PERSONAL = frozenset("su sus ella".split())
FOLLOWUP_PLACE = frozenset({"ahi", "alli", "alla", "aqui"})
EXISTENTIAL: frozenset[str] = frozenset()  # "hay" is the existential; "ahí" is always a place
# "esta"/"este" are left out: without accents "esta" is also the verb ("donde esta ...").
FOLLOWUP_DETERMINERS = frozenset("ese esa esos esas aquel aquella el la los las".split())
FOLLOWUP_NOUNS = frozenset(
    """
    organizacion organizaciones agencia ong grupo programa proyecto iniciativa oficina
    delegacion socio institucion entidad
    """.split()
)
FOLLOWUP_QUALIFIERS = frozenset("de del sobre para en".split())
FOLLOWUP_FILLERS = frozenset("ok vale entonces pues tambien caso respecto para".split())
# Spanish names of organisations and terms whose documents use the English one (folded):
# "CICR" is how a Spanish speaker names the ICRC.
NAME_ALIASES = {"cicr": "icrc", "dih": "ihl", "vih": "hiv", "osc": "cso"}
