import itertools

from peruqa.ingest.chunking import chunk_document, split_sentences
from peruqa.ingest.documents import Document

TEXT = """Our work

The agency has been present since 1984. It signed an agreement in 1989. Dr. Pérez leads it.

22,295

people went missing during the period of violence.

Opening Hours:

9am - 6pm

  • First bullet point about water.
  • Second bullet point about schools.
"""


def document(text: str = TEXT) -> Document:
    return Document("doc", "doc.md", "Doc", "", "en", text, "0" * 64)


def test_sentence_offsets_point_at_the_source_text() -> None:
    for sentence in split_sentences(TEXT):
        assert TEXT[sentence.start : sentence.end].split() == sentence.text.split()


def test_sentences_split_on_full_stops_but_not_abbreviations() -> None:
    texts = [s.text for s in split_sentences(TEXT)]
    assert "The agency has been present since 1984." in texts
    assert "Dr. Pérez leads it." in texts


def test_fragment_lines_join_the_line_that_completes_them() -> None:
    texts = [s.text for s in split_sentences(TEXT)]
    assert "22,295 people went missing during the period of violence." in texts
    assert "Opening Hours: 9am - 6pm" in texts


def test_bullets_are_not_part_of_the_sentence() -> None:
    texts = [s.text for s in split_sentences(TEXT)]
    assert "First bullet point about water." in texts


def test_sentences_remember_the_heading_above_them() -> None:
    sentence = next(s for s in split_sentences(TEXT) if s.text.startswith("The agency"))
    assert sentence.heading == "Our work"


def test_chunks_respect_size_overlap_and_offsets() -> None:
    long_text = " ".join(f"Sentence number {i} talks about topic {i}." for i in range(60))
    chunks = chunk_document(document(long_text), max_chars=200, overlap=1)
    assert len(chunks) > 5
    for chunk in chunks:
        assert len(chunk.text) <= 200
        assert long_text[chunk.start : chunk.end].split() == chunk.text.split()
        for sentence in chunk.sentences:
            assert sentence.text in chunk.text
    for previous, following in itertools.pairwise(chunks):
        assert previous.sentences[-1] == following.sentences[0]
    covered = {s.start for c in chunks for s in c.sentences}
    assert covered == {s.start for s in split_sentences(long_text)}


def test_a_sentence_longer_than_the_limit_stands_alone() -> None:
    text = "Short one. " + "word " * 100 + "end. Another short one."
    chunks = chunk_document(document(text), max_chars=120)
    assert any(len(c.sentences) == 1 and len(c.text) > 120 for c in chunks)


def test_markdown_heading_marks_are_not_quoted() -> None:
    text = "# Informe anual\n\nEl programa llegó a 40 centros de salud.\n"
    sentences = split_sentences(text)
    assert [s.text for s in sentences] == [
        "Informe anual",
        "El programa llegó a 40 centros de salud.",
    ]
    assert sentences[1].heading == "Informe anual"
