"""Errors carry their HTTP meaning on the class; one handler answers for all of them."""

from __future__ import annotations

import logging

import pytest
from fastapi.testclient import TestClient

from peruqa.config import Settings
from peruqa.errors import PeruQAError, RateLimitedError, all_errors
from peruqa.index.embedding import FakeEmbedder
from peruqa.web.app import create_app


@pytest.mark.parametrize("kind", [k for k in all_errors() if k is not PeruQAError])
def test_every_error_class_declares_its_own_status(kind: type[PeruQAError]) -> None:
    assert "status" in vars(kind), f"{kind.__name__} inherits its HTTP status"
    assert 400 <= kind.status < 600
    assert kind.code != PeruQAError.code


class _NewBadInput(PeruQAError):
    """An error added later: its class alone decides what the client sees."""

    code = "new_bad_input"
    status = 422


@pytest.fixture
def client(settings: Settings) -> TestClient:
    app = create_app(settings, FakeEmbedder())

    def new_bad_input() -> None:
        raise _NewBadInput("That input is not accepted.")

    def slow_down() -> None:
        raise RateLimitedError("Wait a little.", retry_after=7)

    def undeclared() -> None:
        raise PeruQAError("/srv/peruqa/data is on fire")

    def bug() -> None:
        raise KeyError("a bug")

    for path, endpoint in {
        "/t/new": new_bad_input,
        "/t/slow": slow_down,
        "/t/undeclared": undeclared,
        "/t/bug": bug,
    }.items():
        app.add_api_route(path, endpoint)
    return TestClient(app, raise_server_exceptions=False)


def test_a_new_error_class_gets_the_status_it_declares(client: TestClient) -> None:
    response = client.get("/t/new")
    assert response.status_code == 422
    assert response.json() == {
        "error": {"code": "new_bad_input", "message": "That input is not accepted."}
    }


def test_retry_after_comes_from_the_error(client: TestClient) -> None:
    response = client.get("/t/slow")
    assert response.status_code == 429
    assert response.headers["retry-after"] == "7"
    assert response.json()["error"]["code"] == "rate_limited"


@pytest.mark.parametrize("path", ["/t/undeclared", "/t/bug"])
def test_an_error_nobody_declared_is_a_logged_500(
    client: TestClient, path: str, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR, logger="peruqa.web"):
        response = client.get(path)
    assert response.status_code == 500
    assert response.json()["error"]["code"] == "internal_error"
    assert "/srv" not in response.text and "a bug" not in response.text
    assert any(record.levelno >= logging.ERROR for record in caplog.records)
