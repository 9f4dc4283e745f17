"""`gitfeed ingest`, `capture` and `stats` through Click's CliRunner on real files and a local relay."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from click.testing import CliRunner

from firehose.capture import iter_capture
from gitfeed.cli import main
from tests.support import framegen as fg
from tests.support.relayserver import RelayServer
from tests.support.stories import story, write_capture


@pytest.fixture
def capture_file(tmp_path: Path) -> Path:
    return write_capture(tmp_path / "story.bin.zst", story())


def invoke(*args: str) -> object:
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


@contextmanager
def relay_in_thread(frames: list[bytes]) -> Iterator[RelayServer]:
    """A RelayServer on its own event loop in a thread, so a CLI command can connect to it."""
    ready = threading.Event()
    box: dict[str, object] = {}

    async def serve() -> None:
        async with RelayServer(frames) as server:
            box["server"], box["loop"], box["stop"] = server, asyncio.get_running_loop(), asyncio.Event()
            ready.set()
            await box["stop"].wait()  # type: ignore[attr-defined]

    thread = threading.Thread(target=asyncio.run, args=(serve(),), daemon=True)
    thread.start()
    assert ready.wait(10)
    try:
        yield box["server"]  # type: ignore[misc]
    finally:
        box["loop"].call_soon_threadsafe(box["stop"].set)  # type: ignore[attr-defined]
        thread.join(10)


def test_ingest_a_capture_then_stats_json(capture_file: Path, db_path: Path) -> None:
    result = invoke(
        "ingest", "--source", f"capture:{capture_file}", "--db", str(db_path), "--scorer", "link", "-q"
    )
    assert result.exit_code == 0, result.output
    assert "ingested 12 events" in result.output and "cursor 10" in result.output
    result = invoke("stats", "--json", "--db", str(db_path))
    assert result.exit_code == 0
    stats = json.loads(result.output)
    assert {k: stats[k] for k in ("cursor", "posts", "events_seen", "frames_skipped")} == {
        "cursor": 10,
        "posts": 1,
        "events_seen": 12,
        "frames_skipped": 1,
    }
    assert stats["posts_by_topic"] == {"github": 1, "ml": 0}
    assert stats["kept_by_topic"] == {"github": 3, "ml": 0}
    assert stats["db_bytes"] > 0 and stats["lag_seconds"] >= 0
    assert stats["sources"][0]["service"] == f"capture:{capture_file.resolve()}"


def test_ingest_with_a_progress_bar_and_human_stats(capture_file: Path, db_path: Path) -> None:
    result = invoke("ingest", "--source", f"capture:{capture_file}", "--db", str(db_path), "--scorer", "link")
    assert result.exit_code == 0, result.output
    assert "11/11" in result.output  # frames replayed, from the progress bar
    result = invoke("stats", "--db", str(db_path))
    assert result.exit_code == 0
    assert "events_seen" in result.output and "12" in result.output


def test_capture_from_a_local_relay_replays_to_the_same_database(tmp_path: Path) -> None:
    frames = story()
    out = tmp_path / "live.bin.zst"
    with relay_in_thread(frames) as server:
        result = invoke("capture", "--endpoint", server.url, "--out", str(out), "--limit", "6", "-q")
    assert result.exit_code == 0, result.output
    assert "captured 6 frames" in result.output
    assert list(iter_capture(out)) == frames[:6]


def test_capture_stops_after_its_duration(tmp_path: Path) -> None:
    out = tmp_path / "live.bin.zst"
    with relay_in_thread(story()[:2]) as server:
        result = invoke("capture", "--endpoint", server.url, "--out", str(out), "--duration", "0.5", "-q")
    assert result.exit_code == 0, result.output
    assert len(list(iter_capture(out))) == 2


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["stats", "--db", "{tmp}/missing.db"], "no database at"),
        (["ingest", "--source", "carrier-pigeon", "--db", "{tmp}/x.db"], "unknown source 'carrier-pigeon'"),
        (["ingest", "--source", "capture:{tmp}/nope.zst", "--db", "{tmp}/x.db"], "no capture file at"),
        (["ingest", "--source", "relay", "--endpoint", "http://x", "--db", "{tmp}/x.db"], "ws:// or wss://"),
        (["capture", "--out", "{tmp}/c.zst"], "give --limit N or --duration S"),
    ],
)
def test_errors_are_one_clear_line(tmp_path: Path, args: list[str], message: str) -> None:
    result = CliRunner().invoke(main, [a.replace("{tmp}", str(tmp_path)) for a in args])
    assert result.exit_code != 0
    assert message in result.output
    assert "Traceback" not in result.output
    assert not (tmp_path / "x.db").exists()


def test_commands_are_registered_with_examples() -> None:
    for name in ("ingest", "capture", "stats"):
        result = invoke(name, "--help")
        assert result.exit_code == 0 and "Example: gitfeed " + name in result.output


def test_account_frame_builder_is_what_stats_counts(tmp_path: Path, db_path: Path) -> None:
    capture = write_capture(
        tmp_path / "acc.bin.zst", [fg.account_frame(5, "did:plc:zzzzzzzzzzzzzzzzzzzzzzzz", False, "deleted")]
    )
    assert (
        invoke(
            "ingest", "--source", f"capture:{capture}", "--db", str(db_path), "--scorer", "link", "-q"
        ).exit_code
        == 0
    )
    stats = json.loads(invoke("stats", "--json", "--db", str(db_path)).output)
    assert stats["cursor"] == 5 and stats["events_seen"] == 1 and stats["posts"] == 0
