"""``peruqa chat``: a conversation in the terminal, each question read after the last turns.

It asks the way ``POST /ask`` does (the same checks, word bound and follow-up reading, with
the last answers as history), so staff and maintainers can try a thread without a browser.
"""

from __future__ import annotations

from pathlib import Path

import click

from peruqa.cli.ask_cmd import TOP_K, echo_answer
from peruqa.cli.base import index_option, main, settings_from
from peruqa.config import HISTORY_MAX_TURNS
from peruqa.errors import PeruQAError

# Typed instead of a question, these start a new topic.
NEW_TOPIC = frozenset({"/new", "/nuevo"})


@main.command()
@click.option("--top-k", type=TOP_K, help="Passages to retrieve (default PERUQA_TOP_K).")
@index_option
def chat(top_k: int | None, index_dir: Path | None) -> None:
    """Talk to the library: follow-up questions carry the earlier subject.

    Type /new for a new topic; Ctrl-D (or Ctrl-C) leaves.
    """
    # Imported for its side effect: input() gets line editing and an up-arrow history.
    import readline  # noqa: F401

    from peruqa.qa.conversation import Turn
    from peruqa.qa.service import QAService
    from peruqa.text.i18n import message

    service = QAService(settings_from(index_dir=index_dir))
    service.snapshot  # noqa: B018 - load now, so a missing index fails before the prompt
    click.echo("Ask about the reports; /new starts a new topic, Ctrl-D leaves.")
    turns: list[Turn] = []
    while True:
        try:
            line = input("\n> ")
        except (EOFError, KeyboardInterrupt):
            click.echo()
            return
        question = line.strip()
        if not question:
            continue
        if question.lower() in NEW_TOPIC:
            turns.clear()
            click.echo("New topic.")
            continue
        try:
            reply = service.reply(question, top_k, turns[-HISTORY_MAX_TURNS:])
        except PeruQAError as error:
            click.secho(error.message, fg="red", err=True)
            continue
        answer = reply.answer
        context = reply.context
        if context is not None:
            if context.question:
                line = message("read_as", answer.language).format(question=context.question)
            else:
                names = ", ".join(context.carried)
                line = message("read_about", answer.language).format(names=names)
            click.secho(f"({line})", dim=True)
        echo_answer(answer)
        if reply.notice:
            click.secho(reply.notice, dim=True)
        turns.append(Turn(question, None if answer.abstained else answer.answer))
