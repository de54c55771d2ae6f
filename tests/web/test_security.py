"""Rate limit, staff API keys, body size limit, security headers, CORS, query log, errors."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from helpers import assert_error_shape
from peruqa.config import Settings
from peruqa.index.embedding import FakeEmbedder
from peruqa.web.app import create_app
from peruqa.web.ratelimit import Limiter, make_storage
from peruqa.web.responses import public_message
from peruqa.web.security import CONTENT_SECURITY_POLICY, key_matches

QUESTION = {"question": "Since when has the Example Relief Agency worked in the Andes?"}


def make_client(settings: Settings, **overrides: Any) -> TestClient:
    return TestClient(create_app(settings.model_copy(update=overrides), FakeEmbedder()))


@pytest.fixture
def limited(settings: Settings) -> Iterator[TestClient]:
    # Two questions at once, two more in each 20 s window: small enough to trip in a test.
    with make_client(
        settings, rate_limit_per_minute=6.0, rate_limit_burst=2, api_keys=["staff-key-1"]
    ) as client:
        yield client


def test_rate_limit_answers_429_with_retry_after(limited: TestClient) -> None:
    assert limited.post("/ask", json=QUESTION).status_code == 200
    assert limited.post("/ask", json=QUESTION).status_code == 200
    refused = limited.post("/ask", json=QUESTION)
    assert refused.status_code == 429
    assert_error_shape(refused, 429, "rate_limited")
    # The window is 20 s (a burst of 2 at 6 a minute): the wait is whole seconds up to 20.
    assert 1 <= int(refused.headers["retry-after"]) <= 20
    # The page shares the visitor's budget; health checks never count.
    assert limited.get("/", params={"q": "glaciers"}).status_code == 429
    assert limited.get("/health").status_code == 200


def test_staff_api_key_lifts_the_limit(limited: TestClient) -> None:
    for _ in range(8):
        response = limited.post("/ask", json=QUESTION, headers={"X-API-Key": "staff-key-1"})
        assert response.status_code == 200


def test_wrong_or_empty_api_key_does_not_lift_the_limit(limited: TestClient) -> None:
    statuses = [
        limited.post("/ask", json=QUESTION, headers={"X-API-Key": key}).status_code
        for key in ("wrong", "staff-key-", "", "staff-key-1x")
    ]
    assert statuses == [200, 200, 429, 429]


def test_rate_limit_can_be_switched_off(settings: Settings) -> None:
    with make_client(settings, rate_limit_per_minute=0.0, rate_limit_burst=1) as client:
        assert all(client.post("/ask", json=QUESTION).status_code == 200 for _ in range(5))


def test_limiter_counts_per_client_in_its_window() -> None:
    limiter = Limiter(make_storage("memory://"), amount=2, seconds=1, namespace="t")
    assert limiter.hit("a") == 0.0
    assert limiter.hit("a") == 0.0
    assert 0 < limiter.hit("a") <= 1.0  # refused, with the wait until the window moves
    assert limiter.hit("b") == 0.0  # per client
    time.sleep(1.05)
    assert limiter.hit("a") == 0.0  # the window moved on


def test_key_matches_is_exact() -> None:
    assert key_matches("k2", ["k1", "k2"])
    assert not key_matches("k", ["k1", "k2"])
    assert not key_matches("", ["k1"])


@pytest.mark.parametrize(
    ("method", "path", "kwargs"),
    [
        ("GET", "/", {}),
        ("GET", "/", {"params": {"q": "glaciers"}}),
        ("POST", "/ask", {"json": QUESTION}),
        ("POST", "/ask", {"json": {}}),
        ("GET", "/health", {}),
        ("GET", "/no-such-page", {}),
    ],
)
def test_security_headers_on_every_response(
    settings: Settings, method: str, path: str, kwargs: dict[str, Any]
) -> None:
    with make_client(settings) as client:
        response = client.request(method, path, **kwargs)
    assert response.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    assert "'unsafe-inline'" not in response.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["referrer-policy"] == "strict-origin-when-cross-origin"


def test_page_has_no_inline_script(settings: Settings) -> None:
    # The CSP forbids inline script, so the page must not rely on any.
    with make_client(settings) as client:
        html = client.get("/").text
    assert "<script>" not in html.replace(" ", "").lower()
    assert " onclick=" not in html.lower()


def test_body_size_limit(settings: Settings) -> None:
    with make_client(settings, max_body_bytes=2048) as client:
        big = json.dumps({"question": "x" * 5000}).encode()
        response = client.post("/ask", content=big, headers={"content-type": "application/json"})
        assert response.status_code == 413
        assert_error_shape(response, 413, "payload_too_large")
        assert response.headers["x-content-type-options"] == "nosniff"

        # Chunked upload without Content-Length: caught while reading.
        def chunks() -> Iterator[bytes]:
            yield b'{"question": "'
            for _ in range(10):
                yield b"y" * 500
            yield b'"}'

        response = client.post(
            "/ask", content=chunks(), headers={"content-type": "application/json"}
        )
        assert response.status_code == 413
        # Bodies under the limit still work, chunked or not.
        assert client.post("/ask", json=QUESTION).status_code == 200


def test_cors_closed_by_default(settings: Settings) -> None:
    origin = {"Origin": "https://evil.example"}
    with make_client(settings) as client:
        response = client.post("/ask", json=QUESTION, headers=origin)
        assert "access-control-allow-origin" not in response.headers
        preflight = client.options(
            "/ask", headers={**origin, "Access-Control-Request-Method": "POST"}
        )
        assert "access-control-allow-origin" not in preflight.headers


def test_cors_open_to_configured_origins(settings: Settings) -> None:
    with make_client(settings, cors_origins=["https://partner.example"]) as client:
        allowed = client.post("/ask", json=QUESTION, headers={"Origin": "https://partner.example"})
        other = client.post("/ask", json=QUESTION, headers={"Origin": "https://evil.example"})
    assert allowed.headers["access-control-allow-origin"] == "https://partner.example"
    assert "access-control-allow-origin" not in other.headers


def read_log(settings: Settings) -> list[dict[str, Any]]:
    path = settings.data_dir / "queries.log"
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_query_log_written_without_ip(settings: Settings) -> None:
    with make_client(settings) as client:
        assert client.post("/ask", json=QUESTION).status_code == 200
        assert client.get("/", params={"q": "¿Cuándo recibieron formación las parteras?"})
    records = read_log(settings)
    assert len(records) == 2
    first = records[0]
    assert first["question"] == QUESTION["question"]
    assert {"time", "language", "abstained", "confidence", "latency_ms"} <= set(first)
    assert "client_ip" not in first
    assert "testclient" not in (settings.data_dir / "queries.log").read_text(encoding="utf-8")


def test_query_log_keeps_ip_only_when_configured(settings: Settings) -> None:
    with make_client(settings, log_client_ip=True) as client:
        client.post("/ask", json=QUESTION)
    assert read_log(settings)[0]["client_ip"] == "testclient"


def test_query_log_can_be_switched_off(settings: Settings) -> None:
    with make_client(settings, query_log=False) as client:
        assert client.post("/ask", json=QUESTION).status_code == 200
    assert not (settings.data_dir / "queries.log").exists()


def test_query_log_rotates(settings: Settings) -> None:
    with make_client(settings, query_log_max_bytes=1024, query_log_backups=2) as client:
        for number in range(30):
            client.post("/ask", json={"question": f"What about the glaciers, case {number}?"})
    files = sorted(
        p.name
        for p in settings.data_dir.iterdir()
        if p.name.startswith("queries") and not p.name.endswith(".lock")
    )
    assert files == ["queries.log", "queries.log.1", "queries.log.2"]


def test_query_log_reopens_once_its_path_is_writable_again(settings: Settings) -> None:
    path = settings.data_dir / "queries.log"
    with make_client(settings) as client:
        assert client.post("/ask", json=QUESTION).status_code == 200
        # The file is replaced by a folder for two requests (they still get answers)...
        path.rename(path.with_name("queries.log.moved"))
        path.mkdir()
        for _ in range(2):
            assert client.post("/ask", json=QUESTION).status_code == 200
        # ...then put back: later questions are logged again.
        path.rmdir()
        path.with_name("queries.log.moved").rename(path)
        for number in range(2):
            assert (
                client.post("/ask", json={"question": f"Glaciers, case {number}?"}).status_code
                == 200
            )
    questions = [entry["question"] for entry in read_log(settings)]
    assert questions == [QUESTION["question"], "Glaciers, case 0?", "Glaciers, case 1?"]


def test_query_log_shared_by_two_workers_loses_no_line(tmp_path: Path) -> None:
    from peruqa.qa.answering import Answer
    from peruqa.records.querylog import QueryLog

    path = tmp_path / "queries.log"
    # Two handlers on one file stand for two worker processes, each with its own open file.
    logs = [QueryLog(path, max_bytes=2048, backups=50) for _ in range(2)]
    answer = Answer(question="q", answer="a", abstained=False, language="en", confidence=0.5)
    for number in range(200):
        logs[number % 2].record(answer, float(number))
    for log in logs:
        log.close()
    files = [path.with_name(f"queries.log.{n}") for n in range(50, 0, -1)] + [path]
    lines = [
        json.loads(line)
        for file in files
        if file.exists()
        for line in file.read_text().splitlines()
    ]
    # Every line, oldest file first, in the order written: one rotation at a time.
    assert [entry["latency_ms"] for entry in lines] == [float(n) for n in range(200)]
    assert all(file.stat().st_size <= 2048 + 300 for file in files if file.exists())


def test_errors_never_show_server_paths(settings: Settings, tmp_path: Path) -> None:
    missing = tmp_path / "nowhere" / "index"
    with make_client(settings, index_dir=missing) as client:
        api = client.post("/ask", json=QUESTION)
        page = client.get("/", params={"q": "glaciers"})
        health = client.get("/health")
    assert api.status_code == 503
    assert_error_shape(api, 503, "index_missing")
    for text in (api.text, page.text, health.text):
        assert str(tmp_path) not in text
        assert "Traceback" not in text
    assert health.json()["status"] == "degraded"


def test_public_message_strips_paths_but_keeps_urls() -> None:
    message = "No index found in /srv/peruqa/index. See https://example.org/docs/x."
    cleaned = public_message(message)
    assert "/srv" not in cleaned
    assert "https://example.org/docs/x" in cleaned
    assert "C:\\data" not in public_message("Missing C:\\data\\index here")


@pytest.mark.parametrize(
    ("message", "kept"),
    [
        (
            "The index in /tmp/peru qa+1/index is damaged (chunks.faiss: could not open "
            "/tmp/peru qa+1/index/chunks.faiss for reading). Rebuild with 'peruqa index'.",
            "The index in the server's data folder is damaged (chunks.faiss: could not open "
            "the server's data folder for reading). Rebuild with 'peruqa index'.",
        ),
        (
            "[Errno 2] No such file or directory: '/tmp/peru qa+1/index/chunks.faiss'",
            "[Errno 2] No such file or directory: 'the server's data folder'",
        ),
        (
            "No index found in /srv/peru qa/index. See https://example.org/a b/x.",
            "No index found in the server's data folder. See https://example.org/a b/x.",
        ),
        (
            "The index in C:\\Program Files\\peru qa\\index is damaged.",
            "The index in the server's data folder is damaged.",
        ),
        # Prose, file names and routes stay as written.
        (
            "Send the 'question' to /ask and/or /feedback, 24/7; see chunks.jsonl line 3.",
            "Send the 'question' to /ask and/or /feedback, 24/7; see chunks.jsonl line 3.",
        ),
    ],
)
def test_public_message_hides_whole_paths_and_nothing_else(message: str, kept: str) -> None:
    assert public_message(message) == kept


def test_an_index_folder_with_spaces_and_signs_never_leaks(
    settings: Settings, tmp_path: Path
) -> None:
    index = tmp_path / "peru qa+1" / "index"
    index.parent.mkdir()
    settings.index_dir.rename(index)
    (index / "chunks.faiss").unlink()
    with make_client(settings, index_dir=index) as client:
        api = client.post("/ask", json=QUESTION)
        ready = client.get("/ready")
    assert_error_shape(api, 503)
    for text in (api.text, ready.text):
        assert "qa+1" not in text and "peru qa" not in text and "/index" not in text


class SlowEmbedder(FakeEmbedder):
    """Answers after a pause, to stand in for an overloaded model."""

    def embed_queries(self, texts: Any) -> Any:
        import time

        time.sleep(1.0)
        return super().embed_queries(texts)


class BrokenEmbedder(FakeEmbedder):
    def embed_queries(self, texts: Any) -> Any:
        raise RuntimeError("/srv/peruqa/secret/path exploded")


def test_slow_answer_gets_a_503_instead_of_hanging(settings: Settings) -> None:
    app = create_app(settings.model_copy(update={"request_timeout_s": 0.2}), SlowEmbedder())
    with TestClient(app) as client:
        response = client.post("/ask", json=QUESTION)
    assert response.status_code == 503
    assert_error_shape(response, 503, "timeout")


def test_unexpected_error_is_a_plain_500_with_security_headers(settings: Settings) -> None:
    app = create_app(settings, BrokenEmbedder())
    with TestClient(app, raise_server_exceptions=False) as client:
        response = client.post("/ask", json=QUESTION)
    assert response.status_code == 500
    assert_error_shape(response, 500, "internal_error")
    assert "secret" not in response.text and "Traceback" not in response.text
    assert response.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    assert response.headers["x-content-type-options"] == "nosniff"


def test_feedback_shares_the_visitor_budget(limited: TestClient) -> None:
    body = {"question": "q", "answer": "a", "helpful": True}
    statuses = [limited.post("/feedback", json=body).status_code for _ in range(3)]
    assert statuses == [201, 201, 429]
