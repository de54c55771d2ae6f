"""Main text of a saved web page: navigation, menus, cookie banners and share buttons removed.

Block elements become lines, because chunking treats lines as sentence boundaries and
web pages put headings, figures and captions on lines of their own.
"""

from __future__ import annotations

import re

from selectolax.lexbor import LexborHTMLParser, LexborNode

from peruqa.text.languages import codes

# Never content: scripts, chrome and widgets.
_DROP_TAGS = (
    "script", "style", "noscript", "template", "svg", "canvas", "iframe", "form", "button",
    "input", "select", "textarea", "nav", "aside", "dialog", "menu",
)  # fmt: skip
# Landmarks that hold site chrome rather than the article.
_DROP_ROLES = ("navigation", "banner", "contentinfo", "complementary", "search", "menu", "dialog")
# Class or id words that mark boilerplate blocks (matched as whole words of the attribute).
_BOILERPLATE = re.compile(
    r"(?:^|[\s_-])(cookies?|consent|gdpr|share|sharing|social|socials|menu|navbar|nav|"
    r"breadcrumbs?|newsletter|subscribe|sidebar|related|popup|modal|skip-link|site-header|"
    r"site-footer|footer|masthead|banner|advert|ads)(?:$|[\s_-])",
    re.IGNORECASE,
)
_BLOCK_TAGS = frozenset(
    "p div section article main header footer li ul ol dl dt dd h1 h2 h3 h4 h5 h6 blockquote "
    "pre table tr caption figcaption figure address hr body".split()
)
_CELL_TAGS = frozenset({"td", "th"})
# Lines that are only widget labels ("Share", "Tweet", "Back to top"), matched whole.
_WIDGET_LINE = re.compile(
    r"^(share( this( page| article| story)?| on \w+)?|tweet|facebook|twitter|x|linkedin|"
    r"whatsapp|email|print( this page)?|follow us( on \w+)?|subscribe( to our newsletter)?|"
    r"skip to (main )?content|back to top|accept( all)?( cookies)?|reject( all)?|"
    r"privacy (policy|settings)|read more|menu|search|close)[\s:.!|/]*$",
    re.IGNORECASE,
)
# A cookie notice is boilerplate; a long paragraph that mentions cookies may not be.
_COOKIE_LINE_MAX_WORDS = 60


def _is_boilerplate(node: LexborNode) -> bool:
    attributes = node.attributes
    if (attributes.get("role") or "").lower() in _DROP_ROLES:
        return True
    if "hidden" in attributes or (attributes.get("aria-hidden") or "") == "true":
        return True
    marker = " ".join(filter(None, (attributes.get("class"), attributes.get("id"))))
    return bool(marker and _BOILERPLATE.search(marker))


def _strip(root: LexborNode) -> None:
    for node in root.css(", ".join(_DROP_TAGS)):
        node.decompose()
    # Page-level header and footer are chrome; inside an article they hold its title.
    for node in root.css("header, footer"):
        if node.parent is not None and node.parent.tag in ("body", "html"):
            node.decompose()
    for node in list(root.traverse()):
        if node.tag not in ("html", "body", "main") and _is_boilerplate(node):
            node.decompose()


def _walk(node: LexborNode, out: list[str]) -> None:
    for child in node.iter(include_text=True):
        tag = child.tag
        if tag == "-text":
            out.append(child.text_content or "")
        elif tag == "br" or tag in _BLOCK_TAGS:
            out.append("\n")
            _walk(child, out)
            out.append("\n")
        elif tag in _CELL_TAGS:
            _walk(child, out)
            out.append(" ; ")
        elif tag != "-comment":
            _walk(child, out)


def _clean_lines(raw: str) -> list[str]:
    lines = []
    for line in raw.split("\n"):
        text = " ".join(line.split()).strip(" ;")
        if not text:
            continue
        if _WIDGET_LINE.match(text) or (
            "cookie" in text.lower() and len(text.split()) <= _COOKIE_LINE_MAX_WORDS
        ):
            continue
        lines.append(text)
    return lines


def _meta(tree: LexborHTMLParser, selector: str) -> str:
    node = tree.css_first(selector)
    return " ".join((node.attributes.get("content") or "").split()) if node else ""


def html_main_text(html: str) -> tuple[str, dict[str, object]]:
    """Return (text, metadata) of a page: one block per line, blank lines between blocks."""
    tree = LexborHTMLParser(html)
    metadata: dict[str, object] = {}
    root_tag = tree.css_first("html")
    language = (root_tag.attributes.get("lang") or "") if root_tag else ""
    if language[:2].lower() in codes():
        metadata["language"] = language[:2].lower()
    publisher = _meta(tree, 'meta[property="og:site_name"]') or _meta(tree, 'meta[name="author"]')
    if publisher:
        metadata["publisher"] = publisher
    canonical = tree.css_first('link[rel="canonical"]')
    url = (canonical.attributes.get("href") or "") if canonical else ""
    if url or _meta(tree, 'meta[property="og:url"]'):
        metadata["url"] = url or _meta(tree, 'meta[property="og:url"]')
    body = tree.body
    if body is None:
        return "", metadata
    _strip(body)
    root = body.css_first("main") or body.css_first('[role="main"]') or body.css_first("article")
    root = root or body
    heading = root.css_first("h1")
    title_tag = tree.css_first("title")
    page_title = title_tag.text(strip=True) if title_tag else ""
    title = (
        (heading.text(separator=" ", strip=True) if heading else "")
        or _meta(tree, 'meta[property="og:title"]')
        # "Report title | Site name": the part before the separator names the page.
        or re.split(r"\s+[|–—-]\s+", page_title)[0]
    )
    if title:
        metadata["title"] = " ".join(title.split())
    out: list[str] = []
    _walk(root, out)
    return "\n\n".join(_clean_lines("".join(out))), metadata
