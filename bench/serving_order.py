"""Fair admission under a slow-question attack, as figures (the unit test checks the order).

``.venv/bin/python bench/serving_order.py [--attack 4]`` serves a small library in process
on loopback, with a stand-in model whose cost grows with the question's words (5 ms a
word, sleeping, so it needs no model and little CPU). Address 127.0.0.2 keeps 30
connections of 1,000-character questions in flight; meanwhile address 127.0.0.3 asks
normal questions through /ask, ``GET /?q=`` and the form in turn, at most 5 a second, and
address 127.0.0.4 calls /health, /ready and a static file after each.

Prints the visitor's latency (median, p99), the quick endpoints' (median, p95), how many
of the attacker's questions were answered or refused, and the load average. Tests assert
the order (tests/web/test_admission.py); these times depend on the machine.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from pathlib import Path

import httpx
import numpy as np
import uvicorn

from peruqa.config import get_settings
from peruqa.index.build import build
from peruqa.index.embedding import FakeEmbedder
from peruqa.web.app import create_app

ROOT = Path(__file__).resolve().parents[1]
LONG = ("Which organisations worked on water, health and glaciers in Cusco " * 20)[:1000]
LIBRARY = {
    "agency.md": "# Relief in the Andes\n\nThe agency has worked in the Andes since 1984. "
    "It opened an office in Cusco in 1991.\n",
    "glaciers.md": "# Glaciers\n\nTropical glaciers in the Andes have lost a third of their "
    "area since 1970.\n",
}


class CostlyEmbedder(FakeEmbedder):
    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        time.sleep(0.005 * sum(len(text.split()) for text in texts))
        return super().embed_queries(texts)


def _client(base: str, address: str) -> httpx.Client:
    return httpx.Client(
        base_url=base, transport=httpx.HTTPTransport(local_address=address), timeout=30
    )


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _quantile(values: list[float], q: float) -> float:
    return float(np.quantile(values, q)) if values else float("nan")


def measure(folder: Path, attack_s: float) -> dict[str, float]:
    source = folder / "docs"
    source.mkdir()
    for name, text in LIBRARY.items():
        (source / name).write_text(text, encoding="utf-8")
    settings = get_settings(
        source_dir=source,
        index_dir=folder / "index",
        data_dir=folder / "data",
        web_dir=ROOT / "web",
        model="fake",
        # The shipped decision file holds only the real models' weights; the fixture's too.
        decision_model=ROOT / "tests" / "fixtures" / "decision_model.json",
        query_log=False,
    )
    build(settings, FakeEmbedder())
    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(settings, CostlyEmbedder()), host="127.0.0.1", port=port, log_level="error"
        )
    )
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.05)
    base = f"http://127.0.0.1:{port}"
    stop = threading.Event()
    attacker: list[int] = []

    def attack() -> None:
        with _client(base, "127.0.0.2") as client:
            while not stop.is_set():
                status = client.post("/ask", json={"question": f"{time.time()} {LONG}"}).status_code
                attacker.append(status)
                if status == 429:
                    time.sleep(0.05)

    threads = [threading.Thread(target=attack) for _ in range(30)]
    for thread in threads:
        thread.start()
    time.sleep(0.3)
    visitor_s: list[float] = []
    quick_s: list[float] = []
    failed = 0
    deadline = time.monotonic() + attack_s
    n = 0
    with _client(base, "127.0.0.3") as visitor, _client(base, "127.0.0.4") as monitor:
        while time.monotonic() < deadline:
            n += 1
            question = f"When did the agency open an office in Cusco ({n})?"
            started = time.perf_counter()
            if n % 3 == 0:
                response = visitor.get("/", params={"q": question})
            elif n % 3 == 1:
                response = visitor.post("/", data={"question": question})
            else:
                response = visitor.post("/ask", json={"question": question})
            elapsed = time.perf_counter() - started
            visitor_s.append(elapsed)
            failed += response.status_code != 200
            for path in ("/health", "/static/style.css", "/ready"):
                asked = time.perf_counter()
                monitor.get(path)
                quick_s.append(time.perf_counter() - asked)
            time.sleep(max(0.0, 0.2 - elapsed))
    stop.set()
    for thread in threads:
        thread.join()
    server.should_exit = True
    return {
        "visitor questions": len(visitor_s),
        "visitor failed": failed,
        "visitor median ms": statistics.median(visitor_s) * 1000,
        "visitor p99 ms": _quantile(visitor_s, 0.99) * 1000,
        "quick median ms": statistics.median(quick_s) * 1000,
        "quick p95 ms": _quantile(quick_s, 0.95) * 1000,
        "attacker answered": attacker.count(200),
        "attacker refused (429)": attacker.count(429),
        "load average at end": os.getloadavg()[0],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--attack", type=float, default=4.0, help="seconds of attack")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as folder:
        figures = measure(Path(folder), args.attack)
    print(f"slow-question attack, {args.attack:g} s (stand-in model, 5 ms a word):")
    for name, value in figures.items():
        print(f"  {name:24} {value:,.1f}" if isinstance(value, float) else f"  {name:24} {value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
