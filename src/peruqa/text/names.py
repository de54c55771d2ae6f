"""Capitalised names: the one pattern for a capitalised word, and the acronym pattern."""

from __future__ import annotations

import re

# One capitalised word, Spanish capitals included ("Junín", "O'Brien", "Lima-based").
CAPITALISED = r"[A-ZÁÉÍÓÚÑ][\w’'-]+"

# Capitals with an optional plural "s": IHL, VRAEM, CSOs.
ACRONYM = re.compile(r"\b[A-Z][A-Z0-9]{1,9}(?=s?\b)")


def acronyms(text: str) -> list[str]:
    return ACRONYM.findall(text)
