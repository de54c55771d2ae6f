"""``peruqa chat`` driven through a pseudo-terminal, as a person at a terminal uses it."""

from __future__ import annotations

import os
import pty
import select
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import THREAD_CORPUS, write_corpus
from peruqa.config import get_settings
from peruqa.index.build import build
from peruqa.index.embedding import FakeEmbedder

PERUQA = Path(sys.executable).with_name("peruqa")

pytestmark = pytest.mark.slow


def read_until(fd: int, marker: bytes, seen: bytearray, timeout: float = 60) -> bytes:
    """Read the terminal until ``marker`` shows after what was already seen."""
    start = len(seen)
    deadline = time.monotonic() + timeout
    while marker not in seen[start:]:
        left = deadline - time.monotonic()
        if left <= 0:
            raise AssertionError(f"no {marker!r} in {bytes(seen[start:])!r}")
        ready, _, _ = select.select([fd], [], [], left)
        if ready:
            try:
                chunk = os.read(fd, 4096)
            except OSError:  # the other end closed
                break
            seen.extend(chunk)
    return bytes(seen[start:])


def test_chat_answers_a_two_turn_conversation(tmp_path: Path) -> None:
    source = write_corpus(tmp_path / "docs", THREAD_CORPUS)
    env = {
        **os.environ,
        "PERUQA_MODEL": "fake",
        "PERUQA_SOURCE_DIR": str(source),
        "PERUQA_INDEX_DIR": str(tmp_path / "index"),
        "PERUQA_DATA_DIR": str(tmp_path / "data"),
        "PERUQA_ABSTAIN_THRESHOLD": "0",
        "TERM": "dumb",
    }
    build(
        get_settings(source_dir=source, index_dir=tmp_path / "index", model="fake"), FakeEmbedder()
    )
    main, terminal = pty.openpty()
    process = subprocess.Popen(
        [str(PERUQA), "chat"], stdin=terminal, stdout=terminal, stderr=terminal, env=env
    )
    os.close(terminal)
    seen = bytearray()
    try:
        read_until(main, b"> ", seen)
        os.write(main, b"Who is the country director of the Puno Water Trust?\n")
        first = read_until(main, b"> ", seen).decode()
        assert "Maria Condori" in first
        assert "[1] Puno Water Trust" in first  # the citation under the answer
        assert "Read as" not in first
        os.write(main, b"And what is its phone number?\n")
        second = read_until(main, b"> ", seen).decode()
        assert "(Read as a question about Puno Water Trust)" in second
        assert "[1] Puno Water Trust" in second  # answered from the carried document
        os.write(main, b"/new\n")
        assert "New topic." in read_until(main, b"> ", seen).decode()
        os.write(main, b"And what is its phone number?\n")
        assert "Read as" not in read_until(main, b"> ", seen).decode()
        os.write(main, b"\x04")  # Ctrl-D leaves
        assert process.wait(timeout=30) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        os.close(main)
