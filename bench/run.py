"""PeruQA benchmark: ``make bench`` (or ``.venv/bin/python bench/run.py``).

Prints, and saves to bench/results.txt:
  1. in process: latency, CPU seconds per query, the split of one query, cache hits, RSS;
  2. over real HTTP against ``peruqa serve --workers 2`` on 127.0.0.1: ready time, latency
     p50/p95/p99 and throughput at concurrency 1, 8 and 32 on unseen questions, cache hits
     separately, RSS per worker, server CPU per request;
  3. index build throughput with the default model;
  4. search time against index size (10k, 100k, 1M synthetic vectors, dim 384), flat
     against HNSW, with recall@10 of HNSW against flat;
  5. what the integrity checks add to loading a 100k-chunk index (synthetic vectors);
and a table of each figure against its target. Options: ``--quick`` (smaller sizes, for
trying the script), ``--max-size N`` (largest synthetic index), ``--only-load-checks``.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import platform
import queue
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import faiss
import numpy as np
import psutil

ROOT = Path(__file__).resolve().parents[1]
EVAL_FILES = [
    ROOT / "eval" / "dev_qa.jsonl",
    ROOT / "eval" / "heldout_qa.jsonl",
    ROOT.parent / "shared" / "eval" / "seed_qa.jsonl",
]
RESULTS = ROOT / "bench" / "results.txt"

_lines: list[str] = []


def out(line: str = "") -> None:
    print(line, flush=True)
    _lines.append(line)


# -- questions ------------------------------------------------------------------------

PREFIXES_EN = [
    "",
    "Please tell me: ",
    "According to the reports, ",
    "Quick question - ",
    "I would like to know: ",
    "From the NGO documents, ",
    "Can you check: ",
    "Staff query: ",
]
SUFFIXES_EN = ["", " Thanks.", " Please cite the source.", " (for a briefing)", " Briefly."]
PREFIXES_ES = ["", "Por favor: ", "Según los informes, ", "Una pregunta: ", "Quisiera saber: "]
SUFFIXES_ES = ["", " Gracias.", " Cite la fuente, por favor.", " (para un informe)"]
EXTRA_TEMPLATES = [
    "What does the report say about {topic} in {place}?",
    "How many people benefited from {topic} projects in {place}?",
    "Which organisation works on {topic} in {place}?",
    "¿Qué dice el informe sobre {topic} en {place}?",
    "¿Quién trabaja en {topic} en {place}?",
]
TOPICS = ["water", "health", "education", "gender violence", "mining", "migration", "climate"]
PLACES = ["Cusco", "Ayacucho", "Puno", "Lima", "the VRAEM", "Loreto", "Huancavelica", "Piura"]


def load_questions() -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    for path in EVAL_FILES:
        if not path.is_file():
            continue
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                record = json.loads(line)
                found.append((str(record.get("lang", "en")), str(record["question"])))
    return found


def question_pool(count: int, seed: int = 7) -> list[str]:
    """``count`` distinct questions (distinct after case folding, as the cache keys them)."""
    rng = random.Random(seed)
    base = load_questions()
    pool: list[str] = []
    seen: set[str] = set()

    def add(text: str) -> None:
        key = " ".join(text.split()).casefold()
        if key not in seen:
            seen.add(key)
            pool.append(text)

    for _, question in base:
        add(question)
    attempts = 0
    while len(pool) < count and attempts < count * 50:
        attempts += 1
        if rng.random() < 0.8 and base:
            lang, question = rng.choice(base)
            prefixes, suffixes = (
                (PREFIXES_ES, SUFFIXES_ES) if lang == "es" else (PREFIXES_EN, SUFFIXES_EN)
            )
            text = rng.choice(prefixes) + question + rng.choice(suffixes)
            if rng.random() < 0.3:
                text = text.lower()
            add(text)
        else:
            template = rng.choice(EXTRA_TEMPLATES)
            add(template.format(topic=rng.choice(TOPICS), place=rng.choice(PLACES)))
    rng.shuffle(pool)
    return pool[:count]


# -- statistics -----------------------------------------------------------------------


def pct(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    rank = q / 100 * (len(ordered) - 1)
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


@dataclass
class Target:
    name: str
    measured: str
    target: str
    ok: bool | None  # None: not measured


targets: list[Target] = []


def check(name: str, measured: str, target: str, ok: bool | None) -> None:
    targets.append(Target(name, measured, target, ok))


# -- 1. in process --------------------------------------------------------------------


@dataclass
class InProcess:
    p50_ms: float
    cpu_s_per_query: float


def bench_in_process(questions: list[str], index_dir: Path) -> InProcess:
    from peruqa.config import get_settings
    from peruqa.qa.service import QAService

    out("== In process (QAService, default settings, 1 inference thread) ==")
    started = time.perf_counter()
    service = QAService(get_settings(index_dir=index_dir))
    service.load()
    load_s = time.perf_counter() - started
    for warm in ("Warm-up question one?", "¿Pregunta de calentamiento?", "warm up three"):
        service.ask(warm)
    latencies: list[float] = []
    embed: list[float] = []
    search: list[float] = []
    answer: list[float] = []
    first_stage = 0  # questions the cascade's fast model answered without the main model
    reads = _count_reads(service)  # one entry per question the reader read
    cpu_start = time.process_time()
    for question in questions:
        t0 = time.perf_counter()
        reply = service.ask(question)
        latencies.append((time.perf_counter() - t0) * 1000)
        first_stage += reply.stage == "first"
        timings = reply.timings
        assert timings is not None
        embed.append(timings.embed_ms)
        search.append(timings.search_ms)
        answer.append(timings.answer_ms)
    cpu_per_query = (time.process_time() - cpu_start) / len(questions)
    hits: list[float] = []
    for question in questions:
        t0 = time.perf_counter()
        service.ask(question)
        hits.append((time.perf_counter() - t0) * 1000)
    rss_mb = psutil.Process().memory_info().rss / 2**20
    p50 = statistics.median(latencies)
    out(f"service load (model + index): {load_s:.2f} s;  RSS {rss_mb:.0f} MB")
    out(
        f"{len(questions)} unseen questions: p50 {p50:.1f} ms  p95 {pct(latencies, 95):.1f} ms"
        f"  p99 {pct(latencies, 99):.1f} ms;  CPU {cpu_per_query * 1000:.1f} ms/query"
    )
    out(
        f"split of one query (median): embed {statistics.median(embed):.2f} ms, "
        f"search {statistics.median(search):.2f} ms, answer {statistics.median(answer):.2f} ms"
        f" (means {statistics.fmean(embed):.2f} / {statistics.fmean(search):.2f} / "
        f"{statistics.fmean(answer):.2f})"
    )
    out(f"answered by the cascade's first stage alone: {first_stage / len(questions):.0%}")
    out(f"read by the reader: {len(reads) / len(questions):.0%} of unseen questions")
    reader_ms = bench_reader(service)
    out(f"cache hits: p50 {statistics.median(hits):.3f} ms  p99 {pct(hits, 99):.3f} ms")
    out()
    check(
        "cache hit (in process)",
        f"{statistics.median(hits):.3f} ms p50, {pct(hits, 99):.3f} ms p99",
        "p99 < 2 ms",
        pct(hits, 99) < 2.0,
    )
    check("RSS in process", f"{rss_mb:.0f} MB", "< 1024 MB", rss_mb < 1024)
    check(
        "mean CPU per unseen question",
        f"{cpu_per_query * 1000:.1f} ms (reader {reader_ms:.1f} ms a call)",
        "<= 60 ms",  # with the reader's reads (issue 21)
        cpu_per_query * 1000 <= 60.0,
    )
    return InProcess(p50, cpu_per_query)


def _count_reads(service: Any) -> list[None]:
    """A list that grows by one each time the served reader reads (the service keeps no
    such count: nothing in serving needs it)."""
    calls: list[None] = []
    reading = service.snapshot.answerer.reading
    if reading is not None:
        score = reading.reader.score

        def counted(question: str, sentences: Any) -> Any:
            calls.append(None)
            return score(question, sentences)

        reading.reader.score = counted
    return calls


def bench_reader(service: Any) -> float:
    """The reader's own cost: one call over READ_TOP typical sentences, one thread."""
    from peruqa.qa.question import analyse
    from peruqa.qa.reader import Reader
    from peruqa.qa.reading import READ_TOP, reader_inputs

    reading = service.snapshot.answerer.reading
    if reading is None:
        out("reader: not called when serving (its fit found it does not pay, or it is off)")
    reader = reading.reader if reading is not None else Reader.load()
    snapshot = service.snapshot
    question = "¿Desde cuándo trabaja la organización en el Perú?"
    retrieval = snapshot.retriever.retrieve(snapshot.retriever.embed(analyse(question)), 5)
    decision = snapshot.answerer.decider.decide(retrieval)
    sentences, before = reader_inputs(decision.ranked[:READ_TOP])
    costs = []
    for _ in range(30):
        cpu = time.process_time()
        reader.score(question, sentences, before)
        costs.append((time.process_time() - cpu) * 1000)
    out(
        f"reader, one call over {len(sentences)} sentences: "
        f"CPU mean {statistics.fmean(costs):.1f} ms"
        f"  p95 {pct(costs, 95):.1f} ms"
    )
    # Served, a read adds to a question's cost only when the reader is called.
    return statistics.fmean(costs) if reading is not None else 0.0


# -- 2. over HTTP ---------------------------------------------------------------------


class Server:
    def __init__(self, workers: int, data_dir: Path, index_dir: Path) -> None:
        import socket

        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = int(sock.getsockname()[1])
        env = {
            **os.environ,
            "HF_HUB_OFFLINE": "1",
            # One client address sends everything here, standing in for many visitors: the
            # rate limit and the per-address queue share are for the internet.
            "PERUQA_RATE_LIMIT_PER_MINUTE": "0",
            "PERUQA_QUEUE_PER_CLIENT": "64",
            "PERUQA_DATA_DIR": str(data_dir),
            "PERUQA_INDEX_DIR": str(index_dir),
        }
        self.started = time.perf_counter()
        self.process = subprocess.Popen(
            [
                str(ROOT / ".venv" / "bin" / "peruqa"),
                "serve",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--workers",
                str(workers),
            ],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        self.workers = workers

    def wait_ready(self, timeout: float = 60.0) -> float:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited: {self.process.stderr.read()!r}")  # type: ignore[union-attr]
            try:
                status, body = request(self.port, "GET", "/health", None, timeout=1.0)
                if status == 200 and json.loads(body).get("index_loaded"):
                    return time.perf_counter() - self.started
            except OSError:
                pass
            time.sleep(0.02)
        raise RuntimeError("server did not become ready")

    def worker_processes(self) -> list[psutil.Process]:
        parent = psutil.Process(self.process.pid)
        children = parent.children(recursive=True)
        # uvicorn's supervisor spawns the workers and a resource tracker; keep the workers.
        workers = [c for c in children if "spawn_main" in " ".join(c.cmdline())]
        return workers or [parent]

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()


def request(
    port: int, method: str, path: str, body: bytes | None, timeout: float = 30.0
) -> tuple[int, bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        connection.request(method, path, body, {"Content-Type": "application/json"})
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


@dataclass
class LoadResult:
    latencies_ms: list[float]
    failures: int
    seconds: float

    @property
    def rps(self) -> float:
        return len(self.latencies_ms) / self.seconds


def run_load(port: int, questions: list[str], concurrency: int) -> LoadResult:
    """``concurrency`` keep-alive clients (http.client: light on the shared CPU)."""
    work: queue.Queue[str] = queue.Queue()
    for question in questions:
        work.put(question)
    latencies: list[float] = []
    failures = 0
    lock = threading.Lock()

    def client() -> None:
        nonlocal failures
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        headers = {"Content-Type": "application/json"}
        while True:
            try:
                question = work.get_nowait()
            except queue.Empty:
                break
            body = json.dumps({"question": question}).encode()
            t0 = time.perf_counter()
            try:
                connection.request("POST", "/ask", body, headers)
                response = connection.getresponse()
                response.read()
                ok = response.status == 200
            except (OSError, http.client.HTTPException):
                ok = False
                connection.close()
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            elapsed = (time.perf_counter() - t0) * 1000
            with lock:
                if ok:
                    latencies.append(elapsed)
                else:
                    failures += 1
        connection.close()

    threads = [threading.Thread(target=client) for _ in range(concurrency)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return LoadResult(latencies, failures, time.perf_counter() - started)


def bench_http(
    pool: list[str], in_process: InProcess, sizes: dict[int, int], index_dir: Path
) -> None:
    out("== Over HTTP: peruqa serve --workers 2 on 127.0.0.1 (keep-alive clients) ==")
    data_dir = Path(tempfile.mkdtemp(prefix="peruqa-bench-data-"))
    server = Server(workers=2, data_dir=data_dir, index_dir=index_dir)
    try:
        ready = server.wait_ready()
        # Both workers must be up before timing; the first may answer alone for a moment.
        time.sleep(1.0)
        out(f"ready to serve (start -> first /health with index loaded): {ready:.2f} s")
        check("ready to serve after start", f"{ready:.2f} s", "< 5 s", ready < 5.0)
        run_load(server.port, ["warm up one?", "warm up two?", "warm up 3?", "warm 4"], 4)
        offset = 0
        results: dict[int, LoadResult] = {}
        workers = server.worker_processes()
        for concurrency, count in sizes.items():
            batch = pool[offset : offset + count]
            offset += count
            cpu_before = sum(sum(p.cpu_times()[:2]) for p in workers)
            client_before = time.process_time()
            result = run_load(server.port, batch, concurrency)
            client_cpu = (time.process_time() - client_before) / max(len(batch), 1) * 1000
            cpu_after = sum(sum(p.cpu_times()[:2]) for p in workers)
            results[concurrency] = result
            lat = result.latencies_ms
            server_cpu = (cpu_after - cpu_before) / max(len(lat), 1) * 1000
            out(
                f"c={concurrency:<3} {len(lat):>4} unseen: p50 {pct(lat, 50):7.1f} ms  "
                f"p95 {pct(lat, 95):7.1f} ms  p99 {pct(lat, 99):7.1f} ms  "
                f"{result.rps:6.1f} req/s  failed {result.failures}  "
                f"CPU/req: server {server_cpu:.1f} ms, load generator {client_cpu:.1f} ms; "
                f"server used {(cpu_after - cpu_before) / result.seconds:.2f} cores"
            )
        # Cache hits: the c=1 questions again (each worker has its own cache, so ask twice).
        first = pool[: sizes[1]]
        run_load(server.port, first, 2)
        hits = run_load(server.port, first, 1)
        out(
            f"cache hits over HTTP (c=1, repeated questions): p50 {pct(hits.latencies_ms, 50):.2f}"
            f" ms  p99 {pct(hits.latencies_ms, 99):.2f} ms"
        )
        rss = [p.memory_info().rss / 2**20 for p in workers]
        out(f"RSS per worker process: {', '.join(f'{r:.0f} MB' for r in rss)}")
        out(
            f"query log written by the workers: {(data_dir / 'queries.log').stat().st_size} bytes"
            if (data_dir / "queries.log").exists()
            else "query log: none written"
        )
        out()
        c1 = results[1]
        check(
            "HTTP p95 at c=1 (unseen questions)",
            f"{pct(c1.latencies_ms, 95):.1f} ms",
            "<= 200 ms",  # with the reader's reads (issue 21)
            pct(c1.latencies_ms, 95) <= 200.0,
        )
        gap = pct(c1.latencies_ms, 50) - in_process.p50_ms
        check(
            "HTTP p50 at c=1 vs in process",
            f"{pct(c1.latencies_ms, 50):.1f} vs {in_process.p50_ms:.1f} ms (+{gap:.1f})",
            "within 3 ms",
            gap <= 3.0,
        )
        floor = 2 / in_process.cpu_s_per_query
        c8 = results[8]
        check(
            "throughput at c=8",
            f"{c8.rps:.1f} req/s ({c8.rps / floor:.0%} of {floor:.1f})",
            f">= {0.85 * floor:.1f} req/s (85% of 2/cpu_s)",
            c8.rps >= 0.85 * floor,
        )
        check(
            "failed requests / p99 at c=8",
            f"{c8.failures} / {pct(c8.latencies_ms, 99):.0f} ms",
            "0 / < 1000 ms",
            c8.failures == 0 and pct(c8.latencies_ms, 99) < 1000,
        )
        c32 = results[32]
        check(
            "failed requests at c=32",
            f"{c32.failures} (p99 {pct(c32.latencies_ms, 99):.0f} ms)",
            "0",
            c32.failures == 0,
        )
        check("RSS per worker", f"max {max(rss):.0f} MB", "< 1024 MB", max(rss) < 1024)
    finally:
        server.stop()
        shutil.rmtree(data_dir, ignore_errors=True)


# -- 3. index build -------------------------------------------------------------------


def bench_build(target: Path) -> None:
    import re

    out("== Index build: 'peruqa index' (default settings, both cascade stages) on docs_source ==")
    # A separate process, so the build does not share this process.
    started = time.perf_counter()
    done = subprocess.run(
        [str(ROOT / ".venv" / "bin" / "peruqa"), "index", "--index", str(target)],
        cwd=ROOT,
        env={**os.environ, "HF_HUB_OFFLINE": "1"},
        capture_output=True,
        text=True,
        check=True,
    )
    wall = time.perf_counter() - started
    found = re.search(
        r"Indexed (\d+) documents, (\d+) chunks, (\d+) sentences .* in ([\d.]+) s", done.stdout
    )
    if not found:
        out(f"could not read the build report: {done.stdout[-300:]!r}")
        return
    documents, chunks, sentences = (int(found.group(i)) for i in (1, 2, 3))
    seconds = float(found.group(4))
    out(
        f"{documents} documents, {chunks} chunks + {sentences} sentences embedded in "
        f"{seconds:.1f} s ({wall:.1f} s with process start and model load): "
        f"{chunks / seconds:.1f} chunks/s, {(chunks + sentences) / seconds:.1f} passages/s"
    )
    out()


# -- 3b. library-scale build -------------------------------------------------------------


def bench_library() -> None:
    import library  # bench/library.py, beside this script

    out("== Library-scale build: 'peruqa index', both cascade stages (bench/library.py) ==")
    scratch = Path(tempfile.mkdtemp(prefix="peruqa-library-"))
    try:
        figures = library.measure(scratch)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    for line in figures.lines():
        out(line)
    out()
    full, again = figures.full, figures.incremental
    name = f"library build ({figures.files:,} files)"
    check(
        name,
        f"{full.seconds:.0f} s ({full.cpu_seconds:.0f} s CPU)",
        "<= 180 s",
        full.seconds <= 180,
    )
    check(
        "library build peak RSS",
        f"{full.peak_rss_mb:.0f} MB",
        "< 1024 MB",
        full.peak_rss_mb < 1024,
    )
    embedded = again.figure(library.MAIN_TEXTS)
    check(
        "incremental rebuild (1 document)",
        f"{again.seconds:.1f} s, {embedded} texts embedded",
        f"<= 5 s, <= {figures.changed_texts} texts",
        again.seconds <= 5 and 0 < embedded <= figures.changed_texts,
    )


# -- 4. search against index size ------------------------------------------------------


def synthetic(n: int, centres: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Normalised random vectors around random centres: clustered like real embeddings."""
    dim = centres.shape[1]
    out_rows = np.empty((n, dim), dtype=np.float32)
    for begin in range(0, n, 100_000):
        end = min(n, begin + 100_000)
        rows = centres[rng.integers(0, len(centres), end - begin)]
        noise = rng.standard_normal((end - begin, dim), dtype=np.float32)
        rows = rows + 0.7 * noise / np.sqrt(dim)
        rows /= np.linalg.norm(rows, axis=1, keepdims=True)
        out_rows[begin:end] = rows
    return out_rows


def time_search(index: faiss.Index, queries: np.ndarray) -> tuple[float, np.ndarray]:
    """Median ms per single-vector search (as the service searches), 1 thread."""
    faiss.omp_set_num_threads(1)
    times = []
    ids = np.empty((len(queries), 10), dtype=np.int64)
    for i in range(len(queries)):
        t0 = time.perf_counter()
        _, found = index.search(queries[i : i + 1], 10)
        times.append((time.perf_counter() - t0) * 1000)
        ids[i] = found[0]
    faiss.omp_set_num_threads(2)
    return statistics.median(times), ids


def recall(found: np.ndarray, truth: np.ndarray) -> float:
    return float(
        np.mean([len(set(f) & set(t)) / len(t) for f, t in zip(found, truth, strict=True)])
    )


def bench_search(sizes: list[int], uniform_size: int) -> None:
    from peruqa.index.ann import make_faiss_index, set_ef_search

    dim = 384
    m, ef_construction = 32, 64
    out(
        f"== Search time vs index size (dim {dim}, top 10, single queries, 1 thread; "
        f"HNSW M={m}, efConstruction={ef_construction}, built with 2 threads) =="
    )
    out("vectors: normalised, around 2,000 random centres (clustered like real embeddings)")
    rng = np.random.default_rng(0)
    centres = rng.standard_normal((2_000, dim), dtype=np.float32)
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    queries = synthetic(200, centres, rng)
    out(
        f"{'size':>9}  {'flat ms':>8}  {'HNSW build s':>12}  {'efSearch':>8}  {'HNSW ms':>8}"
        f"  {'recall@10':>9}"
    )
    at_largest: tuple[int, float, float] | None = None
    for n in sizes:
        vectors = synthetic(n, centres, rng)
        flat = make_faiss_index("flat", dim)
        flat.add(vectors)
        flat_ms, _ = time_search(flat, queries)
        _, truth = flat.search(queries, 10)
        del flat
        hnsw = make_faiss_index("hnsw", dim, m=m, ef_construction=ef_construction)
        t0 = time.perf_counter()
        hnsw.add(vectors)
        build_s = time.perf_counter() - t0
        del vectors
        chosen: tuple[int, float, float] | None = None
        for ef in (16, 32, 64, 128, 256, 512, 1024, 2048):
            set_ef_search(hnsw, ef)
            ms, found = time_search(hnsw, queries)
            rec = recall(found, truth)
            chosen = (ef, ms, rec)
            if rec >= 0.95:
                break
        assert chosen is not None
        ef, ms, rec = chosen
        out(f"{n:>9,}  {flat_ms:>8.2f}  {build_s:>12.1f}  {ef:>8}  {ms:>8.3f}  {rec:>9.3f}")
        at_largest = (n, ms, rec)
        del hnsw
    if uniform_size:
        # Worst case: uniform random vectors have no neighbourhood structure at all.
        vectors = rng.standard_normal((uniform_size, dim), dtype=np.float32)
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
        uq = rng.standard_normal((200, dim), dtype=np.float32)
        uq /= np.linalg.norm(uq, axis=1, keepdims=True)
        flat = make_faiss_index("flat", dim)
        flat.add(vectors)
        _, truth = flat.search(uq, 10)
        hnsw = make_faiss_index("hnsw", dim, m=m, ef_construction=ef_construction)
        hnsw.add(vectors)
        set_ef_search(hnsw, 256)
        ms, found = time_search(hnsw, uq)
        out(
            f"worst case, {uniform_size:,} uniform random vectors (no clusters): HNSW efSearch "
            f"256 {ms:.2f} ms at recall@10 {recall(found, truth):.3f} (meaningless neighbours)"
        )
    out()
    if at_largest is not None:
        n, ms, rec = at_largest
        check(
            f"HNSW search at {n:,}",
            f"{ms:.2f} ms at recall@10 {rec:.3f}",
            "< 10 ms at >= 0.95 (1M)",
            (ms < 10 and rec >= 0.95) if n >= 1_000_000 else None,
        )


# -- 5. what the integrity checks add to loading -------------------------------------


def synthetic_library(chunks: int, dim: int) -> Path:
    """A written index of ``chunks`` chunks (five sentences each, one shared with the next,
    as the chunker makes them) over generated documents, with random unit vectors instead of
    a model's, in a scratch folder the caller deletes."""
    from peruqa.config import get_settings
    from peruqa.index.data import (
        ChunkedLibrary,
        chunk_embedding_text,
        index_data_from,
        number_sentences,
        sentence_embedding_text,
    )
    from peruqa.index.embedding import FakeEmbedder
    from peruqa.index.vector_cache import VectorCache
    from peruqa.index.writing import write_parts
    from peruqa.ingest.chunking import Chunk, Sentence
    from peruqa.ingest.documents import Document

    # The synthetic index is written as the fake embedder's; the shipped decision file holds
    # only the real models' weights, the tests' fixture holds the fake one's too.
    settings = get_settings(
        model="fake", decision_model=ROOT / "tests" / "fixtures" / "decision_model.json"
    )
    library = ChunkedLibrary()
    per_document = 200
    for number in range(-(-chunks // per_document)):
        lines = [
            f"Report {number} line {i}: the programme reached {i * 7} families in "
            f"{PLACES[i % len(PLACES)]} working on {TOPICS[i % len(TOPICS)]}."
            for i in range(per_document * 4 + 1)
        ]
        starts = [0]
        for line in lines[:-1]:
            starts.append(starts[-1] + len(line) + 1)
        sentences = [Sentence(a, a + len(t), t) for a, t in zip(starts, lines, strict=True)]
        text = " ".join(lines)
        document = Document(
            f"doc-{number}", f"doc-{number}.md", f"Report {number}", "", "en", text, "0" * 64
        )
        library.documents[document.doc_id] = document
        for k in range(min(per_document, chunks - len(library.chunks))):
            group = tuple(sentences[k * 4 : k * 4 + 5])
            begin, finish = group[0].start, group[-1].end
            chunk = Chunk(
                f"{document.doc_id}:{k}", document.doc_id, begin, finish, text[begin:finish], group
            )
            library.chunks.append(chunk)
            library.chunk_texts.append(chunk_embedding_text(document, chunk))
            for sentence in number_sentences(library.rows, chunk):
                library.sentence_texts.append(sentence_embedding_text(document, sentence))
    cache = VectorCache(dim)
    texts = library.texts(settings.chunk_vectors)
    vectors = np.random.default_rng(1).standard_normal((len(texts), dim), dtype=np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    cache.add(texts, vectors)
    del vectors
    data = index_data_from(library, FakeEmbedder(dim), settings, cache)
    folder = Path(tempfile.mkdtemp(prefix="peruqa-bench-load-")) / "index"
    write_parts(data, folder)
    return folder


def bench_load_checks(chunks: int) -> None:
    """Load time of a large index with every check, and what the checks take of it; the
    load without them is what loading cost before checksums and content checks existed."""
    from peruqa.index.store import check_contents, check_files, load_index, read_manifest

    dim = 384
    out(f"== Index load with integrity checks ({chunks:,} chunks, dim {dim}, synthetic) ==")
    started = time.perf_counter()
    folder = synthetic_library(chunks, dim)
    try:
        size_mb = sum(p.stat().st_size for p in folder.iterdir()) / 1e6
        manifest = read_manifest(folder)
        out(
            f"written in {time.perf_counter() - started:.0f} s: {manifest.chunks:,} chunks, "
            f"{manifest.sentences:,} sentences, {size_mb:,.0f} MB on disk"
        )
        loads, files, contents = [], [], []
        for _round in range(3):  # the first read warms the page cache, as a reload finds it
            t0 = time.perf_counter()
            data = load_index(folder, None)
            loads.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            check_files(folder, manifest)
            files.append(time.perf_counter() - t0)
            assert data.chunk_vectors is not None
            t0 = time.perf_counter()
            check_contents(
                data.faiss_index,
                data.chunk_vectors,
                data.sentence_vectors,
                data.chunks,
                data.documents,
            )
            contents.append(time.perf_counter() - t0)
            del data
        load_s, files_s, contents_s = (statistics.median(x) for x in (loads, files, contents))
        unchecked_s = load_s - files_s - contents_s
        out(
            f"load with checks {load_s:.2f} s (median of 3): SHA-256 of the files {files_s:.2f} s"
            f", vectors and texts {contents_s:.2f} s; without them {unchecked_s:.2f} s"
        )
        ratio = load_s / unchecked_s
        out(f"checking multiplies load time by {ratio:.2f}")
        out()
        check(
            f"index load with checks at {manifest.chunks:,} chunks",
            f"{load_s:.2f} s, x{ratio:.2f} of unchecked",
            "< 2x the unchecked load",
            ratio < 2,
        )
    finally:
        shutil.rmtree(folder.parent, ignore_errors=True)


# -- main -----------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, to try the script")
    parser.add_argument("--max-size", type=int, default=1_000_000)
    parser.add_argument("--skip-search", action="store_true")
    parser.add_argument("--skip-library", action="store_true", help="no library-scale build")
    parser.add_argument(
        "--only-load-checks", action="store_true", help="only what the index checks cost"
    )
    args = parser.parse_args(argv)
    started = time.perf_counter()
    out(
        f"PeruQA benchmark - {time.strftime('%Y-%m-%d %H:%M')} - {platform.machine()}, "
        f"{os.cpu_count()} cores, Python {platform.python_version()}, faiss {faiss.__version__}"
    )
    out(f"load average at start: {', '.join(f'{x:.2f}' for x in os.getloadavg())}")
    out()
    if args.only_load_checks:
        bench_load_checks(10_000 if args.quick else 100_000)
        _report_targets(started, save=False)  # results.txt keeps the whole benchmark
        return 0
    http_sizes = {1: 20, 8: 40, 32: 40} if args.quick else {1: 100, 8: 300, 32: 300}
    pool = question_pool(sum(http_sizes.values()))
    # A fresh index of its own: the benchmark never depends on (or touches) ./index.
    scratch = Path(tempfile.mkdtemp(prefix="peruqa-bench-"))
    index_dir = scratch / "index"
    try:
        bench_build(index_dir)
        in_process = bench_in_process(pool[: http_sizes[1]], index_dir)
        bench_http(pool, in_process, http_sizes, index_dir)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    if not args.skip_library:
        bench_library()
    if not args.skip_search:
        sizes = [s for s in (10_000, 100_000, 1_000_000) if s <= args.max_size]
        bench_search(sizes[:2] if args.quick else sizes, 0 if args.quick else 100_000)
    bench_load_checks(10_000 if args.quick else 100_000)
    _report_targets(started)
    return 0


def _report_targets(started: float, save: bool = True) -> None:
    out("== Targets ==")
    width = max(len(t.name) for t in targets)
    for t in targets:
        verdict = "n/a" if t.ok is None else ("PASS" if t.ok else "MISS")
        out(f"{verdict:<4}  {t.name:<{width}}  {t.measured:<34}  target {t.target}")
    out()
    out(f"load average at end: {', '.join(f'{x:.2f}' for x in os.getloadavg())}")
    out(f"benchmark took {time.perf_counter() - started:.0f} s")
    if save:
        RESULTS.write_text("\n".join(_lines) + "\n", encoding="utf-8")


if __name__ == "__main__":
    sys.exit(main())
