"""The relay source against a real local relay (tests/relayserver.py): reconnects, stalls, bad frames,
error frames and resumption, each seen on the wire (which cursor each connection asked for)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest

from firehose.decode.relay import decode_frame
from firehose.events import (
    AccountChanged,
    EngagementCreated,
    Event,
    IdentityChanged,
    PostUpserted,
    SkippedFrame,
)
from firehose.sources.backoff import Backoff
from firehose.sources.relay import RelaySource, subscribe_url
from tests.support import framegen as fg
from tests.support.relayserver import RelayServer, big_post_frame
from tests.support.sourcetools import MAX_FRAME, collect, fast_settings, seqs

DID = "did:plc:ewvi7nxzyoun6zhxrhs64oiz"


def log_frames(first: int = 1, n: int = 8) -> list[bytes]:
    """A small, varied log: posts, likes, an account and an identity event."""
    frames = []
    for seq in range(first, first + n):
        if seq % 4 == 0:
            frames.append(fg.account_frame(seq, DID, active=False, status="deactivated"))
        elif seq % 4 == 1:
            text = f"post {seq} https://github.com/pallets/flask"
            frames.append(fg.commit_frame(seq, DID, [fg.post_op(fg.tid(seq), text)]))
        elif seq % 4 == 2:
            frames.append(
                fg.commit_frame(seq, DID, [fg.like_op(fg.tid(seq), fg.post_uri(DID, fg.tid(seq - 1)))])
            )
        else:
            frames.append(fg.identity_frame(seq, DID, handle=f"h{seq}.example.com"))
    return frames


def has_seq(last: int) -> Callable[[list[Event]], bool]:
    return lambda events: any(e.cursor == last for e in events)


def run_scenario(
    frames: list[bytes], scenario: str = "normal", *, cursor: int | None = None, **server_kw: object
):
    async def main() -> tuple[RelayServer, RelaySource, list[Event]]:
        async with RelayServer(frames, scenario, **server_kw) as server:  # type: ignore[arg-type]
            source = RelaySource(server.url, fast_settings(), cursor=cursor)
            last = max(s for s in (fg_seq(f) for f in frames) if s is not None)
            events = await collect(source, has_seq(last))
            return server, source, events

    return asyncio.run(main())


def fg_seq(frame: bytes) -> int | None:
    from tests.support.relayserver import frame_seq

    return frame_seq(frame)


def test_subscribe_url_appends_the_method_and_cursor() -> None:
    assert (
        subscribe_url("wss://bsky.network/", None)
        == "wss://bsky.network/xrpc/com.atproto.sync.subscribeRepos"
    )
    assert (
        subscribe_url("ws://127.0.0.1:9", 42)
        == "ws://127.0.0.1:9/xrpc/com.atproto.sync.subscribeRepos?cursor=42"
    )


def test_normal_stream_yields_what_the_decoder_makes_of_each_frame() -> None:
    frames = log_frames()
    server, source, events = run_scenario(frames)
    expected = [event for frame in frames for event in decode_frame(frame, max_frame_bytes=MAX_FRAME)]
    assert events == expected
    assert server.cursors == [None]
    assert source.cursor == 8
    kinds = {type(e) for e in events}
    assert {PostUpserted, EngagementCreated, AccountChanged, IdentityChanged} <= kinds


@pytest.mark.parametrize(
    ("scenario", "stat"),
    [
        ("abnormal_close", "disconnects"),
        ("reset", "disconnects"),
        ("error_close", "disconnects"),
        ("stall", "stalls"),
        ("consumer_too_slow", None),
        ("error_frame", None),
    ],
)
def test_a_dropped_connection_resumes_from_the_cursor_without_loss_or_duplicates(
    scenario: str, stat: str | None
) -> None:
    frames = log_frames()
    server, source, events = run_scenario(frames, scenario, after=3)
    assert seqs(events) == list(range(1, 9))
    assert server.cursors == [None, 3]
    if stat is not None:
        assert getattr(source.stats, stat) == 1
    if scenario == "consumer_too_slow":
        assert source.stats.controls == {"error:ConsumerTooSlow": 1}
    if scenario == "error_frame":
        assert source.stats.controls == {"error:SomethingBroke": 1}


def test_garbage_between_frames_is_skipped_and_counted_without_a_reconnect() -> None:
    server, _source, events = run_scenario(log_frames(), "garbage", after=2)
    skipped = [e for e in events if isinstance(e, SkippedFrame)]
    assert [s.reason for s in skipped] == ["bad_cbor", "bad_frame"]
    assert seqs(events) == list(range(1, 9))
    assert server.connections == 1


def test_a_frame_over_max_frame_bytes_is_skipped_on_the_same_connection() -> None:
    frames = log_frames()
    frames.insert(4, big_post_frame(100, MAX_FRAME + 1000))  # seq 100 sorts nowhere: the relay sends it 5th
    frames.append(fg.commit_frame(101, DID, [fg.post_op(fg.tid(101), "after the big one")]))
    server, _source, events = run_scenario(frames)
    assert [e.reason for e in events if isinstance(e, SkippedFrame)] == ["oversized"]
    assert server.connections == 1


def test_a_frame_over_the_websocket_limit_is_counted_and_skipped_not_refetched_forever() -> None:
    frames = log_frames(n=3)
    frames.append(big_post_frame(4, 3 * MAX_FRAME))  # over 2 x max_frame_bytes: the websocket refuses it
    frames += log_frames(first=5, n=4)
    server, source, events = run_scenario(frames)
    assert [e.reason for e in events if isinstance(e, SkippedFrame)] == ["oversized"]
    assert seqs(events) == [1, 2, 3, 5, 6, 7, 8]
    assert server.cursors == [None, 4]  # resumed just past the refused frame
    assert source.stats.refused == 1


def test_future_cursor_restarts_at_the_live_tip() -> None:
    server, source, events = run_scenario(log_frames(), cursor=500)
    assert server.cursors == [500, None]
    assert seqs(events) == list(range(1, 9))
    assert source.stats.controls == {"error:FutureCursor": 1}


def test_outdated_cursor_is_logged_and_the_stream_carries_on() -> None:
    server, source, events = run_scenario(log_frames(first=10), cursor=2)
    assert server.cursors == [2]
    assert seqs(events) == list(range(10, 18))
    assert source.stats.controls == {"info:OutdatedCursor": 1}


def test_redelivered_frames_at_or_below_the_cursor_are_dropped() -> None:
    frames = log_frames()
    frames.insert(5, frames[1])  # the relay sends seq 2 again after seq 5
    _server, source, events = run_scenario(frames)
    assert seqs(events) == list(range(1, 9))
    assert source.stats.duplicates == 1


def test_a_refused_handshake_is_retried_with_backoff_until_cancelled() -> None:
    async def main() -> RelaySource:
        async with RelayServer(log_frames()) as server:
            source = RelaySource(server.url + "/not-here", fast_settings())
            with pytest.raises(TimeoutError):
                await collect(source, lambda events: False, timeout=0.4)
            return source

    source = asyncio.run(main())
    assert source.stats.connects == 0
    assert source.backoff.failures >= 3


def test_bad_endpoint_is_refused_up_front() -> None:
    from firehose.sources.base import SourceError

    with pytest.raises(SourceError, match="ws:// or wss://"):
        RelaySource("https://bsky.network", fast_settings())


def test_backoff_grows_caps_jitters_and_resets_after_a_healthy_connection() -> None:
    now = [0.0]
    backoff = Backoff(1.0, 8.0, 60.0, rng=lambda: 1.0, clock=lambda: now[0])
    assert [backoff.next_delay() for _ in range(6)] == [1.0, 2.0, 4.0, 8.0, 8.0, 8.0]
    low = Backoff(1.0, 8.0, 60.0, rng=lambda: 0.0)
    assert [low.next_delay() for _ in range(3)] == [0.5, 1.0, 2.0]  # jitter: between half and all
    backoff.connected()
    now[0] = 30.0
    assert backoff.next_delay() == 8.0  # a short-lived connection does not reset
    backoff.connected()
    now[0] = 100.0
    assert backoff.next_delay() == 1.0  # a healthy minute does


def test_a_handshake_that_hangs_is_redialed_at_once_its_wait_counting_as_the_backoff() -> None:
    """A frozen relay (TCP accepted, no handshake): each dial's open timeout is already the wait."""

    async def main() -> list[float]:
        loop = asyncio.get_running_loop()
        dials: list[float] = []
        held: list[asyncio.StreamWriter] = []

        async def frozen(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            dials.append(loop.time())
            held.append(writer)  # never answer the handshake

        server = await asyncio.start_server(frozen, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        # open timeout = receive timeout = 1 s; the backoff draws 0.5-1 s, all of it spent in the hung dial
        settings = fast_settings(
            receive_timeout_seconds=1.0, backoff_initial_seconds=1.0, backoff_max_seconds=1.0
        )
        source = RelaySource(f"ws://127.0.0.1:{port}", settings)
        with pytest.raises(TimeoutError):
            await collect(source, lambda events: False, timeout=3.6)
        for writer in held:
            writer.close()
        server.close()
        return dials

    dials = asyncio.run(main())
    gaps = [b - a for a, b in zip(dials, dials[1:], strict=False)]
    assert len(dials) >= 3, dials
    assert max(gaps) < 1.35, gaps  # sleeping the backoff after the timeout would make each gap 1.5-2 s
