"""Follow-up questions on the chat page in headless Chromium, with and without JavaScript."""

from __future__ import annotations

from pathlib import Path

import pytest
from test_browser import CHROMIUM, PHONE, ask, browser, page, shot

from conftest import THREAD_CORPUS, write_corpus

sync_api = pytest.importorskip("playwright.sync_api")

__all__ = ["browser", "page"]  # fixtures shared with test_browser

DIRECTOR = "Who is the country director of the Puno Water Trust?"
FOLLOW_UP = "And what is its phone number?"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs /usr/bin/chromium (make browser)"),
]


@pytest.fixture
def corpus_dir(tmp_path: Path) -> Path:
    return write_corpus(tmp_path / "docs", THREAD_CORPUS)


def test_follow_up_with_javascript(page: sync_api.Page, live_server: str) -> None:
    errors: list[str] = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.goto(live_server)
    sync_api.expect(page.locator("#new-topic")).to_be_hidden()
    first = ask(page, DIRECTOR)
    sync_api.expect(first.locator(".quote")).to_contain_text("Maria Condori")
    sync_api.expect(first.locator(".carried")).to_be_hidden()

    with page.expect_request(lambda r: r.url.endswith("/ask")) as sent:
        follow_up = ask(page, FOLLOW_UP)
    history = sent.value.post_data_json["history"]
    assert history[0]["question"] == DIRECTOR and "Maria Condori" in history[0]["answer"]
    sync_api.expect(follow_up.locator(".carried")).to_have_text(
        "Read as a question about Puno Water Trust"
    )
    card = follow_up.locator(".citation").first
    sync_api.expect(card.locator(".cite-title")).to_have_text("Puno Water Trust")
    shot(page, "desktop-follow-up")

    # An earlier question asked again about a new subject shows as typed: as text.
    ask(page, "Since when has the Puno Water Trust built <b>tanks</b>?")
    again = ask(page, "What about Andes Relief?")
    sync_api.expect(again.locator(".carried")).to_have_text(
        "Read as: “Since when has the Andes Relief built <b>tanks</b>?”"
    )
    assert again.locator(".carried b").count() == 0

    # "New topic" clears the thread: the same question is then a stranger's.
    page.get_by_role("button", name="New topic").click()
    sync_api.expect(page.locator("#thread .turn")).to_have_count(0)
    sync_api.expect(page.locator("#new-topic")).to_be_hidden()
    with page.expect_request(lambda r: r.url.endswith("/ask")) as sent:
        alone = ask(page, FOLLOW_UP)
    assert sent.value.post_data_json["history"] == []
    sync_api.expect(alone.locator(".carried")).to_be_hidden()
    assert errors == []


def test_follow_up_without_javascript(browser: sync_api.Browser, live_server: str) -> None:
    context = browser.new_context(java_script_enabled=False, viewport=PHONE, locale="es-PE")
    try:
        page = context.new_page()
        page.set_default_timeout(10_000)
        page.goto(live_server)
        box = page.get_by_label("Su pregunta")
        box.fill(DIRECTOR)
        page.get_by_role("button", name="Preguntar").click()
        page.wait_for_load_state()
        box.fill(FOLLOW_UP)
        box.press("Enter")
        page.wait_for_load_state()
        turns = page.locator("#thread .turn")
        sync_api.expect(turns).to_have_count(2)
        latest = turns.last
        # The line is in the page's language; the names are the documents' own.
        sync_api.expect(latest.locator(".carried")).to_have_text(
            "Leído como una pregunta sobre Puno Water Trust"
        )
        card = latest.locator(".citation").first
        sync_api.expect(card.locator(".cite-title")).to_have_text("Puno Water Trust")
        sync_api.expect(turns.first.locator(".carried")).to_have_count(0)
        shot(page, "phone-nojs-follow-up", full_page=False)

        # A new topic is a fresh page: no turns, nothing carried into the next question.
        page.get_by_role("button", name="Nuevo tema").click()
        page.wait_for_load_state()
        sync_api.expect(page.locator("#thread .turn")).to_have_count(0)
        assert page.locator("input[name=turn]").count() == 0
        page.get_by_label("Su pregunta").fill(FOLLOW_UP)
        page.get_by_label("Su pregunta").press("Enter")
        page.wait_for_load_state()
        sync_api.expect(page.locator("#thread .turn")).to_have_count(1)
        sync_api.expect(page.locator("#thread .carried")).to_have_count(0)
    finally:
        context.close()
