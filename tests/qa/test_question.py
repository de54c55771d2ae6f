"""qa.question: the one analysis every later stage reads."""

from peruqa.qa.answer_types import RULES, AnswerType
from peruqa.qa.question import analyse


def test_a_spanish_count_question_is_analysed_once_with_everything_later_stages_need() -> None:
    question = analyse("¿Cuántos pozos construyó la cooperativa en Cajamarca desde 2019?")
    assert question.language == "es"
    assert question.answer_type is AnswerType.NUMBER
    assert question.strict is True
    # Names and numbers are folded like every other term, so they match document text.
    assert set(question.names) == {"cajamarca", "2019"}
    assert "pozo" in question.terms
    assert question.folded.startswith("¿cuantos pozos construyo la cooperativa")


def test_an_open_question_expects_no_type_and_is_not_strict() -> None:
    question = analyse("What is the mission of the agency?")
    assert question.language == "en"
    assert question.answer_type is AnswerType.OTHER
    assert question.strict is False
    assert question.names == ()


def test_every_answer_type_but_other_has_exactly_one_rule() -> None:
    typed = [rule.type for rule in RULES]
    assert sorted(typed) == sorted(set(AnswerType) - {AnswerType.OTHER})
