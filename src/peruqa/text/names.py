"""Names and years as text shows them: the one pattern for each, which every stage shares."""

from __future__ import annotations

import re

# One capitalised word, Spanish capitals included ("Junín", "O'Brien", "Lima-based").
CAPITALISED = r"[A-ZÁÉÍÓÚÑ][\w’'-]+"

# Capitals with an optional plural "s": IHL, VRAEM, CSOs.
_ACRONYM = r"[A-Z][A-Z0-9]{1,9}"
ACRONYM = re.compile(rf"\b{_ACRONYM}(?=s?\b)")
# A whole word that is an acronym (a token already cut out of its text).
ACRONYM_WORD = re.compile(rf"{_ACRONYM}s?")

# A year the reports speak of: 1800 to 2099 (a smaller four-digit number is a count).
YEAR = r"(?:1[89]|20)\d\d"
YEAR_WORD = re.compile(rf"\b{YEAR}\b")


def acronyms(text: str) -> list[str]:
    return ACRONYM.findall(text)
