"""Build progress for people: a live line with counts and time left on a terminal, and a few
plain lines in a log (CI), where a redrawn line would fill the file with carriage returns."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import TextIO

# In a log, a line at a stage's start and end, and at most one this often in between.
LOG_EVERY_S = 10.0


def _duration(seconds: float) -> str:
    seconds = max(0, round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    minutes, seconds = divmod(seconds, 60)
    return f"{minutes} min {seconds:02d} s"


class BuildProgress:
    """A ``(stage, done, total)`` callback for ``peruqa.index.build.build``."""

    def __init__(
        self,
        stream: TextIO | None = None,
        tty: bool | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.stream = stream if stream is not None else sys.stderr
        self.tty = self.stream.isatty() if tty is None else tty
        self.clock = clock
        self.stage: str | None = None
        self.started = 0.0
        self.last_line = 0.0
        self.finished = True
        self.width = 0

    def _eta(self, done: int, total: int) -> str:
        if done <= 0 or done >= total:
            return ""
        elapsed = self.clock() - self.started
        return f", about {_duration(elapsed / done * (total - done))} left"

    def _write(self, text: str) -> None:
        self.stream.write(text)
        self.stream.flush()

    def __call__(self, stage: str, done: int, total: int) -> None:
        now = self.clock()
        if stage != self.stage:
            self.close()
            self.stage, self.started, self.last_line, self.finished = stage, now, now, False
            if not self.tty:
                self._write(f"{stage}: 0/{total}\n")
        if self.finished:
            return
        if done >= total:
            self.finished = True
            line = f"{stage}: {done}/{total} done in {_duration(now - self.started)}"
            self._write(f"\r{line:<{self.width}}\n" if self.tty else f"{line}\n")
            return
        percent = 100 * done // max(total, 1)
        line = f"{stage}: {done}/{total} ({percent}%){self._eta(done, total)}"
        if self.tty:
            self._write(f"\r{line:<{self.width}}")
            self.width = max(self.width, len(line))
        elif done and now - self.last_line >= LOG_EVERY_S:
            self.last_line = now
            self._write(f"{line}\n")

    def close(self) -> None:
        """End a stage's line that never reached its total (a failed build)."""
        if self.tty and not self.finished and self.stage is not None:
            self._write("\n")
        self.finished = True
        self.width = 0
