"""Fuzzing the HTTP surface with hypothesis: no input may cause a 5xx.

API errors (4xx) must always come in the one JSON error shape; the page may answer its
own 4xx in HTML (it shows the error to the visitor), but never a 5xx either.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote_from_bytes

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given
from hypothesis import settings as hyp_settings
from hypothesis import strategies as st

from conftest import write_corpus
from peruqa.config import Settings, get_settings
from peruqa.index.build import build
from peruqa.index.embedding import FakeEmbedder
from peruqa.web.app import create_app

FUZZ = hyp_settings(
    max_examples=120,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

# Any text: lone surrogates, control characters, right-to-left marks, emoji, NUL.
any_text = st.text(st.characters(codec=None), max_size=300)
json_scalars = st.none() | st.booleans() | st.integers() | st.floats() | any_text
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(any_text, inner, max_size=4),
    max_leaves=12,
)
ask_bodies = st.one_of(
    json_values,
    st.fixed_dictionaries(
        {"question": json_values}, optional={"top_k": json_values, "extra": json_values}
    ),
    st.fixed_dictionaries({"question": any_text}, optional={"top_k": st.integers(-(2**70), 2**70)}),
)
content_types = st.sampled_from(
    [
        "application/json",
        "text/plain",
        "application/x-www-form-urlencoded",
        "multipart/form-data",
        "multipart/form-data; boundary=x",
        "application/json; charset=latin-1",
        "",
    ]
)


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    # One app for the whole module: hypothesis runs hundreds of examples against it.
    root = tmp_path_factory.mktemp("fuzz")
    settings: Settings = get_settings(
        source_dir=write_corpus(root / "docs"),
        index_dir=root / "index",
        data_dir=root / "data",
        model="fake",
        rate_limit_per_minute=0.0,
        query_log=False,
    )
    build(settings, FakeEmbedder())
    app = create_app(settings, FakeEmbedder())
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


def check_api(response: Any) -> None:
    assert response.status_code < 500, response.text
    if response.status_code >= 400:
        body = response.json()
        assert set(body) == {"error"}, body
        assert isinstance(body["error"]["code"], str)
        assert isinstance(body["error"]["message"], str)
    else:
        body = response.json()
        assert isinstance(body["answer"], str)


def encode(value: Any) -> bytes:
    # json.dumps with ASCII escapes carries lone surrogates and NaN, which httpx refuses.
    return json.dumps(value).encode()


@FUZZ
@given(body=ask_bodies)
def test_ask_json_never_fails(client: TestClient, body: Any) -> None:
    response = client.post(
        "/ask", content=encode(body), headers={"content-type": "application/json"}
    )
    check_api(response)


@FUZZ
@given(raw=st.binary(max_size=400), content_type=content_types)
def test_ask_raw_bytes_never_fail(client: TestClient, raw: bytes, content_type: str) -> None:
    response = client.post("/ask", content=raw, headers={"content-type": content_type})
    check_api(response)


def url_bytes(text: str) -> str:
    # Real clients can send any bytes, including lone surrogates encoded as bytes.
    return quote_from_bytes(text.encode("utf-8", "surrogatepass"))


@FUZZ
@given(q=any_text, raw=st.binary(max_size=100))
def test_page_query_never_fails(client: TestClient, q: str, raw: bytes) -> None:
    for query in (url_bytes(q), quote_from_bytes(raw)):
        response = client.get(f"/?q={query}")
        assert response.status_code < 500, response.text


@FUZZ
@given(question=any_text, raw=st.binary(max_size=200), content_type=content_types)
def test_page_form_never_fails(
    client: TestClient, question: str, raw: bytes, content_type: str
) -> None:
    form = client.post(
        "/",
        content=f"question={url_bytes(question)}",
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert form.status_code < 500, form.text
    response = client.post("/", content=raw, headers={"content-type": content_type})
    assert response.status_code < 500, response.text


@FUZZ
@given(body=json_values)
def test_feedback_never_fails(client: TestClient, body: Any) -> None:
    response = client.post(
        "/feedback", content=encode(body), headers={"content-type": "application/json"}
    )
    check_api(response)
