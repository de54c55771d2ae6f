"""A damaged index is an ``index_corrupt`` error naming the file and the reason, whichever
path loads it: the store, the service, every web entry point and the CLI. The property test
writes random damage into each file; the others replay what an operator actually saw (one
line of chunks.jsonl or one item of documents.json replaced by ``null``)."""

from __future__ import annotations

import io
import json
import random
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import faiss
import numpy as np
import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from conftest import PROJECT, write_corpus
from helpers import assert_error_shape
from peruqa.cli import main
from peruqa.config import Settings, get_settings
from peruqa.errors import IndexCorruptError, IndexMismatchError, PeruQAError
from peruqa.index.build import build
from peruqa.index.embedding import FakeEmbedder
from peruqa.index.store import load_index
from peruqa.web.app import create_app

QUESTION = "When did the agency open an office in Cusco?"
TOKEN = "a-long-enough-admin-token"
FILES = [
    "manifest.json",
    "chunks.faiss",
    "chunk_vectors.npy",
    "sentences.npy",
    "chunks.jsonl",
    "documents.json",
]
KINDS = ["truncate", "null", "wrong_type", "bad_utf8", "wrong_shape"]
WRONG_VALUES: list[Any] = [None, "x", 7, -3, 2.5, True, [], {}, [1, "a"], {"a": None}]


# -- damage ---------------------------------------------------------------------------


def _json_damage(data: Any, kind: str, rng: random.Random) -> Any:
    """``data`` (a list of records, or one record) with one value nulled, retyped or reshaped."""
    if kind == "wrong_shape":
        return list(data.values()) if isinstance(data, dict) else {"items": data}
    if isinstance(data, list):
        position = rng.randrange(len(data))
        if kind == "null":
            data[position] = None
        else:
            data[position] = _json_damage(data[position], kind, rng)
        return data
    field = rng.choice(sorted(data))
    data[field] = None if kind == "null" else rng.choice(WRONG_VALUES)
    return data


def _damage_jsonl(raw: bytes, kind: str, rng: random.Random) -> bytes:
    lines = raw.decode("utf-8").splitlines()
    position = rng.randrange(len(lines))
    record = json.loads(lines[position])
    if kind == "null":
        lines[position] = "null"
    elif kind == "wrong_shape":
        lines[position] = json.dumps(list(record.values()))
    else:
        if rng.random() < 0.5 and record["sentences"]:
            sentence = rng.choice(record["sentences"])
            sentence[rng.choice(sorted(sentence))] = rng.choice(WRONG_VALUES)
        else:
            record[rng.choice(sorted(record))] = rng.choice(WRONG_VALUES)
        lines[position] = json.dumps(record)
    return ("\n".join(lines) + "\n").encode("utf-8")


def _damage_npy(raw: bytes, kind: str, rng: random.Random) -> bytes:
    vectors = np.load(io.BytesIO(raw))
    if kind == "null":
        start = rng.randrange(len(raw))
        return raw[:start] + bytes(min(64, len(raw) - start)) + raw[start + 64 :]
    if kind == "wrong_type":
        replacement: np.ndarray = rng.choice(
            [vectors.astype(np.float64), vectors.astype(np.int32), np.array(["a"] * len(vectors))]
        )
    else:
        rows, width = vectors.shape
        replacement = rng.choice(
            [
                np.zeros((rows + 1, width), np.float32),
                np.zeros((rows, width + 1), np.float32),
                np.zeros(rows, np.float32),
                np.zeros((rows, width, 1), np.float32),
                np.float32(1.0),
            ]
        )
    out = io.BytesIO()
    np.save(out, replacement)
    return out.getvalue()


def _damage_faiss(raw: bytes, kind: str, rng: random.Random) -> bytes:
    if kind == "null":
        start = rng.randrange(len(raw))
        return raw[:start] + bytes(min(16, len(raw) - start)) + raw[start + 16 :]
    if kind == "wrong_type":
        return json.dumps({"not": "an index"}).encode()
    other = faiss.IndexFlatIP(rng.choice([3, 17]))
    other.add(np.ones((rng.randrange(1, 4), other.d), np.float32))
    return bytes(faiss.serialize_index(other))


def damage(folder: Path, name: str, kind: str, rng: random.Random) -> None:
    """Write one kind of damage into one file of the index in ``folder``."""
    path = folder / name
    raw = path.read_bytes()
    if kind == "truncate":
        damaged = raw[: rng.randrange(len(raw))]
    elif kind == "bad_utf8":
        position = rng.randrange(len(raw) + 1)
        damaged = raw[:position] + b"\xff\xfe\xc3" + raw[position:]
    elif name.endswith(".jsonl"):
        damaged = _damage_jsonl(raw, kind, rng)
    elif name.endswith(".json"):
        damaged = json.dumps(_json_damage(json.loads(raw), kind, rng)).encode()
    elif name.endswith(".npy"):
        damaged = _damage_npy(raw, kind, rng)
    else:
        damaged = _damage_faiss(raw, kind, rng)
    path.write_bytes(damaged)


# -- the entry points -------------------------------------------------------------------


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    root = tmp_path_factory.mktemp("damage")
    settings = get_settings(
        source_dir=write_corpus(root / "docs"),
        index_dir=root / "index",
        data_dir=root / "data",
        web_dir=PROJECT / "web",
        model="fake",
        admin_token=TOKEN,
        index_watch_s=0,
    )
    build(settings, FakeEmbedder())
    return settings


@pytest.fixture
def damaged_copy(built: Settings) -> Callable[[], Iterator[Settings]]:
    """A fresh copy of the built index per example (hypothesis reuses the fixture)."""

    def copy() -> Iterator[Settings]:
        with tempfile.TemporaryDirectory() as scratch:
            index = Path(scratch) / "index"
            shutil.copytree(built.index_dir, index)
            yield built.model_copy(update={"index_dir": index, "data_dir": Path(scratch) / "d"})

    return copy


def _clean_error(error: PeruQAError, name: str) -> None:
    assert isinstance(error, IndexCorruptError | IndexMismatchError), error
    if isinstance(error, IndexCorruptError):
        assert name in error.message, error.message  # the file that is damaged
        assert "(" in error.message and "Rebuild" in error.message


def _web_answers_cleanly(settings: Settings, loaded: bool) -> None:
    auth = {"Authorization": f"Bearer {TOKEN}"}
    with TestClient(create_app(settings, FakeEmbedder()), raise_server_exceptions=False) as web:
        responses = {
            "ask": web.post("/ask", json={"question": QUESTION}),
            "page": web.get("/", params={"q": QUESTION}),
            "document": web.get("/documents/red-cross"),
            "ready": web.get("/ready"),
            "reload": web.post("/admin/reload", headers=auth),
            "health": web.get("/health"),
        }
    for name, response in responses.items():
        assert response.status_code < 500 or response.status_code == 503, (name, response.text)
        assert "Traceback" not in response.text
    assert responses["health"].status_code == 200
    if not loaded:
        for name in ("ask", "ready", "reload"):
            code = assert_error_shape(responses[name], 503)
            assert code
            assert responses[name].json()["error"]["code"] in ("index_corrupt", "index_mismatch")
        assert responses["page"].status_code == 503
        assert responses["document"].status_code == 503


@hypothesis_settings(
    max_examples=40,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    name=st.sampled_from(FILES),
    kind=st.sampled_from(KINDS),
    rng=st.randoms(use_true_random=False),
)
def test_random_damage_is_refused_cleanly_everywhere(
    damaged_copy: Callable[[], Iterator[Settings]], name: str, kind: str, rng: random.Random
) -> None:
    for settings in damaged_copy():
        damage(settings.index_dir, name, kind, rng)
        try:
            data = load_index(settings.index_dir, "fake")
        except PeruQAError as error:
            _clean_error(error, name)
            loaded = False
        else:
            # Damage the checks let through (a value that still validates, zeroed vector
            # bytes) must still answer like any index.
            assert data.chunks and data.documents
            loaded = True
        _web_answers_cleanly(settings, loaded)
        status = CliRunner().invoke(
            main,
            ["index", "status", "--index", str(settings.index_dir)],
            env={"PERUQA_SOURCE_DIR": str(settings.source_dir)},
        )
        assert status.exception is None or isinstance(status.exception, SystemExit)
        assert "Traceback" not in status.output
        if not loaded:
            assert status.exit_code == 1 and "damaged" in status.output + str(status.stderr)


# -- what an operator saw ---------------------------------------------------------------


def _null_chunk_line(index: Path) -> None:
    lines = (index / "chunks.jsonl").read_text(encoding="utf-8").splitlines()
    lines[1] = "null"
    (index / "chunks.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")


def _null_document(index: Path) -> None:
    records = json.loads((index / "documents.json").read_text(encoding="utf-8"))
    records[0] = None
    (index / "documents.json").write_text(json.dumps(records), encoding="utf-8")


NULLS = {"chunks.jsonl": _null_chunk_line, "documents.json": _null_document}


@pytest.mark.parametrize("name", sorted(NULLS))
def test_a_null_record_is_index_corrupt_over_http(
    settings: Settings, serve_app: Callable[[Any], str], name: str
) -> None:
    import httpx

    NULLS[name](settings.index_dir)
    base = serve_app(create_app(settings.model_copy(update={"admin_token": TOKEN}), FakeEmbedder()))
    with httpx.Client(base_url=base, timeout=10) as http:
        ask = http.post("/ask", json={"question": QUESTION})
        message = assert_error_shape(ask, 503, "index_corrupt")
        assert name in message and "/" not in message.split("(")[1]  # file, not the path
        assert http.get("/", params={"q": QUESTION}).status_code == 503
        assert http.get("/documents/red-cross").status_code == 503
        ready = http.get("/ready")
        assert_error_shape(ready, 503, "index_corrupt")
        assert name in ready.json()["error"]["message"]
        reload = http.post("/admin/reload", headers={"Authorization": f"Bearer {TOKEN}"})
        assert_error_shape(reload, 503, "index_corrupt")


@pytest.mark.parametrize("name", sorted(NULLS))
def test_the_cli_reports_a_damaged_index_and_a_full_build_sets_it_aside(
    settings: Settings, name: str
) -> None:
    NULLS[name](settings.index_dir)
    env = {
        "PERUQA_MODEL": "fake",
        "PERUQA_SOURCE_DIR": str(settings.source_dir),
        "PERUQA_INDEX_DIR": str(settings.index_dir),
        "PERUQA_DATA_DIR": str(settings.data_dir),
    }
    runner = CliRunner()
    status = runner.invoke(main, ["index", "status"], env=env)
    assert status.exit_code == 1 and status.exception is not None
    assert isinstance(status.exception, SystemExit)
    assert name in status.output and "damaged" in status.output
    ask = runner.invoke(main, ["ask", QUESTION], env=env)
    assert ask.exit_code == 1 and isinstance(ask.exception, SystemExit)
    assert name in ask.output

    rebuilt = runner.invoke(main, ["index", "--full"], env=env)
    assert rebuilt.exit_code == 0, rebuilt.output
    aside = sorted(settings.index_dir.parent.glob("index.corrupt-*"))
    assert len(aside) == 1 and str(aside[0]) in rebuilt.output
    # The damaged copy is kept as it was, for a look; the new index serves.
    assert (aside[0] / name).read_bytes() != (settings.index_dir / name).read_bytes()
    load_index(settings.index_dir, "fake")
    assert runner.invoke(main, ["index", "status"], env=env).exit_code == 0
    assert runner.invoke(main, ["ask", QUESTION], env=env).exit_code == 0
