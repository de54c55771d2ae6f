"""What each HTTP protocol costs the server per request: PeruQA's httptools subclass (the
header limits uvicorn lacks), uvicorn's plain httptools protocol, and uvicorn's h11
protocol with ``h11_max_incomplete_event_size`` (h11's own bound on the headers, the only
limit uvicorn offers; it has no header timeout and no field count).

    .venv/bin/python bench/http_protocols.py [REQUESTS]

Each protocol serves a tiny ASGI app in its own process; one client sends REQUESTS
requests over one kept-alive connection, and the server process's CPU time is divided by
them. Run it with the machine to itself. Results go to bench/http_protocols_results.txt.
"""

from __future__ import annotations

import json
import multiprocessing
import socket
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import psutil

RESULTS = Path(__file__).with_name("http_protocols_results.txt")
HEADERS = {"user-agent": "bench", "accept": "application/json", "x-api-key": "k" * 32}


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    body = json.dumps({"answer": "Since 1984.", "citations": []}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-type", b"application/json")],
        }
    )
    await send({"type": "http.response.body", "body": body})


def _serve(kind: str, port: int) -> None:
    import uvicorn

    options: dict[str, Any] = {"host": "127.0.0.1", "port": port, "log_level": "warning"}
    if kind == "peruqa-httptools":
        from peruqa.config import get_settings
        from peruqa.web.protocol import TimedHttpToolsProtocol

        TimedHttpToolsProtocol.configure(get_settings())
        options["http"] = TimedHttpToolsProtocol
    elif kind == "httptools":
        options["http"] = "httptools"
    else:
        options["http"] = "h11"
        options["h11_max_incomplete_event_size"] = 16 * 1024
    uvicorn.run(app, **options)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def measure(kind: str, requests: int) -> float:
    """Server CPU milliseconds per request."""
    port = _free_port()
    process = multiprocessing.get_context("spawn").Process(target=_serve, args=(kind, port))
    process.start()
    url = f"http://127.0.0.1:{port}/"
    try:
        with httpx.Client(headers=HEADERS) as client:
            for _ in range(200):
                try:
                    client.get(url)
                    break
                except httpx.TransportError:
                    time.sleep(0.05)
            for _ in range(200):  # warm-up
                client.get(url)
            server = psutil.Process(process.pid)
            before = server.cpu_times()
            for _ in range(requests):
                client.get(url)
            after = server.cpu_times()
    finally:
        process.terminate()
        process.join(10)
    cpu = (after.user - before.user) + (after.system - before.system)
    return float(cpu * 1000 / requests)


def main() -> None:
    requests = int(sys.argv[1]) if len(sys.argv) > 1 else 3000
    lines = [f"# {time.strftime('%Y-%m-%d %H:%M')}  {requests} requests, one connection"]
    for kind in ("peruqa-httptools", "httptools", "h11"):
        lines.append(f"{kind:<18} server CPU {measure(kind, requests):.3f} ms/request")
        print(lines[-1], flush=True)
    with RESULTS.open("a", encoding="utf-8") as out:
        out.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
