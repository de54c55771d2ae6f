"""English word lists: every English word the text and answer-type rules know, in one place."""

from __future__ import annotations

# Frequent function words: a handful is enough to tell English from Spanish.
FUNCTION_WORDS = frozenset(
    """
    the of and to in is are was were what which who whom whose when where why how does do
    did has have had for with on by from at this that these those it its an a be been many
    much since long there their they our we you your can will would about between
    """.split()
)

# Words that carry no evidence of a passage's topic (folded, as ``lexical.terms`` sees them).
STOPWORDS = frozenset(
    """
    a an the of and or to in on at by for from with without into about as is are was were
    be been being has have had do does did what which who whom whose when where why how
    many much this that these those it its their there they them we our you your he she his
    her can could will would shall should may might than then also not no yes any all some
    more most other such since long per one two
    """.split()
)

QUESTION_WORDS = ("what", "which", "who", "whom", "whose", "when", "where", "why", "how")

MONTHS = (
    "january february march april may june july august september october november december"
).split()

NUMBER_WORDS = (
    "one two three four five six seven eight nine ten twenty thirty forty fifty hundred "
    "thousand thousands million millions half third quarter fifth tenth dozens hundreds"
).split()

# Small words inside a long name ("Committee for the Study of ...").
NAME_JOINERS = frozenset({"of", "the", "and", "for", "on"})
# Words that open a descriptive phrase ("the Peruvian prison service (INPE)").
PHRASE_STARTS = frozenset({"the", "a", "an", "to", "of", "by", "for", "in", "on", "with", "from"})

# Follow-up questions (``qa.followup``), all folded. A question leans on an earlier turn
# when it opens with one of these phrases ("and ...?", "what about X?")...
FOLLOWUP_OPENERS = ("and what about", "and how about", "what about", "how about", "and", "also")
# ...when it holds one of these words ("since when has it ...", "what's her phone?")...
FOLLOWUP_REFERENCES = frozenset("it its they them their theirs he him his she her hers".split())
# Of those, the ones that point at a person: after "who ...?" they mean the name answered.
FOLLOWUP_PERSONAL = frozenset("he him his she her hers".split())
# ...or "there" as a place ("what does it do there?"), not as in "is there" / "there are".
FOLLOWUP_PLACE = frozenset({"there"})
EXISTENTIAL = frozenset({"is", "are", "was", "were", "be", "been", "isn't", "aren't"})
# ...or a generic noun after a demonstrative or article ("that programme", "the agency"):
# it names a kind of subject without saying which.
FOLLOWUP_DETERMINERS = frozenset("that this these those the".split())
FOLLOWUP_NOUNS = frozenset(
    """
    organisation organization organisations organizations agency ngo group programme
    program project initiative office delegation partner institution charity
    """.split()
)
# Words after such a noun that say which one it is ("the programme of health").
FOLLOWUP_QUALIFIERS = frozenset("of for on about in".split())
# Words an elliptical question ("ok, and for Enabel?") may hold besides its new subject.
FOLLOWUP_FILLERS = frozenset("ok okay so then please too again thanks for".split())
# Other languages' names for what English documents call otherwise (see vocab_es).
NAME_ALIASES: dict[str, str] = {}
