"""The ``peruqa`` command group and what every subcommand shares: settings and errors."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from peruqa.config import MODELS, Settings, get_settings
from peruqa.errors import PeruQAError


def settings_from(**overrides: Any) -> Settings:
    return get_settings(**overrides)


def fail(error: PeruQAError) -> None:
    click.secho(f"Error: {error.message}", fg="red", err=True)
    sys.exit(1)


class Group(click.Group):
    """Turns the project's own errors into a one-line message and exit code 1."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except PeruQAError as error:
            fail(error)


@click.group(cls=Group)
@click.version_option(package_name="peruqa")
def main() -> None:
    """PeruQA: answers from NGO reports about Peru, quoted and cited."""


index_option = click.option(
    "--index", "index_dir", type=click.Path(path_type=Path), help="Index folder."
)
model_option = click.option(
    "--model", type=click.Choice(list(MODELS)), help="Embedding model (default PERUQA_MODEL)."
)
source_option = click.option(
    "--source", "source_dir", type=click.Path(path_type=Path), help="Folder of documents."
)
