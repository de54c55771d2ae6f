"""qa.retrieve: dense search fused with BM25, weighted by how much the corpus knows."""

from collections.abc import Sequence

import numpy as np
import pytest

from peruqa.config import Settings
from peruqa.index.store import load_index
from peruqa.qa.retrieve import Retriever


class BlindEmbedder:
    """Every text gets the same vector: dense search can't tell passages apart."""

    name = "fake"
    dim = 256

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self.embed_passages(texts)

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        vectors = np.zeros((len(texts), self.dim), dtype=np.float32)
        vectors[:, 0] = 1.0
        return vectors


@pytest.fixture
def blind(settings: Settings) -> Retriever:
    return Retriever(load_index(settings.index_dir, "fake"), BlindEmbedder(), lexical_weight=0.5)


def test_bm25_decides_when_dense_scores_tie(blind: Retriever) -> None:
    retrieval = blind.search("reservoirs meltwater", top_k=3)
    assert "reservoirs" in retrieval.passages[0].chunk.text
    assert retrieval.passages[0].lexical == 1.0
    assert retrieval.passages[0].score > retrieval.passages[-1].score


def test_fused_score_is_dense_plus_lexical_weighted_by_known_share(blind: Retriever) -> None:
    retrieval = blind.search("reservoirs zzyzx", top_k=3)
    # Half the question's terms are known to the corpus, so BM25 counts half as much.
    assert retrieval.query.known_fraction == 0.5
    for passage in retrieval.passages:
        expected = passage.dense + 0.5 * 0.5 * passage.lexical
        assert passage.score == pytest.approx(expected)


def test_a_question_of_unknown_words_is_ranked_by_meaning_alone(blind: Retriever) -> None:
    retrieval = blind.search("zzyzx qwerty", top_k=3)
    assert retrieval.query.known_fraction == 0.0
    assert all(p.lexical == 0.0 and p.score == pytest.approx(p.dense) for p in retrieval.passages)


def test_top_k_bounds_the_passages(blind: Retriever) -> None:
    assert len(blind.search("water", top_k=1).passages) == 1
    assert len({p.chunk.chunk_id for p in blind.search("water", top_k=3).passages}) == 3
