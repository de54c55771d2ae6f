"""qa.candidates: every sentence of the retrieved passages, scored and ranked."""

from peruqa.qa.candidates import gather_candidates, is_label
from peruqa.qa.service import QAService


def ranked_for(service: QAService, question: str):  # type: ignore[no-untyped-def]
    snapshot = service.snapshot
    retrieval = snapshot.retriever.search(question, 5)
    weights = snapshot.answerer.model.prior_weights
    return gather_candidates(retrieval, snapshot.data, snapshot.retriever.lexical, weights)


def test_a_strict_question_puts_every_typed_sentence_first(service: QAService) -> None:
    ranked = ranked_for(service, "When did the agency open an office in Cusco?")
    typed = [c.typed for c in ranked]
    assert typed[0] is True
    # Once the typed sentences end, no typed one follows.
    assert typed == sorted(typed, reverse=True)
    assert "1991" in ranked[0].sentence.text


def test_each_sentence_is_a_candidate_once(service: QAService) -> None:
    ranked = ranked_for(service, "Where did the Example Relief Agency open an office?")
    keys = [(c.passage.chunk.doc_id, c.sentence.start) for c in ranked]
    assert len(keys) == len(set(keys))
    assert [c.score for c in ranked][:1] == [max(c.score for c in ranked)]


def test_cross_language_coverage_counts_only_names_and_numbers(service: QAService) -> None:
    # A Spanish question borrowing lower-case English words: in an English document those
    # words are a coincidence, not evidence, so they cover nothing there.
    ranked = ranked_for(service, "¿Cuántas personas recibieron clean water en los highlands?")
    english = [c for c in ranked if c.passage.document.language == "en"]
    assert any("clean water" in c.sentence.text for c in english)
    assert all(c.coverage == 0.0 for c in english)
    # The same words asked in English do count.
    same = ranked_for(service, "How many people received clean water in the highlands?")
    assert max(c.coverage for c in same) > 0.5


def test_label_lines_are_told_from_statements() -> None:
    assert is_label("Media contact")
    assert is_label("With our partner DEMUS, we have:")
    assert not is_label("The agency opened an office in Cusco in 1991.")
