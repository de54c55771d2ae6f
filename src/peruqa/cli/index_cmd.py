"""``peruqa index``: build or update the index, and ``peruqa index status``."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from peruqa.cli.base import Group, index_option, main, model_option, settings_from, source_option
from peruqa.cli.progress import BuildProgress

if TYPE_CHECKING:  # the build and its models load only when a build runs
    from peruqa.index.build_report import BuildReport


def _echo_build_report(report: BuildReport, index_dir: Path) -> None:
    if report.set_aside is not None:
        click.secho(
            f"The damaged index was set aside in {report.set_aside}; it can be deleted.",
            fg="yellow",
            err=True,
        )
    for line in report.problems():
        click.secho(f"Skipped {line}", fg="yellow", err=True)
    if report.full_rebuild:
        click.echo(f"Full rebuild: {report.full_rebuild}.")
    counts = report.chunk_counts
    click.echo(
        f"Documents: {len(report.added)} added ({counts['added']} chunks), "
        f"{len(report.changed)} changed ({counts['changed']} chunks), "
        f"{len(report.removed)} removed ({counts['removed']} chunks), "
        f"{len(report.unchanged)} unchanged ({counts['unchanged']} chunks)."
    )
    for label in ("added", "changed", "removed"):
        for source in getattr(report, label):
            click.echo(f"  {label:<8} {source}")
    click.echo(
        f"Indexed {report.documents} documents, {report.chunks} chunks, "
        f"{report.sentences} sentences with {report.model} in {report.seconds:.1f} s "
        f"({report.embedded} texts embedded, {report.reused} reused) -> {index_dir}"
    )
    if report.first_stage_embedded is not None:
        click.echo(f"First stage for the cascade: {report.first_stage_embedded} texts embedded.")
    for source, pages in sorted(report.ocr_pages.items()):
        click.echo(f"  OCR      {source}: {_pages(pages)} read from images")
    for source, pages in sorted(report.unreadable_pages.items()):
        click.secho(f"Unreadable {source}: {_pages(pages)} (left out)", fg="yellow", err=True)


def _pages(numbers: tuple[int, ...]) -> str:
    label = "page" if len(numbers) == 1 else "pages"
    return f"{label} {', '.join(map(str, numbers))}"


@main.group("index", cls=Group, invoke_without_command=True)
@source_option
@index_option
@model_option
@click.option("--if-stale", is_flag=True, help="Only rebuild when sources or model changed.")
@click.option("--strict", is_flag=True, help="Fail (exit 1, index kept) if any file is skipped.")
@click.option("--full", is_flag=True, help="Re-embed every document, reusing nothing.")
@click.option(
    "--eval",
    "eval_path",
    type=click.Path(path_type=Path, dir_okay=False),
    help="JSONL questions: keep the current index if accuracy would drop.",
)
@click.option("--force", is_flag=True, help="Switch to the new index even if --eval says worse.")
@click.pass_context
def index_command(
    ctx: click.Context,
    source_dir: Path | None,
    index_dir: Path | None,
    model: str | None,
    if_stale: bool,
    strict: bool,
    full: bool,
    eval_path: Path | None,
    force: bool,
) -> None:
    """Build or update the index from the source folder (only changed documents are
    re-embedded). 'peruqa index status' shows what the index holds."""
    if ctx.invoked_subcommand is not None:
        return
    from peruqa.evaluation.quality_gate import EvalGate
    from peruqa.index.build import build
    from peruqa.index.embedding import make_embedder
    from peruqa.index.status import stale_reason

    settings = settings_from(source_dir=source_dir, index_dir=index_dir, model=model)
    first_model = settings.cascade_model
    if if_stale:
        reason = stale_reason(settings)
        if reason is None:
            click.echo(f"Index in {settings.index_dir} is up to date.")
            return
        click.echo(f"Rebuilding the index: {reason}")
    # The build's own process embeds only small updates; big ones go to worker processes.
    embedder = make_embedder(settings.model, threads=settings.build_processes)
    first = make_embedder(first_model, settings.build_processes) if first_model else None
    gate = EvalGate.from_file(eval_path, settings, embedder, force, first) if eval_path else None
    progress = BuildProgress()
    try:
        report = build(
            settings, embedder, progress, strict=strict, full=full, gate=gate, first_stage=first
        )
    finally:
        progress.close()
    _echo_build_report(report, settings.index_dir)
    if gate is not None:
        click.echo(gate.summary())


@index_command.command("status")
@source_option
@index_option
def index_status_command(source_dir: Path | None, index_dir: Path | None) -> None:
    """List the indexed documents and the source files that differ from the index."""
    from peruqa.index.status import index_status

    settings = settings_from(source_dir=source_dir, index_dir=index_dir)
    status = index_status(settings.index_dir, settings.source_dir)
    manifest = status.manifest
    click.echo(
        f"Index {settings.index_dir}: model {manifest.model}, built {manifest.built_at}, "
        f"{len(status.documents)} documents, {manifest.chunks} chunks."
    )
    for row in status.documents:
        pages = f"{row.pages} pages" if row.pages else "-"
        click.echo(
            f"  {row.source}\n    {row.title} | {row.publisher or '-'} | {row.language} | "
            f"{pages} | {row.chunks} chunks"
        )
        if row.ocr_pages:
            click.echo(f"    OCR text: {_pages(row.ocr_pages)}")
        if row.unreadable_pages:
            click.secho(f"    unreadable: {_pages(row.unreadable_pages)}", fg="yellow")
    for source, reason in sorted(manifest.problems.items()):
        click.secho(f"  not indexed: {source}: {reason}", fg="yellow")
    changes = status.changes
    if not changes:
        click.echo(f"Up to date with {settings.source_dir}.")
        return
    for label in ("added", "changed", "removed"):
        for path in getattr(changes, label):
            click.echo(f"  {label} since the build: {path}")
    click.echo("Run 'peruqa index' to update.")
