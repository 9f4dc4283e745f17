"""SIGKILL `gitfeed ingest` at random points of a capture replay, restart it each time, and compare the
final database with an uninterrupted run: no post lost, none doubled, counts and counters equal.

On both stores: a SQLite file, and PostgreSQL (where each restart also takes the source over: the
killed process's advisory lock goes with its connection, the next one bumps the epoch)."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from firehose.store.backend import errors, is_postgres
from tests.support.capture_synth import write_synthetic_capture
from tests.support.stores import connect

REPO = Path(__file__).resolve().parents[1]

N_EVENTS = 8000
ENV = {"FEEDGEN_BATCH_MAX_EVENTS": "100", "FEEDGEN_BATCH_MAX_SECONDS": "0.05", "HF_HUB_OFFLINE": "1"}


def start(capture: Path, db: Path | str) -> subprocess.Popen[bytes]:
    argv = [sys.executable, "-m", "gitfeed.cli", "ingest", "--source", f"capture:{capture}"]
    argv += ["--db", str(db), "--scorer", "link", "--quiet"]
    return subprocess.Popen(
        argv, cwd=REPO, env={**os.environ, **ENV}, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )


def cursor(db: str) -> int | None:
    if not is_postgres(db) and not Path(db).exists():
        return None
    try:
        with connect(db) as conn:
            row = conn.execute("SELECT max(cursor) FROM sub_state").fetchone()
    except errors():  # the table is not there yet
        return None
    return row[0] if row else None


def snapshot(db: str) -> dict[str, list[tuple]]:
    """Everything ingest writes, minus wall-clock columns and row ids."""
    with connect(db) as conn:
        return {
            "posts": conn.execute(
                "SELECT uri, cid, author, text, langs, created_at, reply_root, github_urls, repos, "
                "score_github, score_ml, like_count, repost_count FROM posts ORDER BY uri"
            ).fetchall(),
            "engagements": conn.execute(
                "SELECT uri, kind, author, subject_uri FROM engagements ORDER BY uri"
            ).fetchall(),
            "accounts": conn.execute(
                "SELECT did, handle, active, status FROM accounts ORDER BY did"
            ).fetchall(),
            "counters": conn.execute("SELECT name, value FROM counters ORDER BY name").fetchall(),
            "cursor": conn.execute("SELECT service, cursor FROM sub_state").fetchall(),
        }


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_sigkill_at_random_points_loses_and_doubles_nothing(
    tmp_path: Path, backend: str, request: pytest.FixtureRequest
) -> None:
    capture = tmp_path / "synth.bin.zst"
    write_synthetic_capture(capture, n_events=N_EVENTS, seed=7)
    # Each run is killed a random pause after its first commit. On PostgreSQL a quiet machine got
    # through the capture in two kills with pauses of up to 0.5 s, so the pauses there are as short as
    # on SQLite; every run still commits something before its kill, so the replay always ends.
    if backend == "postgres":
        cluster = request.getfixturevalue("postgres_cluster")
        reference, db, pause = cluster.database(), cluster.database(), 0.15
    else:
        reference, db, pause = str(tmp_path / "reference.db"), str(tmp_path / "killed.db"), 0.15

    done = start(capture, reference)
    assert done.wait(120) == 0, done.stderr.read().decode()  # type: ignore[union-attr]
    expected = snapshot(reference)
    assert expected["posts"], "the capture should keep some posts"
    final_cursor = expected["cursor"][0][1]

    rng = random.Random(1234)
    kills = 0
    for _ in range(40):
        before = cursor(db)
        proc = start(capture, db)
        deadline = time.monotonic() + 60
        while cursor(db) == before and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.005)  # wait until this run has committed something
        time.sleep(rng.uniform(0, pause))
        if proc.poll() is not None:
            assert proc.returncode == 0, proc.stderr.read().decode()  # type: ignore[union-attr]
            break
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
        kills += 1
    else:
        pytest.fail("ingest never finished")
    assert kills >= 3, f"only {kills} kills landed mid-run: make the capture longer"
    assert cursor(db) == final_cursor
    assert snapshot(db) == expected
