"""Format readers: turn a file's bytes into plain text plus whatever metadata the format carries.

Each reader raises ReadError with a reason a maintainer can act on ("it is encrypted",
"it has no extractable text"), never a library's traceback.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from dataclasses import dataclass, field

from peruqa.errors import ReadError
from peruqa.ingest import ocr
from peruqa.ingest.html_text import html_main_text
from peruqa.text.languages import codes


@dataclass(frozen=True)
class ReadContent:
    text: str
    metadata: dict[str, object] = field(default_factory=dict)
    # Character offset where each page starts (PDFs); empty for formats without pages.
    page_starts: tuple[int, ...] = ()
    # Plain-text formats may open with a YAML front-matter block.
    allows_front_matter: bool = True
    # 1-based pages read by OCR, and pages with an image OCR could not read (PDFs).
    ocr_pages: tuple[int, ...] = ()
    unreadable_pages: tuple[int, ...] = ()


Reader = Callable[[bytes], ReadContent]

# Bump when a reader extracts different text from the same file (2: scanned pages by OCR):
# an index whose documents were read by older readers reads every file again.
READER_VERSION = 2

_TERMINAL = re.compile(r"[.!?:;…][\"'”’»)\]]*$")


def _decode(raw: bytes) -> str:
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ReadError(f"it is not UTF-8 text (bad byte at position {exc.start})") from exc
    if "\x00" in text:
        raise ReadError("it looks like a binary file, not text")
    # One line-ending convention keeps character offsets stable across platforms.
    return text.replace("\r\n", "\n").replace("\r", "\n")


def read_plain_text(raw: bytes) -> ReadContent:
    return ReadContent(text=_decode(raw))


def read_html(raw: bytes) -> ReadContent:
    text, metadata = html_main_text(_decode(raw))
    return ReadContent(text=text, metadata=metadata, allows_front_matter=False)


def _reflow(page: str) -> str:
    """Join the lines a PDF wrapped inside a paragraph; keep headings on lines of their own.

    Chunking treats lines as sentence boundaries, so wrapped lines would cut sentences.
    """
    lines = [" ".join(line.split()) for line in page.replace("\r", "\n").split("\n")]
    lines = [line for line in lines if line]
    if not lines:
        return ""
    wrap_width = 0.6 * max(len(line) for line in lines)
    out = [lines[0]]
    for line in lines[1:]:
        previous = out[-1]
        wrapped = len(previous.split("\n")[-1]) >= wrap_width and not _TERMINAL.search(previous)
        if wrapped or line[0].islower():
            if previous.endswith("-") and line[0].islower():
                out[-1] = previous[:-1] + line  # a word hyphenated across lines
            else:
                out[-1] = f"{previous} {line}"
        else:
            out.append(line)
    return "\n".join(out)


def read_pdf(raw: bytes) -> ReadContent:
    from pypdf import PdfReader
    from pypdf.errors import FileNotDecryptedError, PyPdfError

    try:
        reader = PdfReader(io.BytesIO(raw))
        if reader.is_encrypted and not reader.decrypt(""):
            raise ReadError("it is encrypted with a password; save an unprotected copy")
        pages = [_reflow(page.extract_text() or "") for page in reader.pages]
        info = reader.metadata
        scanned = ocr.read_pages(raw, [n for n, page in enumerate(pages) if not page.strip()])
    except ReadError:
        raise
    except FileNotDecryptedError as exc:
        raise ReadError("it is encrypted with a password; save an unprotected copy") from exc
    except (PyPdfError, ValueError, KeyError, TypeError, AttributeError, OSError) as exc:
        raise ReadError(f"it is not a readable PDF ({type(exc).__name__}: {exc})") from exc
    for number, page_text in scanned.texts.items():
        pages[number] = _reflow(page_text)
    if not any(page.strip() for page in pages):
        if not scanned.available:
            raise ReadError(
                "it has no text layer and OCR is not installed (install Debian's "
                "tesseract-ocr, tesseract-ocr-eng and tesseract-ocr-spa, or run 'make install')"
            )
        raise ReadError("it has no extractable text, not even by OCR")
    page_starts: list[int] = []
    text = ""
    for page in pages:
        if text:
            text += "\n\n"
        page_starts.append(len(text))
        text += page
    metadata: dict[str, object] = {}
    if info is not None:
        if info.title and info.title.strip():
            metadata["title"] = info.title.strip()
        if info.author and info.author.strip():
            metadata["publisher"] = info.author.strip()
    return ReadContent(
        text=text,
        metadata=metadata,
        page_starts=tuple(page_starts),
        allows_front_matter=False,
        ocr_pages=tuple(sorted(n + 1 for n in scanned.texts)),
        unreadable_pages=tuple(n + 1 for n in scanned.unreadable),
    )


def read_docx(raw: bytes) -> ReadContent:
    import docx
    from docx.table import Table

    try:
        document = docx.Document(io.BytesIO(raw))
        blocks: list[str] = []
        title_paragraph = ""
        for item in document.iter_inner_content():
            if isinstance(item, Table):
                for row in item.rows:
                    cells = [" ".join(cell.text.split()) for cell in row.cells]
                    # Merged cells repeat their text in each grid cell.
                    blocks.append(" ; ".join(dict.fromkeys(cell for cell in cells if cell)))
                continue
            text = " ".join(item.text.split())
            style = item.style.name if item.style is not None else ""
            if text and not title_paragraph and style in ("Title", "Heading 1"):
                title_paragraph = text
            blocks.append(text)
        properties = document.core_properties
    except Exception as exc:  # python-docx raises many kinds for a damaged package
        raise ReadError(f"it is not a readable Word .docx file ({type(exc).__name__})") from exc
    metadata: dict[str, object] = {}
    title = (properties.title or "").strip() or title_paragraph
    if title:
        metadata["title"] = title
    if (properties.author or "").strip():
        metadata["publisher"] = properties.author.strip()
    language = (properties.language or "").strip().lower()[:2]
    if language in codes():
        metadata["language"] = language
    text = "\n\n".join(block for block in blocks if block)
    return ReadContent(text=text, metadata=metadata, allows_front_matter=False)


READERS: dict[str, Reader] = {
    ".md": read_plain_text,
    ".markdown": read_plain_text,
    ".txt": read_plain_text,
    ".html": read_html,
    ".htm": read_html,
    ".pdf": read_pdf,
    ".docx": read_docx,
}
