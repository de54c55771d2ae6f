"""The bot's own words, in the visitor's language (each language's module holds its strings).
Quotes from documents are never translated.

Also picks the interface language for a visitor: an explicit choice (``?lang=``, then the
``lang`` cookie it leaves) wins over the browser's ``Accept-Language``.
"""

from __future__ import annotations

from peruqa.text.languages import DEFAULT_LANGUAGE, LANGUAGES, get, supported

LANGUAGE_COOKIE = "lang"


def messages(language: str) -> dict[str, str]:
    """Every interface string in ``language``, the default language filling any gap."""
    return {**LANGUAGES[DEFAULT_LANGUAGE].messages, **get(language).messages}


def message(key: str, language: str) -> str:
    return messages(language)[key]


def quoted_in(language: str) -> dict[str, str]:
    """For each language a quote may be in, the note that says so, in ``language``
    ("Quoted as written, in Spanish.") for the page and its script."""
    table = messages(language)
    return {code: table[f"quoted_in_{code}"] for code in LANGUAGES if f"quoted_in_{code}" in table}


def other_languages(language: str) -> list[str]:
    """The languages a page in ``language`` offers to switch to, in registry order."""
    return [code for code in LANGUAGES if code != language]


def from_accept_language(header: str | None) -> str:
    """The best supported language in an ``Accept-Language`` header ("es-PE,es;q=0.9")."""
    best, best_q = DEFAULT_LANGUAGE, -1.0
    for position, part in enumerate((header or "").split(",")):
        code, _, params = part.partition(";")
        language = supported(code)
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
    return supported(query) or supported(cookie) or from_accept_language(accept)
