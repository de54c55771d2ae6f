"""``peruqa serve``: the chat page and the JSON API, in one or several worker processes."""

from __future__ import annotations

import socket
from pathlib import Path

import click

from peruqa.cli.base import index_option, main, settings_from


def _tcp_socket(host: str, port: int) -> socket.socket:
    """A listening socket for worker processes, declared as TCP.

    uvicorn's own ``bind_socket`` leaves ``proto`` at 0, so asyncio never sets TCP_NODELAY
    on accepted connections and each response waits ~40 ms for a delayed ACK (Nagle).
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.set_inheritable(True)
    return sock


@main.command()
@click.option("--host", help="Address to listen on (default 127.0.0.1).")
@click.option("--port", type=int, help="Port (default 8000).")
@click.option(
    "--workers",
    type=click.IntRange(1, 64),
    default=1,
    show_default=True,
    help="Worker processes; one per core keeps every core busy (each loads the model).",
)
@index_option
def serve(host: str | None, port: int | None, index_dir: Path | None, workers: int) -> None:
    """Serve the chat page and the JSON API."""
    import os

    import uvicorn

    from peruqa.web.app import create_app

    settings = settings_from(host=host, port=port, index_dir=index_dir)
    click.echo(f"PeruQA on http://{settings.host}:{settings.port}")
    if workers > 1:
        # Worker processes build their own app from the environment, so pass options on.
        if index_dir is not None:
            os.environ["PERUQA_INDEX_DIR"] = str(index_dir)
        from uvicorn.supervisors import Multiprocess

        config = uvicorn.Config(
            "peruqa.web.app:app_from_env",
            factory=True,
            workers=workers,
            host=settings.host,
            port=settings.port,
            log_level="warning",
        )
        Multiprocess(config, sockets=[_tcp_socket(settings.host, settings.port)]).run()
        return
    app = create_app(settings)
    uvicorn.run(app, host=settings.host, port=settings.port, log_level="warning")
