"""The ``peruqa`` command: build the index, serve, ask, evaluate, report.

Each subcommand lives in its own module and registers itself on the group in ``base``.
"""

from peruqa.cli import (
    ask_cmd,
    chat_cmd,
    eval_cmd,
    feedback_cmd,
    index_cmd,
    report_cmd,
    serve_cmd,
    train_cmd,
)
from peruqa.cli.base import main

__all__ = [
    "ask_cmd",
    "chat_cmd",
    "eval_cmd",
    "feedback_cmd",
    "index_cmd",
    "main",
    "report_cmd",
    "serve_cmd",
    "train_cmd",
]
