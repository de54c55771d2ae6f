"""The supervisor of ``peruqa serve --workers 2`` killed outright (SIGKILL, the OOM killer):
its workers must not live on under PID 1 holding the port."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from conftest import free_port
from peruqa.config import Settings

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc"),
]


def _workers_of(pid: int) -> set[int]:
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    return {int(child) for child in children}


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"  # a zombie holds no socket


def _port_free(port: int) -> bool:
    # What the next `peruqa serve` does (peruqa.web.server.tcp_socket): bind with
    # SO_REUSEADDR, which fails while any process still listens on the port.
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def test_sigkilled_supervisor_leaves_nothing_listening(settings: Settings) -> None:
    # ``settings``: conftest's fake-model library, built in this test's folder.
    port = free_port()
    env = {
        **os.environ,
        "PERUQA_MODEL": "fake",
        "PERUQA_FIRST_STAGE_MODEL": "none",
        "PERUQA_INDEX_DIR": str(settings.index_dir),
        "PERUQA_DATA_DIR": str(settings.data_dir),
        "PERUQA_INDEX_WATCH_S": "0",
        "HF_HUB_OFFLINE": "1",
    }
    command = [str(Path(sys.executable).parent / "peruqa"), "serve", "--port", str(port)]
    supervisor = subprocess.Popen(
        [*command, "--workers", "2"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        # Its own process group, so whatever outlives the test is killed by its group id.
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 60
        while len(_workers_of(supervisor.pid)) < 2 or not _answers(port):
            assert supervisor.poll() is None, "the server did not start"
            assert time.monotonic() < deadline, "the server did not start in 60 s"
            time.sleep(0.2)
        workers = _workers_of(supervisor.pid)

        supervisor.kill()
        supervisor.wait()
        deadline = time.monotonic() + 5
        while any(_alive(pid) for pid in workers) or not _port_free(port):
            assert time.monotonic() < deadline, "workers outlived their supervisor by 5 s"
            time.sleep(0.1)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(supervisor.pid, signal.SIGKILL)


def _answers(port: int) -> bool:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/ready", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False
