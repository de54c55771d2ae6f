"""``peruqa ask``: one question answered, quoted and cited."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from peruqa.cli.base import index_option, main, settings_from
from peruqa.config import TOP_K_MAX, TOP_K_MIN

if TYPE_CHECKING:
    from peruqa.qa.answering import Answer

TOP_K = click.IntRange(TOP_K_MIN, TOP_K_MAX)


@main.command()
@click.argument("question")
@click.option("--json", "as_json", is_flag=True, help="Print the same JSON as POST /ask.")
@click.option(
    "--top-k", type=TOP_K, help=f"Passages to retrieve ({TOP_K_MIN}-{TOP_K_MAX}; PERUQA_TOP_K)."
)
@index_option
def ask(question: str, as_json: bool, top_k: int | None, index_dir: Path | None) -> None:
    """Answer one question."""
    from peruqa.qa.checks import not_text
    from peruqa.qa.reply import to_response
    from peruqa.qa.service import QAService

    try:
        question.encode("utf-8")
    except UnicodeEncodeError as exc:
        # Python hands undecodable argument bytes over as lone surrogates.
        raise not_text() from exc
    service = QAService(settings_from(index_dir=index_dir))
    reply = service.reply(question, top_k)
    if as_json:
        click.echo(to_response(reply).model_dump_json(indent=2))
        return
    if reply.notice:
        click.echo(reply.notice, err=True)
    echo_answer(reply.answer)


def echo_answer(answer: Answer) -> None:
    """The answer and, under it, its first citations (``ask`` and ``chat``)."""
    from peruqa.qa.answering import PASSAGES_SHOWN

    click.echo(answer.answer)
    for number, citation in enumerate(answer.citations[:PASSAGES_SHOWN], 1):
        page = f", page {citation.page}" if citation.page else ""
        publisher = f" ({citation.publisher})" if citation.publisher else ""
        click.echo(f"  [{number}] {citation.title}{publisher}{page} - {citation.source}")
