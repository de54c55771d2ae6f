"""``peruqa feedback``: visitors' feedback exported for maintainers."""

from __future__ import annotations

from pathlib import Path

import click

from peruqa.cli.base import Group, main, settings_from
from peruqa.errors import PeruQAError


@main.group("feedback", cls=Group)
def feedback_group() -> None:
    """Visitors' feedback on answers: helpful or not, with an optional reason."""


@feedback_group.command("export")
@click.option(
    "--format", "fmt", type=click.Choice(["csv", "jsonl"]), default="csv", show_default=True
)
@click.option(
    "--output",
    "-o",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Write to this file instead of standard output.",
)
@click.option(
    "--data-dir",
    type=click.Path(path_type=Path, file_okay=False),
    help="Folder holding feedback.sqlite3 (default: the data folder).",
)
def feedback_export(fmt: str, output: Path | None, data_dir: Path | None) -> None:
    """Export all feedback as CSV or JSON lines, oldest first."""
    from peruqa.records.feedback import FeedbackStore

    store = FeedbackStore.in_folder(settings_from(data_dir=data_dir).data_dir)
    count = len(store.list())
    text = store.export(fmt)
    if output is None:
        click.echo(text, nl=False)
        return
    try:
        output.write_text(text, encoding="utf-8")
    except OSError as error:
        raise PeruQAError(f"Cannot write {output}: {error.strerror}.") from error
    click.echo(f"Exported {count} feedback records to {output}.", err=True)
