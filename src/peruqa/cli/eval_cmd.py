"""``peruqa eval``: a file of questions or conversations asked and scored."""

from __future__ import annotations

import json
from pathlib import Path

import click

from peruqa.cli.ask_cmd import TOP_K
from peruqa.cli.base import index_option, main, settings_from


@main.command("eval")
@click.argument("path", type=click.Path(path_type=Path))
@click.option("--top-k", type=TOP_K, help="Passages to retrieve (default PERUQA_TOP_K).")
@click.option("--verbose", "-v", is_flag=True, help="List the questions it got wrong.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON result per question.")
@click.option(
    "--earlier",
    multiple=True,
    metavar="QUESTION",
    help="Ask each question after this unrelated turn (repeat it: the first whose answer "
    "is not from the document holding the expected answer is used).",
)
@click.option(
    "--no-history", is_flag=True, help="Conversation files: ask each last question alone."
)
@index_option
def eval_command(
    path: Path,
    top_k: int | None,
    verbose: bool,
    as_json: bool,
    earlier: tuple[str, ...],
    no_history: bool,
    index_dir: Path | None,
) -> None:
    """Score the bot on a JSONL file of questions (see eval/dev_qa.jsonl) or of
    conversations (lines with "turns", see eval/conv_dev.jsonl)."""
    from peruqa.evaluation.conversations import evaluate_after, is_conversation_file
    from peruqa.evaluation.evaluate import evaluate, failures, load_items, summarise
    from peruqa.qa.service import QAService

    conversations = is_conversation_file(path)
    # Each option applies to one kind of file; silently ignoring it would mislead.
    if conversations and earlier:
        raise click.UsageError("--earlier is for question files; a conversation has its own.")
    if not conversations and no_history:
        raise click.UsageError("--no-history is for conversation files (lines with turns).")
    if conversations:
        _eval_conversations(path, top_k, verbose, as_json, not no_history, index_dir)
        return
    items = load_items(path)
    service = QAService(settings_from(index_dir=index_dir))
    k = top_k or service.settings.top_k
    if earlier:
        results = evaluate_after(service, items, list(earlier), k)
    else:
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
    if earlier:
        return  # the table below asks every question alone
    from peruqa.evaluation.coverage import table

    # Once more with the threshold at 0: every answerable question gets its would-be quote.
    everything = evaluate(service.sibling(abstain_threshold=0.0, cache_size=0), items, k)
    click.echo("\nprecision against coverage (set PERUQA_ABSTAIN_THRESHOLD to move the default):")
    click.echo(table(everything, service.snapshot.answerer.abstain_threshold))


def _eval_conversations(
    path: Path,
    top_k: int | None,
    verbose: bool,
    as_json: bool,
    history: bool,
    index_dir: Path | None,
) -> None:
    from peruqa.evaluation.conversations import (
        conversation_failures,
        evaluate_conversations,
        load_conversations,
        summarise_conversations,
    )
    from peruqa.qa.service import QAService

    conversations = load_conversations(path)
    service = QAService(settings_from(index_dir=index_dir))
    k = top_k or service.settings.top_k
    results = evaluate_conversations(service, conversations, k, history)
    if as_json:
        for r in results:
            context = r.context
            record = {
                "id": r.conversation.id,
                "kind": r.conversation.kind,
                "correct": r.correct,
                "abstained": r.abstained,
                "answer": r.answer,
                "carried": list(context.carried) if context else None,
                "read_as": context.question if context else None,
                "latency_ms": round(r.latency_ms, 2),
            }
            click.echo(json.dumps(record, ensure_ascii=False))
        return
    click.echo(summarise_conversations(results))
    if verbose:
        click.echo(conversation_failures(results))
