"""Several worker processes and replicas, as ``peruqa serve --workers 2`` runs them: the rate
limit shared through Redis, one reload reaching every worker, metrics summed over workers.

Needs Debian's redis-server (``make test`` installs it); skipped without it.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from conftest import free_port, write_corpus
from peruqa.config import Settings, get_settings
from peruqa.index.build import build
from peruqa.index.embedding import FakeEmbedder

TOKEN = "a-long-enough-admin-token"
QUESTION = "When did the agency open an office in Cusco?"

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        shutil.which("redis-server") is None, reason="redis-server is not installed"
    ),
]


@pytest.fixture(scope="module")
def redis_url() -> Iterator[str]:
    port = free_port()
    process = subprocess.Popen(
        [
            "redis-server",
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
        ],
        stdout=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 10
    import socket

    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            if time.monotonic() > deadline:
                process.kill()
                raise RuntimeError("redis-server did not start") from None
            time.sleep(0.05)
    yield f"redis://127.0.0.1:{port}"
    process.terminate()
    process.wait(timeout=5)


def _serve(env: dict[str, str], workers: int) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    process = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "peruqa"),
            "serve",
            "--port",
            str(port),
            "--workers",
            str(workers),
        ],
        env={**os.environ, **env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        # Its own process group: a failed start kills the workers too. Killed alone, the
        # supervisor left them serving and holding stderr, and reading it hung the run.
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    ready = 0
    while ready < 10:  # ten /ready answers in a row: every worker is up
        if process.poll() is not None or time.monotonic() > deadline:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            _, errors = process.communicate(timeout=10)
            raise RuntimeError(f"server did not start: {errors!r}")
        try:
            ready = ready + 1 if httpx.get(f"{base}/ready", timeout=2).status_code == 200 else 0
        except httpx.HTTPError:
            ready = 0
            time.sleep(0.1)
    return process, base


@pytest.fixture(scope="module")
def library(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    root = tmp_path_factory.mktemp("workers")
    settings = get_settings(
        source_dir=write_corpus(root / "docs"),
        index_dir=root / "index",
        data_dir=root / "data",
        model="fake",
    )
    build(settings, FakeEmbedder())
    return settings


@pytest.fixture(scope="module")
def servers(library: Settings, redis_url: str) -> Iterator[list[str]]:
    """Two workers behind one port, and a second replica: all on one Redis and data folder.

    Started once for the module (each start costs seconds); the tests run in file order.
    """
    settings = library
    env = {
        "PERUQA_MODEL": "fake",
        "PERUQA_FIRST_STAGE_MODEL": "none",
        "PERUQA_INDEX_DIR": str(settings.index_dir),
        "PERUQA_DATA_DIR": str(settings.data_dir),
        "PERUQA_RATE_LIMIT_STORAGE": redis_url,
        "PERUQA_ADMIN_TOKEN": TOKEN,
        "PERUQA_INDEX_WATCH_S": "0",
        "PERUQA_QUERY_LOG": "false",
        "HF_HUB_OFFLINE": "1",
    }
    started = [_serve(env, 2), _serve(env, 1)]
    yield [base for _, base in started]
    for process, _ in started:
        process.terminate()
    for process, _ in started:
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)


def _fresh(base: str) -> httpx.Client:
    # No keep-alive: every request is a new connection, so both workers take their share.
    return httpx.Client(base_url=base, timeout=10, limits=httpx.Limits(max_keepalive_connections=0))


def test_burst_of_30_is_shared_by_workers_and_replicas(servers: list[str], redis_url: str) -> None:
    import redis

    redis.Redis.from_url(redis_url).flushall()  # a fresh allowance for 127.0.0.1
    workers, replica = servers
    with _fresh(workers) as first, _fresh(replica) as second:
        statuses = [
            (first if n % 3 else second)
            .post("/ask", json={"question": f"{QUESTION} {n}"})
            .status_code
            for n in range(45)
        ]
    passed = statuses.count(200)
    assert 29 <= passed <= 31, statuses
    assert set(statuses) == {200, 429}


def test_metrics_add_up_every_worker(servers: list[str]) -> None:
    workers, _ = servers
    with _fresh(workers) as client:
        for _ in range(12):
            client.get("/health")
        texts = [client.get("/metrics").text for _ in range(4)]
    totals = set()
    for text in texts:
        line = next(
            line
            for line in text.splitlines()
            if line.startswith("peruqa_requests_total{") and 'route="/health"' in line
        )
        totals.add(float(line.rsplit(" ", 1)[1]))
    # Whichever worker answers the scrape, it reports all twelve (and the startup probes).
    assert len(totals) == 1 and totals.pop() >= 12


def test_one_reload_moves_every_worker_within_a_second(
    servers: list[str], library: Settings
) -> None:
    settings = library
    workers, replica = servers
    old = httpx.get(f"{workers}/ready").json()["build_id"]
    (settings.source_dir / "new.md").write_text("# New\n\nA report about Arequipa.\n")
    build(settings, FakeEmbedder())
    reply = httpx.post(f"{workers}/admin/reload", headers={"Authorization": f"Bearer {TOKEN}"})
    assert reply.status_code == 200, reply.text
    new = reply.json()["build_id"]
    assert new != old
    time.sleep(1.0)
    with _fresh(workers) as first, _fresh(replica) as second:
        seen = {client.get("/ready").json()["build_id"] for client in (first, second) * 10}
    assert seen == {new}
