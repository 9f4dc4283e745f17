"""SIGKILL `gitfeed ingest` at random points of a capture replay, restart it each time, and compare the
final database with an uninterrupted run: no post lost, none doubled, counts and counters equal."""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.support.capture_synth import write_synthetic_capture

REPO = Path(__file__).resolve().parents[1]

N_EVENTS = 8000
ENV = {"FEEDGEN_BATCH_MAX_EVENTS": "100", "FEEDGEN_BATCH_MAX_SECONDS": "0.05", "HF_HUB_OFFLINE": "1"}


def start(capture: Path, db: Path) -> subprocess.Popen[bytes]:
    argv = [sys.executable, "-m", "gitfeed.cli", "ingest", "--source", f"capture:{capture}"]
    argv += ["--db", str(db), "--scorer", "link", "--quiet"]
    return subprocess.Popen(
        argv, cwd=REPO, env={**os.environ, **ENV}, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )


def cursor(db: Path) -> int | None:
    if not db.exists():
        return None
    try:
        with sqlite3.connect(db, timeout=5) as conn:
            row = conn.execute("SELECT max(cursor) FROM sub_state").fetchone()
    except sqlite3.OperationalError:  # the table is not there yet
        return None
    return row[0] if row else None


def snapshot(db: Path) -> dict[str, list[tuple]]:
    """Everything ingest writes, minus wall-clock columns and row ids."""
    with sqlite3.connect(db) as conn:
        return {
            "posts": conn.execute(
                "SELECT uri, cid, author, text, langs, created_at, reply_root, github_urls, repos, "
                "score_github, score_ml, like_count, repost_count FROM posts ORDER BY uri"
            ).fetchall(),
            "engagements": conn.execute("SELECT * FROM engagements ORDER BY uri").fetchall(),
            "accounts": conn.execute(
                "SELECT did, handle, active, status FROM accounts ORDER BY did"
            ).fetchall(),
            "counters": conn.execute("SELECT * FROM counters ORDER BY name").fetchall(),
            "cursor": conn.execute("SELECT service, cursor FROM sub_state").fetchall(),
        }


@pytest.mark.slow
def test_sigkill_at_random_points_loses_and_doubles_nothing(tmp_path: Path) -> None:
    capture = tmp_path / "synth.bin.zst"
    write_synthetic_capture(capture, n_events=N_EVENTS, seed=7)

    reference = tmp_path / "reference.db"
    done = start(capture, reference)
    assert done.wait(120) == 0, done.stderr.read().decode()  # type: ignore[union-attr]
    expected = snapshot(reference)
    assert expected["posts"], "the capture should keep some posts"
    final_cursor = expected["cursor"][0][1]

    db = tmp_path / "killed.db"
    rng = random.Random(1234)
    kills = 0
    for _ in range(40):
        before = cursor(db)
        proc = start(capture, db)
        deadline = time.monotonic() + 60
        while cursor(db) == before and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.005)  # wait until this run has committed something
        time.sleep(rng.uniform(0, 0.15))
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
