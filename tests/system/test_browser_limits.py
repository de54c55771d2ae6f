"""The no-JavaScript page at its body limit, in headless Chromium: a legal question in any
script goes through after a long thread, and a form that is too large anyway gets the
page's own answer, with the question kept, never raw JSON."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from test_browser import CHROMIUM, PHONE, browser, page

__all__ = ["browser", "page"]  # fixtures shared with test_browser

sync_api = pytest.importorskip("playwright.sync_api")

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs /usr/bin/chromium (make browser)"),
]

# A thread in Chinese: questions of 200 characters, 1,800 bytes each once encoded.
QUESTIONS = [f"{number}" + "机构何时在库斯科开设办事处" * 15 for number in range(5)]
# 1,000 characters, the longest legal question: 9 bytes each once the form encodes them.
CJK = "秘鲁的水" * 250


def _ask(page: sync_api.Page, question: str) -> None:
    box = page.get_by_label("Your question")
    box.fill(question)
    box.press("Enter")
    page.wait_for_load_state()


@pytest.fixture
def no_js_page(browser: sync_api.Browser, live_server: str) -> Iterator[sync_api.Page]:
    """The page on a phone with JavaScript off, opened on the live server."""
    context = browser.new_context(java_script_enabled=False, viewport=PHONE, locale="en-GB")
    try:
        page = context.new_page()
        page.set_default_timeout(10_000)
        page.goto(live_server)
        yield page
    finally:
        context.close()


def test_a_long_cjk_question_after_five_turns_is_answered(no_js_page: sync_api.Page) -> None:
    page = no_js_page
    for question in QUESTIONS:
        _ask(page, question)
    _ask(page, CJK)
    # An answer page (declined: the library has no such text), not a refusal.
    # The newest turn is this question (cut to the words the model reads).
    latest = page.locator("#thread .turn").last.get_attribute("data-question") or ""
    assert latest.startswith(CJK[:40])
    sync_api.expect(page.locator(".composer .error")).to_have_count(0)


def test_a_form_too_large_gets_the_page_with_the_question_kept(no_js_page: sync_api.Page) -> None:
    page = no_js_page
    _ask(page, QUESTIONS[0])

    # A form grown past the limit on its way (as one rendered under a larger limit
    # would be): its end is padded with a field the page never sends.
    def padded(route: sync_api.Route) -> None:
        route.continue_(post_data=(route.request.post_data or "") + "&pad=" + "x" * 20_000)

    page.route("**/", padded)
    _ask(page, CJK)
    page.unroute("**/", padded)
    assert page.locator("body").inner_text().lstrip()[:1] != "{"  # not raw JSON
    sync_api.expect(page.locator(".composer .error")).to_contain_text("did not fit")
    sync_api.expect(page.get_by_label("Your question")).to_have_value(CJK)
    sync_api.expect(page.locator("#thread .turn")).to_have_count(1)  # the thread stays

    # Sent again as it stands, it goes through.
    page.get_by_role("button", name="Ask").click()
    page.wait_for_load_state()
    latest = page.locator("#thread .turn").last.get_attribute("data-question") or ""
    assert latest.startswith(CJK[:40])
