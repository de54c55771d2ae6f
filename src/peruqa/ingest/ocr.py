"""OCR for PDF pages without a text layer (scans): render with pdfium, read with tesseract.

Debian's ``tesseract-ocr`` with its English and Spanish data does the reading, through
``pytesseract``. Each page is read on its own: a page tesseract cannot read is reported and
left empty, and the rest of the document is indexed.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from peruqa.text.languages import LANGUAGES as REGISTRY

# Every registered language's trained data, read at once ("eng+spa").
LANGUAGES = "+".join(language.ocr for language in REGISTRY.values())
# 300 dpi is tesseract's sweet spot for body text; lower loses small print.
DPI = 300
PAGE_TIMEOUT_S = 120
# Tesseract runs as a subprocess, so two threads keep two cores busy; each subprocess is held
# to one OpenMP thread, as two single-thread readers beat one reader with two threads.
WORKERS = 2


@dataclass
class OcrResult:
    texts: dict[int, str] = field(default_factory=dict)  # 0-based page -> text read
    unreadable: list[int] = field(default_factory=list)  # 0-based pages with no result
    available: bool = True  # False when tesseract is not installed


def available() -> bool:
    """Whether the tesseract program is installed (Debian: tesseract-ocr)."""
    return shutil.which("tesseract") is not None


def _has_image(page: Any) -> bool:
    import pypdfium2.raw as pdfium_c

    return any(True for _ in page.get_objects(filter=(pdfium_c.FPDF_PAGEOBJ_IMAGE,), max_depth=2))


def _read_image(image: Any) -> str | None:
    import pytesseract

    try:
        text = pytesseract.image_to_string(image, lang=LANGUAGES, timeout=PAGE_TIMEOUT_S)
    except (pytesseract.TesseractError, RuntimeError, OSError):
        return None
    return str(text) if text.strip() else None


def read_pages(raw: bytes, pages: Sequence[int]) -> OcrResult:
    """OCR the given 0-based pages of the PDF in ``raw`` that hold an image.

    Pages without any image are blank, not unreadable, and are left out of the result.
    """
    result = OcrResult()
    if not pages:
        return result
    if not available():
        result.available = False
        result.unreadable = list(pages)
        return result
    import pypdfium2

    os.environ.setdefault("OMP_THREAD_LIMIT", "1")
    try:
        document = pypdfium2.PdfDocument(raw)
    except pypdfium2.PdfiumError:
        result.unreadable = list(pages)
        return result
    futures: list[tuple[int, Future[str | None]]] = []
    with ThreadPoolExecutor(WORKERS) as pool:
        for number in pages:
            try:
                page = document[number]
                if not _has_image(page):
                    continue
                # Grey is all tesseract reads; it also keeps a rendered page at ~8 MB.
                image = page.render(scale=DPI / 72, grayscale=True).to_pil()
            except pypdfium2.PdfiumError:
                result.unreadable.append(number)
                continue
            futures.append((number, pool.submit(_read_image, image)))
            # At most a few rendered pages wait in memory at any time.
            if len(futures) >= 2 * WORKERS:
                _collect(futures.pop(0), result)
        for pending in futures:
            _collect(pending, result)
    document.close()
    result.unreadable.sort()
    return result


def _collect(pending: tuple[int, Future[str | None]], result: OcrResult) -> None:
    number, future = pending
    text = future.result()
    if text is None:
        result.unreadable.append(number)
    else:
        result.texts[number] = text
