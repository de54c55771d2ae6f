"""Questions read in the library's language: Debian's Apertium, kept running.

Across languages the only words a Spanish question shares with an English report are its
names and numbers; read in Apertium's English, every content word is evidence again
(bench/translate_trial.py: the Spanish dev questions' top quote holds the answer 0.66 ->
0.80). Apertium is rough, so the translation only ever supplies *terms*: the question is
still embedded, typed and answered in the visitor's own words, and the quote is always the
document's.

One pipeline of Apertium's programs runs per process, each question written to it ended by
a NUL and read back up to the NUL (null-flush mode), so a question costs about a
millisecond, not the 200 ms of starting Apertium. ``stdbuf -o0`` makes every stage write
through: ``lt-proc -b`` otherwise holds its output until the input ends.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import select
import shlex
import shutil
import signal
import subprocess
import threading
from pathlib import Path
from typing import IO

from peruqa.text.names import CAPITALISED

log = logging.getLogger(__name__)

MODES = Path(os.environ.get("APERTIUM_DATADIR", "/usr/share/apertium")) / "modes"
INSTALL = "apt-get install apertium-eng-spa"
# A reply slower than this means the pipeline is stuck: it is restarted and the question
# read untranslated (the first reply, loading the dictionaries, takes about 0.1 s).
TIMEOUT_S = 5.0
# Characters Apertium's stream format reserves; a question's own are escaped.
_RESERVED = re.compile(r"([\^$@\[\]{}/\\<>*#+~])")
# Capitalised words after the first pass through as written ("Puno", "Womankind"): Apertium
# would translate some of them, and a name is the same in every language.
_NAME = re.compile(rf"(?<=\s){CAPITALISED}(?:\s+{CAPITALISED})*")
_PLACEHOLDER = re.compile(r"Zqx(\d+)")


def available(mode: str) -> bool:
    """Whether Apertium and its ``mode`` (e.g. "spa-eng") are installed."""
    return shutil.which("lt-proc") is not None and (MODES / f"{mode}.mode").is_file()


def _pipeline(mode: str) -> str:
    """The mode's programs, each in null-flush mode and unbuffered, unknown words unmarked."""
    text = (MODES / f"{mode}.mode").read_text(encoding="utf-8").strip()
    stages = []
    for stage in text.split("|"):
        program, _, rest = stage.strip().partition(" ")
        # $1 is the generator's option (-n: unknown words unmarked), $2 the tagger's (none).
        rest = rest.replace("$1", "-n").replace("$2", "")
        stages.append(f"stdbuf -o0 {shlex.quote(program)} -z {rest}")
    return " | ".join(stages)


def protect_names(text: str) -> tuple[str, list[str]]:
    """``text`` with each name (capitalised words after the first) swapped for a
    placeholder Apertium passes through, and the names in order."""
    names: list[str] = []

    def swap(match: re.Match[str]) -> str:
        names.append(match.group())
        return f"Zqx{len(names) - 1}"

    return _NAME.sub(swap, text), names


def restore_names(text: str, names: list[str]) -> str:
    """The names ``protect_names`` took out, put back."""

    def put_back(match: re.Match[str]) -> str:
        number = int(match.group(1))
        return names[number] if number < len(names) else match.group()

    return _PLACEHOLDER.sub(put_back, text)


class Apertium:
    """One running Apertium pipeline for ``mode``; thread-safe, restarted when it fails."""

    def __init__(self, mode: str) -> None:
        self.mode = mode
        self._process: subprocess.Popen[bytes] | None = None
        self._pending = b""
        self._lock = threading.Lock()
        self._owner = os.getpid()

    def translate(self, text: str) -> str | None:
        line = " ".join(text.replace("\0", " ").split())
        if not line:
            return ""
        protected, names = protect_names(line)
        with self._lock:
            try:
                out = self._ask(_RESERVED.sub(r"\\\1", protected))
            except (OSError, TimeoutError) as error:
                log.warning("Apertium %s failed (%s): question read as asked", self.mode, error)
                self.close()
                return None
        return restore_names(out.replace("\\", "").strip(), names)

    def _ask(self, line: str) -> str:
        process = self._started()
        stdin, stdout = process.stdin, process.stdout
        assert stdin is not None and stdout is not None
        stdin.write(line.encode("utf-8", errors="replace") + b"\0")
        stdin.flush()
        # Each stage passes the NUL on and some add their own: a reply is the next text up
        # to a NUL, with empty ones between skipped.
        while True:
            self._pending = self._pending.lstrip(b"\0")
            if b"\0" in self._pending:
                reply, _, self._pending = self._pending.partition(b"\0")
                return reply.decode("utf-8", errors="replace")
            self._read(stdout)

    def _read(self, stdout: IO[bytes]) -> None:
        ready, _, _ = select.select([stdout], [], [], TIMEOUT_S)
        if not ready:
            raise TimeoutError(f"no reply in {TIMEOUT_S:.0f} s")
        chunk = os.read(stdout.fileno(), 65536)
        if not chunk:
            raise OSError("the pipeline ended")
        self._pending += chunk

    def _started(self) -> subprocess.Popen[bytes]:
        if self._owner != os.getpid():
            # A forked worker does not share its parent's pipes: it starts its own.
            self._process, self._owner = None, os.getpid()
        if self._process is None or self._process.poll() is not None:
            self._pending = b""
            self._process = subprocess.Popen(
                ["bash", "-c", _pipeline(self.mode)],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                start_new_session=True,  # a Ctrl-C to the server is not Apertium's
            )
        return self._process

    def close(self) -> None:
        """Stop the pipeline (every stage: they share its process group)."""
        process, self._process = self._process, None
        if process is None or self._owner != os.getpid():
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()


_PIPELINES: dict[str, Apertium] = {}
_PIPELINES_LOCK = threading.Lock()


def pipeline(mode: str) -> Apertium:
    """The process's one pipeline for ``mode``: every service and test shares it (each is
    ten programs and 40 MB)."""
    with _PIPELINES_LOCK:
        return _PIPELINES.setdefault(mode, Apertium(mode))
