from pathlib import Path

from peruqa.ingest.documents import load_documents, read_document


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def test_front_matter_gives_title_publisher_language_and_url(corpus_dir: Path) -> None:
    document = read_document(corpus_dir / "red-cross.md", corpus_dir)
    assert document.title == "Red Cross in the Andes"
    assert document.publisher == "Example Relief Agency"
    assert document.language == "en"
    assert document.url == "https://example.org/andes"
    assert document.source == "red-cross.md"


def test_front_matter_is_not_part_of_the_text(corpus_dir: Path) -> None:
    document = read_document(corpus_dir / "red-cross.md", corpus_dir)
    assert "publisher:" not in document.text
    assert document.text.startswith("The Example Relief Agency")


def test_front_matter_language_wins_over_detection(tmp_path: Path) -> None:
    text = "---\nlanguage: es\n---\nThe report is written in English but tagged Spanish.\n"
    path = write(tmp_path, "tagged.md", text)
    assert read_document(path, tmp_path).language == "es"


def test_title_falls_back_to_first_heading(corpus_dir: Path) -> None:
    document = read_document(corpus_dir / "informe.md", corpus_dir)
    assert document.title == "Informe sobre salud materna"
    assert document.publisher == ""
    assert document.url == ""


def test_title_falls_back_to_file_name(tmp_path: Path) -> None:
    path = write(tmp_path, "water_and-schools.txt", "No heading here. Just two sentences.\n")
    assert read_document(path, tmp_path).title == "water and schools"


def test_language_detected_when_missing(corpus_dir: Path) -> None:
    spanish = read_document(corpus_dir / "informe.md", corpus_dir)
    english = read_document(corpus_dir / "glaciers.txt", corpus_dir)
    assert spanish.language == "es"
    assert english.language == "en"


def test_load_documents_reads_md_and_txt(corpus_dir: Path) -> None:
    report = load_documents(corpus_dir)
    assert sorted(d.source for d in report.documents) == [
        "glaciers.txt",
        "informe.md",
        "red-cross.md",
    ]
    assert report.skipped == []


def test_invalid_utf8_is_reported_by_name_and_skipped(corpus_dir: Path) -> None:
    (corpus_dir / "latin1.md").write_bytes("Informe de Perú\n".encode("latin-1"))
    report = load_documents(corpus_dir)
    assert [s.source for s in report.skipped] == ["latin1.md"]
    assert "UTF-8" in report.skipped[0].reason
    assert len(report.documents) == 3
    assert "latin1.md" not in {d.source for d in report.documents}


def test_binary_file_is_reported_by_name_and_skipped(corpus_dir: Path) -> None:
    # Valid UTF-8, but full of NUL bytes: a binary file saved with a text extension.
    (corpus_dir / "image.txt").write_bytes(b"IHDR\x00\x00\x00\x10data\x00\x01")
    report = load_documents(corpus_dir)
    skipped = {s.source: s.reason for s in report.skipped}
    assert list(skipped) == ["image.txt"]
    assert "binary" in skipped["image.txt"]
    assert len(report.documents) == 3


def test_unreadable_files_do_not_stop_the_others(corpus_dir: Path) -> None:
    (corpus_dir / "bad.md").write_bytes(b"\xff\xfe\xfa broken")
    (corpus_dir / "empty.txt").write_text("   \n", encoding="utf-8")
    report = load_documents(corpus_dir)
    assert sorted(s.source for s in report.skipped) == ["bad.md", "empty.txt"]
    assert all(s.reason for s in report.skipped)
    assert {d.source for d in report.documents} == {"glaciers.txt", "informe.md", "red-cross.md"}


def test_document_hash_changes_with_content(tmp_path: Path) -> None:
    path = write(tmp_path, "a.md", "First version of the text.\n")
    before = read_document(path, tmp_path).sha256
    write(tmp_path, "a.md", "Second version of the text.\n")
    assert read_document(path, tmp_path).sha256 != before
