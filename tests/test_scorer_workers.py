"""Scoring workers (issue 14, item 4): the model step behind HTTP, ingest waiting on it, Ray Serve for real.

Fast tests: the wire format's checks on both sides, a real local HTTP server giving bad replies (each an
error, never a score of 0), and ingest against workers that are down (it waits, commits nothing, and
the bounded buffer stops the reader). Slow tests start a real `gitfeed scorer` (Ray Serve on a local
Ray, one CPU, loopback) and run `gitfeed ingest` through it: scores equal to in-process scoring, and a
SIGKILL of the whole worker tier mid-run pauses ingest, which resumes after the restart and ends with
the same database as an uninterrupted run.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import orjson
import pytest

from firehose.classify.features import LINK_FEATURES
from firehose.classify.heads import DEFAULT_HEADS_PATH, Heads
from firehose.classify.lexicon import GROUPS
from firehose.classify.modelstep import ModelInput
from firehose.classify.remote import (
    BadScorerReply,
    RemoteModel,
    RequestRefused,
    encode_reply,
    encode_request,
    heads_checksum,
    parse_reply,
    parse_request,
)
from firehose.classify.scorer import build_scorer
from firehose.ingest import Ingest
from firehose.scoring import ScorerUnavailable
from firehose.settings import load_settings
from firehose.sources.relay import RelaySource
from firehose.store.schema import open_db
from tests.support import framegen as fg
from tests.support.relayserver import RelayServer
from tests.support.scorerproc import RAY_ENV, REPO, ScorerProcess, free_port
from tests.support.stories import ALICE, write_capture

HEADS = Heads.load(DEFAULT_HEADS_PATH)
SUM = heads_checksum(HEADS)
TOPICS = list(HEADS.topics)
ML_TEXT = (
    "We fine-tuned a small LLM with LoRA and the eval loss dropped: paper on arXiv, weights on Hugging Face"
)


def survivors(n: int) -> ModelInput:
    rng = np.random.default_rng(n)
    return ModelInput(
        texts=[f"post {i} about transformers" for i in range(n)],
        lexicon=(rng.random((n, len(GROUPS))) < 0.2).astype(np.float32),
        links=(rng.random((n, len(LINK_FEATURES))) < 0.2).astype(np.float32),
        readable=rng.random(n) < 0.8,
    )


def reply(routes: object, **overrides: object) -> bytes:
    return orjson.dumps({"heads": SUM, "topics": TOPICS, "routes": routes, **overrides})


# ---------------------------------------------------------------------- the wire format


def test_a_request_and_a_reply_survive_the_wire() -> None:
    batch = survivors(5)
    parsed = parse_request(encode_request(batch, SUM), SUM)
    assert list(parsed.texts) == list(batch.texts)
    assert np.array_equal(parsed.lexicon, batch.lexicon) and np.array_equal(parsed.links, batch.links)
    assert np.array_equal(parsed.readable, batch.readable)
    routes = np.random.default_rng(0).random((5, len(TOPICS), 2))
    assert np.array_equal(parse_reply(encode_reply(routes, TOPICS, SUM), 5, TOPICS, SUM), routes)


GOOD_ROW = [[0.25, 0.75]] * len(TOPICS)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"<html>502</html>", "the reply is not JSON"),
        (b'{"scores": []}', "the reply has no routes"),
        (reply([GOOD_ROW]), "1 rows of scores for 2 posts"),
        (reply([GOOD_ROW] * 3), "3 rows of scores for 2 posts"),
        (reply({"a": 1}), "dict rows of scores for 2 posts"),
        (reply([GOOD_ROW, [[0.1, 1.5]] * len(TOPICS)]), "a score outside 0..1"),
        (reply([GOOD_ROW, [[-0.01, 0.2]] * len(TOPICS)]), "a score outside 0..1"),
        (reply([[[0.1]] * len(TOPICS)] * 2), "the reply's row 0 is not 2 pairs of numbers"),
        (reply([GOOD_ROW, [[0.1, 0.2]]]), "row 1 is not 2 pairs of numbers"),
        (reply([GOOD_ROW, [["0.1", 0.2]] * len(TOPICS)]), "row 1 is not 2 pairs of numbers"),
        (reply([GOOD_ROW, [[None, 0.2]] * len(TOPICS)]), "row 1 is not 2 pairs of numbers"),
        (reply([GOOD_ROW, [[True, 0.2]] * len(TOPICS)]), "row 1 is not 2 pairs of numbers"),
        (reply([GOOD_ROW, GOOD_ROW], topics=["ml", "github"]), "scores topics ['ml', 'github']"),
        (reply([GOOD_ROW, GOOD_ROW], heads="0" * 64), "the reply is for heads '000"),
    ],
)
def test_a_bad_reply_is_an_error_never_a_score(body: bytes, message: str) -> None:
    with pytest.raises(BadScorerReply, match=re.escape(message)) as caught:
        parse_reply(body, 2, TOPICS, SUM)
    assert isinstance(caught.value, ScorerUnavailable)  # ingest waits and retries; it never scores 0


@pytest.mark.parametrize(
    ("change", "status", "message"),
    [
        ({"heads": "f" * 64}, 409, "this worker scores with heads"),
        ({"texts": "one text"}, 400, "texts is not a list of strings"),
        ({"texts": ["a", 2, "c"]}, 400, "texts is not a list of strings"),
        ({"texts": ["x" * 8001, "b", "c"]}, 400, "at most 20000 texts of at most 8000 characters"),
        ({"readable": [True, False]}, 400, "readable is not a list of 3 booleans"),
        ({"readable": [1, 0, 1]}, 400, "readable is not a list of 3 booleans"),
        ({"lexicon": [[0.0] * 3] * 3}, 400, f"lexicon is not 3 rows of {len(GROUPS)} numbers"),
        ({"lexicon": [[0.0] * len(GROUPS)] * 2}, 400, f"lexicon is not 3 rows of {len(GROUPS)} numbers"),
        ({"links": [["1"] * len(LINK_FEATURES)] * 3}, 400, f"links is not 3 rows of {len(LINK_FEATURES)}"),
        ({"links": "no"}, 400, "links is not 3 rows"),
        ({"links": [[float("nan")] * len(LINK_FEATURES)] * 3}, 400, "the body is not JSON"),
    ],
)
def test_a_worker_refuses_a_malformed_request(change: dict, status: int, message: str) -> None:
    request = {**orjson.loads(encode_request(survivors(3), SUM)), **change}
    with pytest.raises(RequestRefused, match=re.escape(message)) as caught:
        parse_request(json.dumps(request).encode(), SUM)
    assert caught.value.status == status


# ---------------------------------------------------------------------- the client over real HTTP


@pytest.fixture
def canned_server() -> Iterator[tuple[str, list[tuple[int, bytes]]]]:
    """A local HTTP server that answers each POST with the next (status, body) of a list; a status of
    0 means: say nothing for a second (a stalled worker)."""
    answers: list[tuple[int, bytes]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - the stdlib's name
            self.rfile.read(int(self.headers["content-length"]))
            status, body = answers.pop(0)
            if status == 0:
                time.sleep(1.0)
                return
            self.send_response(status)
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", answers
    server.shutdown()
    server.server_close()


def test_the_client_reads_a_good_reply_and_refuses_a_bad_one(canned_server) -> None:
    url, answers = canned_server
    model = RemoteModel(url, HEADS, timeout=5)
    answers += [(200, reply([GOOD_ROW, GOOD_ROW])), (200, reply([GOOD_ROW]))]
    answers += [(503, b"no replicas"), (409, b'{"error": "other heads"}')]
    assert model.routes(survivors(2)).tolist() == [GOOD_ROW, GOOD_ROW]
    with pytest.raises(BadScorerReply, match=f"scoring workers at {url}: the reply has 1 rows"):
        model.routes(survivors(2))
    with pytest.raises(ScorerUnavailable, match="answered HTTP 503: no replicas"):
        model.routes(survivors(2))
    with pytest.raises(ScorerUnavailable, match="answered HTTP 409: .*other heads"):
        model.routes(survivors(2))
    assert model.routes(survivors(0)).shape == (0, len(TOPICS), 2)  # nothing sent for no survivors
    assert answers == []


def test_a_stalled_worker_is_unavailable_after_the_timeout(canned_server) -> None:
    url, answers = canned_server
    answers.append((0, b""))
    started = time.monotonic()
    with pytest.raises(ScorerUnavailable, match="ReadTimeout"):
        RemoteModel(url, HEADS, timeout=0.2).routes(survivors(2))
    assert time.monotonic() - started < 0.9


def test_workers_that_are_down_are_unavailable_at_once() -> None:
    model = RemoteModel(f"http://127.0.0.1:{free_port()}", HEADS, timeout=5)
    started = time.monotonic()
    with pytest.raises(ScorerUnavailable, match="ConnectError"):
        model.routes(survivors(2))
    assert time.monotonic() - started < 2


def test_the_scorer_url_setting_is_checked() -> None:
    assert load_settings(scorer_url=" http://gpu1:8100/ ").scorer_url == "http://gpu1:8100"
    with pytest.raises(ValueError, match="FEEDGEN_SCORER_URL is the scoring workers' http://HOST:PORT"):
        load_settings(scorer_url="gpu1:8100")


# ---------------------------------------------------------------------- ingest waits, reads no further


def ml_frames(n: int, first_seq: int = 1) -> list[bytes]:
    """Posts that pass the first stage (so every batch has survivors for the workers)."""
    return [
        fg.commit_frame(seq, ALICE, [fg.post_op(fg.tid(1_783_175_888_000_000 + seq), f"{ML_TEXT} #{seq}")])
        for seq in range(first_seq, first_seq + n)
    ]


def test_ingest_waits_on_absent_workers_commits_nothing_and_stops_the_reader(
    db_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    frames = ml_frames(400)
    cfg = load_settings(
        scorer_url=f"http://127.0.0.1:{free_port()}",
        batch_max_events=10,
        batch_max_seconds=0.01,
        backoff_initial_seconds=0.01,
        backoff_max_seconds=0.05,
        receive_timeout_seconds=5,
    )
    scorer = build_scorer(cfg, workers=True)
    assert scorer.embedder is None  # ingest loads no model when the workers score

    async def main() -> tuple[int, int, int]:
        async with RelayServer(frames) as server:
            runner = Ingest(RelaySource(server.url, cfg), open_db(db_path), cfg, scorer, queue_frames=8)
            task = asyncio.create_task(runner.run())
            while runner.stats.scorer_retries < 5:
                await asyncio.sleep(0.01)
            await asyncio.sleep(0.5)  # the reader had all the time it needed to read everything
            read_while_waiting = runner.source.stats.frames
            retries = runner.stats.scorer_retries
            await asyncio.sleep(0.3)
            assert runner.stats.scorer_retries > retries  # still trying, with backoff
            assert runner.stats.scorer_waiting_since is not None
            runner.stop()
            with pytest.raises(ScorerUnavailable):
                await task
            return read_while_waiting, runner.stats.batches, runner.source.stats.frames

    with caplog.at_level(logging.WARNING, logger="firehose.ingest"):
        read, batches, read_at_stop = asyncio.run(main())
    # The bounded buffer (8 frames) plus the batch held by the batcher (10) plus the batch being scored
    # (10): the reader stopped there, however long the workers stay away; the relay keeps the rest.
    assert read <= 8 + 10 + 10 + 1 and read_at_stop <= 8 + 10 + 10 + 1
    assert batches == 0
    db = open_db(db_path)
    assert db.execute("SELECT count(*) FROM sub_state").fetchone()[0] == 0  # the cursor never moved
    assert db.execute("SELECT count(*) FROM posts").fetchone()[0] == 0
    waits = [r.getMessage() for r in caplog.records if "waiting on the scorer" in r.getMessage()]
    assert waits and "nothing committed since (cursor None)" in waits[0] and "ConnectError" in waits[0]


def test_sigterm_while_waiting_on_the_scorer_commits_nothing_and_says_so(tmp_path: Path) -> None:
    capture = write_capture(tmp_path / "ml.bin.zst", ml_frames(50))
    db, log = tmp_path / "gitfeed.db", tmp_path / "ingest.log"
    argv = [sys.executable, "-m", "gitfeed.cli", "ingest", "--source", f"capture:{capture}", "--db", str(db)]
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "FEEDGEN_SCORER_URL": f"http://127.0.0.1:{free_port()}"}
    env |= {"FEEDGEN_BACKOFF_INITIAL_SECONDS": "0.05", "FEEDGEN_BACKOFF_MAX_SECONDS": "0.2"}
    with log.open("wb") as out:
        proc = subprocess.Popen([*argv, "--quiet"], cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while "waiting on the scorer" not in log.read_text() and time.monotonic() < deadline:
        assert proc.poll() is None, log.read_text()
        time.sleep(0.05)
    assert cursor(db) is None  # waiting, nothing committed
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(30) == 1
    output = log.read_text()
    assert "Error: stopped while waiting on the scorer (scoring workers at http://127.0.0.1:" in output
    assert "the batch in flight was not committed, the next start resumes from cursor None" in output
    assert "Traceback" not in output
    assert cursor(db) is None


# ---------------------------------------------------------------------- Ray Serve, for real

N_EVENTS = 12000  # long enough that ingest is still running when the killed workers stop answering
INGEST_ENV = {"FEEDGEN_BATCH_MAX_EVENTS": "60", "FEEDGEN_BATCH_MAX_SECONDS": "0.05", **RAY_ENV}


def real_records() -> list[dict]:
    from firehose.classify.realdata import default_posts_path

    path = default_posts_path(REPO.parent)
    if path is None:
        pytest.skip("shared/corpus/real-posts is absent beside the checkout")
    rows = [json.loads(line) for line in path.open(encoding="utf-8") if line.strip()]
    return [row["record"] for row in rows if row.get("kind") in ("random", "search")]


@pytest.fixture(scope="module")
def real_capture(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A capture of real posts (random sample and search results, so some pass the first stage) with
    likes, reposts, follows and deletes around them."""
    from tests.support.capture_synth import write_synthetic_capture

    path = tmp_path_factory.mktemp("capture") / "real.bin.zst"
    write_synthetic_capture(path, n_events=N_EVENTS, seed=11, posts=real_records())
    return path


@pytest.fixture(scope="module")
def scorer_proc(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ScorerProcess]:
    """One `gitfeed scorer` for the module (its Ray start is the slow part)."""
    pytest.importorskip("ray.serve", reason="Ray Serve: pip install -c constraints.txt -e '.[scorer]'")
    proc = ScorerProcess(tmp_path_factory.mktemp("scorer") / "scorer.log").start()
    yield proc
    assert proc.stop() == 0, proc.output()  # SIGTERM: Serve and Ray taken down, then a clean exit
    assert "scorer: stopped" in proc.output()


def ingest(capture: Path, db: Path, scorer_url: str = "") -> subprocess.Popen[bytes]:
    argv = [sys.executable, "-m", "gitfeed.cli", "ingest", "--source", f"capture:{capture}"]
    argv += ["--db", str(db), "--scorer", "model"]
    env = {**os.environ, **INGEST_ENV, "FEEDGEN_SCORER_URL": scorer_url}
    return subprocess.Popen(argv, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def finished(proc: subprocess.Popen[bytes], timeout: float = 300) -> str:
    out, err = proc.communicate(timeout=timeout)
    assert proc.returncode == 0, err.decode()[-3000:]
    return out.decode() + err.decode()


def cursor(db: Path) -> int | None:
    """The committed cursor, read as a bystander (read-only; None before the first commit)."""
    try:
        with contextlib.closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True)) as conn:
            return conn.execute("SELECT max(cursor) FROM sub_state").fetchone()[0]
    except sqlite3.OperationalError:  # no file or no table yet
        return None


def snapshot(db: Path) -> dict[str, list[tuple]]:
    """What ingest wrote, minus wall-clock columns; scores apart (compared with a tolerance)."""
    conn = open_db(db)
    try:
        return {
            "posts": conn.execute(
                "SELECT uri, cid, author, text, github_urls, repos, like_count, repost_count FROM posts "
                "ORDER BY uri"
            ).fetchall(),
            "scores": conn.execute("SELECT uri, score_github, score_ml FROM posts ORDER BY uri").fetchall(),
            "engagements": conn.execute(
                "SELECT uri, kind, subject_uri FROM engagements ORDER BY uri"
            ).fetchall(),
            "counters": conn.execute("SELECT name, value FROM counters ORDER BY name").fetchall(),
            "cursor": conn.execute("SELECT service, cursor FROM sub_state").fetchall(),
        }
    finally:
        conn.close()


def assert_same_store(got: dict, expected: dict, tolerance: float = 2e-3) -> None:
    """Every row equal; the scores within `tolerance` (int8 embeddings move in the 4th decimal with the
    composition of the model batch)."""
    assert {k: v for k, v in got.items() if k != "scores"} == {
        k: v for k, v in expected.items() if k != "scores"
    }
    a = np.asarray([row[1:] for row in got["scores"]], dtype=float)
    b = np.asarray([row[1:] for row in expected["scores"]], dtype=float)
    assert [row[0] for row in got["scores"]] == [row[0] for row in expected["scores"]]
    assert np.abs(a - b).max(initial=0.0) <= tolerance


@pytest.fixture(scope="module")
def in_process_store(real_capture: Path, tmp_path_factory: pytest.TempPathFactory) -> dict:
    db = tmp_path_factory.mktemp("in-process") / "gitfeed.db"
    finished(ingest(real_capture, db))
    store = snapshot(db)
    assert store["posts"], "the capture should keep some posts"
    return store


@pytest.mark.slow
def test_ingest_through_ray_serve_scores_as_in_process(
    scorer_proc: ScorerProcess, real_capture: Path, in_process_store: dict, tmp_path: Path
) -> None:
    health = scorer_proc.wait_ready(10)
    assert health["heads"] == SUM and health["topics"] == TOPICS and " on cpu " in health["model"]
    db = tmp_path / "remote.db"
    output = finished(ingest(real_capture, db, scorer_proc.url))
    assert f"classifier: scoring workers at {scorer_proc.url}" in output
    assert "waiting on the scorer" not in output
    store = snapshot(db)
    assert_same_store(store, in_process_store)
    ml = [row for row in store["scores"] if row[2] >= 0.5]
    assert ml, "some real posts should be kept for ml through the workers"


@pytest.mark.slow
def test_killing_the_workers_pauses_ingest_which_resumes_and_loses_nothing(
    scorer_proc: ScorerProcess, real_capture: Path, in_process_store: dict, tmp_path: Path
) -> None:
    db = tmp_path / "outage.db"
    proc = ingest(real_capture, db, scorer_proc.url)
    deadline = time.monotonic() + 120
    while (cursor(db) or 0) < 200 and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    assert proc.poll() is None, "ingest finished before the workers could be killed: make the capture longer"
    port = scorer_proc.port
    scorer_proc.kill()  # the whole worker tier: the command, Ray, its replicas
    gone = time.monotonic() + 60
    while time.monotonic() < gone:  # Ray's proxy can outlive the command by a few seconds
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.5):
            time.sleep(0.2)
            continue
        break
    time.sleep(2)  # the batch in flight when the port closed: its try fails, nothing commits
    paused_at = cursor(db)
    time.sleep(4)
    assert cursor(db) == paused_at < N_EVENTS  # paused: nothing committed while the workers are away
    assert proc.poll() is None  # waiting, not failed
    scorer_proc.start()  # the restart (Ray again, the model loaded again)
    output = finished(proc)
    assert "waiting on the scorer" in output and "the scorer answered after" in output
    assert_same_store(snapshot(db), in_process_store)
