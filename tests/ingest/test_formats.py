"""Reading real formats: PDF with pages, DOCX properties, HTML without boilerplate, bad files."""

from __future__ import annotations

from pathlib import Path

import docx
import pytest
from fpdf import FPDF

from peruqa.config import get_settings
from peruqa.errors import ReadError
from peruqa.index.build import build
from peruqa.index.embedding import FakeEmbedder
from peruqa.ingest.documents import load_documents, read_document
from peruqa.qa.service import QAService

PAGE_ONE = (
    "The Andean Water Trust installed rainwater tanks in Puno. The tanks serve families who "
    "live far from the river and who used to walk for hours every day to fetch water for "
    "their animals and crops."
)
PAGE_TWO = "In 2021 the trust trained 350 community water monitors in Huancavelica."

HTML = """<!doctype html>
<html lang="es"><head><title>Informe anual | Fundación Ejemplo</title>
<meta property="og:site_name" content="Fundación Ejemplo">
<link rel="canonical" href="https://example.org/informe"></head>
<body>
<header class="site-header"><a href="/">Inicio</a>
<ul class="menu"><li>Quiénes somos</li></ul></header>
<nav><a href="/donar">Donar ahora</a></nav>
<div id="cookie-banner">Usamos cookies para mejorar su experiencia. <button>Aceptar</button></div>
<main><article>
<h1>Informe anual sobre agua segura</h1>
<div class="share-buttons"><a>Compartir en Facebook</a><a>Tweet</a></div>
<p>La fundación llevó agua potable a 12 comunidades de Cajamarca en 2022.</p>
<p>Share</p>
<p>Los comités de agua recibieron formación en mantenimiento.</p>
</article></main>
<aside>Noticias relacionadas</aside>
<footer class="site-footer">© 2024 Fundación Ejemplo. Política de privacidad.</footer>
</body></html>
"""


def make_pdf(path: Path, pages: list[str], title: str = "", author: str = "") -> Path:
    pdf = FPDF()
    pdf.set_font("Helvetica", size=12)
    if title:
        pdf.set_title(title)
    if author:
        pdf.set_author(author)
    for text in pages:
        pdf.add_page()
        pdf.multi_cell(0, 8, text)
    pdf.output(str(path))
    return path


def make_docx(path: Path) -> Path:
    document = docx.Document()
    document.core_properties.title = "Informe de salud materna"
    document.core_properties.author = "Salud Andina"
    document.add_heading("Resultados", level=1)
    document.add_paragraph("El programa llegó a 40 centros de salud en Ayacucho durante 2019.")
    table = document.add_table(rows=1, cols=2)
    table.rows[0].cells[0].text = "Parteras formadas"
    table.rows[0].cells[1].text = "120"
    document.save(str(path))
    return path


def test_pdf_keeps_pages_and_properties(tmp_path: Path) -> None:
    path = make_pdf(tmp_path / "trust.pdf", [PAGE_ONE, PAGE_TWO], "Water Trust Report", "AWT")
    document = read_document(path, tmp_path)
    assert len(document.page_starts) == 2
    assert (document.title, document.publisher, document.language) == (
        "Water Trust Report",
        "AWT",
        "en",
    )
    assert document.page_at(document.text.index("350 community")) == 2
    assert document.page_at(document.text.index("rainwater")) == 1
    # Lines wrapped by the PDF are joined, so the long sentence stays one line.
    assert "who used to walk for hours" in " ".join(document.text.split("\n")[0:1])


def test_pdf_citation_names_its_page(tmp_path: Path) -> None:
    source = tmp_path / "docs"
    source.mkdir()
    make_pdf(source / "trust.pdf", [PAGE_ONE, PAGE_TWO], "Water Trust Report")
    settings = get_settings(
        source_dir=source, index_dir=tmp_path / "index", data_dir=tmp_path / "d", model="fake"
    )
    build(settings, FakeEmbedder())
    service = QAService(settings, FakeEmbedder())
    answer = service.ask("How many community water monitors did the trust train?")
    assert not answer.abstained
    assert "350" in answer.answer
    citation = answer.citations[0]
    # Page numbers survive the index round trip, and the citation names the page of the
    # quoted sentence, not the first page of its passage.
    document = service.snapshot.data.documents[citation.doc_id]
    assert document.page_at(document.text.index("350 community")) == 2
    assert citation.page == 2


def test_docx_text_and_core_properties(tmp_path: Path) -> None:
    document = read_document(make_docx(tmp_path / "salud.docx"), tmp_path)
    assert document.title == "Informe de salud materna"
    assert document.publisher == "Salud Andina"
    assert document.language == "es"
    assert "40 centros de salud" in document.text
    assert "Parteras formadas ; 120" in document.text


def test_html_keeps_main_text_only(tmp_path: Path) -> None:
    path = tmp_path / "informe.html"
    path.write_text(HTML, encoding="utf-8")
    document = read_document(path, tmp_path)
    assert document.title == "Informe anual sobre agua segura"
    assert document.publisher == "Fundación Ejemplo"
    assert document.language == "es"
    assert document.url == "https://example.org/informe"
    assert "12 comunidades de Cajamarca" in document.text
    assert "comités de agua" in document.text
    for boilerplate in ("Inicio", "Donar", "cookies", "Facebook", "Tweet", "Share", "©"):
        assert boilerplate not in document.text, boilerplate
    assert "relacionadas" not in document.text


def test_sidecar_metadata_wins_and_is_not_a_document(tmp_path: Path) -> None:
    make_pdf(tmp_path / "trust.pdf", [PAGE_ONE], "Title From PDF")
    (tmp_path / "trust.pdf.yml").write_text(
        "title: Rainwater in Puno\npublisher: Andean Water Trust\nurl: https://awt.example\n",
        encoding="utf-8",
    )
    (tmp_path / "lonely.yml").write_text("title: Nothing\n", encoding="utf-8")
    report = load_documents(tmp_path)
    assert [d.source for d in report.documents] == ["trust.pdf"]
    document = report.documents[0]
    assert (document.title, document.publisher, document.url) == (
        "Rainwater in Puno",
        "Andean Water Trust",
        "https://awt.example",
    )
    assert [s.source for s in report.skipped] == ["lonely.yml"]


def test_bad_files_are_reported_by_name_and_skipped(tmp_path: Path) -> None:
    (tmp_path / "good.md").write_text("# Good\n\nWater reached Puno in 2020.\n")
    (tmp_path / "corrupt.pdf").write_bytes(b"%PDF-1.4\nthis is not really a pdf\n%%EOF")
    (tmp_path / "empty.txt").write_bytes(b"")
    (tmp_path / "sheet.xlsx").write_bytes(b"PK\x03\x04 not read")
    (tmp_path / "big.txt").write_text("word " * 300_000)
    (tmp_path / "binary.txt").write_bytes(b"\xff\xfe\x00\x01")
    report = load_documents(tmp_path, max_file_mb=1)
    assert [d.source for d in report.documents] == ["good.md"]
    reasons = {item.source: item.reason for item in report.skipped}
    assert "not a readable PDF" in reasons["corrupt.pdf"]
    assert "empty" in reasons["empty.txt"]
    assert "unsupported file type '.xlsx'" in reasons["sheet.xlsx"]
    assert "too large" in reasons["big.txt"]
    assert "UTF-8" in reasons["binary.txt"]


def test_encrypted_pdf_is_reported(tmp_path: Path) -> None:
    pdf = FPDF()
    pdf.set_encryption(owner_password="owner", user_password="secret")
    pdf.set_font("Helvetica", size=12)
    pdf.add_page()
    pdf.cell(0, 10, "Secret report.")
    pdf.output(str(tmp_path / "locked.pdf"))
    with pytest.raises(ReadError, match="encrypted"):
        read_document(tmp_path / "locked.pdf", tmp_path)


def test_duplicates_are_reported_and_ids_stay_distinct(tmp_path: Path) -> None:
    (tmp_path / "a.md").write_text("# Alpha\n\nAlpha text about Cusco.\n")
    (tmp_path / "a.txt").write_text("A different text about Lima.\n")
    (tmp_path / "copy.md").write_text("# Alpha\n\nAlpha   text about  Cusco.\n")
    report = load_documents(tmp_path)
    ids = sorted(d.doc_id for d in report.documents)
    assert ids == ["a-md", "a-txt"]
    assert [(d.source, d.same_as) for d in report.duplicates] == [("copy.md", "a.md")]
