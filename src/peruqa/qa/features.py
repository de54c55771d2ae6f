"""What the trained ranker and decision see: numbers about every candidate sentence.

Each candidate gets one row of ``CANDIDATE_FEATURES``: how close it is to the question (and
its neighbours are), where it and its passage rank, how much of the question's vocabulary
its sentence and passage hold (weighted by rarity), which names, numbers and rare terms of
the question they lack, whether it holds the kind of answer asked for, and whether question
and document are in different languages. The decision then sees the chosen candidate's row,
the ranker's lead, and a few aggregates over all candidates (``question_features``).

The training tool (``peruqa.lab.train``) and serving compute these with the same code.
"""

from __future__ import annotations

import itertools
import math

import numpy as np

from peruqa.index.store import IndexData
from peruqa.qa.answer_types import AnswerType
from peruqa.qa.candidates import Candidate
from peruqa.qa.retrieve import Retrieval
from peruqa.qa.terms import TermCache
from peruqa.text.languages import all_words
from peruqa.text.lexical import LexicalIndex

_TYPES = tuple(AnswerType)
# Negations: "Who did not ..." over a sentence without one is a classic near miss.
_NEGATIONS = frozenset(all_words("negations"))

CANDIDATE_FEATURES: tuple[str, ...] = (
    *("sim", "sim_gap", "sim_rank", "sim_rank_p", "nb_sim", "nb_gap", "ctx_sim"),
    *("p_rank", "p_score", "p_dense", "p_lex", "p_gap", "p_dense_gap"),
    *("cov", "cov_sent", "cov_pass", "cov_n", "miss_names", "miss_nums", "miss_names_p"),
    *("miss_nums_p", "unk_pass", "typed", "label", "novelty", "len", "pos", "old_score"),
    *("old_rank", "known", "cross", "n_terms", "unknown", "q_len", "n_names"),
    *(f"type_{t.value}" for t in _TYPES),
    *("miss_max_idf_p", "miss_max_idf_s", "miss_n_p", "miss_n_s", "neg_miss"),
    *("bigram_s", "bigram_p"),
)
CROSS = CANDIDATE_FEATURES.index("cross")
# Per-question aggregates over all candidates: max, mean, and the top one minus the mean.
AGGREGATED = ("sim", "cov", "cov_n", "bigram_s", "miss_n_s", "p_dense", "ctx_sim", "typed")
_AGG = [CANDIDATE_FEATURES.index(name) for name in AGGREGATED]
RANKER_STATS = ("r_top", "r_margin", "r_share", "r_logsumexp", "r_count")
QUESTION_FEATURES: tuple[str, ...] = (
    *CANDIDATE_FEATURES,
    *RANKER_STATS,
    *(f"{kind}_{name}" for kind in ("max", "mean", "lead") for name in AGGREGATED),
)
# A question with a single candidate has no runner-up: its lead counts as this clear.
_LONE_MARGIN = 5.0
# Ranks and positions are capped where a linear model stops learning from them: past the
# top 10 candidates (or the 6th sentence of one passage, the 8th of a chunk) a rank says only
# "far down", and an uncapped one would let a rare long list outweigh every other feature.
_RANK_CAP = 10
_PASSAGE_RANK_CAP = 6
_POSITION_CAP = 8


def _idf_share(lexical: LexicalIndex, evidence: list[str], present: frozenset[str]) -> float:
    total = sum(lexical.idf(t) for t in evidence)
    if total <= 0:
        return 0.0
    return sum(lexical.idf(t) for t in evidence if t in present) / total


def _missing(
    names: tuple[str, ...], present: frozenset[str], same: bool, known: object
) -> tuple[int, int]:
    """Names, and numbers, of the question absent from ``present``; across languages a
    name the library doesn't know may just be translated, so only known ones count."""
    missing_names = missing_numbers = 0
    for term in names:
        if term in present:
            continue
        if term[0].isdigit():
            missing_numbers += 1
        elif same or term in known:  # type: ignore[operator]
            missing_names += 1
    return missing_names, missing_numbers


def candidate_features(
    ranked: list[Candidate],
    retrieval: Retrieval,
    data: IndexData,
    lexical: LexicalIndex,
    cache: TermCache,
) -> np.ndarray:
    """One row of ``CANDIDATE_FEATURES`` per candidate, in the order given."""
    query = retrieval.query
    question = query.question
    known = lexical.document_frequency
    names = set(question.names)
    qterms = list(dict.fromkeys(question.terms))
    sims = np.array([c.similarity for c in ranked], dtype=np.float64)
    order = np.argsort(-sims, kind="stable")
    sim_rank = np.empty(len(ranked))
    sim_rank[order] = np.arange(len(ranked))
    top_score = retrieval.passages[0].score if retrieval.passages else 0.0
    top_dense = max((p.dense for p in retrieval.passages), default=0.0)
    passage_rank = {id(p): i for i, p in enumerate(retrieval.passages)}
    rank_in_passage = np.zeros(len(ranked))
    members: dict[int, list[int]] = {}
    for i, candidate in enumerate(ranked):
        members.setdefault(id(candidate.passage), []).append(i)
    for rows in members.values():
        for position, i in enumerate(sorted(rows, key=lambda i: -sims[i])):
            rank_in_passage[i] = position
    unknown = sum(t not in known for t in question.terms) * query.known_fraction
    types = {f"type_{t.value}": float(question.answer_type is t) for t in _TYPES}
    question_bigrams = list(itertools.pairwise(question.terms))
    negated = bool(_NEGATIONS & cache.lower_words(question.full_text))
    out = np.empty((len(ranked), len(CANDIDATE_FEATURES)), dtype=np.float64)
    for i, c in enumerate(ranked):
        p = c.passage
        terms, passage_names, same = question.evidence(p.document.language)
        distinct = qterms if terms == question.terms else list(dict.fromkeys(terms))
        # Across languages only names and numbers are evidence (see ``candidates``).
        eligible = distinct if same else [t for t in distinct if t in passage_names]
        evidence = [t for t in eligible if t in known]
        passage_terms = cache.passage(p)
        sentence_terms = cache.sentence(p.chunk.doc_id, c.sentence)
        context = cache.context(p, c.sentence)
        absent_p = [lexical.idf(t) for t in eligible if t not in passage_terms]
        absent_s = [lexical.idf(t) for t in eligible if t not in context]
        eligible_idf = sum(lexical.idf(t) for t in eligible)
        sentences = p.chunk.sentences
        position = sentences.index(c.sentence)
        neighbours = [
            float(data.sentence_vector(p.chunk.doc_id, sentences[j]) @ query.vector)
            for j in (position - 1, position + 1)
            if 0 <= j < len(sentences)
        ]
        nb_sim = max(neighbours) if neighbours else c.similarity
        miss_names, miss_nums = _missing(passage_names, context, same, known)
        miss_names_p, miss_nums_p = _missing(passage_names, passage_terms, same, known)
        if not same:
            bigrams = []
        elif terms == question.terms:
            bigrams = question_bigrams
        else:
            bigrams = list(itertools.pairwise(terms))
        negation_lost = negated and not (
            _NEGATIONS & cache.lower_words_of(p.chunk.doc_id, c.sentence)
        )
        row = {
            "sim": c.similarity,
            "sim_gap": c.similarity - sims[order[0]],
            "sim_rank": min(sim_rank[i], _RANK_CAP),
            "sim_rank_p": min(rank_in_passage[i], _PASSAGE_RANK_CAP),
            "nb_sim": nb_sim,
            "nb_gap": c.similarity - nb_sim,
            "ctx_sim": 0.5 * (c.similarity + nb_sim),
            "p_rank": float(passage_rank.get(id(p), 5)),
            "p_score": p.score,
            "p_dense": p.dense,
            "p_lex": p.lexical,
            "p_gap": p.score - top_score,
            "p_dense_gap": p.dense - top_dense,
            "cov": c.coverage,
            "cov_sent": _idf_share(lexical, evidence, sentence_terms),
            "cov_pass": _idf_share(lexical, evidence, passage_terms),
            "cov_n": float(len(set(evidence) & sentence_terms)),
            "miss_names": miss_names,
            "miss_nums": miss_nums,
            "miss_names_p": miss_names_p,
            "miss_nums_p": miss_nums_p,
            "unk_pass": sum(absent_p) / max(eligible_idf, 1e-9) if qterms else 0.0,
            "typed": float(c.typed),
            "label": float(c.label),
            "novelty": c.novelty,
            "len": math.log1p(len(c.sentence.text.split())),
            "pos": float(min(position, _POSITION_CAP)),
            "old_score": c.score,
            "old_rank": float(min(i, _RANK_CAP)),
            "known": query.known_fraction,
            "cross": float(p.document.language != question.language),
            "n_terms": float(len(qterms)),
            "unknown": unknown,
            "q_len": float(len(question.full_text.split())),
            "n_names": float(len(names)),
            **types,
            "miss_max_idf_p": max(absent_p, default=0.0),
            "miss_max_idf_s": max(absent_s, default=0.0),
            "miss_n_p": float(len(absent_p)),
            "miss_n_s": float(len(absent_s)),
            "neg_miss": float(negation_lost),
            "bigram_s": sum(
                b in cache.sentence_bigrams(p.chunk.doc_id, c.sentence) for b in bigrams
            )
            / max(len(bigrams), 1),
            "bigram_p": sum(b in cache.passage_bigrams(p) for b in bigrams) / max(len(bigrams), 1),
        }
        out[i] = [row[name] for name in CANDIDATE_FEATURES]
    return out


def question_features(rows: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, int]:
    """The decision's input for one question, and the row of the candidate it is about.

    ``rows`` are the question's candidate features and ``scores`` the ranker's scores.
    """
    order = np.argsort(-scores, kind="stable")
    top = int(order[0])
    best = float(scores[top])
    second = float(scores[order[1]]) if len(order) > 1 else best - _LONE_MARGIN
    shifted = np.exp(scores - best)
    block = rows[:, _AGG]
    mean = block.mean(axis=0)
    stats = [best, best - second, 1.0 / shifted.sum(), float(np.log(shifted.sum())) + best]
    return (
        np.concatenate(
            [rows[top], stats, [len(scores)], block.max(axis=0), mean, rows[top, _AGG] - mean]
        ),
        top,
    )


def with_interactions(features: np.ndarray) -> np.ndarray:
    """Features followed by features × cross-language flag: Spanish questions over English
    text get slopes of their own without a second model."""
    cross = features[..., CROSS : CROSS + 1]
    return np.concatenate([features, features * cross], axis=-1)
