"""Library-scale index build: ``.venv/bin/python bench/library.py`` (part of ``make bench``).

The corpus: the 1,262 paragraphs of ../shared/qa-train/*.json written as one Markdown
document each, plus 20 generated multi-page PDFs, 5 of them image-only (scans, read by OCR).
It runs ``peruqa index`` (both cascade stages, default settings) into a scratch folder and
reports texts per second, total time, peak RSS (the build and its worker processes
together), then changes one document and times the incremental rebuild. Prints its figures;
``--keep DIR`` leaves the corpus and index in DIR.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import shutil
import subprocess
import tempfile
import textwrap
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import psutil

if TYPE_CHECKING:
    from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
QA_TRAIN = ROOT.parent / "shared" / "qa-train"
PDFS, SCANNED, PAGES_PER_PDF = 20, 5, 3
# What 'peruqa index' reports it embedded, with the main model and the first stage.
MAIN_TEXTS = r"\((\d+) texts embedded"
FIRST_TEXTS = r"First stage for the cascade: (\d+) texts"


def paragraphs() -> list[tuple[str, str]]:
    """(article title, paragraph) for every paragraph of the SQuAD subsets."""
    found = []
    for path in sorted(QA_TRAIN.glob("*.json")):
        for article in json.loads(path.read_text(encoding="utf-8"))["data"]:
            title = article["title"].replace("_", " ")
            found += [(title, paragraph["context"]) for paragraph in article["paragraphs"]]
    return found


def _page_image(text: str) -> Image.Image:
    from PIL import Image, ImageDraw, ImageFont

    image = Image.new("L", (1240, 1754), 255)  # A4 at 150 dpi, as a scanner gives it
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default(size=26)
    for number, line in enumerate(textwrap.wrap(text, 72)[:60]):
        draw.text((100, 120 + 38 * number), line, font=font, fill=0)
    return image


def write_pdf(path: Path, title: str, pages: list[str], scanned: bool) -> None:
    from fpdf import FPDF

    pdf = FPDF(format="A4")
    pdf.set_title(title)
    pdf.set_author("PeruQA benchmark")
    for text in pages:
        pdf.add_page()
        if scanned:
            pdf.image(_page_image(text), x=0, y=0, w=210, h=297)
        else:
            pdf.set_font("Helvetica", size=11)
            pdf.multi_cell(0, 6, text.encode("latin-1", "replace").decode("latin-1"))
    pdf.output(str(path))


def write_corpus(folder: Path) -> int:
    """Write the corpus; returns how many files it holds."""
    folder.mkdir(parents=True, exist_ok=True)
    items = paragraphs()
    for number, (title, text) in enumerate(items):
        (folder / f"p{number:04d}.md").write_text(
            f"---\ntitle: {json.dumps(title)}\nlanguage: en\n---\n{text}\n",
            encoding="utf-8",
        )
    # The PDFs are reports of their own: sentences from paragraphs far apart, so their texts
    # are new to the model (not copies of the Markdown documents).
    for number in range(PDFS):
        pages = []
        for page in range(PAGES_PER_PDF):
            picked = [items[(number * 61 + page * 17 + k * 131) % len(items)][1] for k in range(2)]
            pages.append(" ".join(" ".join(text.split(". ")[::2]) for text in picked))
        scanned = number < SCANNED
        name = f"report-{number:02d}{'-scan' if scanned else ''}.pdf"
        write_pdf(folder / name, f"Field report {number}", pages, scanned)
    return len(items) + PDFS


@dataclass
class Run:
    seconds: float
    cpu_seconds: float  # user + system of the build and its worker processes
    peak_rss_mb: float  # the build and its workers together
    peak_process_mb: float  # the largest single process
    stdout: str

    def figure(self, pattern: str) -> int:
        found = re.search(pattern, self.stdout)
        return int(found.group(1)) if found else -1


def run_index(source: Path, index: Path) -> Run:
    """Run 'peruqa index', sampling the memory of it and its worker processes."""
    command = [str(ROOT / ".venv" / "bin" / "peruqa"), "index", "--source", str(source)]
    command += ["--index", str(index)]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    process = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "HF_HUB_OFFLINE": "1"},
    )
    watched = psutil.Process(process.pid)
    peak = peak_one = 0.0
    lines: list[str] = []
    # A thread drains the output so the build never blocks on a full pipe while we sample.
    reader = threading.Thread(target=lambda: lines.extend(process.stdout or []), daemon=True)
    reader.start()
    while process.poll() is None:
        try:
            tree = [watched, *watched.children(recursive=True)]
            sizes = [p.memory_info().rss / 2**20 for p in tree]
            peak, peak_one = max(peak, sum(sizes)), max(peak_one, max(sizes))
        except psutil.Error:
            pass
        time.sleep(0.1)
    reader.join()
    seconds = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    output = "".join(lines)
    if process.returncode != 0:
        raise SystemExit(f"peruqa index failed ({process.returncode}):\n{output[-2000:]}")
    return Run(seconds, cpu, peak, peak_one, output)


def document_texts(source: Path, name: str) -> int:
    """How many texts the main model embeds for one document (its distinct sentences)."""
    from peruqa.config import get_settings
    from peruqa.index.data import ChunkedLibrary
    from peruqa.ingest.documents import read_document

    library = ChunkedLibrary.of([read_document(source / name, source)], get_settings())
    return len(set(library.texts(get_settings().chunk_vectors)))


@dataclass
class Figures:
    files: int
    full: Run
    incremental: Run
    changed_texts: int  # texts of the changed document, what an incremental build may embed
    load_average: float

    def lines(self) -> list[str]:
        full, again = self.full, self.incremental
        embedded, first = full.figure(MAIN_TEXTS), full.figure(FIRST_TEXTS)
        texts = embedded + max(first, 0)
        return [
            f"corpus: {self.files:,} files ({self.files - PDFS:,} paragraphs as Markdown, "
            f"{PDFS} PDFs of {PAGES_PER_PDF} pages, {SCANNED} of them image-only); load "
            "average at start "
            f"{self.load_average:.2f}",
            f"full build: {full.seconds:.1f} s wall, {full.cpu_seconds:.0f} s CPU; {embedded} "
            f"texts with the main model + {first} with the first stage = "
            f"{texts / full.seconds:.1f} texts/s; peak RSS {full.peak_rss_mb:.0f} MB in all "
            f"({full.peak_process_mb:.0f} MB in the largest process)",
            f"incremental, one document changed: {again.seconds:.1f} s wall, "
            f"{again.figure(MAIN_TEXTS)} texts embedded (the document has "
            f"{self.changed_texts}), {again.figure(FIRST_TEXTS)} by the first stage; "
            f"peak RSS {again.peak_rss_mb:.0f} MB",
        ]


def measure(scratch: Path) -> Figures:
    source, index = scratch / "docs", scratch / "index"
    files = write_corpus(source)
    load = os.getloadavg()[0]
    full = run_index(source, index)
    changed = source / "p0007.md"
    changed.write_text(
        changed.read_text(encoding="utf-8") + "\nOne sentence added for the benchmark.\n",
        encoding="utf-8",
    )
    again = run_index(source, index)
    return Figures(files, full, again, document_texts(source, changed.name), load)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep", type=Path, help="build in this folder and keep it")
    args = parser.parse_args(argv)
    scratch = args.keep or Path(tempfile.mkdtemp(prefix="peruqa-library-"))
    try:
        figures = measure(scratch)
    finally:
        if args.keep is None:
            shutil.rmtree(scratch, ignore_errors=True)
    print(figures.full.stdout)
    print(figures.incremental.stdout)
    for line in figures.lines():
        print(line, flush=True)


if __name__ == "__main__":
    main()
