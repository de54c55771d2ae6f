"""``peruqa serve``: the chat page and the JSON API, in one or several worker processes."""

from __future__ import annotations

from pathlib import Path

import click

from peruqa.cli.base import index_option, main, settings_from


@main.command()
@click.option("--host", help="Address to listen on (default 127.0.0.1, PERUQA_HOST).")
@click.option("--port", type=click.IntRange(0, 65535), help="Port (default 8000, PERUQA_PORT).")
@click.option(
    "--workers",
    type=click.IntRange(1, 64),
    help="Worker processes (default PERUQA_WORKERS, 1); one per core keeps every core busy.",
)
@index_option
def serve(host: str | None, port: int | None, index_dir: Path | None, workers: int | None) -> None:
    """Serve the chat page and the JSON API."""
    from peruqa.web.server import serve as run_server

    settings = settings_from(host=host, port=port, index_dir=index_dir, workers=workers)
    count = settings.workers

    def announce(url: str) -> None:
        click.echo(f"PeruQA on {url} ({count} worker{'s' if count > 1 else ''})")

    run_server(settings, count, announce)
