"""Documents: find the files in the source folder, read them, and keep their metadata."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from peruqa.language import detect_language
from peruqa.readers import READERS, ReadError

_HEADING = re.compile(r"^\s{0,3}#{1,6}\s+(.+?)\s*#*\s*$", re.MULTILINE)
_FRONT_MATTER = re.compile(r"\A---[ \t]*\r?\n(.*?)\r?\n---[ \t]*(?:\r?\n|\Z)", re.DOTALL)
_SLUG = re.compile(r"[^a-z0-9]+")


@dataclass(frozen=True)
class Document:
    doc_id: str
    source: str  # path relative to the source folder
    title: str
    publisher: str
    language: str
    text: str
    sha256: str
    url: str = ""
    # Character offset where each page starts (PDFs); empty for formats without pages.
    page_starts: tuple[int, ...] = ()

    def page_at(self, offset: int) -> int | None:
        """1-based page number that holds ``offset``, or None when the format has no pages."""
        if not self.page_starts:
            return None
        page = 0
        for number, start in enumerate(self.page_starts):
            if start <= offset:
                page = number
        return page + 1


@dataclass(frozen=True)
class SkippedFile:
    source: str
    reason: str


@dataclass
class LoadReport:
    documents: list[Document] = field(default_factory=list)
    skipped: list[SkippedFile] = field(default_factory=list)


def doc_id_for(relative: Path) -> str:
    """A stable, URL-safe id from the file's path inside the source folder."""
    stem = relative.with_suffix("").as_posix().lower()
    return _SLUG.sub("-", stem).strip("-") or "document"


def split_front_matter(raw: str) -> tuple[dict[str, object], str]:
    """Return (metadata, body). Metadata is empty when there is no front-matter block."""
    match = _FRONT_MATTER.match(raw)
    if not match:
        return {}, raw
    loaded = yaml.safe_load(match.group(1)) or {}
    if not isinstance(loaded, dict):
        raise ReadError("the front matter is not a 'key: value' block")
    return {str(k): v for k, v in loaded.items()}, raw[match.end() :]


def _text_field(meta: dict[str, object], key: str) -> str:
    value = meta.get(key)
    return "" if value is None else str(value).strip()


def read_document(path: Path, root: Path) -> Document:
    """Read one file into a Document; raises ReadError with a reason fit for a maintainer."""
    relative = path.relative_to(root)
    reader = READERS.get(path.suffix.lower())
    if reader is None:
        raise ReadError(f"unsupported file type '{path.suffix or '(none)'}'")
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ReadError(f"cannot be opened ({exc.strerror or exc})") from exc
    content = reader(raw)
    meta, body = (
        split_front_matter(content.text) if content.allows_front_matter else ({}, content.text)
    )
    meta = {**content.metadata, **meta}
    if not body.strip():
        raise ReadError("it contains no text")
    heading = _HEADING.search(body)
    title = _text_field(meta, "title") or (heading.group(1) if heading else path.stem)
    language = _text_field(meta, "language") or detect_language(body)
    return Document(
        doc_id=doc_id_for(relative),
        source=relative.as_posix(),
        title=title,
        publisher=_text_field(meta, "publisher"),
        language=language,
        url=_text_field(meta, "url"),
        text=body,
        sha256=hashlib.sha256(raw).hexdigest(),
        page_starts=content.page_starts,
    )


def source_files(root: Path) -> list[Path]:
    """Every regular file under ``root`` except hidden ones, in a stable order."""
    return sorted(
        path
        for path in root.rglob("*")
        if path.is_file() and not any(part.startswith(".") for part in path.relative_to(root).parts)
    )


def load_documents(root: Path) -> LoadReport:
    """Read every document under ``root``; unreadable files are reported and skipped."""
    report = LoadReport()
    for path in source_files(root):
        relative = path.relative_to(root).as_posix()
        try:
            report.documents.append(read_document(path, root))
        except ReadError as exc:
            report.skipped.append(SkippedFile(relative, str(exc)))
    return report
