"""The bot's own words, in English and Spanish. Quotes from documents are never translated.

Also picks the interface language for a visitor: an explicit choice (``?lang=``, then the
``lang`` cookie it leaves) wins over the browser's ``Accept-Language``.
"""

from __future__ import annotations

LANGUAGES = ("en", "es")
DEFAULT_LANGUAGE = "en"
LANGUAGE_COOKIE = "lang"

MESSAGES: dict[str, dict[str, str]] = {
    "en": {
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
        "example_2": "In which district of Lima is the ICRC delegation located?",
        "example_3": "What does the ICRC check on when it visits prisons?",
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
        "truncated": "Your question was long: only its first {words} words were read.",
        "turns_dropped": "Part of this conversation could not be verified and is not shown.",
        "forbidden_title": "This form was sent from another site",
        "forbidden": "PeruQA only accepts questions asked on its own page. Nothing was stored.",
        "forbidden_back": "Ask on PeruQA",
        "error_generic": "Something went wrong. Please try again.",
        "error_network": "The server could not be reached. Check your connection and try again.",
        "switch_language": "Español",
        "switch_language_label": "Ver esta página en español",
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
    "es": {
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
        "example_2": "¿Qué cargo tiene Rocio Palomino?",
        "example_3": "¿Qué recurso se les está acabando a los agricultores de las montañas?",
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
        "truncated": "Su pregunta era larga: solo se leyeron sus primeras {words} palabras.",
        "turns_dropped": "Parte de esta conversación no pudo verificarse y no se muestra.",
        "forbidden_title": "Este formulario se envió desde otro sitio",
        "forbidden": "PeruQA solo acepta preguntas hechas en su propia página. No se guardó nada.",
        "forbidden_back": "Preguntar en PeruQA",
        "error_generic": "Algo salió mal. Inténtelo de nuevo.",
        "error_network": (
            "No se pudo contactar al servidor. Revise su conexión e inténtelo de nuevo."
        ),
        "switch_language": "English",
        "switch_language_label": "View this page in English",
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
}


def message(key: str, language: str) -> str:
    table = MESSAGES.get(language, MESSAGES["en"])
    return table.get(key, MESSAGES["en"][key])


def messages(language: str) -> dict[str, str]:
    """Every interface string in ``language``, English filling any gap."""
    return {**MESSAGES["en"], **MESSAGES.get(language, {})}


def _supported(code: str | None) -> str | None:
    if not code:
        return None
    primary = code.strip().lower().replace("_", "-").split("-")[0]
    return primary if primary in LANGUAGES else None


def from_accept_language(header: str | None) -> str:
    """The best supported language in an ``Accept-Language`` header ("es-PE,es;q=0.9")."""
    best, best_q = DEFAULT_LANGUAGE, -1.0
    for position, part in enumerate((header or "").split(",")):
        code, _, params = part.partition(";")
        language = _supported(code)
        if language is None:
            continue
        q = 1.0
        if params.strip().startswith("q="):
            try:
                q = float(params.strip()[2:])
            except ValueError:
                continue
        # Equal weights keep the header's order: earlier entries win.
        score = q - position * 1e-6
        if q > 0 and score > best_q:
            best, best_q = language, score
    return best


def choose_language(query: str | None, cookie: str | None, accept: str | None) -> str:
    return _supported(query) or _supported(cookie) or from_accept_language(accept)
