"""Fair admission: the queue in front of the model, alone and under a slow-question attack."""

from __future__ import annotations

import asyncio
import statistics
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

import httpx
import numpy as np
import pytest

from peruqa.config import Settings
from peruqa.errors import AnswerTimeoutError, OverloadedError, TooManyPendingError
from peruqa.index.embedding import FakeEmbedder, question_tokens
from peruqa.qa.question import bound_question
from peruqa.web.admission import Admission
from peruqa.web.app import create_app

# -- the queue alone ---------------------------------------------------------------------


def run(coroutine: Any) -> Any:
    return asyncio.run(coroutine)


def test_waiting_questions_are_served_round_robin_across_addresses() -> None:
    order: list[str] = []

    def job(name: str) -> Callable[[], str]:
        def work() -> str:
            time.sleep(0.02)
            order.append(name)
            return name

        return work

    async def scenario() -> None:
        admission = Admission(threads=1, queue_max=10, per_client=4, timeout_s=5)
        tasks = [asyncio.create_task(admission.run("a", job(f"a{n}"))) for n in range(4)]
        await asyncio.sleep(0)  # a's burst is queued before b arrives
        tasks.append(asyncio.create_task(admission.run("b", job("b0"))))
        await asyncio.gather(*tasks)

    run(scenario())
    # b waits only for the question already running, not for a's burst.
    assert order.index("b0") == 1, order


def test_one_address_gets_only_its_share_of_the_queue() -> None:
    async def scenario() -> None:
        admission = Admission(threads=1, queue_max=10, per_client=2, timeout_s=5)
        held = [asyncio.create_task(admission.run("a", lambda: time.sleep(0.05))) for _ in range(2)]
        await asyncio.sleep(0)
        with pytest.raises(TooManyPendingError) as refused:
            await admission.run("a", lambda: None)
        assert refused.value.retry_after >= 1
        await admission.run("b", lambda: None)  # another address is still welcome
        await asyncio.gather(*held)

    run(scenario())


def test_a_question_that_would_wait_past_the_timeout_is_refused_at_once() -> None:
    async def scenario() -> None:
        admission = Admission(threads=1, queue_max=10, per_client=10, timeout_s=1.0)
        admission._cost_s = 0.4  # recent questions took 0.4 s each
        # One runs, one waits: a third would be done after 3 x 0.4 s, past the 1 s timeout.
        held = [asyncio.create_task(admission.run("a", lambda: time.sleep(0.05))) for _ in range(2)]
        await asyncio.sleep(0)
        with pytest.raises(OverloadedError) as refused:
            await admission.run("a", lambda: None)
        # Refused at once: neither question ahead of it has finished yet.
        assert not any(task.done() for task in held)
        assert refused.value.retry_after >= 1
        await asyncio.gather(*held)

    run(scenario())


def test_timed_out_and_cancelled_questions_never_start() -> None:
    started: list[str] = []

    def work(name: str) -> Callable[[], None]:
        def body() -> None:
            started.append(name)
            time.sleep(0.3)

        return body

    async def scenario() -> None:
        admission = Admission(threads=1, queue_max=10, per_client=10, timeout_s=0.2)
        first = asyncio.create_task(admission.run("a", work("first")))
        await asyncio.sleep(0)
        late = asyncio.create_task(admission.run("b", work("late")))
        gone = asyncio.create_task(admission.run("c", work("gone")))
        await asyncio.sleep(0.01)
        gone.cancel()  # the client went away
        for task in (first, late):
            with pytest.raises(AnswerTimeoutError):
                await task
        await asyncio.sleep(0.2)  # "first" finishes; nothing else may start after it

    run(scenario())
    assert started == ["first"]


def _estimate(text: str) -> int:
    return question_tokens(FakeEmbedder(), text)


def test_long_questions_are_cut_to_the_word_budget() -> None:
    question = " ".join(f"word{n}" for n in range(100))
    cut, truncated = bound_question(question, 32, 1000, _estimate)
    assert truncated and len(cut.split()) == 32
    assert bound_question("When did it open?", 32, 64, _estimate) == ("When did it open?", False)
    cut, truncated = bound_question("x" * 900, 32, 1000, _estimate)  # one "word", no spaces
    assert truncated and len(cut) == 32 * 8


@pytest.mark.parametrize("rare", ["字", "ñ", "😀", "ꙮ"])
def test_a_question_of_rare_characters_is_cut_to_the_token_budget(rare: str) -> None:
    # 256 characters pass the word and character cuts, but each is about a token.
    cut, truncated = bound_question(rare * 256, 32, 64, _estimate)
    assert truncated and 0 < _estimate(cut) <= 64
    assert len(cut) < 256
    # Ordinary questions of 32 words stay whole.
    spanish = " ".join(["¿Cuántos", "centros", "de", "salud", "atendió", "el", "programa"] * 4)
    assert bound_question(spanish, 32, 64, _estimate) == (spanish, False)


def test_the_token_bound_counts_with_the_model_when_it_can() -> None:
    class Counting(FakeEmbedder):
        def token_count(self, text: str) -> int:
            return 3 * len(text.split())

    assert question_tokens(Counting(), "one two three") == 9
    cut, truncated = bound_question("a b c d e f g h", 32, 12, Counting().token_count)
    assert truncated and cut == "a b c d"


# -- the attack, over real HTTP from two loopback addresses -----------------------------


class CostlyEmbedder(FakeEmbedder):
    """Costs 5 ms per word of the question, like a model whose cost grows with tokens
    (sleeping, so the test measures queueing without burning the CPU others need). Notes
    when each question starts and ends, so the test can tell the order they ran in."""

    def __init__(self) -> None:
        super().__init__()
        self.events: list[tuple[float, str, str]] = []  # (time, "start" or "end", text)
        self._lock = threading.Lock()

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        with self._lock:
            self.events.extend((time.perf_counter(), "start", text) for text in texts)
        time.sleep(0.005 * sum(len(text.split()) for text in texts))
        with self._lock:
            self.events.extend((time.perf_counter(), "end", text) for text in texts)
        return super().embed_queries(texts)

    def attacker_events(self, kind: str, after: float, before: float) -> int:
        with self._lock:
            return sum(
                1
                for at, what, text in self.events
                if what == kind and after < at < before and "Cusco (" not in text
            )


LONG = ("Which organisations worked on water, health and glaciers in Cusco " * 20)[:1000]
VISITOR_QUESTIONS = 12


def _client(base: str, address: str) -> httpx.Client:
    transport = httpx.HTTPTransport(local_address=address)
    return httpx.Client(base_url=base, transport=transport, timeout=30)


def test_one_address_burst_of_long_questions_does_not_starve_another(
    settings: Settings, serve_app: Callable[[Any], str]
) -> None:
    """Order, not speed: a visitor's question waits only for the attacker's question already
    running, never for the attacker's queued burst; /health and static files never wait
    behind questions. The time each takes is a figure of ``make bench``
    (bench/serving_order.py), since it depends on the machine."""
    embedder = CostlyEmbedder()
    app = create_app(settings.model_copy(update={"query_log": False}), embedder)
    threads_per_worker = app.state.context.settings.answer_threads
    base = serve_app(app)
    stop = threading.Event()
    attacker_statuses: list[int] = []

    def attacker() -> None:
        with _client(base, "127.0.0.2") as client:
            while not stop.is_set():
                response = client.post("/ask", json={"question": f"{time.time()} {LONG}"})
                attacker_statuses.append(response.status_code)
                if response.status_code == 429:
                    time.sleep(0.05)

    threads = [threading.Thread(target=attacker) for _ in range(30)]
    for thread in threads:
        thread.start()
    while len(attacker_statuses) < 5:  # the burst is in: some refused, the rest queued
        time.sleep(0.05)
    statuses: list[int] = []
    overtaken: list[int] = []  # attacker questions that started after each visitor's did
    finished_meanwhile: list[int] = []  # attacker questions answered during a /health call
    with _client(base, "127.0.0.3") as visitor, _client(base, "127.0.0.4") as monitor:
        for n in range(VISITOR_QUESTIONS):
            question = f"When did the agency open an office in Cusco ({n})?"
            sent = time.perf_counter()
            if n % 3 == 0:
                response = visitor.get("/", params={"q": question})
            elif n % 3 == 1:
                response = visitor.post("/", data={"question": question})
            else:
                response = visitor.post("/ask", json={"question": question})
            statuses.append(response.status_code)
            started = next(
                at for at, what, text in embedder.events if what == "start" and f"({n})" in text
            )
            overtaken.append(embedder.attacker_events("start", sent, started))
            for path in ("/health", "/static/style.css", "/ready"):
                asked = time.perf_counter()
                assert monitor.get(path).status_code == 200
                finished_meanwhile.append(
                    embedder.attacker_events("end", asked, time.perf_counter())
                )
    stop.set()
    for thread in threads:
        thread.join()
    assert set(statuses) == {200}, statuses
    # Only the questions running when the visitor's arrived may go first: one per answer
    # thread, one more when a running one ended while the request was still being read.
    assert max(overtaken) <= threads_per_worker + 1, overtaken
    # Waiting behind the queued burst would mean several answers finish during each call.
    assert statistics.median(finished_meanwhile) == 0, finished_meanwhile
    # The attacker was kept to its share: most of its burst was refused, not queued.
    assert 429 in attacker_statuses


def test_eight_staff_threads_are_never_refused(
    settings: Settings, serve_app: Callable[[Any], str]
) -> None:
    # Staff scripts send several questions at once from one address; with a key they
    # get their own share of the queue (16 by default) instead of a visitor's 4.
    key = "staff-key-for-scripts"
    app = create_app(
        settings.model_copy(update={"query_log": False, "api_keys": [key], "cache_size": 0}),
        CostlyEmbedder(),
    )
    base = serve_app(app)
    statuses: list[int] = []
    lock = threading.Lock()

    def staff(number: int) -> None:
        with httpx.Client(base_url=base, timeout=30, headers={"X-API-Key": key}) as client:
            for turn in range(10):
                question = f"When did the agency open an office in Cusco ({number}, {turn})?"
                response = client.post("/ask", json={"question": question})
                with lock:
                    statuses.append(response.status_code)

    threads = [threading.Thread(target=staff, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(statuses) == 80 and set(statuses) == {200}, sorted(set(statuses))
    # A visitor from the same address still has a visitor's share.
    with httpx.Client(base_url=base, timeout=30) as visitor:
        assert visitor.post("/ask", json={"question": "When did it open?"}).status_code == 200
