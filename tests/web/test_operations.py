"""The operator's side, in process: readiness, metrics, reloads reaching every app, /docs
offline, the admin token, proxies, the no-JS thread, settings errors and the report."""

from __future__ import annotations

import html
import json
import re
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient

from helpers import assert_error_shape
from peruqa.cli import main
from peruqa.config import Settings, get_settings
from peruqa.errors import ConfigError
from peruqa.index.build import build
from peruqa.index.embedding import FakeEmbedder
from peruqa.records.feedback import FeedbackStore
from peruqa.web.app import create_app
from peruqa.web.deps import get_service
from peruqa.web.ratelimit import client_address, parse_networks

QUESTION = "When did the agency open an office in Cusco?"
TOKEN = "a-long-enough-admin-token"


def client_for(settings: Settings, **update: Any) -> TestClient:
    # From loopback, like an operator on the machine (/metrics answers loopback alone).
    app = create_app(settings.model_copy(update=update), FakeEmbedder())
    return TestClient(app, client=("127.0.0.1", 50000))


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    with client_for(settings, admin_token=TOKEN) as client:
        yield client


def test_routes_get_the_service_through_depends(settings: Settings) -> None:
    class Unloaded:
        current = None
        load_error = None
        embedder = FakeEmbedder()

    app = create_app(settings, FakeEmbedder())
    app.dependency_overrides[get_service] = Unloaded
    with TestClient(app) as client:
        assert client.get("/health").json()["index_loaded"] is False
        assert client.get("/ready").status_code == 503


# -- readiness and metrics --------------------------------------------------------------


def test_ready_is_503_until_an_index_is_loaded(settings: Settings, tmp_path: Path) -> None:
    with client_for(settings, index_dir=tmp_path / "nothing-here") as empty:
        response = empty.get("/ready")
        assert_error_shape(response, 503, "index_missing")
        assert response.headers["retry-after"]
        assert empty.get("/health").status_code == 200  # alive all the same
    with client_for(settings) as loaded:
        ready = loaded.get("/ready")
        assert ready.status_code == 200 and ready.json()["ready"] is True


def test_a_damaged_index_is_a_503_with_a_code_never_a_500(settings: Settings) -> None:
    (settings.index_dir / "chunks.faiss").write_bytes(b"not a faiss index")
    with client_for(settings) as client:
        assert client.get("/health").status_code == 200
        ready = client.get("/ready")
        assert ready.status_code == 503
        response = client.post("/ask", json={"question": QUESTION})
        assert_error_shape(response, 503)
        assert response.json()["error"]["code"].startswith("index_")


def test_health_stays_up_with_a_manifest_of_wrong_types(settings: Settings) -> None:
    manifest = settings.index_dir / "manifest.json"
    fields = json.loads(manifest.read_text())
    fields.update(chunks="many")
    manifest.write_text(json.dumps(fields))
    with client_for(settings) as client:
        health = client.get("/health")
    assert health.status_code == 200 and health.json()["status"] == "degraded"


def test_metrics_answer_only_the_allowed_networks(settings: Settings) -> None:
    app = create_app(settings, FakeEmbedder())
    with TestClient(app, client=("203.0.113.7", 50000)) as outsider:
        assert_error_shape(outsider.get("/metrics"), 403, "forbidden")
        assert outsider.get("/health").status_code == 200
    with TestClient(app, client=("127.0.0.1", 50000)) as local:
        assert local.get("/metrics").status_code == 200
    opened = create_app(settings.model_copy(update={"metrics_allow": ["203.0.113.0/24"]}))
    with TestClient(opened, client=("203.0.113.7", 50000)) as monitor:
        assert monitor.get("/metrics").status_code == 200
    with pytest.raises(ConfigError, match="METRICS_ALLOW"):
        get_settings(metrics_allow=["not-a-network"])


def _sample(text: str, name: str, **labels: str) -> float:
    total = 0.0
    for line in text.splitlines():
        if not line.startswith(name + "{") and not line.startswith(name + " "):
            continue
        if all(f'{key}="{value}"' in line for key, value in labels.items()):
            total += float(line.rsplit(" ", 1)[1])
    return total


def test_metrics_count_requests_answers_and_queue(client: TestClient) -> None:
    before = client.get("/metrics").text
    assert client.post("/ask", json={"question": QUESTION}).status_code == 200
    assert client.post("/ask", json={"question": "What is the capital of Mongolia?"}).json()[
        "abstained"
    ]
    assert client.post("/ask", json={"question": ""}).status_code == 422
    response = client.get("/metrics")
    assert response.headers["content-type"].startswith("text/plain")
    after = response.text

    def grew(name: str, **labels: str) -> float:
        return _sample(after, name, **labels) - _sample(before, name, **labels)

    assert grew("peruqa_requests_total", route="/ask", status="200") == 2
    assert grew("peruqa_requests_total", route="/ask", status="422") == 1
    assert grew("peruqa_request_seconds_count", route="/ask") == 3
    assert grew("peruqa_answers_total", outcome="answered") == 1
    assert grew("peruqa_answers_total", outcome="declined") == 1
    assert "peruqa_queue_depth" in after
    assert _sample(after, "peruqa_index_built_timestamp_seconds") > 1.6e9
    # Unknown paths share one label instead of one per URL a scanner tries.
    client.get("/no/such/page/12345")
    assert "/no/such/page/12345" not in client.get("/metrics").text


def test_requests_refused_before_routing_are_counted_under_their_route(
    settings: Settings,
) -> None:
    with client_for(settings, rate_limit_per_minute=1.0, rate_limit_burst=1) as client:
        body = {"question": "q", "helpful": True}
        before = _sample(
            client.get("/metrics").text, "peruqa_requests_total", route="/feedback", status="429"
        )
        assert [client.post("/feedback", json=body).status_code for _ in range(2)] == [201, 429]
        text = client.get("/metrics").text
    assert _sample(text, "peruqa_requests_total", route="/feedback", status="429") - before == 1


# -- reload ------------------------------------------------------------------------------


def test_one_reload_call_moves_every_app_on_the_data_folder(settings: Settings) -> None:
    # Two apps over one index and data folder stand for two workers (or replicas); the
    # manifest watch is off, so only the reload call can move the second one.
    update = {"admin_token": TOKEN, "index_watch_s": 0.0, "reload_poll_s": 0.05}
    with client_for(settings, **update) as first, client_for(settings, **update) as second:
        old = second.get("/ready").json()["build_id"]
        (settings.source_dir / "new.md").write_text("# New\n\nA report about Arequipa.\n")
        build(settings, FakeEmbedder())
        time.sleep(0.2)
        assert second.get("/ready").json()["build_id"] == old  # nothing moved by itself
        reply = first.post("/admin/reload", headers={"Authorization": f"Bearer {TOKEN}"})
        assert reply.status_code == 200
        new = reply.json()["build_id"]
        assert new != old
        started = time.monotonic()
        while second.get("/ready").json()["build_id"] != new:
            assert time.monotonic() - started < 1.0, "the second worker did not follow in 1 s"
            time.sleep(0.02)


# -- admin token -------------------------------------------------------------------------


def test_admin_token_failures_are_rate_limited(settings: Settings) -> None:
    with client_for(settings, admin_token=TOKEN, admin_failures_per_minute=3) as client:
        wrong = {"Authorization": "Bearer guess"}
        statuses = [client.post("/admin/reload", headers=wrong).status_code for _ in range(5)]
        assert statuses == [403, 403, 403, 429, 429]
        refused = client.post("/admin/reload", headers=wrong)
        assert_error_shape(refused, 429, "rate_limited")
        assert int(refused.headers["retry-after"]) >= 1
        # The right token from the same address is never refused: an operator behind a
        # proxy shared with a guesser is not locked out.
        right = client.post("/admin/reload", headers={"Authorization": f"Bearer {TOKEN}"})
        assert right.status_code == 200, right.text


def test_admin_failures_are_also_limited_per_token_prefix(
    settings: Settings, serve_app: Callable[[Any], str]
) -> None:
    # Guesses from many addresses that start alike share one allowance; a guess from a
    # fresh address that starts otherwise is still answered 403.
    app = create_app(
        settings.model_copy(update={"admin_token": TOKEN, "admin_failures_per_minute": 3}),
        FakeEmbedder(),
    )
    base = serve_app(app)

    def attempt(address: str, token: str) -> int:
        transport = httpx.HTTPTransport(local_address=address)
        with httpx.Client(base_url=base, transport=transport, timeout=10) as client:
            headers = {"Authorization": f"Bearer {token}"}
            return client.post("/admin/reload", headers=headers).status_code

    statuses = [attempt(f"127.0.0.{n + 2}", f"abcd{n}") for n in range(5)]
    assert statuses == [403, 403, 403, 429, 429]
    assert attempt("127.0.0.20", "zzzz1") == 403
    assert attempt("127.0.0.21", TOKEN) == 200


def test_admin_token_has_a_minimum_length() -> None:
    with pytest.raises(ConfigError, match="PERUQA_ADMIN_TOKEN"):
        get_settings(admin_token="short")
    assert get_settings(admin_token=TOKEN).admin_token == TOKEN


def test_admin_report_page_needs_the_token_and_shows_gaps(client: TestClient) -> None:
    assert client.get("/admin/report").status_code == 401
    client.post("/ask", json={"question": "What is the capital of Mongolia?"})
    page = client.get("/admin/report", headers={"Authorization": f"Bearer {TOKEN}"})
    assert page.status_code == 200
    assert "What is the capital of Mongolia?" in page.text
    assert "<svg" in page.text and "<script" not in page.text


def test_report_shows_what_the_bot_said_never_the_feedbacks_answer_text(
    client: TestClient,
) -> None:
    said = client.post("/ask", json={"question": QUESTION}).json()
    assert not said["abstained"]
    forged = "Mallory Attack, Country Director Peru"
    for answer in (said["answer"], forged):
        body = {"question": said["question"], "answer": answer, "helpful": False}
        assert client.post("/feedback", json=body).status_code == 201
    page = client.get("/admin/report", headers={"Authorization": f"Bearer {TOKEN}"}).text
    rows = page.split("<tbody>")[1].split("</tbody>")[0].split("<tr>")[1:]
    assert len(rows) == 2
    assert html.escape(said["answer"]) in rows[0]
    # Feedback keeps the answer's id alone: a made-up answer is shown as none the bot gave.
    assert forged not in page and "(no such answer in the query log)" in rows[1]
    store: FeedbackStore = client.app.state.context.feedback  # type: ignore[attr-defined]
    assert forged not in store.path.read_bytes().decode("utf-8", "replace")


# -- proxies, hosts, docs ----------------------------------------------------------------


def test_forwarded_for_counts_only_from_trusted_proxies() -> None:
    trusted = parse_networks(["10.0.0.0/8"])
    assert client_address("203.0.113.9", "1.2.3.4", trusted) == "203.0.113.9"  # spoofed
    assert client_address("10.0.0.5", "1.2.3.4", trusted) == "1.2.3.4"
    # The client's own entries sit left of what our proxy appended; they prove nothing.
    assert client_address("10.0.0.5", "6.6.6.6, 1.2.3.4", trusted) == "1.2.3.4"
    assert client_address("10.0.0.5", "1.2.3.4, 10.0.0.7", trusted) == "1.2.3.4"
    assert client_address("127.0.0.1", "1.2.3.4", []) == "127.0.0.1"  # none by default
    with pytest.raises(ConfigError, match="PERUQA_TRUSTED_PROXIES"):
        get_settings(trusted_proxies=["not-an-address"])  # checked once, by Settings


def test_spoofed_forwarded_for_does_not_buy_a_new_allowance(settings: Settings) -> None:
    with client_for(settings, rate_limit_per_minute=2.0, rate_limit_burst=2) as client:
        statuses = [
            client.post(
                "/ask", json={"question": QUESTION}, headers={"X-Forwarded-For": f"9.9.9.{n}"}
            ).status_code
            for n in range(4)
        ]
    assert statuses == [200, 200, 429, 429]


def test_host_header_is_not_echoed_into_redirects(client: TestClient) -> None:
    response = client.post(
        "/ask/",
        json={"question": QUESTION},
        headers={"Host": "evil.example"},
        follow_redirects=False,
    )
    assert response.status_code == 404
    assert "evil.example" not in response.headers.get("location", "")
    assert "evil.example" not in response.text


def test_docs_work_offline_and_list_only_the_json_api(client: TestClient) -> None:
    page = client.get("/docs")
    assert page.status_code == 200
    scripts = re.findall(r'src="([^"]+)"', page.text) + re.findall(r'href="([^"]+)"', page.text)
    assert scripts and all(url.startswith("/") for url in scripts), scripts
    assert client.get("/docs-assets/swagger-ui-bundle.js").status_code == 200
    assert "https:" not in page.headers["content-security-policy"]
    paths = set(client.get("/openapi.json").json()["paths"])
    assert {"/ask", "/feedback", "/health", "/ready"} <= paths
    assert not paths & {"/", "/documents/{doc_id}", "/feedback/form", "/metrics"}


# -- one request, one question -----------------------------------------------------------


class CountingEmbedder(FakeEmbedder):
    def __init__(self) -> None:
        super().__init__()
        self.queries = 0

    def embed_queries(self, texts: Any) -> Any:
        self.queries += len(texts)
        return super().embed_queries(texts)


def test_no_js_thread_re_renders_earlier_turns_without_asking_again(settings: Settings) -> None:
    embedder = CountingEmbedder()
    app = create_app(settings.model_copy(update={"cache_size": 0}), embedder)
    with TestClient(app) as client:
        first = client.post("/", data={"question": QUESTION})
        turns = re.findall(r'name="turn" value="([^"]+)"', first.text)
        assert len(turns) == 1
        asked = embedder.queries
        second = client.post(
            "/",
            data={
                "question": "What are farmers building?",
                "turn": [t.replace("&#34;", '"') for t in turns],
            },
        )
        assert embedder.queries == asked + 1  # the new question only
        # Two turns in the thread (the page's <template> holds one more, empty, for the script).
        assert second.text.count('<article class="turn"') - 1 == 2
        assert "1991" in second.text  # the earlier answer, from the form, not the model
        # A forged turn is never shown (tests/web/test_forged_turns.py), let alone run.
        forged = json.loads(turns[0].replace("&#34;", '"').rsplit(".", 2)[0])
        forged["answer"] = "<script>alert(1)</script>"
        third = client.post("/", data={"question": "", "turn": [json.dumps(forged)]})
        assert "alert(1)" not in third.text


def test_long_questions_are_answered_with_a_notice(client: TestClient) -> None:
    long = "When did the agency open an office in Cusco " + "please " * 60 + "?"
    body = client.post("/ask", json={"question": long}).json()
    assert body["notice"] and "32" in body["notice"]
    assert client.post("/ask", json={"question": QUESTION}).json()["notice"] is None


def test_top_k_setting_reaches_ask(settings: Settings) -> None:
    with client_for(settings, top_k=1) as client:
        body = client.post("/ask", json={"question": QUESTION}).json()
    assert len(body["citations"]) == 1


def test_page_takes_its_limits_from_settings(settings: Settings) -> None:
    with client_for(settings, max_question_chars=300) as client:
        assert 'maxlength="300"' in client.get("/").text
        response = client.post("/ask", json={"question": "x " * 200})
    assert "300" in assert_error_shape(response, 422)


# -- settings errors and the report ------------------------------------------------------


@pytest.mark.parametrize(
    ("env", "args", "mentions"),
    [
        ({"PERUQA_API_KEYS": "[not json"}, ["serve"], "PERUQA_API_KEYS"),
        ({"PERUQA_CORS_ORIGINS": "{"}, ["serve"], "PERUQA_CORS_ORIGINS"),
        ({}, ["serve", "--port", "99999"], "99999"),
        ({"PERUQA_ADMIN_TOKEN": "short"}, ["serve"], "PERUQA_ADMIN_TOKEN"),
        ({"PERUQA_TRUSTED_PROXIES": '["lb.local"]'}, ["serve", "--workers", "2"], "lb.local"),
        ({"PERUQA_RATE_LIMIT_STORAGE": "mongo://x"}, ["serve"], "PERUQA_RATE_LIMIT_STORAGE"),
    ],
)
def test_startup_settings_errors_are_one_line(
    env: dict[str, str], args: list[str], mentions: str
) -> None:
    result = CliRunner().invoke(main, args, env=env)
    assert result.exit_code != 0
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert any(mentions in line for line in lines), result.output
    assert "Traceback" not in result.output and len(lines) <= 3


def test_port_in_use_is_one_line(settings: Settings) -> None:
    import socket

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = CliRunner().invoke(main, ["serve", "--port", str(port), "--workers", "2"])
    assert result.exit_code == 1
    assert "already in use" in result.output and "Traceback" not in result.output


def test_ask_with_non_utf8_bytes_is_one_line(settings: Settings) -> None:
    env = {"PERUQA_MODEL": "fake", "PERUQA_INDEX_DIR": str(settings.index_dir)}
    result = CliRunner().invoke(main, ["ask", "caf\udce9?"], env=env)
    assert result.exit_code == 1
    assert "UTF-8" in result.output and "Traceback" not in result.output


def test_report_on_a_generated_log_shows_the_top_declined_questions(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    day = datetime(2026, 11, 1, tzinfo=UTC)
    lines = []
    for n, (question, declined, times) in enumerate(
        [
            ("Who runs the Puno water office?", True, 7),
            ("What is the capital of Mongolia?", True, 3),
            ("When did the agency open an office in Cusco?", False, 9),
        ]
    ):
        for i in range(times):
            when = (day + timedelta(days=(n + i) % 3)).isoformat()
            lines.append(json.dumps({"time": when, "question": question, "abstained": declined}))
    (data / "queries.log").write_text("\n".join(lines) + "\nnot json\n", encoding="utf-8")
    FeedbackStore.in_folder(data).add(
        "When did the agency open an office in Cusco?",
        "In 1991.",
        False,
        "outdated",
        "en",
        build="b1",
        doc_id="002-icrc-peru",
        confidence=0.7,
    )
    svg = tmp_path / "days.svg"
    result = CliRunner().invoke(
        main, ["report", "--data-dir", str(data), "--top", "2", "--svg", str(svg)]
    )
    assert result.exit_code == 0, result.output
    gaps = result.output.split("Most declined (content gaps):")[1].split("\n\n")[0]
    assert gaps.splitlines()[1:] == [
        "      7  Who runs the Puno water office?",
        "      3  What is the capital of Mongolia?",
    ]
    assert "outdated [002-icrc-peru]: When did the agency open an office in Cusco?" in result.output
    assert "Questions: 19, declined: 10" in result.output
    assert svg.read_text().startswith("<svg") and svg.read_text().count("<rect") == 3


def test_feedback_records_build_document_and_confidence(client: TestClient) -> None:
    body = {
        "question": QUESTION,
        "answer": "1991",
        "helpful": False,
        "reason": "wrong",
        "doc_id": "red-cross",
        "confidence": 0.42,
    }
    assert client.post("/feedback", json=body).status_code == 201
    build_id = client.get("/ready").json()["build_id"]
    store: FeedbackStore = client.app.state.context.feedback  # type: ignore[attr-defined]
    record = store.list()[-1]
    assert (record.build, record.doc_id, record.confidence) == (build_id, "red-cross", 0.42)


def test_a_worker_warms_its_model_before_a_hot_reload_serves(
    settings: Settings, tmp_path: Path
) -> None:
    # The worker starts before any index exists, so nothing warmed it at start; its first
    # index comes by reload, and the model must have run once before that index serves.
    class Watching(FakeEmbedder):
        def __init__(self) -> None:
            super().__init__()
            self.served_when_first_run: bool | None = None
            self.service: Any = None

        def embed_queries(self, texts: Any) -> Any:
            if self.served_when_first_run is None:
                self.served_when_first_run = self.service.current is not None
            return super().embed_queries(texts)

    embedder = Watching()
    empty = settings.model_copy(
        update={"index_dir": tmp_path / "later", "admin_token": TOKEN, "index_watch_s": 0.0}
    )
    app = create_app(empty, embedder)
    embedder.service = app.state.context.service
    with TestClient(app, client=("127.0.0.1", 50000)) as client:
        assert client.get("/ready").status_code == 503
        assert embedder.served_when_first_run is None  # no model run without an index
        build(empty, FakeEmbedder())
        reply = client.post("/admin/reload", headers={"Authorization": f"Bearer {TOKEN}"})
        assert reply.status_code == 200
    assert embedder.served_when_first_run is False
