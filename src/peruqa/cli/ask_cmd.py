"""``peruqa ask`` and ``peruqa eval``: one question, or a file of them scored."""

from __future__ import annotations

import json
from pathlib import Path

import click

from peruqa.cli.base import index_option, main, settings_from
from peruqa.config import TOP_K_MAX, TOP_K_MIN
from peruqa.errors import InvalidQuestionError

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
    from peruqa.qa.reply import to_response
    from peruqa.qa.service import QAService

    try:
        question.encode("utf-8")
    except UnicodeEncodeError as exc:
        # Python hands undecodable argument bytes over as lone surrogates.
        raise InvalidQuestionError(
            "The question is not valid UTF-8 text; check the terminal's encoding."
        ) from exc
    service = QAService(settings_from(index_dir=index_dir))
    reply = service.reply(question, top_k)
    if as_json:
        click.echo(to_response(reply).model_dump_json(indent=2))
        return
    answer = reply.answer
    if reply.notice:
        click.echo(reply.notice, err=True)
    click.echo(answer.answer)
    for number, citation in enumerate(answer.citations[:3], 1):
        page = f", page {citation.page}" if citation.page else ""
        publisher = f" ({citation.publisher})" if citation.publisher else ""
        click.echo(f"  [{number}] {citation.title}{publisher}{page} - {citation.source}")


@main.command("eval")
@click.argument("path", type=click.Path(path_type=Path))
@click.option("--top-k", type=TOP_K, help="Passages to retrieve (default PERUQA_TOP_K).")
@click.option("--verbose", "-v", is_flag=True, help="List the questions it got wrong.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON result per question.")
@index_option
def eval_command(
    path: Path, top_k: int | None, verbose: bool, as_json: bool, index_dir: Path | None
) -> None:
    """Score the bot on a JSONL file of questions (see ../shared/eval/seed_qa.jsonl)."""
    from peruqa.qa.service import QAService
    from peruqa.tools.evaluate import evaluate, failures, load_items, summarise

    items = load_items(path)
    service = QAService(settings_from(index_dir=index_dir))
    k = top_k or service.settings.top_k
    results = evaluate(service, items, k)
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
    from peruqa.tools.coverage import table

    # Once more with the threshold at 0: every answerable question gets its would-be quote.
    everything = evaluate(service.sibling(abstain_threshold=0.0, cache_size=0), items, k)
    click.echo("\nprecision against coverage (set PERUQA_ABSTAIN_THRESHOLD to move the default):")
    click.echo(table(everything, service.snapshot.answerer.abstain_threshold))
