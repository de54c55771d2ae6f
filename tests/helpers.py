"""Assertions shared by the test modules (imported as ``helpers``: pytest puts tests/ on
the path)."""

from __future__ import annotations

from typing import Any


def assert_error_shape(response: Any, status: int | None = None, code: str | None = None) -> str:
    """The error body is {"error": {"code", "message"}}, with no trace; returns the message.

    Works for httpx and TestClient responses alike.
    """
    if status is not None:
        assert response.status_code == status, response.text
    assert 400 <= response.status_code < 600
    assert response.headers["content-type"].startswith("application/json")
    assert "Traceback" not in response.text
    assert 'File "' not in response.text
    body = response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message"}
    assert isinstance(body["error"]["code"], str) and body["error"]["code"]
    if code is not None:
        assert body["error"]["code"] == code
    message = body["error"]["message"]
    assert isinstance(message, str) and message.strip()
    return str(message)
