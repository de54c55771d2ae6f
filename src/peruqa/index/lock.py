"""One build at a time per index folder: an OS file lock beside the index."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from filelock import FileLock, Timeout

from peruqa.config import default
from peruqa.errors import IndexBusyError


def lock_path(index_dir: Path) -> Path:
    # Beside the index, not inside it: the index folder itself is swapped by each build.
    return index_dir.parent / f".{index_dir.name}-build.lock"


@contextmanager
def build_lock(
    index_dir: Path, timeout_s: float = default("index_lock_timeout_s")
) -> Iterator[None]:
    """Hold the build lock; raise IndexBusyError when another build keeps it past ``timeout_s``.

    The OS releases the lock if the holder dies, so a killed build never blocks the next.
    """
    index_dir.parent.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(lock_path(index_dir)), timeout=timeout_s)
    try:
        lock.acquire()
    except Timeout as exc:
        raise IndexBusyError(
            f"Another 'peruqa index' is building {index_dir} right now (waited "
            f"{timeout_s:g} s). Let it finish, then run this again."
        ) from exc
    try:
        yield
    finally:
        lock.release()
