"""The README and docs/ stay true to the code: every setting documented, every link resolves."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from peruqa.config import Settings

PROJECT = Path(__file__).resolve().parents[1]
PAGES = [PROJECT / "README.md", *sorted((PROJECT / "docs").glob("*.md"))]
SETTINGS_PAGE = PROJECT / "docs" / "configuration.md"
# Markdown links and images: [text](target) or ![alt](target).
_LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)\)")
_VARIABLE = re.compile(r"\bPERUQA_[A-Z0-9_]*[A-Z0-9]\b")


def _settings() -> set[str]:
    return {f"PERUQA_{name.upper()}" for name in Settings.model_fields}


def test_every_setting_is_on_the_configuration_page() -> None:
    documented = set(_VARIABLE.findall(SETTINGS_PAGE.read_text(encoding="utf-8")))
    assert sorted(_settings() - documented) == []


@pytest.mark.parametrize("page", PAGES, ids=lambda page: page.name)
def test_pages_name_only_settings_that_exist(page: Path) -> None:
    named = set(_VARIABLE.findall(page.read_text(encoding="utf-8")))
    assert sorted(named - _settings()) == []


@pytest.mark.parametrize("page", PAGES, ids=lambda page: page.name)
def test_every_local_link_resolves(page: Path) -> None:
    broken = []
    for target in _LINK.findall(page.read_text(encoding="utf-8")):
        if re.match(r"^[a-z]+:", target):
            continue  # an address on the web: not reachable from the test machine
        path = target.split("#", 1)[0]
        if path and not (page.parent / path).exists():
            broken.append(target)
    assert broken == []


def test_the_readme_is_a_front_door() -> None:
    lines = (PROJECT / "README.md").read_text(encoding="utf-8").splitlines()
    assert len(lines) <= 150


def test_the_code_map_names_every_module() -> None:
    text = (PROJECT / "README.md").read_text(encoding="utf-8")
    section = text.split("## Code map", 1)[1].split("\n## ", 1)[0]
    table = "\n".join(line for line in section.splitlines() if line.startswith("|"))
    # The first two columns: the package and its modules (the third describes them).
    named = {
        name
        for row in table.splitlines()
        for cell in row.split("|")[1:3]
        for name in re.findall(r"`([a-z_0-9]+)`", cell)
    }
    package = PROJECT / "src" / "peruqa"
    modules = {
        path.stem
        for path in package.rglob("*.py")
        if path.stem != "__init__" and "assets" not in path.parts
    }
    packages = {path.parent.name for path in package.rglob("__init__.py")} - {"assets"}
    assert modules - named == set(), "modules the README's code map leaves out"
    assert packages - named - {"peruqa"} == set(), "packages the code map leaves out"
    assert named - modules - packages - {"peruqa", "en", "es"} == set(), "names of no module"
