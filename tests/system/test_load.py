"""A bounded load test over loopback HTTP: concurrent questions while the index reloads.

Several threads ask varied questions (so most miss the cache) while another reloads the
index again and again, until each has asked its share and the index has been reloaded
many times. Not one request may fail. How many requests a second that is, is a figure of
``make bench`` (bench/run.py), not a bound here: it depends on the machine.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from peruqa.config import Settings
from peruqa.index.embedding import FakeEmbedder
from peruqa.web.app import create_app

pytestmark = pytest.mark.slow

CLIENTS = 8
QUESTIONS_EACH = 40
RELOADS = 20
TEMPLATES = [
    "When did the Example Relief Agency open an office in {place}?",
    "How many people received clean water in {place}?",
    "What are farmers near {place} building for the dry season?",
    "¿Cuántos centros de salud llegó el programa en {place}?",
    "¿Cuándo recibieron formación las parteras de {place}?",
    "How much area have the glaciers above {place} lost since 1970?",
]
PLACES = ["Cusco", "Ayacucho", "Puno", "Lima", "Arequipa", "Huancavelica", "Junín"]


def test_concurrent_questions_while_reloading(
    settings: Settings, serve_app: Callable[[Any], str]
) -> None:
    # The rate limit and the per-address share of the queue are for visitors on the
    # internet; this test is one very busy client.
    update = {"rate_limit_per_minute": 0.0, "query_log": False, "queue_per_client": CLIENTS}
    app = create_app(
        settings.model_copy(update=update),
        FakeEmbedder(),
    )
    url = serve_app(app)
    service = app.state.context.service
    stop = threading.Event()
    statuses: Counter[int | str] = Counter()
    lock = threading.Lock()
    counter = itertools.count()
    reloads = 0

    def visitor() -> None:
        asked = 0
        with httpx.Client(base_url=url, timeout=10.0) as client:
            # Until its share is asked and the reloads are done: every question overlaps them.
            while asked < QUESTIONS_EACH or reloads < RELOADS:
                asked += 1
                n = next(counter)
                template = TEMPLATES[n % len(TEMPLATES)]
                question = template.format(place=PLACES[n % len(PLACES)]) + f" ({n})"
                try:
                    if n % 10 == 0:
                        status = client.get("/", params={"q": question}).status_code
                    else:
                        response = client.post("/ask", json={"question": question})
                        status = response.status_code
                        if status == 200:
                            assert response.json()["question"] == question
                except Exception as exc:
                    status = type(exc).__name__
                with lock:
                    statuses[status] += 1

    def reloader() -> None:
        nonlocal reloads
        while not stop.is_set():
            service.load()
            reloads += 1
            time.sleep(0.05)

    visitors = [threading.Thread(target=visitor) for _ in range(CLIENTS)]
    reloading = threading.Thread(target=reloader)
    for thread in [*visitors, reloading]:
        thread.start()
    for thread in visitors:
        thread.join(timeout=300)  # a hang fails the test instead of holding the suite
    stop.set()
    reloading.join(timeout=30)

    assert not any(thread.is_alive() for thread in visitors)
    total = sum(statuses.values())
    assert total >= CLIENTS * QUESTIONS_EACH
    assert statuses == Counter({200: total}), statuses
    assert reloads >= RELOADS
    health = httpx.get(f"{url}/health", timeout=5.0).json()
    assert health["status"] == "ok"
