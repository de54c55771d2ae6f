"""A third language, for tests only: everything PeruQA needs to know about it, in one module.

Portuguese, as reports from Brazil would bring. Its answer-type rules and word lists are
kept small; the test checks that the registry alone wires it in.
"""

from __future__ import annotations

from peruqa.text.languages import Language

LANGUAGE = Language(
    code="pt",
    name="Português",
    switch_label="Ver esta página em português",
    ocr="por",
    function_words=frozenset(
        "o os um uma do da dos das não com pelo pela são está você isso mais também".split()
    ),
    marks="ãõç",
    stopwords=frozenset("o os um uma do da dos das nao com pelo pela sao esta".split()),
    question_words=("quem", "quando", "onde", "quantos"),
    months=("janeiro", "fevereiro", "marco"),
    number_words=("dois", "tres", "quatro"),
    name_joiners=frozenset({"do", "da"}),
    abbreviations=frozenset({"sr", "sra"}),
    question_patterns={
        "expansion": r"\bsignifica a sigla\b",
        "date": r"^(?:\S+ ){0,2}quando\b",
        "percent": r"\bpercentagem\b",
        "number": r"\bquant[oa]s\b",
        "person": r"\bquem\b",
        "place": r"\bonde\b",
    },
    percent_words=("por cento",),
    range_words=("a",),
    messages={
        "page_title": "PeruQA: perguntas sobre relatórios do Peru",
        "ask": "Perguntar",
        "quoted_in_pt": "Citado como escrito, em português.",
        "quoted_in_en": "Citado como escrito, em inglês.",
        "quoted_in_es": "Citado como escrito, em espanhol.",
    },
)
