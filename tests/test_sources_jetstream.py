"""The Jetstream v2 source against a real local Jetstream (tests/jetstreamserver.py), and its decoder
against production data: the same events as the relay decoder makes of the same network traffic."""

from __future__ import annotations

import asyncio
import dataclasses
from pathlib import Path

import pytest

from firehose.capture import iter_capture
from firehose.decode.jetstream import decode_message
from firehose.decode.relay import StreamControl, decode_frame
from firehose.events import (
    AccountChanged,
    EngagementCreated,
    EngagementDeleted,
    Event,
    IdentityChanged,
    PostDeleted,
    PostUpserted,
    Progress,
    SkippedFrame,
)
from firehose.ingest import Ingest
from firehose.scoring import LinkScorer
from firehose.sources.base import SourceError
from firehose.sources.jetstream import COLLECTIONS, JetstreamSource, subscribe_url
from firehose.store.schema import open_db
from tests.support import framegen as fg
from tests.support.jetstreamserver import (
    JetstreamServer,
    account_message,
    commit_message,
    from_v1,
    identity_message,
)
from tests.support.sourcetools import collect, fast_settings, seqs

DID = "did:plc:ewvi7nxzyoun6zhxrhs64oiz"


def messages(first: int = 1, n: int = 8) -> list[dict]:
    out = []
    for seq in range(first, first + n):
        rkey = fg.tid(seq)
        if seq % 4 == 0:
            out.append(account_message(seq, DID, active=False, status="takendown"))
        elif seq % 4 == 1:
            out.append(commit_message(seq, DID, fg.POST, rkey, fg.post_record(f"p{seq} github.com/a/b")))
        elif seq % 4 == 2:
            out.append(
                commit_message(seq, DID, fg.LIKE, rkey, fg.subject_record(fg.LIKE, fg.post_uri(DID, "3kx")))
            )
        else:
            out.append(identity_message(seq, DID, handle=f"h{seq}.example.com"))
    return out


def run(
    msgs: list[dict],
    scenario: str = "normal",
    *,
    cursor: int | None = None,
    compression: bool = True,
    compressed: bool | None = None,
    **kw,
):
    """Stream from a local Jetstream to the last message; `compressed`: expected (default `compression`)."""
    last = max(m["seq"] for m in msgs)

    async def main() -> tuple[JetstreamServer, JetstreamSource, list[Event]]:
        async with JetstreamServer(msgs, scenario, compression=compression, **kw) as server:
            source = JetstreamSource(server.url, fast_settings(), cursor=cursor)
            events = await collect(source, lambda evs: any(e.cursor == last for e in evs))
            assert source.compressed == (compression if compressed is None else compressed)
            return server, source, events

    return asyncio.run(main())


def test_normal_stream_is_compressed_filtered_and_normalized() -> None:
    msgs = messages() + [commit_message(9, DID, fg.FOLLOW, "3kf", fg.follow_record("did:plc:x"))]
    msgs.append(commit_message(10, DID, fg.POST, fg.tid(1), operation="delete"))
    server, source, events = run(msgs)
    assert server.dictionary_fetches == 1
    assert server.params[0]["collections"] == COLLECTIONS
    assert seqs(events) == [1, 2, 3, 4, 5, 6, 7, 8, 10]  # the follow was filtered out by the server
    kinds = [type(e) for e in events]
    assert kinds[:4] == [PostUpserted, EngagementCreated, IdentityChanged, AccountChanged]
    assert events[-1] == PostDeleted(cursor=10, did=DID, rkey=fg.tid(1))
    assert source.cursor == 10


def test_plain_json_when_the_server_has_no_dictionary() -> None:
    _server, _source, events = run(messages(), compression=False)
    assert seqs(events) == list(range(1, 9))


@pytest.mark.parametrize("scenario", ["abnormal_close", "stall", "consumer_too_slow", "error_frame"])
def test_a_dropped_connection_resumes_from_the_cursor(scenario: str) -> None:
    server, source, events = run(messages(), scenario, after=3)
    assert seqs(events) == list(range(1, 9))  # no loss, and the inclusive replay of seq 3 was dropped
    assert server.cursors == [None, 3]
    assert source.stats.duplicates == 1
    assert source.stats.connects == 2
    assert source.stats.stalls == (scenario == "stall")
    assert source.stats.disconnects == (scenario == "abnormal_close")
    errors = {"consumer_too_slow": {"error:ConsumerTooSlow": 1}, "error_frame": {"error:SomethingBroke": 1}}
    assert source.stats.controls == errors.get(scenario, {})  # every error frame reconnects


def test_a_retired_dictionary_is_fetched_again_and_frames_stay_compressed() -> None:
    server, _source, events = run(messages(), "rotate_dictionary", after=3)
    assert seqs(events) == list(range(1, 9))
    assert server.dictionary_fetches == 2
    [old], [new] = (p["zstdDictionary"] for p in server.params)
    assert [p["zstdDictionary"] for p in server.refused] == [[old]]  # UnknownZstdDictionary
    assert int(new) == int(old) + 1


def test_a_dictionary_the_server_keeps_refusing_falls_back_to_plain_json() -> None:
    server, _source, events = run(messages(), refuse_dictionary=True, compressed=False)
    assert seqs(events) == list(range(1, 9))
    assert server.dictionary_fetches == 2  # the refused id came back again: give up on compression
    assert len(server.refused) == 1 and "zstdDictionary" not in server.params[0]


def test_a_cursor_below_the_retention_floor_follows_the_live_tip() -> None:
    server, source, events = run(messages(), cursor=1, floor=3)
    assert [p["cursor"] for p in server.refused] == [["1"]]  # CursorTooOld
    assert server.cursors == [None]
    assert seqs(events) == list(range(1, 9))
    assert source.cursor == 8


def test_a_server_error_at_the_handshake_is_retried_with_backoff() -> None:
    server, source, events = run(messages(), unavailable=2)
    assert len(server.refused) == 2
    assert seqs(events) == list(range(1, 9))
    assert source.stats.connects == 1 and source.backoff.failures == 2


def test_a_refused_subscription_ends_the_stream() -> None:
    async def main() -> JetstreamSource:
        async with JetstreamServer(messages()) as server:
            source = JetstreamSource(server.url + "/nope/xrpc", fast_settings())
            with pytest.raises(SourceError, match="subscribing refused.*404"):
                await collect(source, lambda events: False, timeout=5)
            return source

    source = asyncio.run(main())
    assert source.stats.connects == 0
    assert not source.compressed  # no dictionary at that address either


@pytest.mark.parametrize(
    ("cursor", "dictionary", "query"),
    [(None, None, ""), (7, None, "&cursor=7"), (7, 99, "&cursor=7&zstdDictionary=99")],
)
def test_subscribe_url(cursor: int | None, dictionary: int | None, query: str) -> None:
    collections = (
        "collections=app.bsky.feed.post&collections=app.bsky.feed.like&collections=app.bsky.feed.repost"
    )
    url = subscribe_url("wss://jetstream.example", cursor, dictionary)
    assert url == f"wss://jetstream.example/xrpc/network.bsky.jetstream.subscribeEvents?{collections}{query}"


def test_bad_endpoint_is_refused_up_front() -> None:
    with pytest.raises(SourceError, match="ws:// or wss://"):
        JetstreamSource("https://jetstream.example", fast_settings())


def test_garbage_is_skipped_and_counted() -> None:
    server, _source, events = run(messages(), "garbage", after=2)
    assert [e.reason for e in events if isinstance(e, SkippedFrame)] == ["bad_json", "bad_frame"]
    assert seqs(events) == list(range(1, 9))
    assert len(server.params) == 1


def test_future_cursor_info_follows_the_live_tip() -> None:
    server, source, events = run(messages(), cursor=500)
    assert server.cursors == [500]
    assert seqs(events) == list(range(1, 9))
    assert source.stats.controls == {"info:FutureCursor": 1}


def test_ingest_resumes_jetstream_from_the_persisted_cursor(db_path: Path) -> None:
    async def main() -> JetstreamServer:
        async with JetstreamServer(messages(), "abnormal_close", after=5) as server:
            cfg = fast_settings(batch_max_seconds=0.05)
            for connections in (2, 3):  # a reconnect inside the first run, then a restart
                runner = Ingest(JetstreamSource(server.url, cfg), open_db(db_path), cfg, LinkScorer())
                task = asyncio.create_task(runner.run())
                while runner.writer.cursor() != 8 or len(server.params) < connections:
                    await asyncio.sleep(0.01)
                await asyncio.sleep(0.05)
                runner.stop()
                await task
            assert runner.stats.events == 0  # the restart got only the inclusive replay of seq 8, dropped
            return server

    server = asyncio.run(main())
    assert server.cursors == [None, 5, 8]
    db = open_db(db_path)
    assert db.execute("SELECT cursor FROM sub_state").fetchone()[0] == 8
    counters = dict(db.execute("SELECT name, value FROM counters").fetchall())
    assert counters["events_seen"] == 8


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (commit_message(1, "not-a-did", fg.POST, "3k", fg.post_record("x")), "invalid_did"),
        (commit_message(1, DID, fg.POST, "bad key!", fg.post_record("x")), "invalid_rkey"),
        (commit_message(1, DID, fg.POST, "3k", fg.post_record("x" * 3001)), "text_too_long"),
        (commit_message(1, DID, fg.POST, "3k", {**fg.post_record("x"), "$type": fg.LIKE}), "wrong_type"),
        (commit_message(1, DID, fg.LIKE, "3k", fg.subject_record(fg.LIKE, "at://nope")), "invalid_uri"),
        (commit_message(1, DID, fg.POST, "3k", fg.post_record("x"), cid="not-a-cid"), "bad_op"),
        ({**account_message(1, DID, True), "account": {"active": "yes"}}, "bad_frame"),
        (identity_message(1, DID, handle="not a handle"), "invalid_handle"),
        ({"$type": f"{'network.bsky.jetstream.subscribeEvents'}#commit"}, "bad_frame"),
        ([1, 2], "bad_frame"),
    ],
)
def test_bad_messages_become_skipped_frames(payload: object, reason: str) -> None:
    decoded = decode_message(payload)
    assert isinstance(decoded, list) and len(decoded) == 1
    assert isinstance(decoded[0], SkippedFrame) and decoded[0].reason == reason


def test_other_messages() -> None:
    unlike = decode_message(commit_message(3, DID, fg.LIKE, "3kl", operation="delete"))
    assert unlike == [EngagementDeleted(cursor=3, kind="like", did=DID, rkey="3kl")]
    sync = decode_message({"$type": "network.bsky.jetstream.subscribeEvents#sync", "seq": 4, "did": DID})
    assert sync == [Progress(cursor=4)]
    info = decode_message({"$type": "network.bsky.jetstream.subscribeEvents#info", "name": "OutdatedCursor"})
    assert info == StreamControl(kind="info", name="OutdatedCursor")


def _strip(events: list[Event]) -> list[Event]:
    kept = [dataclasses.replace(e, cursor=0) for e in events if not isinstance(e, Progress)]
    return sorted(kept, key=lambda e: (type(e).__name__, e.did, getattr(e, "rkey", "")))


def test_jetstream_and_relay_agree_on_real_traffic(shared_dir: Path) -> None:
    """The 150 relay frames and production Jetstream's view of them normalize to the same events."""
    corpus = shared_dir / "corpus" / "relay-150"
    lines = (corpus / "expected_v1.jsonl").read_text().splitlines()
    from_jetstream = [e for i, line in enumerate(lines) for e in decode_message(from_v1(line, i + 1))]  # type: ignore[union-attr]
    from_relay = [e for frame in iter_capture(corpus / "frames.bin.zst") for e in decode_frame(frame)]
    assert not any(isinstance(e, SkippedFrame) for e in from_jetstream + from_relay)
    assert _strip(from_jetstream) == _strip(from_relay)  # type: ignore[arg-type]
    assert sum(isinstance(e, PostUpserted) for e in from_jetstream) == 17
