"""Spanish: every Spanish word and phrase PeruQA knows, and the bot's words in Spanish."""

from __future__ import annotations

from peruqa.text.languages import Language

LANGUAGE = Language(
    code="es",
    name="Español",
    switch_label="Ver esta página en español",
    ocr="spa",
    # Frequent function words (with and without accents): enough to tell Spanish apart.
    function_words=frozenset(
        """
        el la los las de del y en es son fue fueron que qué cual cuál cuáles quien quién
        quienes cuando cuándo donde dónde por porqué cómo como cuanto cuánto cuántos cuántas
        tiene tienen ha han para con un una unos unas se su sus al lo le este esta
        estos estas hay desde entre sobre más muy está están
        """.split()
    ),
    marks="¿¡ñáéíóú",
    stopwords=frozenset(
        """
        el la los las de del y o u en es son fue fueron ser estar esta este estos estas ese esa
        eso que cual cuales quien quienes cuando donde como cuanto cuanta cuantos cuantas por
        para con sin sobre un una unos unas se su sus al lo le les ha han hay tiene tienen
        desde hasta entre mas muy ya si no qu
        """.split()
    ),
    question_words=tuple(
        "que cual cuales quien quienes cuando donde como cuanto cuanta cuantos cuantas por".split()
    ),
    months=tuple(
        (
            "enero febrero marzo abril mayo junio julio agosto septiembre setiembre octubre "
            "noviembre diciembre"
        ).split()
    ),
    number_words=tuple(
        "dos tres cuatro cinco seis siete ocho nueve diez cien mil millones mitad tercio".split()
    ),
    name_joiners=frozenset({"de", "la", "las", "los", "del", "y", "para", "en"}),
    # Street addresses (Mz., Urb., Av., Jr.) and titles (Sr., Sra., Dra., Ing., Lic.).
    abbreviations=frozenset("mz urb av jr sr sra dra ing lic art".split()),
    question_patterns={
        "expansion": r"\bsignifica\b|\bsiglas?\b",
        "date": (
            r"^(?:\S+ ){0,2}cuando\b"
            r"|\bque (ano|fecha)\b|\ben que ano\b|\bdesde que\b|\bdesde cuando\b"
        ),
        "percent": r"\b(porcentaje|proporcion|tasa)\b",
        "number": r"\bcuant[oa]s?\b|\bque (numero|cantidad|puesto|edad)\b",
        "person": (
            r"\bquien(es)?\b|\bcomo se llama\b"
            r"|\bque (organizacion|socio|institucion|entidad|agencia|ong)\b"
        ),
        "place": (
            r"\bdonde\b"
            r"|\ben que (region|pais|ciudad|provincia|lugar)\b|\bque (region|pais|ciudad|lugar)\b"
        ),
    },
    percent_words=("por ciento",),
    range_words=("a",),
    person_joiners=("de", "del", "la"),
    place_joiners=("y", "de", "del"),
    # Follow-up questions (``qa.followup``), all folded (no accents, as visitors often
    # type). See en.py for what each list does.
    followup_openers=(
        "y que hay de",
        "que hay de",
        "y en cuanto a",
        "en cuanto a",
        "y sobre",
        "con respecto a",
        "en el caso de",
        "acerca de",
        "y",
        "tambien",
    ),
    # "el" (article) and "la"/"lo" (also articles) are left out: folded, "él" is "el".
    # "le"/"les" are only ever object pronouns ("¿quién les da agua?").
    followup_references=frozenset(
        """
        su sus suyo suya ella ellas ellos ello eso esto estos aquello dicho dicha dichos dichas
        le les
        """.split()
    ),
    # "¿qué les pasó a las mujeres?": Spanish doubles an object with "le"/"les" before
    # naming it after "a"/"al"; such a pronoun points inside the question.
    followup_clitics=frozenset({"le", "les"}),
    followup_doubling=frozenset({"a", "al"}),
    followup_personal=frozenset("su sus ella".split()),
    followup_place=frozenset({"ahi", "alli", "alla", "aqui"}),
    existential=frozenset(),  # "hay" is the existential; "ahí" is always a place
    # "esta"/"este" are left out: without accents "esta" is also the verb ("donde esta ...").
    # "del"/"al" hold the article: "el presupuesto del proyecto" is "of the project".
    followup_determiners=frozenset("ese esa esos esas aquel aquella el la los las del al".split()),
    followup_nouns=frozenset(
        """
        organizacion organizaciones agencia ong grupo programa proyecto iniciativa oficina
        delegacion socio institucion entidad informe reporte documento estudio encuesta
        """.split()
    ),
    # "ese taller", "esas visitas": these point back whatever they name ("esta" is left
    # out as above; "aquellos que ..." is not a reference).
    followup_demonstratives=frozenset("ese esa esos esas aquel aquella aquellos aquellas".split()),
    followup_qualifiers=frozenset("de del sobre para en".split()),
    followup_fillers=frozenset("ok vale entonces pues tambien caso respecto para".split()),
    # Spanish names of organisations and terms whose documents use the English one
    # (folded): "CICR" is how a Spanish speaker names the ICRC.
    apertium={"en": "spa-eng"},
    name_aliases={"cicr": "icrc", "dih": "ihl", "vih": "hiv", "osc": "cso"},
    negations=frozenset({"no", "nunca", "sin"}),
    messages={
        "abstain": "Los documentos de la biblioteca no responden a esta pregunta.",
        "language_en": "inglés",
        "language_es": "español",
        "page_title": "PeruQA: preguntas sobre informes del Perú",
        "intro": (
            "Haga una pregunta sobre los informes de la biblioteca. Las respuestas se citan "
            "de los documentos, con sus fuentes."
        ),
        "question_label": "Su pregunta",
        "question_placeholder": "Pregunte sobre los informes…",
        "ask": "Preguntar",
        "examples": "Pruebe un ejemplo:",
        "example_1": "¿Qué significa VRAEM?",
        "example_2": "¿Quién dice que ahora todo es más incierto?",
        "example_3": "¿Qué construye el CICR en el VRAEM para llevar agua potable?",
        "thread_label": "Conversación",
        "you": "Usted",
        "bot": "PeruQA",
        "working": "Buscando en los informes…",
        "answer_label": "Respuesta, citada de la fuente",
        "quoted_in_en": "Cita textual, en inglés.",
        "quoted_in_es": "Cita textual, en español.",
        "sources": "Fuentes",
        "related": "Pasajes relacionados (no responden a la pregunta)",
        "no_publisher": "Editor no indicado",
        "source_number": "Fuente",
        "open_source": "Abrir el documento en este pasaje (pestaña nueva)",
        "page": "página",
        "ocr": "leída de un escaneo",
        "feedback_question": "¿Le fue útil esta respuesta?",
        "helpful": "Útil",
        "not_helpful": "No útil",
        "reason_label": "Motivo (opcional)",
        "reason_none": "Sin motivo",
        "reason_wrong": "Incorrecta",
        "reason_outdated": "Desactualizada",
        "reason_missing_source": "Falta la fuente",
        "reason_wrong_language": "Idioma equivocado",
        "feedback_thanks": "Gracias, su opinión quedó guardada.",
        "feedback_failed": "No se pudo guardar su opinión. Inténtelo de nuevo.",
        "error_empty": "Escriba una pregunta.",
        "error_too_long": (
            "Su pregunta no cabía en un mensaje junto con la conversación. "
            "Sigue en el recuadro: envíela de nuevo y se dejan fuera los turnos más antiguos."
        ),
        "truncated": "Su pregunta era larga: solo se leyeron sus primeras {words} palabras.",
        "turns_dropped": "Parte de esta conversación no pudo verificarse y no se muestra.",
        "forbidden_title": "Este formulario se envió desde otro sitio",
        "forbidden": "PeruQA solo acepta preguntas hechas en su propia página. No se guardó nada.",
        "forbidden_back": "Preguntar en PeruQA",
        "read_about": "Leído como una pregunta sobre {names}",
        "read_as": "Leído como: «{question}»",
        "new_topic": "Nuevo tema",
        "error_generic": "Algo salió mal. Inténtelo de nuevo.",
        "error_network": (
            "No se pudo contactar al servidor. Revise su conexión e inténtelo de nuevo."
        ),
        "back": "Volver a las preguntas",
        "document_label": "Documento fuente",
        "publisher": "Editor",
        "language": "Idioma",
        "file": "Archivo",
        "original": "Original",
        "passage_note": "El pasaje citado está resaltado abajo.",
        "jump_to_passage": "Ir al pasaje citado",
        "footer": (
            "Las respuestas son extractos de los documentos; consulte la fuente antes de "
            "basarse en ellas."
        ),
    },
)
