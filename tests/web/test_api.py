import html
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from helpers import assert_error_shape
from peruqa.config import Settings
from peruqa.index.embedding import FakeEmbedder
from peruqa.web.app import create_app

QUESTION = "When did the agency open an office in Cusco?"
CITATION_FIELDS = {"title", "publisher", "source", "chunk_id", "text", "score", "start", "end"}


def test_ask_returns_the_documented_fields(live_server: str) -> None:
    response = httpx.post(f"{live_server}/ask", json={"question": QUESTION})
    assert response.status_code == 200
    body = response.json()
    assert isinstance(body["answer"], str) and body["answer"]
    assert body["abstained"] is False
    assert body["citations"]
    for citation in body["citations"]:
        assert set(citation) >= CITATION_FIELDS
        assert isinstance(citation["text"], str)
        assert isinstance(citation["score"], float)
        assert isinstance(citation["start"], int) and isinstance(citation["end"], int)
    first = body["citations"][0]
    assert body["answer"] in first["text"]
    assert first["title"] == "Red Cross in the Andes"
    assert first["publisher"] == "Example Relief Agency"
    assert first["source"] == "red-cross.md"
    assert "1991" in body["answer"]


def test_ask_abstains_on_off_topic_question(client: TestClient) -> None:
    question = "Who won the football world cup final in 2022?"
    response = client.post("/ask", json={"question": question})
    assert response.status_code == 200
    body = response.json()
    assert body["abstained"] is True
    assert body["answer"]
    assert body["citations"] == []


@pytest.mark.parametrize("top_k", [1, 2, 20])
def test_ask_respects_top_k(client: TestClient, top_k: int) -> None:
    response = client.post("/ask", json={"question": QUESTION, "top_k": top_k})
    assert response.status_code == 200
    # The corpus has three chunks: never more than that, never more than asked for.
    assert 1 <= len(response.json()["citations"]) <= min(top_k, 3)


@pytest.mark.parametrize("top_k", [0, 21, -3])
def test_ask_top_k_out_of_range_is_422(client: TestClient, top_k: int) -> None:
    response = client.post("/ask", json={"question": QUESTION, "top_k": top_k})
    message = assert_error_shape(response, 422)
    assert "top_k" in message


@pytest.mark.parametrize(
    ("payload", "mentions"),
    [
        ({"question": ""}, "question"),
        ({"question": "   \n\t "}, "question"),
        ({"question": "x" * 1001}, "1000"),
        ({"question": 123}, "question"),
        ({"question": QUESTION, "top_k": "five"}, "top_k"),
        ({"top_k": 3}, "question"),
        ({}, "question"),
        ({"question": QUESTION, "colour": "red"}, "colour"),
        (["a", "list"], ""),
        ("just a string", ""),
    ],
)
def test_ask_bad_json_input_is_a_clear_4xx(client: TestClient, payload: Any, mentions: str) -> None:
    response = client.post("/ask", json=payload)
    message = assert_error_shape(response, 422)
    assert mentions.lower() in message.lower()


def test_ask_body_not_json_is_a_clear_4xx(client: TestClient) -> None:
    response = client.post(
        "/ask",
        content=b"{question: oops",
        headers={"content-type": "application/json"},
    )
    message = assert_error_shape(response)
    assert response.status_code in (400, 422)
    assert "JSON" in message


def test_ask_empty_body_is_4xx(client: TestClient) -> None:
    response = client.post("/ask", content=b"", headers={"content-type": "application/json"})
    assert_error_shape(response)
    assert response.status_code < 500


@pytest.mark.parametrize(
    ("content", "content_type"),
    [
        (b"question=hello", "application/x-www-form-urlencoded"),
        (b'{"question": "When did the agency open an office?"}', "text/plain"),
        (b"\x00\x01\x02binary", "application/octet-stream"),
    ],
)
def test_ask_wrong_content_type_is_4xx(
    client: TestClient, content: bytes, content_type: str
) -> None:
    response = client.post("/ask", content=content, headers={"content-type": content_type})
    assert_error_shape(response)
    assert response.status_code < 500


def test_ask_wrong_content_type_message_mentions_json(client: TestClient) -> None:
    response = client.post(
        "/ask",
        content=b"question=hello",
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert "JSON" in assert_error_shape(response)


def test_ask_get_is_not_allowed(client: TestClient) -> None:
    response = client.get("/ask")
    assert_error_shape(response, 405)


def test_health_reports_the_loaded_index(live_server: str) -> None:
    response = httpx.get(f"{live_server}/health")
    assert response.status_code == 200
    body = response.json()
    assert body["index_loaded"] is True
    assert body["status"] == "ok"
    assert body["documents"] == 3
    assert body["chunks"] >= 3
    assert body["model"] == "fake"


def test_chat_page_has_a_question_box(client: TestClient) -> None:
    response = client.get("/")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "<form" in response.text
    assert 'name="question"' in response.text


def page_text(response: httpx.Response) -> str:
    """The page as a reader sees it: tags (such as highlight marks) removed, entities decoded."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", "", response.text)).split())


def test_chat_page_renders_an_answer_with_its_source(client: TestClient) -> None:
    response = client.get("/", params={"q": QUESTION})
    assert response.status_code == 200
    api = client.post("/ask", json={"question": QUESTION}).json()
    text = page_text(response)
    assert api["answer"] in text
    assert "Red Cross in the Andes" in text
    assert "Example Relief Agency" in text


def test_chat_page_form_post_renders_an_answer(live_server: str) -> None:
    response = httpx.post(f"{live_server}/", data={"question": QUESTION})
    assert response.status_code == 200
    assert "It opened an office in Cusco in 1991." in page_text(response)


def test_chat_page_escapes_the_question(client: TestClient) -> None:
    response = client.get("/", params={"q": "<script>alert(1)</script> Cusco?"})
    assert response.status_code == 200
    assert "<script>alert(1)</script>" not in response.text


def test_unknown_route_is_404_in_the_error_shape(client: TestClient) -> None:
    response = client.get("/no/such/page")
    assert_error_shape(response, 404)


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    """In process: no socket where the test is about the app, not HTTP itself."""
    with TestClient(create_app(settings, FakeEmbedder())) as client:
        yield client


@pytest.fixture
def settings_with_missing_index(settings: Settings, tmp_path: Path) -> Settings:
    empty = tmp_path / "empty-index"
    empty.mkdir()
    return settings.model_copy(update={"index_dir": empty})


def test_app_without_index_starts_degraded(settings_with_missing_index: Settings) -> None:
    client = TestClient(create_app(settings_with_missing_index, FakeEmbedder()))
    health = client.get("/health")
    assert health.status_code == 200
    body = health.json()
    assert body["status"] == "degraded"
    assert body["index_loaded"] is False
    assert body["documents"] == 0
    assert body["chunks"] == 0
    assert "peruqa index" in body["message"]


def test_app_without_index_answers_503_with_the_error_shape(
    settings_with_missing_index: Settings,
) -> None:
    client = TestClient(create_app(settings_with_missing_index, FakeEmbedder()))
    response = client.post("/ask", json={"question": QUESTION})
    message = assert_error_shape(response, 503)
    assert response.json()["error"]["code"] == "index_missing"
    assert "peruqa index" in message
    # Server folders are not shown to clients.
    assert str(settings_with_missing_index.index_dir) not in response.text


def test_app_without_index_still_serves_the_page(settings_with_missing_index: Settings) -> None:
    client = TestClient(create_app(settings_with_missing_index, FakeEmbedder()))
    assert client.get("/").status_code == 200


def test_server_rendered_quote_says_when_it_is_in_another_language(live_server: str) -> None:
    question = "¿Cuándo abrió la agencia una oficina en Cusco?"
    spanish_page = httpx.get(f"{live_server}/", params={"q": question, "lang": "es"}).text
    assert "1991" in spanish_page
    assert '<p class="quote-lang">Cita textual, en inglés.</p>' in spanish_page
    english_page = httpx.get(f"{live_server}/", params={"q": question, "lang": "en"}).text
    assert '<p class="quote-lang">' not in english_page
