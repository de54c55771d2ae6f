"""Spanish wordings of SQuAD training questions, by Debian's Apertium (``apertium-eng-spa``).

Rough but offline and fast: good enough to teach the reader that a Spanish question can ask
for an English sentence, never good enough to measure with (people's Spanish measures).
Names are kept as written: a capitalised word after the first is swapped for a placeholder
Apertium passes through unknown, then put back ("Beyoncé" stays "Beyoncé"). Each question
comes out twice: as written (``¿…?``) and as visitors type on phones (lower case, no
accents, no ``¿``).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import unicodedata
from collections.abc import Sequence
from pathlib import Path

from peruqa.errors import TrainingDataError
from peruqa.text.translation import INSTALL, protect_names, restore_names

_INSTALL = f"Install it with '{INSTALL}' (Debian)."


def casual(text: str) -> str:
    """As typed on a phone: lower case, no accents, no opening marks."""
    decomposed = unicodedata.normalize("NFKD", text.lower())
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return plain.replace("¿", "").replace("¡", "").strip()


def translate(questions: Sequence[str]) -> list[str]:
    """Each English question in Apertium's Spanish, names kept, with ``¿…?``."""
    if shutil.which("apertium") is None:
        raise TrainingDataError(f"Apertium is not installed. {_INSTALL}")
    protected = [protect_names(" ".join(q.split())) for q in questions]
    text = "\n".join(p for p, _ in protected) + "\n"
    try:
        done = subprocess.run(
            ["apertium", "-u", "eng-spa"], input=text, capture_output=True, text=True, check=True
        )
    except subprocess.CalledProcessError as error:
        raise TrainingDataError(f"Apertium failed: {error.stderr.strip()[:200]}") from error
    lines = done.stdout.split("\n")[: len(questions)]
    if len(lines) != len(questions):
        raise TrainingDataError("Apertium returned fewer lines than it was given.")
    result = []
    for line, (_, names) in zip(lines, protected, strict=True):
        spanish = restore_names(line.strip(), names)
        result.append(spanish if spanish.startswith("¿") else f"¿{spanish}")
    return result


def spanish_file(questions: dict[str, str], path: Path) -> Path:
    """Write (once; the file is the cache) ``{"id", "question_es"}`` lines for each question
    id: Apertium's wording and its casual form."""
    if path.is_file():
        return path
    ids = sorted(questions)
    translated = translate([questions[i] for i in ids])
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial")
    with partial.open("w", encoding="utf-8") as out:
        for qid, spanish in zip(ids, translated, strict=True):
            for wording in (spanish, casual(spanish)):
                out.write(json.dumps({"id": qid, "question_es": wording}, ensure_ascii=False))
                out.write("\n")
    partial.replace(path)
    return path
