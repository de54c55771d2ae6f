"""End-to-end tests of the chat page in headless Chromium (Debian's, driven by Playwright).

Run with ``make browser`` first on a fresh machine; without ``/usr/bin/chromium`` they skip.
Screenshots land in ``test-artifacts/screenshots/`` for a person to look at.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest

from conftest import CORPUS, PROJECT, write_corpus
from peruqa.config import Settings
from peruqa.records.feedback import FeedbackStore
from peruqa.records.querylog import FILE_NAME
from peruqa.records.report import read_query_log

sync_api = pytest.importorskip("playwright.sync_api")

CHROMIUM = Path("/usr/bin/chromium")
SHOTS = PROJECT / "test-artifacts" / "screenshots"
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 360, "height": 740}
QUESTION = "When did the agency open an office in Cusco?"
# A document whose text holds markup: it must show as text, never run.
MARKUP_DOC = (
    "Notes on <b>markup</b> in reports\n\n"
    "The clinic in Puno treats 300 patients a week. <script>alert('doc')</script> "
    "<img src=x onerror=\"alert('img')\"> is how an attacker would try it.\n"
)

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs /usr/bin/chromium (make browser)"),
]


@pytest.fixture
def corpus_dir(tmp_path: Path) -> Path:
    # The shared corpus plus one document with HTML in it; shadows conftest's fixture here only.
    return write_corpus(tmp_path / "docs", {**CORPUS, "markup.txt": MARKUP_DOC})


@pytest.fixture(scope="module")
def browser() -> Iterator[sync_api.Browser]:
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM),
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        )
        yield browser
        browser.close()
    print(f"\nScreenshots: {SHOTS}")


@pytest.fixture
def page(browser: sync_api.Browser) -> Iterator[sync_api.Page]:
    context = browser.new_context(viewport=DESKTOP, locale="en-US")
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page
    context.close()


def shot(page: sync_api.Page, name: str, full_page: bool = True) -> None:
    """Save a screenshot. Whole-page captures misplace the sticky question box, so pages
    with a long thread are shot as the visitor sees them (the viewport)."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=full_page)


def ask(page: sync_api.Page, question: str) -> sync_api.Locator:
    """Type a question, press Enter, and return the answered turn."""
    box = page.get_by_label("Your question").or_(page.get_by_label("Su pregunta"))
    box.fill(question)
    box.press("Enter")
    turn = page.locator("#thread .turn").last
    sync_api.expect(turn.locator(".working")).to_have_count(0)
    return turn


def test_question_answer_citation_and_document_view(page: sync_api.Page, live_server: str) -> None:
    # Console errors would include Content-Security-Policy violations (inline code).
    errors: list[str] = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.goto(live_server)
    sync_api.expect(page.locator("#question")).to_be_focused()
    sync_api.expect(page.locator("a.example")).to_have_count(3)
    shot(page, "desktop-empty")

    turn = ask(page, QUESTION)
    assert page.url.rstrip("/") == live_server  # answered over /ask, no reload
    sync_api.expect(turn.locator(".q-text")).to_have_text(QUESTION)
    sync_api.expect(turn.locator(".quote mark")).to_have_text("1991")
    card = turn.locator(".citation").first
    sync_api.expect(card.locator(".cite-title")).to_have_text("Red Cross in the Andes")
    sync_api.expect(card.locator(".cite-publisher")).to_have_text("Example Relief Agency")
    sync_api.expect(card.locator(".cite-passage mark")).to_have_text(
        "It opened an office in Cusco in 1991."
    )
    sync_api.expect(page.locator("#thread")).to_have_attribute("aria-live", "polite")
    sync_api.expect(page.locator("#question")).to_be_focused()

    # The thread keeps earlier turns; an abstention offers related passages, not answers.
    abstained = ask(page, "What is the capital of Mongolia?")
    sync_api.expect(page.locator("#thread .turn")).to_have_count(2)
    sync_api.expect(abstained.locator(".abstained")).to_be_visible()
    sync_api.expect(abstained.locator(".quote")).to_be_hidden()
    sync_api.expect(abstained.locator(".cards-label")).to_contain_text("Related passages")
    sync_api.expect(abstained.locator(".citations.related .citation").first).to_be_visible()
    shot(page, "desktop-thread")

    with page.expect_popup() as popup_info:
        card.locator(".cite-link").click()
    document = popup_info.value
    document.wait_for_load_state()
    assert "/documents/red-cross?start=" in document.url and document.url.endswith("#passage")
    sync_api.expect(document.locator("h1")).to_have_text("Red Cross in the Andes")
    sync_api.expect(document.locator(".meta")).to_contain_text("Example Relief Agency")
    passage = document.locator("mark#passage")
    sync_api.expect(passage).to_contain_text("It opened an office in Cusco in 1991.")
    sync_api.expect(passage).to_be_in_viewport()
    shot(document, "desktop-document")
    assert errors == []


def test_language_follows_browser_and_switch(
    browser: sync_api.Browser, page: sync_api.Page, live_server: str
) -> None:
    page.goto(live_server)
    sync_api.expect(page.locator("html")).to_have_attribute("lang", "en")
    sync_api.expect(page.get_by_label("Your question")).to_be_visible()

    page.get_by_role("link", name="Español").click()
    sync_api.expect(page.locator("html")).to_have_attribute("lang", "es")
    sync_api.expect(page.get_by_label("Su pregunta")).to_be_visible()
    sync_api.expect(page.get_by_role("button", name="Preguntar")).to_be_visible()
    turn = ask(page, "¿Cuándo recibieron formación las parteras?")
    # The quote stays as written; the interface around it is Spanish.
    sync_api.expect(turn.locator(".quote")).to_have_text(
        "Las parteras recibieron formación en 2018."
    )
    sync_api.expect(turn.locator(".cards-label")).to_have_text("Fuentes")
    sync_api.expect(turn.get_by_role("button", name="No útil")).to_be_visible()
    # A Spanish quote on a Spanish page needs no language note...
    sync_api.expect(turn.locator(".quote-lang")).to_be_hidden()
    # ...an English quote does: it is never translated, only labelled.
    english = ask(page, "¿Cuándo abrió la agencia una oficina en Cusco?")
    sync_api.expect(english.locator(".quote")).to_contain_text("1991")
    sync_api.expect(english.locator(".quote-lang")).to_have_text("Cita textual, en inglés.")
    shot(page, "desktop-spanish")
    page.goto(live_server)  # the choice is remembered in a cookie
    sync_api.expect(page.locator("html")).to_have_attribute("lang", "es")

    spanish = browser.new_context(viewport=PHONE, locale="es-PE")
    try:
        phone = spanish.new_page()
        phone.goto(live_server)
        sync_api.expect(phone.locator("html")).to_have_attribute("lang", "es")
        sync_api.expect(phone.get_by_label("Su pregunta")).to_be_visible()
    finally:
        spanish.close()


def test_feedback_is_stored(page: sync_api.Page, live_server: str, settings: Settings) -> None:
    page.goto(live_server)
    turn = ask(page, QUESTION)
    turn.get_by_label("Reason (optional)").select_option("outdated")
    turn.get_by_role("button", name="Not helpful").click()
    sync_api.expect(turn.locator(".thanks")).to_have_text("Thank you, your feedback was saved.")
    records = FeedbackStore.in_folder(settings.data_dir).list()
    assert len(records) == 1
    record = records[0]
    assert (record.question, record.helpful, record.reason) == (QUESTION, False, "outdated")
    assert record.language == "en"
    # The store keeps the answer's id; what the bot said is in the query log under that id.
    said = [entry for entry in read_query_log(settings.data_dir / FILE_NAME)]
    assert record.answer_id == said[-1]["answer_id"] and "1991" in str(said[-1]["answer"])


def test_markup_is_shown_as_text(page: sync_api.Page, live_server: str) -> None:
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    hostile = "<script>alert('q')</script><img src=x onerror=alert(1)> glaciers?"
    page.goto(live_server)
    turn = ask(page, hostile)
    sync_api.expect(turn.locator(".q-text")).to_have_text(hostile)
    # Server-rendered (shareable link) path too.
    page.goto(f"{live_server}/?q=" + quote(hostile, safe=""))
    sync_api.expect(page.locator("#thread .q-text")).to_have_text(hostile)
    assert page.locator("script").count() == 1  # only /static/app.js

    page.goto(f"{live_server}/documents/markup")
    text = page.locator(".doc-text")
    sync_api.expect(text).to_contain_text("<script>alert('doc')</script>")
    sync_api.expect(text).to_contain_text("<img src=x onerror=")
    assert page.locator(".doc-text img, .doc-text script, .doc-text b").count() == 0
    assert dialogs == []


def test_works_without_javascript(
    browser: sync_api.Browser, live_server: str, settings: Settings
) -> None:
    context = browser.new_context(java_script_enabled=False, viewport=PHONE, locale="en-GB")
    try:
        page = context.new_page()
        page.set_default_timeout(10_000)
        page.goto(live_server)
        page.get_by_label("Your question").fill(QUESTION)
        page.get_by_role("button", name="Ask").click()
        page.wait_for_load_state()
        sync_api.expect(page.locator(".quote mark")).to_have_text("1991")
        page.get_by_label("Your question").fill("What is the capital of Mongolia?")
        page.get_by_label("Your question").press("Enter")
        page.wait_for_load_state()
        # Earlier questions ride along in hidden fields, so the thread survives the reload.
        sync_api.expect(page.locator("#thread .turn")).to_have_count(2)
        sync_api.expect(page.locator("#thread .abstained")).to_have_count(1)
        assert page.url.endswith("#latest")  # the newest answer is scrolled into view
        shot(page, "phone-nojs-thread", full_page=False)

        first = page.locator("#thread .turn").first
        first.get_by_role("button", name="Helpful", exact=True).click()
        page.wait_for_load_state()
        sync_api.expect(page.locator("#status")).to_have_text("Thank you, your feedback was saved.")
        records = FeedbackStore.in_folder(settings.data_dir).list()
        assert [(r.question, r.helpful) for r in records] == [(QUESTION, True)]
    finally:
        context.close()


def test_phone_screenshots(browser: sync_api.Browser, live_server: str) -> None:
    context = browser.new_context(viewport=PHONE, locale="en-US", is_mobile=True)
    try:
        page = context.new_page()
        page.set_default_timeout(10_000)
        page.goto(live_server)
        shot(page, "phone-empty")
        turn = ask(page, QUESTION)
        sync_api.expect(turn.locator(".quote mark")).to_have_text("1991")
        # Nothing may be wider than the screen.
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE["width"], width
        turn.scroll_into_view_if_needed()
        page.evaluate("window.scrollTo(0, 0)")
        shot(page, "phone-answer", full_page=False)
        page.goto(f"{live_server}/documents/red-cross?start=64&end=101#passage")
        sync_api.expect(page.locator("mark#passage")).to_be_in_viewport()
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        shot(page, "phone-document")
    finally:
        context.close()
