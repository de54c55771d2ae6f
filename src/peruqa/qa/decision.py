"""Answer or decline: the trained ranker orders the candidates, the trained decision weighs
the top one.

Both are logistic regressions learnt from SQuAD 2.0 questions (written by crowd workers,
a third of them near misses) and the team's dev questions by ``peruqa train``; see
``model`` for the parameter file and ``features`` for what they see. Hand-written rules
survive only as features (answer type, missing names), where training weighs them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from peruqa.index.store import IndexData
from peruqa.qa.candidates import Candidate, gather_candidates
from peruqa.qa.features import candidate_features, question_features
from peruqa.qa.model import StageModel
from peruqa.qa.retrieve import Retrieval
from peruqa.qa.terms import TermCache
from peruqa.text.lexical import LexicalIndex


@dataclass(frozen=True)
class Decision:
    ranked: list[Candidate]  # best first, in the trained ranker's order
    probability: float  # that quoting ``ranked[0]`` answers the question (0 when no candidate)
    # The ranker's score of each of ``ranked`` (the reader weighs its order against them).
    scores: tuple[float, ...] = ()


class Decider:
    """One stage's ranking and decision over one index; keeps the index's term cache."""

    def __init__(self, data: IndexData, lexical: LexicalIndex, model: StageModel) -> None:
        self.data = data
        self.lexical = lexical
        self.model = model
        self.terms = TermCache()

    def candidate_rows(self, retrieval: Retrieval) -> tuple[list[Candidate], np.ndarray]:
        """Candidates in their prior order and their feature rows (training reads these)."""
        ranked = gather_candidates(
            retrieval, self.data, self.lexical, self.model.prior_weights, self.terms
        )
        if not ranked:
            return [], np.zeros((0, 0))
        return ranked, candidate_features(ranked, retrieval, self.data, self.lexical, self.terms)

    def decide(self, retrieval: Retrieval) -> Decision:
        ranked, rows = self.candidate_rows(retrieval)
        if not ranked:
            return Decision([], 0.0)
        scores = self.model.rank_scores(rows)
        question_row, _ = question_features(rows, scores)
        order = np.argsort(-scores, kind="stable")
        return Decision(
            [ranked[i] for i in order],
            self.model.probability(question_row),
            tuple(float(scores[i]) for i in order),
        )
