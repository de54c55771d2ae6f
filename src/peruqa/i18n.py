"""The bot's own words, in English and Spanish. Quotes from documents are never translated."""

from __future__ import annotations

MESSAGES: dict[str, dict[str, str]] = {
    "en": {
        "abstain": "The documents in the library don't answer this question.",
        "language_en": "English",
        "language_es": "Spanish",
    },
    "es": {
        "abstain": "Los documentos de la biblioteca no responden a esta pregunta.",
        "language_en": "inglés",
        "language_es": "español",
    },
}


def message(key: str, language: str) -> str:
    table = MESSAGES.get(language, MESSAGES["en"])
    return table.get(key, MESSAGES["en"][key])
