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
import shutil
import subprocess
import sys
import tempfile
import textwrap
import time
from dataclasses import dataclass
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[1]
QA_TRAIN = ROOT.parent / "shared" / "qa-train"
PDFS, SCANNED, PAGES_PER_PDF = 20, 5, 3


def paragraphs() -> list[tuple[str, str]]:
    """(article title, paragraph) for every paragraph of the SQuAD subsets."""
    found = []
    for path in sorted(QA_TRAIN.glob("*.json")):
        for article in json.loads(path.read_text(encoding="utf-8"))["data"]:
            title = article["title"].replace("_", " ")
            found += [(title, paragraph["context"]) for paragraph in article["paragraphs"]]
    return found


def _page_image(text: str) -> object:
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
            f"---\ntitle: {json.dumps(f'{title} ({number})')}\nlanguage: en\n---\n{text}\n",
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
    peak_rss_mb: float
    peak_process_mb: float
    stdout: str


def run_index(source: Path, index: Path, extra: list[str] | None = None) -> Run:
    """Run 'peruqa index', sampling the memory of it and its worker processes."""
    command = [str(ROOT / ".venv" / "bin" / "peruqa"), "index", "--source", str(source)]
    command += ["--index", str(index), *(extra or [])]
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
    assert process.stdout is not None
    os.set_blocking(process.stdout.fileno(), False)
    while process.poll() is None:
        try:
            tree = [watched, *watched.children(recursive=True)]
            sizes = [p.memory_info().rss / 2**20 for p in tree]
            peak, peak_one = max(peak, sum(sizes)), max(peak_one, max(sizes))
        except psutil.Error:
            pass
        chunk = process.stdout.read()
        if chunk:
            lines.append(chunk)
            sys.stdout.write(chunk)
        time.sleep(0.1)
    rest = process.stdout.read() or ""
    lines.append(rest)
    sys.stdout.write(rest)
    if process.returncode != 0:
        raise SystemExit(f"peruqa index failed ({process.returncode})")
    return Run(time.perf_counter() - started, peak, peak_one, "".join(lines))


def _figure(pattern: str, text: str) -> int:
    found = re.search(pattern, text)
    return int(found.group(1)) if found else -1


def main(argv: list[str] | None = None) -> list[str]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep", type=Path, help="build in this folder and keep it")
    args = parser.parse_args(argv)
    scratch = args.keep or Path(tempfile.mkdtemp(prefix="peruqa-library-"))
    source, index = scratch / "docs", scratch / "index"
    report: list[str] = []
    try:
        files = write_corpus(source)
        load = os.getloadavg()[0]
        full = run_index(source, index)
        embedded = _figure(r"\((\d+) texts embedded", full.stdout)
        first = _figure(r"First stage for the cascade: (\d+) texts", full.stdout)
        ocr_pages = len(re.findall(r"read from images", full.stdout))
        texts = embedded + max(first, 0)
        report.append(
            f"library build: {files} files ({ocr_pages} PDFs by OCR), {embedded} texts with "
            f"the main model + {first} with the first stage in {full.seconds:.1f} s "
            f"({texts / full.seconds:.1f} texts/s); peak RSS {full.peak_rss_mb:.0f} MB in all, "
            f"{full.peak_process_mb:.0f} MB in the largest process; load average at start "
            f"{load:.2f}"
        )
        changed = source / "p0007.md"
        changed.write_text(
            changed.read_text(encoding="utf-8") + "\nOne sentence added for the benchmark.\n",
            encoding="utf-8",
        )
        again = run_index(source, index)
        main_texts = _figure(r"\((\d+) texts embedded", again.stdout)
        first_texts = _figure(r"First stage for the cascade: (\d+) texts", again.stdout)
        report.append(
            f"incremental rebuild after one document changed: {again.seconds:.1f} s, "
            f"{main_texts} texts embedded (+{first_texts} first stage); "
            f"peak RSS {again.peak_rss_mb:.0f} MB"
        )
    finally:
        if args.keep is None:
            shutil.rmtree(scratch, ignore_errors=True)
    for line in report:
        print(line, flush=True)
    return report


if __name__ == "__main__":
    main()
