"""Scanned PDFs: pages that are only images are read by OCR, with their page numbers."""

from __future__ import annotations

import json
import textwrap
from collections.abc import Sequence
from pathlib import Path

import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient
from fpdf import FPDF
from PIL import Image, ImageDraw, ImageFont

from peruqa.cli import main
from peruqa.config import Settings, get_settings
from peruqa.index.build import build
from peruqa.index.embedding import FakeEmbedder
from peruqa.index.status import stale_reason
from peruqa.index.store import load_index
from peruqa.ingest import ocr
from peruqa.qa.service import QAService
from peruqa.web.app import create_app

pytestmark = pytest.mark.skipif(
    not ocr.available(), reason="tesseract-ocr is not installed (run 'make ocr')"
)

PAGE_ONE = "The Highland Health Network trains midwives in the villages of Cusco."
PAGE_TWO = "In 2019 the network opened fourteen mobile clinics in Apurimac."


def page_image(text: str) -> Image.Image:
    """A page as a scanner would give it: black text on white, no text layer."""
    image = Image.new("L", (1240, 1754), 255)  # A4 at 150 dpi
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default(size=34)
    for number, line in enumerate(textwrap.wrap(text, 50)):
        draw.text((110, 160 + 52 * number), line, font=font, fill=0)
    return image


def scanned_pdf(path: Path, pages: list[Image.Image]) -> None:
    pdf = FPDF(format="A4")
    for image in pages:
        pdf.add_page()
        pdf.image(image, x=0, y=0, w=210, h=297)
    pdf.output(str(path))


@pytest.fixture
def scanned(tmp_path: Path) -> Settings:
    source = tmp_path / "docs"
    source.mkdir()
    blank = Image.new("L", (1240, 1754), 255)
    scanned_pdf(source / "clinics.pdf", [page_image(PAGE_ONE), page_image(PAGE_TWO), blank])
    return get_settings(
        source_dir=source,
        index_dir=tmp_path / "index",
        data_dir=tmp_path / "data",
        model="fake",
        first_stage_model="none",
    )


def test_image_only_pdf_is_read_by_ocr_and_cited_by_page(scanned: Settings) -> None:
    report = build(scanned, FakeEmbedder())
    assert report.ocr_pages == {"clinics.pdf": (1, 2)}
    # The third page is an image with nothing on it: reported, and the rest indexed.
    assert report.unreadable_pages == {"clinics.pdf": (3,)}
    document = next(iter(load_index(scanned.index_dir, "fake").documents.values()))
    assert document.ocr_pages == (1, 2) and document.unreadable_pages == (3,)
    second_page = document.text[document.page_starts[1] : document.page_starts[2]]
    assert PAGE_TWO in " ".join(second_page.split())
    service = QAService(scanned, FakeEmbedder())
    answer = service.ask("How many mobile clinics did the network open in Apurimac?")
    assert not answer.abstained
    assert "fourteen mobile clinics" in answer.answer
    citation = answer.citations[0]
    assert (citation.source, citation.page, citation.ocr) == ("clinics.pdf", 2, True)


def test_status_and_build_report_mark_ocr_pages(scanned: Settings) -> None:
    runner = CliRunner()
    common = ["--source", str(scanned.source_dir), "--index", str(scanned.index_dir)]
    env = {"PERUQA_MODEL": "fake", "PERUQA_FIRST_STAGE_MODEL": "none"}
    result = runner.invoke(main, ["index", *common], env=env)
    assert result.exit_code == 0, result.output
    assert "clinics.pdf: pages 1, 2 read from images" in result.output
    assert "Unreadable clinics.pdf: page 3" in result.output
    result = runner.invoke(main, ["index", "status", *common], env=env)
    assert "OCR text: pages 1, 2" in result.output
    assert "unreadable: page 3" in result.output


def test_an_unchanged_scan_is_not_read_again(
    scanned: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    build(scanned, FakeEmbedder())
    (scanned.source_dir / "note.md").write_text("# Note\n\nA new note about Cusco.\n")

    def no_ocr(raw: bytes, pages: object) -> ocr.OcrResult:
        raise AssertionError("an unchanged scan was OCR'd again")

    monkeypatch.setattr(ocr, "read_pages", no_ocr)
    report = build(scanned, FakeEmbedder())
    assert report.added == ["note.md"] and report.unchanged == ["clinics.pdf"]
    assert report.ocr_pages == {"clinics.pdf": (1, 2)}
    # --full reads every file again.
    with pytest.raises(AssertionError, match="OCR'd again"):
        build(scanned, FakeEmbedder(), full=True)


def test_documents_read_by_older_readers_are_read_again(scanned: Settings) -> None:
    build(scanned, FakeEmbedder())
    manifest_path = scanned.index_dir / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    manifest["reader"] = 1  # as written before scanned pages were read by OCR
    manifest_path.write_text(json.dumps(manifest))
    reason = stale_reason(scanned)
    assert reason is not None and "readers changed" in reason
    calls: list[int] = []
    real = ocr.read_pages

    def counting(raw: bytes, pages: Sequence[int]) -> ocr.OcrResult:
        calls.append(len(pages))
        return real(raw, pages)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(ocr, "read_pages", counting)
        report = build(scanned, FakeEmbedder())
    assert calls == [3] and report.embedded == 0  # read again, but every vector reused
    assert stale_reason(scanned) is None


def test_the_chat_page_says_a_cited_page_was_read_from_a_scan(scanned: Settings) -> None:
    build(scanned, FakeEmbedder())
    question = "How many mobile clinics did the network open in Apurimac?"
    with TestClient(create_app(scanned, FakeEmbedder())) as client:
        english = client.get("/", params={"q": question}, headers={"accept-language": "en"})
        spanish = client.get("/", params={"q": question}, headers={"accept-language": "es"})
    assert english.status_code == 200
    assert "page 2 · read from a scan" in english.text
    assert "página 2 · leída de un escaneo" in spanish.text
