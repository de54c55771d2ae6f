"""``peruqa report``: what visitors ask and what the library cannot answer."""

from __future__ import annotations

from pathlib import Path

import click

from peruqa.cli.base import main, settings_from


@main.command()
@click.option(
    "--data-dir",
    type=click.Path(path_type=Path, file_okay=False),
    help="Folder holding queries.log and feedback.sqlite3 (default: the data folder).",
)
@click.option("--top", type=click.IntRange(1, 1000), default=10, show_default=True)
@click.option(
    "--svg",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Also write the daily volume and decline rate chart to this SVG file.",
)
def report(data_dir: Path | None, top: int, svg: Path | None) -> None:
    """Most-asked and most-declined questions, unhelpful answers, daily volume."""
    from peruqa.records.feedback import FeedbackStore
    from peruqa.records.querylog import FILE_NAME
    from peruqa.records.report import build_report, daily_svg, read_query_log, render_text

    settings = settings_from(data_dir=data_dir)
    result = build_report(
        read_query_log(settings.data_dir / FILE_NAME, settings.query_log_backups),
        FeedbackStore.in_folder(settings.data_dir).list(),
        top,
    )
    click.echo(render_text(result), nl=False)
    if svg is not None:
        svg.write_text(daily_svg(result.days), encoding="utf-8")
