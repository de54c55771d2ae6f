"""Follow-up questions: a question read in the light of the earlier turns, without an LLM.

"¿y cuál es su teléfono?" after "¿Quién dirige Diakonia en el Perú?" is about Diakonia.
Whether a question leans on an earlier turn is read from its own words
(``followup_words``); which subject it carries over comes from the names of the earlier
question and the document its answer was quoted from (``library_names``):

- a question that stands on its own is read as it is;
- a follow-up ("y cuál es su teléfono?") is read with the earlier names added, and retrieval
  favours the earlier answer's document;
- a bare new subject ("¿Y Womankind?", "what about Enabel?") asks the earlier question
  again about it;
- a question that names a subject of its own that conflicts with the earlier one ("¿y Enabel
  desde cuándo trabaja en el Perú?") switches topic and carries nothing.

The policy for answering a follow-up lives here too: how much retrieval favours the carried
document (``favour``) and the higher bar a carried answer must clear (``settle``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from peruqa.index.store import IndexData
from peruqa.qa.answer_types import AnswerType, question_type
from peruqa.qa.answering import Answer, Answerer
from peruqa.qa.conversation import Context, Turn, TurnState
from peruqa.qa.followup_words import RULES, Parsed, Rules, parse
from peruqa.qa.library_names import LibraryNames, Mention
from peruqa.qa.question import Question, analyse
from peruqa.qa.retrieve import Favour
from peruqa.text.language import detect_language

# A carried question reads the earlier turn's words too, which lifts the decision's
# probability for any quote about the earlier subject: its answer must clear the served
# threshold by this much (chosen on eval/conv_dev.jsonl; docs/conversations.md).
FOLLOWUP_BAR = 0.10
# Retrieval favours the carried document's passages by this much of fused score: enough to
# win over passages that only share the question's words, not over a clear answer elsewhere
# (a standalone question read as a follow-up by mistake still finds it).
FAVOUR = 0.15


@dataclass(frozen=True)
class Resolution:
    """How to answer a question: what the model reads and which document retrieval favours."""

    asked: str  # as typed
    text: str  # what is embedded and matched; ``asked`` when it stands on its own
    names: tuple[str, ...] = ()  # folded terms of the carried names
    doc_id: str | None = None
    context: Context | None = None
    rewritten: bool = False  # an earlier question asked again about a new subject
    language_hint: str | None = None  # the earlier turn's language, for short questions
    earlier: str = ""  # the earlier turn as read (``Question.earlier``)

    def question(self) -> Question:
        """The analysed question the model reads."""
        if self.context is None:
            return analyse(self.asked)
        read = analyse(self.text)
        default = self.language_hint or read.language
        language = detect_language(self.asked, default=default)
        # The type of answer is asked by the visitor's own words unless an earlier
        # question is asked again ("¿Y Womankind?" has no question word of its own).
        kind = read.answer_type if self.rewritten else question_type(self.asked)
        names = tuple(dict.fromkeys((*read.names, *self.names)))
        # The decision's question-length and wording signals see the earlier turn too
        # (docs/conversations.md has the dev conversations' figures).
        return replace(read, language=language, answer_type=kind, names=names, earlier=self.earlier)


class FollowUps:
    """Reads a question against the earlier turns, with the names of one library (built
    once per loaded index)."""

    def __init__(self, data: IndexData, rules: Rules = RULES) -> None:
        self.rules = rules
        self.names = LibraryNames(data, rules.quiet, rules.aliases)

    def read(self, question: str, history: Sequence[Turn] = ()) -> Resolution:
        """How to answer ``question`` after ``history`` (oldest first)."""
        if not history:
            return Resolution(question, question)
        state: TurnState | None = None
        for number, turn in enumerate(history, 1):
            reading, state = self._read(turn.question, state, number)
            state = self._answered(state, turn.answer, number)
        reading, _ = self._read(question, state, len(history) + 1)
        return reading

    def _answered(self, state: TurnState, answer: str | None, number: int) -> TurnState:
        """The state after a turn's answer: the document it was quoted from, when that
        document is about what the turn named (a wrong answer does not steer the next)."""
        if answer and question_type(state.text) is AnswerType.PERSON:
            # "Who is the media contact?" "Media contact José Carlos Thissen": "his phone"
            # is then his. A name of one word in an answer is too often something else.
            names = [
                m
                for m in self.names.mentions(answer, self.names.tokens(answer))
                if len(m.terms) > 1
            ]
            state = replace(state, person=names[0] if names else None)
        doc = self.names.document_of(answer) if answer else None
        known = [m.docs for m in state.subjects if m.docs]
        if doc is not None and (not known or any(doc in docs for docs in known)):
            return replace(state, doc=doc, doc_turn=number)
        if known and state.doc is None:
            common = frozenset.intersection(*known)
            if len(common) == 1:
                return replace(state, doc=next(iter(common)), doc_turn=state.origin)
        return state

    def _compatible(self, mention: Mention, state: TurnState) -> bool:
        if mention.key in {s.key for s in state.subjects}:
            return True
        if not mention.docs:
            return False
        if state.doc is not None:
            return state.doc in mention.docs
        return any(s.docs and mention.docs & s.docs for s in state.subjects)

    def _read(
        self, text: str, state: TurnState | None, number: int
    ) -> tuple[Resolution, TurnState]:
        parsed = parse(text, self.names, self.rules)
        alone = Resolution(text, text)
        own = TurnState(text, parsed.mentions, number)
        if state is None or not (state.subjects or state.doc):
            return alone, own
        if not (parsed.leans or parsed.short):
            return alone, own
        hint = detect_language(state.text)
        if parsed.mentions:
            clash = [m for m in parsed.mentions if not self._compatible(m, state)]
            if parsed.elliptical:
                return self._ask_again(parsed, state, not clash, number, hint)
            # A question that names its own organisation or person stands on its own, and
            # one with a new subject switches topic: neither carries anything. A weak name
            # (a word the documents capitalise, typed in lower case: "lima", "salud") in a
            # question that points back does not switch topic on its own.
            if any(m.strong for m in parsed.mentions) or (clash and not parsed.leans):
                return alone, own
        return self._carry(parsed, state, number, hint)

    def _carry(
        self, parsed: Parsed, state: TurnState, number: int, hint: str
    ) -> tuple[Resolution, TurnState]:
        own = {m.key for m in parsed.mentions}
        # The organisations and people named, when there are any; else every name.
        carried_over = [s for s in state.subjects if s.strong] or list(state.subjects)
        if parsed.personal and state.person is not None:
            carried_over.append(state.person)
        added = [s for s in carried_over if s.key not in own]
        text = parsed.text
        moved = []
        for subject in added:
            text += " "
            moved.append(replace(subject, start=len(text), end=len(text) + len(subject.label)))
            text += subject.label
        labels = tuple(s.label for s in carried_over)
        if labels:
            carried, turn = labels, state.origin
        elif state.doc is not None:
            carried, turn = (self.names.titles.get(state.doc, state.doc),), state.doc_turn
        else:
            return Resolution(parsed.text, parsed.text), TurnState(
                parsed.text, parsed.mentions, number
            )
        reading = Resolution(
            asked=parsed.text,
            text=text,
            names=tuple(t for s in added for t in s.terms),
            doc_id=state.doc,
            context=Context(carried, turn),
            language_hint=hint,
            earlier=state.text,
        )
        subjects = (*parsed.mentions, *moved)
        return reading, TurnState(text, subjects, state.origin, state.doc, state.doc_turn)

    def _ask_again(
        self, parsed: Parsed, state: TurnState, compatible: bool, number: int, hint: str
    ) -> tuple[Resolution, TurnState]:
        """The earlier question asked again about the new subject: "¿Y Womankind?"."""
        new = parsed.mentions
        label = " ".join(m.label for m in new)
        frame = state.text
        others = [s for s in state.subjects if not self.names.organisation(s)]
        if compatible and others and not any(self.names.organisation(m) for m in new):
            # A place or person for another ("la dirección en Lima" → "¿y la de Ayacucho?"):
            # the new name takes the earlier one's place; the organisation stays.
            old = others[-1]
            start = old.start
            text = frame[:start] + label + frame[old.end :]
            shift = len(label) - (old.end - old.start)
            kept = tuple(
                s if s.end <= start else replace(s, start=s.start + shift, end=s.end + shift)
                for s in state.subjects
                if s is not old
            )
        elif compatible or not state.subjects:
            text = f"{frame} {label}"
            start = len(frame) + 1
            kept = state.subjects if compatible else ()
        else:
            # The new subject takes the place of the earlier one: its first organisation-like
            # name (an acronym, a title's word), else its first name. Others (a place) stay.
            old = next((s for s in state.subjects if s.strong), state.subjects[0])
            start = old.start
            text = frame[:start] + label + frame[old.end :]
            kept = ()
        placed = []
        offset = start
        for mention in new:
            placed.append(replace(mention, start=offset, end=offset + len(mention.label)))
            offset += len(mention.label) + 1
        docs = [m.docs for m in new if m.docs]
        common = frozenset.intersection(*docs) if docs and len(docs) == len(new) else frozenset()
        if compatible:
            doc, doc_turn = state.doc, state.doc_turn
        elif len(common) == 1:
            doc, doc_turn = next(iter(common)), number
        else:
            doc, doc_turn = None, 0
        reading = Resolution(
            asked=parsed.text,
            text=text,
            names=tuple(t for s in kept for t in s.terms),
            doc_id=doc,
            context=Context(tuple(s.label for s in kept), number - 1, text),
            rewritten=True,
            language_hint=hint,
        )
        origin = state.origin if compatible else number
        return reading, TurnState(text, (*kept, *placed), origin, doc, doc_turn)


def favour(resolution: Resolution) -> Favour | None:
    """How retrieval favours a follow-up's carried document, if it carries one."""
    return Favour(resolution.doc_id, FAVOUR) if resolution.doc_id else None


def settle(answer: Answer, resolution: Resolution, answerer: Answerer) -> Answer:
    """A carried answer under the follow-up bar is declined the way the answerer declines."""
    bar = answerer.abstain_threshold + FOLLOWUP_BAR
    if resolution.context is not None and not answer.abstained and answer.confidence < bar:
        return answerer.decline(answer, answer.citations)
    return answer
