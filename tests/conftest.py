"""Shared fixtures: a small corpus built with the deterministic fake embedder."""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from peruqa.config import Settings, get_settings
from peruqa.index.build import build
from peruqa.index.embedding import FakeEmbedder
from peruqa.qa.service import QAService
from peruqa.web.app import create_app

PROJECT = Path(__file__).resolve().parents[1]
# The tests' own decision model (tests/fixtures/README.md), for every test and every process
# a test starts: a retrain of the shipped model never changes what a unit test sees.
FIXTURE_MODEL = PROJECT / "tests" / "fixtures" / "decision_model.json"
os.environ["PERUQA_DECISION_MODEL"] = str(FIXTURE_MODEL)

CORPUS = {
    "red-cross.md": """---
title: Red Cross in the Andes
publisher: Example Relief Agency
language: en
url: https://example.org/andes
---
The Example Relief Agency has worked in the Andes since 1984. It opened an office in Cusco in 1991.

The impact of our work

12,345

people received clean water in the highlands.

Media contact

Ana Quispe
""",
    "glaciers.txt": """Glaciers and farmers

Tropical glaciers in the Andes have lost a third of their area since 1970.
Farmers who depend on meltwater are building small reservoirs to store water for the dry season.
""",
    "informe.md": """# Informe sobre salud materna

El programa de salud materna llegó a 40 centros de salud en Ayacucho.
Las parteras recibieron formación en 2018.
""",
}


def write_corpus(folder: Path, files: dict[str, str] = CORPUS) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (folder / name).write_text(text, encoding="utf-8")
    return folder


@pytest.fixture
def corpus_dir(tmp_path: Path) -> Path:
    return write_corpus(tmp_path / "docs")


@pytest.fixture
def settings(tmp_path: Path, corpus_dir: Path) -> Settings:
    settings = get_settings(
        source_dir=corpus_dir,
        index_dir=tmp_path / "index",
        data_dir=tmp_path / "data",
        web_dir=PROJECT / "web",
        model="fake",
    )
    build(settings, FakeEmbedder())
    return settings


@pytest.fixture
def service(settings: Settings) -> QAService:
    service = QAService(settings, FakeEmbedder())
    service.load()
    return service


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def serve_app() -> Iterator[Callable[[Any], str]]:
    """Serve any ASGI app on a loopback port; returns its base URL. Stops them all after.

    For tests that need the app object itself (its service, its settings) while it serves.
    """
    running: list[tuple[uvicorn.Server, threading.Thread]] = []

    def start(app: Any) -> str:
        port = free_port()
        server = uvicorn.Server(
            uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning")
        )
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        running.append((server, thread))
        deadline = time.monotonic() + 10
        while not server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("test server did not start")
            time.sleep(0.02)
        return f"http://127.0.0.1:{port}"

    yield start
    for server, thread in running:
        server.should_exit = True
        thread.join(timeout=5)


@pytest.fixture
def live_server(settings: Settings, serve_app: Callable[[Any], str]) -> str:
    """The app served by uvicorn on a loopback port, for tests over real HTTP."""
    return serve_app(create_app(settings, FakeEmbedder()))


# Two organisations with the same kinds of facts, for follow-up questions: "what is its
# phone number?" is only answerable by knowing which one the thread is about.
THREAD_CORPUS = {
    "andes-relief.md": """---
title: Andes Relief in Cusco
publisher: Andes Relief
language: en
---
Andes Relief has run mobile clinics in Cusco since 1984.

Ana Quispe is the country director of Andes Relief.

Its phone number is +51 84 222 111.
""",
    "puno-water.md": """---
title: Puno Water Trust
publisher: Puno Water Trust
language: en
---
The Puno Water Trust has built rainwater tanks in Puno since 2005.

The trust opened its office in Juliaca in 2010 and its office in Ilave in 2015.

Maria Condori is the country director of the Puno Water Trust.

Its phone number is +51 51 333 444.
""",
}
