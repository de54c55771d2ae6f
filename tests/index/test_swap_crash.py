"""A build killed (SIGKILL) at each step of the index swap leaves a servable index, and the
next build reuses its vectors."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from conftest import write_corpus
from peruqa.cli import main
from peruqa.config import get_settings
from peruqa.index.embedding import FakeEmbedder
from peruqa.qa.service import QAService

pytestmark = pytest.mark.slow

# Runs a real `peruqa index` in a child process that kills itself with SIGKILL at one step:
# while writing the new manifest, before the old index is moved away, between the two
# renames, or before the old copy is deleted.
CRASHING_BUILD = """
import os, shutil, signal, sys
import peruqa.index.writing as store
from peruqa.cli import main

step, source, index = sys.argv[1], sys.argv[2], sys.argv[3]
die = lambda: os.kill(os.getpid(), signal.SIGKILL)
real_replace, real_rmtree, real_write = os.replace, shutil.rmtree, store._write_synced

def write(path, payload):
    if step == "manifest" and path.name == store.MANIFEST:
        die()
    real_write(path, payload)

def replace(src, dst):
    moving_old = os.path.abspath(src) == os.path.abspath(index)
    if (step == "retire" and moving_old) or (step == "promote" and not moving_old):
        die()
    real_replace(src, dst)

def rmtree(path, *args, **kwargs):
    if step == "cleanup" and "-old-" in str(path):
        die()
    real_rmtree(path, *args, **kwargs)

store._write_synced, os.replace, shutil.rmtree = write, replace, rmtree
main(["index", "--source", source, "--index", index, "--model", "fake"])
"""

STEPS = ["manifest", "retire", "promote", "cleanup"]


def index_cli(source: Path, index: Path) -> str:
    result = CliRunner().invoke(
        main, ["index", "--source", str(source), "--index", str(index), "--model", "fake"]
    )
    assert result.exit_code == 0, result.output
    return result.output


@pytest.mark.parametrize("step", STEPS)
def test_a_build_killed_mid_swap_leaves_a_servable_index(tmp_path: Path, step: str) -> None:
    source, index = write_corpus(tmp_path / "docs"), tmp_path / "index"
    index_cli(source, index)
    (source / "glaciers.txt").write_text(
        "Glaciers and farmers\n\nThe glaciers lost half their area since 1970.\n", "utf-8"
    )
    child = subprocess.run(
        [sys.executable, "-c", CRASHING_BUILD, step, str(source), str(index)],
        capture_output=True,
        timeout=120,
    )
    assert child.returncode == -signal.SIGKILL, child.stderr.decode()

    # A reader finds an index to serve without any build having run since the crash.
    settings = get_settings(source_dir=source, index_dir=index, model="fake")
    service = QAService(settings, FakeEmbedder())
    answer = service.ask("Since when has the Example Relief Agency worked in the Andes?")
    assert answer.abstained is False and "1984" in answer.answer

    # The next build reuses the vectors of the copy it finds: only the changed file (if the
    # dead build had not already swapped it in) is embedded again.
    output = index_cli(source, index)
    counts = re.search(r"(\d+) texts embedded, (\d+) reused", output)
    assert counts is not None, output
    embedded, reused = map(int, counts.groups())
    assert reused > embedded
    leftovers = [*tmp_path.glob(".index-new-*"), *tmp_path.glob(".index-old-*")]
    assert leftovers == [], "leftover copies are cleaned up"
