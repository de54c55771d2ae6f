"""Documents: find the files in the source folder, read them, and keep their metadata.

Metadata comes, in rising precedence, from the file's own properties (PDF/DOCX/HTML), its
front matter, and a YAML sidecar beside it (``report.pdf.yml`` or ``report.yml``).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

import yaml

from peruqa.config import default
from peruqa.errors import ReadError
from peruqa.ingest.readers import READERS
from peruqa.text.language import detect_language, fold

_HEADING = re.compile(r"^\s{0,3}#{1,6}\s+(.+?)\s*#*\s*$", re.MULTILINE)
_FRONT_MATTER = re.compile(r"\A---[ \t]*\r?\n(.*?)\r?\n---[ \t]*(?:\r?\n|\Z)", re.DOTALL)
_SLUG = re.compile(r"[^a-z0-9]+")
SIDECAR_SUFFIXES = (".yml", ".yaml")


@dataclass(frozen=True)
class Document:
    doc_id: str
    source: str  # path relative to the source folder
    title: str
    publisher: str
    language: str
    text: str
    sha256: str  # of the file and its sidecar: a change to either means re-indexing
    url: str = ""
    # Character offset where each page starts (PDFs); empty for formats without pages.
    page_starts: tuple[int, ...] = ()
    # 1-based pages whose text was read by OCR from an image (scanned PDFs), and pages
    # that could not be read at all (left empty, reported).
    ocr_pages: tuple[int, ...] = ()
    unreadable_pages: tuple[int, ...] = ()

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


@dataclass(frozen=True)
class Duplicate:
    source: str
    same_as: str  # the copy that was indexed


@dataclass
class LoadReport:
    documents: list[Document] = field(default_factory=list)
    skipped: list[SkippedFile] = field(default_factory=list)
    duplicates: list[Duplicate] = field(default_factory=list)
    # source -> fingerprint of every file seen, read or not, so unchanged bad files
    # are not reported as new on every status check.
    fingerprints: dict[str, str] = field(default_factory=dict)
    # source -> 1-based pages that could not be read (OCR failed); the rest was indexed.
    unreadable_pages: dict[str, tuple[int, ...]] = field(default_factory=dict)


def doc_id_for(relative: Path) -> str:
    """A stable, URL-safe id from the file's path inside the source folder."""
    stem = relative.with_suffix("").as_posix().lower()
    return _SLUG.sub("-", stem).strip("-") or "document"


def _unique_ids(paths: list[Path]) -> dict[Path, str]:
    """Ids from the path without its extension; 'a.md' and 'a.txt' keep theirs apart."""
    bases = [doc_id_for(path) for path in paths]
    ids: dict[Path, str] = {}
    taken: set[str] = set()
    for path, base in zip(paths, bases, strict=True):
        doc_id = base
        if bases.count(base) > 1:
            doc_id = _SLUG.sub("-", path.as_posix().lower()).strip("-")
        candidate, number = doc_id, 2
        while candidate in taken:
            candidate, number = f"{doc_id}-{number}", number + 1
        taken.add(candidate)
        ids[path] = candidate
    return ids


def is_sidecar(path: Path) -> bool:
    return path.suffix.lower() in SIDECAR_SUFFIXES


def sidecar_for(path: Path) -> Path | None:
    """The metadata file beside ``path``: 'report.pdf.yml' first, then 'report.yml'."""
    for suffix in SIDECAR_SUFFIXES:
        for candidate in (path.with_name(path.name + suffix), path.with_suffix(suffix)):
            if candidate.is_file():
                return candidate
    return None


def fingerprint(path: Path) -> str:
    """sha256 of a file's bytes, plus its sidecar's when it has one."""
    digest = hashlib.sha256(path.read_bytes())
    sidecar = None if is_sidecar(path) else sidecar_for(path)
    if sidecar is not None:
        digest.update(b"\0sidecar\0" + sidecar.read_bytes())
    return digest.hexdigest()


def _load_yaml_mapping(text: str, what: str) -> dict[str, object]:
    try:
        loaded = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        raise ReadError(f"{what} is not valid YAML ({exc.__class__.__name__})") from exc
    if not isinstance(loaded, dict):
        raise ReadError(f"{what} is not a 'key: value' block")
    return {str(k): v for k, v in loaded.items()}


def split_front_matter(raw: str) -> tuple[dict[str, object], str]:
    """Return (metadata, body). Metadata is empty when there is no front-matter block."""
    match = _FRONT_MATTER.match(raw)
    if not match:
        return {}, raw
    return _load_yaml_mapping(match.group(1), "the front matter"), raw[match.end() :]


def _text_field(meta: dict[str, object], key: str) -> str:
    value = meta.get(key)
    return "" if value is None else " ".join(str(value).split())


def _read_bytes(path: Path, max_file_mb: float) -> bytes:
    try:
        size = path.stat().st_size
        if size > max_file_mb * 1024 * 1024:
            raise ReadError(
                f"it is too large ({size / 1024 / 1024:.1f} MB; the limit is {max_file_mb:g} MB, "
                "set PERUQA_MAX_FILE_MB to raise it)"
            )
        raw = path.read_bytes()
    except OSError as exc:
        raise ReadError(f"it cannot be opened ({exc.strerror or exc})") from exc
    if not raw.strip():
        raise ReadError("it is empty")
    return raw


def read_document(
    path: Path, root: Path, doc_id: str | None = None, max_file_mb: float = default("max_file_mb")
) -> Document:
    """Read one file into a Document; raises ReadError with a reason fit for a maintainer."""
    relative = path.relative_to(root)
    reader = READERS.get(path.suffix.lower())
    if reader is None:
        known = ", ".join(sorted(READERS))
        raise ReadError(f"unsupported file type '{path.suffix or '(none)'}' (PeruQA reads {known})")
    content = reader(_read_bytes(path, max_file_mb))
    meta, body = (
        split_front_matter(content.text) if content.allows_front_matter else ({}, content.text)
    )
    sidecar = sidecar_for(path)
    side = (
        _load_yaml_mapping(sidecar.read_text(encoding="utf-8"), f"the sidecar {sidecar.name}")
        if sidecar
        else {}
    )
    meta = {**content.metadata, **meta, **side}
    if not body.strip():
        raise ReadError("it contains no text")
    heading = _HEADING.search(body)
    fallback = re.sub(r"[-_]+", " ", path.stem).strip() or path.name
    title = _text_field(meta, "title") or (heading.group(1) if heading else fallback)
    language = _text_field(meta, "language").lower() or detect_language(body)
    return Document(
        doc_id=doc_id or doc_id_for(relative),
        source=relative.as_posix(),
        title=title,
        publisher=_text_field(meta, "publisher"),
        language=language,
        url=_text_field(meta, "url"),
        text=body,
        sha256=fingerprint(path),
        page_starts=content.page_starts,
        ocr_pages=content.ocr_pages,
        unreadable_pages=content.unreadable_pages,
    )


def source_files(root: Path) -> list[Path]:
    """Every regular file under ``root`` except hidden ones, in a stable order."""
    return sorted(
        path
        for path in root.rglob("*")
        if path.is_file() and not any(part.startswith(".") for part in path.relative_to(root).parts)
    )


def _orphan_sidecars(files: list[Path]) -> set[Path]:
    owned = {sidecar_for(path) for path in files if not is_sidecar(path)}
    return {path for path in files if is_sidecar(path) and path not in owned}


def scan_sources(root: Path) -> dict[str, str]:
    """source -> fingerprint for everything the index accounts for (sidecars via their owner)."""
    files = source_files(root)
    orphans = _orphan_sidecars(files)
    return {
        path.relative_to(root).as_posix(): fingerprint(path)
        for path in files
        if not is_sidecar(path) or path in orphans
    }


def _normalised_text_key(text: str) -> str:
    return hashlib.sha256(" ".join(fold(text).split()).encode()).hexdigest()


def load_documents(
    root: Path,
    max_file_mb: float = default("max_file_mb"),
    progress: Callable[[int, int], None] | None = None,
    known: Mapping[str, Document] | None = None,
) -> LoadReport:
    """Read every document under ``root``; unreadable files and duplicates are reported.

    Files are read one at a time and only their text is kept, so a file's raw bytes (and a
    scanned PDF's page images) are let go before the next is read. ``progress`` gets
    (files done, files in all). ``known`` maps sources to documents read before: a file
    whose fingerprint still matches is taken from there instead of being parsed (and
    OCR'd) again.
    """
    known = known or {}
    report = LoadReport()
    files = source_files(root)
    if progress:
        progress(0, len(files))
    orphans = _orphan_sidecars(files)
    candidates = [path for path in files if not is_sidecar(path)]
    ids = _unique_ids([path.relative_to(root) for path in candidates])
    seen: dict[str, str] = {}  # normalised text -> source that was kept
    for number, path in enumerate(files, 1):
        if progress and number > 1:
            progress(number - 1, len(files))
        relative = path.relative_to(root)
        source = relative.as_posix()
        if is_sidecar(path):
            if path in orphans:
                report.fingerprints[source] = fingerprint(path)
                report.skipped.append(
                    SkippedFile(source, "it is a metadata file with no document beside it")
                )
            continue
        try:
            digest = report.fingerprints[source] = fingerprint(path)
            previous = known.get(source)
            if previous is not None and previous.sha256 == digest:
                document = replace(previous, doc_id=ids[relative])
            else:
                document = read_document(path, root, ids[relative], max_file_mb)
        except ReadError as exc:
            report.skipped.append(SkippedFile(source, str(exc)))
            continue
        except OSError as exc:
            report.skipped.append(SkippedFile(source, f"it cannot be opened ({exc.strerror})"))
            continue
        key = _normalised_text_key(document.text)
        if key in seen:
            report.duplicates.append(Duplicate(source, seen[key]))
            continue
        seen[key] = source
        report.documents.append(document)
        if document.unreadable_pages:
            report.unreadable_pages[source] = document.unreadable_pages
    if progress:
        progress(len(files), len(files))
    return report
