"""English: every English word and phrase PeruQA knows, and the bot's words in English."""

from __future__ import annotations

from peruqa.text.languages import Language

LANGUAGE = Language(
    code="en",
    name="English",
    switch_label="View this page in English",
    ocr="eng",
    apertium={"es": "eng-spa"},
    # Frequent function words: a handful is enough to tell English from the others.
    function_words=frozenset(
        """
        the of and to in is are was were what which who whom whose when where why how does do
        did has have had for with on by from at this that these those it its an a be been many
        much since long there their they our we you your can will would about between
        """.split()
    ),
    marks="",
    stopwords=frozenset(
        """
        a an the of and or to in on at by for from with without into about as is are was were
        be been being has have had do does did what which who whom whose when where why how
        many much this that these those it its their there they them we our you your he she his
        her can could will would shall should may might than then also not no yes any all some
        more most other such since long per one two
        """.split()
    ),
    question_words=("what", "which", "who", "whom", "whose", "when", "where", "why", "how"),
    months=tuple(
        (
            "january february march april may june july august september october november december"
        ).split()
    ),
    number_words=tuple(
        "one two three four five six seven eight nine ten twenty thirty forty fifty hundred "
        "thousand thousands million millions half third quarter fifth tenth dozens hundreds".split()
    ),
    name_joiners=frozenset({"of", "the", "and", "for", "on"}),
    abbreviations=frozenset(
        """
        mr mrs ms dr prof st no vs etc e.g i.e approx inc ltd co fig p pp vol ed eds u.s u.k
        a.m p.m
        """.split()
    ),
    question_patterns={
        "expansion": r"\bstand for\b|\bstands for\b",
        # "when" only as the question word itself, not "... check when it visits".
        "date": r"^(?:\S+ ){0,2}when\b|\bwhat year\b|\bwhich year\b|\bwhat date\b|\bsince what\b",
        "percent": r"\b(percentage|share|proportion|per cent|percent|rate)\b",
        "number": r"\bhow (many|much|old|long)\b|\bwhat (number|amount|place|rank|score)\b",
        "person": (
            r"\bwho\b|\bwhom\b|\bwhat is the name\b"
            r"|\bwhich (partner|organi[sz]ation|agency|group|ngo|institution)s?\b"
        ),
        "place": (
            r"\bwhere\b|\bin which (region|country|city|province|district|place)s?\b"
            r"|\bwhich (region|country|city|countries|regions)\b"
        ),
    },
    percent_words=("per ?cent",),
    range_words=("to",),
    number_leads=("more than", "over", "about", "some", "a", "one"),
    number_outs=("out of",),
    number_units=("years", "per cent"),
    ordinal_suffixes=("th", "st", "nd", "rd"),
    person_joiners=("of",),
    place_joiners=("and",),
    # Follow-up questions (``qa.followup``), all folded. A question leans on an earlier
    # turn when it opens with one of these phrases ("and ...?", "what about X?")...
    followup_openers=("and what about", "and how about", "what about", "how about", "and", "also"),
    # ...when it holds one of these words ("since when has it ...", "what's her phone?")...
    followup_references=frozenset("it its they them their theirs he him his she her hers".split()),
    # Of those, the ones that point at a person: after "who ...?" they mean the name answered.
    followup_personal=frozenset("he him his she her hers".split()),
    # ...or "there" as a place ("what does it do there?"), not as in "is there" / "there are".
    followup_place=frozenset({"there"}),
    existential=frozenset({"is", "are", "was", "were", "be", "been", "isn't", "aren't"}),
    # ...or a generic noun after a demonstrative or article ("that programme", "the agency"):
    # it names a kind of subject without saying which.
    followup_determiners=frozenset("that this these those the".split()),
    followup_nouns=frozenset(
        """
        organisation organization organisations organizations agency ngo group programme
        program project initiative office delegation partner institution charity report
        document study survey
        """.split()
    ),
    # ...or a demonstrative before any word with content ("those workshops"), which points
    # back whatever it names; not before a function word ("those who ...").
    followup_demonstratives=frozenset("these those".split()),
    # Words after such a noun that say which one it is ("the programme of health").
    followup_qualifiers=frozenset("of for on about in".split()),
    # Words an elliptical question ("ok, and for Enabel?") may hold besides its new subject.
    followup_fillers=frozenset("ok okay so then please too again thanks for".split()),
    negations=frozenset({"not", "never", "no", "without"}),
    messages={
        "abstain": "The documents in the library don't answer this question.",
        "language_en": "English",
        "language_es": "Spanish",
        "page_title": "PeruQA: questions about reports on Peru",
        "intro": (
            "Ask a question about the reports in the library. Answers are quoted from the "
            "documents, with their sources."
        ),
        "question_label": "Your question",
        "question_placeholder": "Ask about the reports…",
        "ask": "Ask",
        "examples": "Try an example:",
        "example_1": "What does VRAEM stand for?",
        "example_2": "Which region does Womankind describe as the poorest in Peru?",
        "example_3": "What does the ICRC build in the VRAEM to bring clean water?",
        "thread_label": "Conversation",
        "you": "You",
        "bot": "PeruQA",
        "working": "Looking through the reports…",
        "answer_label": "Answer, quoted from the source",
        "quoted_in_en": "Quoted as written, in English.",
        "quoted_in_es": "Quoted as written, in Spanish.",
        "sources": "Sources",
        "related": "Related passages (they do not answer the question)",
        "no_publisher": "Publisher not named",
        "source_number": "Source",
        "open_source": "Open the document at this passage (new tab)",
        "page": "page",
        "ocr": "read from a scan",
        "feedback_question": "Was this answer helpful?",
        "helpful": "Helpful",
        "not_helpful": "Not helpful",
        "reason_label": "Reason (optional)",
        "reason_none": "No reason given",
        "reason_wrong": "Wrong",
        "reason_outdated": "Outdated",
        "reason_missing_source": "Missing source",
        "reason_wrong_language": "Wrong language",
        "feedback_thanks": "Thank you, your feedback was saved.",
        "feedback_failed": "Your feedback could not be saved. Please try again.",
        "error_empty": "Please type a question.",
        "error_too_long": (
            "Your question did not fit in one message with the conversation so far. "
            "It is still in the box: send it again and the oldest turns are left out."
        ),
        "truncated": "Your question was long: only its first {words} words were read.",
        "turns_dropped": "Part of this conversation could not be verified and is not shown.",
        "forbidden_title": "This form was sent from another site",
        "forbidden": "PeruQA only accepts questions asked on its own page. Nothing was stored.",
        "forbidden_back": "Ask on PeruQA",
        "read_about": "Read as a question about {names}",
        "read_as": "Read as: “{question}”",
        "new_topic": "New topic",
        "error_generic": "Something went wrong. Please try again.",
        "error_network": "The server could not be reached. Check your connection and try again.",
        "back": "Back to the questions",
        "document_label": "Source document",
        "publisher": "Publisher",
        "language": "Language",
        "file": "File",
        "original": "Original",
        "passage_note": "The cited passage is highlighted below.",
        "jump_to_passage": "Jump to the cited passage",
        "footer": (
            "Answers are extracts from the documents; check the source before relying on them."
        ),
    },
)
