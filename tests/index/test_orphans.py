"""A build killed with SIGKILL leaves no embedding workers behind: they die with it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

pytestmark = pytest.mark.slow

# A stand-in for a build: the pool embed_jobs uses, with both workers busy, then it waits
# to be killed. The workers' ids go to stdout.
BUILD = """
import os, sys, time
from peruqa.index.embed_pool import worker_pool

pool = worker_pool(2)
started = [pool.submit(time.sleep, 0.3) for _ in range(2)]
for future in started:
    future.result()
print(" ".join(str(pid) for pid in pool._processes), flush=True)
busy = [pool.submit(time.sleep, 120) for _ in range(2)]
time.sleep(120)
"""


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie is gone for good; only its entry waits for a parent to read it.
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
            return stat.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False


def test_workers_exit_when_the_build_is_killed() -> None:
    build = subprocess.Popen(
        [sys.executable, "-c", BUILD], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        assert build.stdout is not None
        line = build.stdout.readline()
        workers = [int(pid) for pid in line.split()]
        assert len(workers) == 2, line or build.stderr.read()
        assert all(_alive(pid) for pid in workers)
        build.send_signal(signal.SIGKILL)
        build.wait(timeout=30)
        deadline = time.monotonic() + 15
        while any(_alive(pid) for pid in workers) and time.monotonic() < deadline:
            time.sleep(0.1)
        left = [pid for pid in workers if _alive(pid)]
        for pid in left:
            os.kill(pid, signal.SIGKILL)  # do not leave them to the next test either
        assert left == [], "embedding workers outlived the killed build"
    finally:
        if build.poll() is None:
            build.kill()
