"""Format readers: turn a file's bytes into plain text plus whatever metadata the format carries."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field


class ReadError(Exception):
    """A file could not be read; the message says why, for the maintainer's report."""


@dataclass(frozen=True)
class ReadContent:
    text: str
    metadata: dict[str, object] = field(default_factory=dict)
    page_starts: tuple[int, ...] = ()
    # Plain-text formats may open with a YAML front-matter block.
    allows_front_matter: bool = True


Reader = Callable[[bytes], ReadContent]


def read_plain_text(raw: bytes) -> ReadContent:
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ReadError(f"it is not UTF-8 text (bad byte at position {exc.start})") from exc
    if "\x00" in text:
        raise ReadError("it looks like a binary file, not text")
    # One line-ending convention keeps character offsets stable across platforms.
    return ReadContent(text=text.replace("\r\n", "\n"))


READERS: dict[str, Reader] = {
    ".md": read_plain_text,
    ".markdown": read_plain_text,
    ".txt": read_plain_text,
}
