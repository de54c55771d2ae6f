"""What each question file is for: fitted on, choosing thresholds, or measuring only.

The roles live in one file, ``eval/roles.toml``; training reads which files it may fit
on, the benches which they score, and a test checks that nothing fitted copies, translates
or inverts a measure-only question. Paths in it are relative to the repository root.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from peruqa.errors import TrainingDataError

ROLES_FILE = Path("eval") / "roles.toml"


class Role(StrEnum):
    FIT = "fit"
    THRESHOLD = "threshold"
    MEASURE = "measure"


@dataclass(frozen=True)
class Roles:
    root: Path  # the repository root the paths are relative to
    files: dict[Path, Role]  # question and conversation files: resolved path -> role
    translations: tuple[Path, ...]  # SQuAD training questions in Spanish (fitted)
    squad_folder: Path
    measure_articles: tuple[str, ...]  # SQuAD articles that only measure

    def with_role(self, role: Role) -> list[Path]:
        return [path for path, given in self.files.items() if given == role]

    def role_of(self, path: Path) -> Role | None:
        return self.files.get(path.resolve())

    def fittable(self, paths: list[Path]) -> list[Path]:
        """``paths`` (or, when empty, every file marked "fit"); a measure-only one refused."""
        for path in paths:
            if self.role_of(path) is Role.MEASURE:
                raise TrainingDataError(
                    f"{path} only measures ({ROLES_FILE}): it is never fitted on."
                )
        return paths or self.with_role(Role.FIT)


def load_roles(root: Path = Path(".")) -> Roles:
    """The manifest under ``root``; a missing or malformed one is a one-line error."""
    path = root / ROLES_FILE
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
        files = {(root / name).resolve(): Role(role) for name, role in dict(raw["files"]).items()}
        squad = dict(raw["squad"])
        folder = (root / str(squad["folder"])).resolve()
        articles = tuple(str(title) for title in squad["measure_articles"])
        translations = tuple((root / str(name)).resolve() for name in raw["translations"]["fit"])
    except OSError as error:
        raise TrainingDataError(f"Cannot read {path}: {error.strerror or error}.") from error
    except (tomllib.TOMLDecodeError, KeyError, TypeError, ValueError) as error:
        raise TrainingDataError(f"{path} is not a roles manifest ({error}).") from error
    return Roles(root.resolve(), files, translations, folder, articles)
