"""The no-JavaScript form at the body limit over real HTTP: the carried thread leaves room
for the longest legal question in any script, and a form too large anyway is answered
with the page (413), the question kept and the thread fitted to it."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from urllib.parse import urlencode

import httpx
import pytest

QUESTION = "When did the agency open an office in Cusco?"


def _carried(page: str) -> list[str]:
    return [html.unescape(value) for value in re.findall(r'name="turn" value="([^"]+)"', page)]


@pytest.fixture
def browser(live_server: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=live_server, timeout=30) as client:
        yield client


def _thread(browser: httpx.Client, turns: int) -> list[str]:
    """The fields of a thread of CJK questions (200 characters, 1,800 bytes encoded)."""
    carried: list[str] = []
    for number in range(turns):
        question = f"{number}" + "机构何时在库斯科开设办事处" * 15
        page = browser.post("/", data={"question": question, "turn": carried})
        assert page.status_code == 200
        carried = _carried(page.text)
    return carried


@pytest.mark.parametrize("char", ["中", "😀", "ñ"])
def test_the_longest_legal_question_fits_beside_the_carried_thread(
    browser: httpx.Client, char: str
) -> None:
    carried = _thread(browser, 5)
    question = char * 1000
    page = browser.post("/", data={"question": question, "turn": carried})
    assert page.status_code == 200, page.text[:200]
    assert page.headers["content-type"].startswith("text/html")
    # The newest turn is this question (cut to the words the model reads, with a notice).
    assert f'id="latest" data-question="{char * 10}' in page.text


def test_a_form_too_large_gets_a_413_page_that_keeps_the_question(browser: httpx.Client) -> None:
    carried = _thread(browser, 2)
    question = "中" * 1000
    padding = [("pad", "x" * 20_000)]
    fields = [("question", question), *[("turn", field) for field in carried], *padding]
    page = browser.post(
        "/",
        content=urlencode(fields),
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert page.status_code == 413
    assert page.headers["content-type"].startswith("text/html")
    assert "did not fit in one message" in page.text
    assert f'value="{question}"' in page.text
    assert page.text.count('data-question="') == 2  # the thread is shown
    # The page's own fields, sent again with the question, go through.
    again = browser.post("/", data={"question": question, "turn": _carried(page.text)})
    assert again.status_code == 200 and f'id="latest" data-question="{"中" * 10}' in again.text


def test_the_json_api_still_refuses_too_large_bodies_in_json(live_server: str) -> None:
    response = httpx.post(f"{live_server}/ask", json={"question": "x" * 20_000})
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "payload_too_large"
