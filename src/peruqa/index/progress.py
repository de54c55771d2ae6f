"""Progress of a build, stage by stage: reading, chunking, each model's embedding, writing, gate.

A build reports ``(stage, done, total)``: once with ``done == 0`` when a stage starts, then as
it goes, and with ``done == total`` when it ends. What to show (a bar on a terminal, plain
lines in a log) is the caller's business.
"""

from __future__ import annotations

from collections.abc import Callable

# (done, total) for one stage; the vector cache reports embedding this way.
Progress = Callable[[int, int], None]
# (stage, done, total) for a whole build.
StageProgress = Callable[[str, int, int], None]

READING = "Reading"
CHUNKING = "Chunking"
WRITING = "Writing"
GATE = "Quality gate"


def embedding_stage(model: str) -> str:
    return f"Embedding ({model})"


def for_stage(progress: StageProgress | None, stage: str) -> Progress | None:
    """The ``(done, total)`` callback of one stage, or None when nobody listens."""
    if progress is None:
        return None

    def report(done: int, total: int) -> None:
        progress(stage, done, total)

    return report
