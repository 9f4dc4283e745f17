"""Bad input: each case is one SkippedFrame with an exact reason, never an exception; good ops survive."""

from __future__ import annotations

import random
from collections.abc import Callable
from pathlib import Path

import libipld
import pytest

from firehose.capture import iter_capture
from firehose.decode.relay import decode_frame
from firehose.events import EngagementCreated, PostUpserted, SkippedFrame
from tests.support.framegen import (
    LIKE,
    POST,
    Op,
    account_frame,
    cid_bytes,
    commit_frame,
    create_op,
    encode_car,
    encode_record,
    identity_frame,
    like_op,
    post_op,
    post_record,
    post_uri,
    raw_frame,
    reply_ref,
    strong_ref,
    subject_record,
)

DID = "did:plc:ewvi7nxzyoun6zhxrhs64oiz"
SUBJECT = post_uri("did:plc:other", "3laaaaaaaaa22")
SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "corpus"


def _good_post() -> bytes:
    return commit_frame(100, DID, [post_op("3k1", "hello world")])


def _invalid_utf8_block() -> bytes:
    block = encode_record(post_record("caf\u00e9 ok"))
    return block.replace("caf\u00e9".encode(), b"caf\xff\xfe")  # same length, not UTF-8


def _hash_mismatch_frame() -> bytes:
    block = encode_record(post_record("tampered"))
    cid = cid_bytes(block)
    header, body = libipld.decode_dag_cbor_multi(commit_frame(100, DID, [Op("create", POST, "3k1", block)]))
    body["blocks"] = encode_car([body["commit"]], [(cid, encode_record(post_record("swapped!")))])
    return raw_frame(header, body)


def _frame_with_body(**changes: object) -> bytes:
    header, body = libipld.decode_dag_cbor_multi(_good_post())
    body.update(changes)
    return raw_frame(header, body)


# (id, frame builder, expected [(event type, reason or None)])
CASES: list[tuple[str, Callable[[], bytes], list[tuple[type, str | None]]]] = [
    ("truncated_cbor", lambda: _good_post()[:300], [(SkippedFrame, "bad_cbor")]),
    ("truncated_header", lambda: _good_post()[:3], [(SkippedFrame, "bad_cbor")]),
    ("garbage_bytes", lambda: b"\xff\xfe\xfd garbage \x00\x01", [(SkippedFrame, "bad_cbor")]),
    ("empty_frame", lambda: b"", [(SkippedFrame, "bad_frame")]),
    (
        "header_only",
        lambda: libipld.encode_dag_cbor({"op": 1, "t": "#commit"}),
        [(SkippedFrame, "bad_frame")],
    ),
    ("three_items", lambda: _good_post() + libipld.encode_dag_cbor({"x": 1}), [(SkippedFrame, "bad_frame")]),
    ("body_not_a_map", lambda: raw_frame({"op": 1, "t": "#commit"}, [1, 2]), [(SkippedFrame, "bad_frame")]),
    (
        "unknown_header_op",
        lambda: raw_frame({"op": 2, "t": "#commit"}, {"seq": 1}),
        [(SkippedFrame, "bad_frame")],
    ),
    ("no_seq", lambda: raw_frame({"op": 1, "t": "#commit"}, {"repo": DID}), [(SkippedFrame, "bad_frame")]),
    ("commit_without_ops", lambda: _frame_with_body(ops=None), [(SkippedFrame, "bad_frame")]),
    (
        "missing_block",
        lambda: commit_frame(100, DID, [Op("create", POST, "3k1", post_record("x"), include_block=False)]),
        [(SkippedFrame, "missing_block")],
    ),
    ("commit_without_car", lambda: _frame_with_body(blocks=None), [(SkippedFrame, "missing_block")]),
    ("bad_car", lambda: _frame_with_body(blocks=b"\x05\x01\x02"), [(SkippedFrame, "bad_car")]),
    ("block_hash_mismatch", _hash_mismatch_frame, [(SkippedFrame, "block_hash_mismatch")]),
    (
        "record_not_a_map",
        lambda: commit_frame(100, DID, [Op("create", POST, "3k1", libipld.encode_dag_cbor([1, 2]))]),
        [(SkippedFrame, "bad_record_cbor")],
    ),
    (
        "post_with_like_type",
        lambda: commit_frame(100, DID, [create_op(POST, "3k1", subject_record(LIKE, SUBJECT))]),
        [(SkippedFrame, "wrong_type")],
    ),
    (
        "like_with_post_type",
        lambda: commit_frame(100, DID, [create_op(LIKE, "3k1", post_record("not a like"))]),
        [(SkippedFrame, "wrong_type")],
    ),
    (
        "text_3001_bytes",
        lambda: commit_frame(100, DID, [post_op("3k1", "a" * 3001)]),
        [(SkippedFrame, "text_too_long")],
    ),
    (
        "text_3002_bytes_1501_chars",
        lambda: commit_frame(100, DID, [post_op("3k1", "\u00e9" * 1501)]),
        [(SkippedFrame, "text_too_long")],
    ),
    (
        "text_301_graphemes",
        lambda: commit_frame(100, DID, [post_op("3k1", "\U0001f44d" * 301)]),
        [(SkippedFrame, "text_too_long")],
    ),
    (
        "text_300_graphemes_ok",
        lambda: commit_frame(100, DID, [post_op("3k1", "\U0001f44d\U0001f3fd" * 300)]),
        [(PostUpserted, None)],
    ),
    (
        "invalid_utf8_text",
        lambda: commit_frame(100, DID, [Op("create", POST, "3k1", _invalid_utf8_block())]),
        [(SkippedFrame, "invalid_utf8")],
    ),
    (
        "facet_past_end",
        lambda: commit_frame(
            100,
            DID,
            [
                post_op(
                    "3k1",
                    "short",
                    facets=[
                        {
                            "index": {"byteStart": 0, "byteEnd": 6},
                            "features": [{"$type": "app.bsky.richtext.facet#link", "uri": "https://x.org"}],
                        }
                    ],
                )
            ],
        ),
        [(SkippedFrame, "facet_out_of_range")],
    ),
    (
        "facet_features_not_a_list",
        lambda: commit_frame(
            100,
            DID,
            [post_op("3k1", "short", facets=[{"index": {"byteStart": 0, "byteEnd": 2}, "features": 1.5}])],
        ),
        [(SkippedFrame, "invalid_record")],
    ),
    (
        "facet_at_end_ok",
        lambda: commit_frame(
            100,
            DID,
            [
                post_op(
                    "3k1",
                    "\u00e9t\u00e9",
                    facets=[
                        {
                            "index": {"byteStart": 0, "byteEnd": 5},
                            "features": [{"$type": "app.bsky.richtext.facet#tag", "tag": "ete"}],
                        }
                    ],
                )
            ],
        ),
        [(PostUpserted, None)],
    ),
    ("invalid_repo_did", lambda: _frame_with_body(repo="did:METHOD:val"), [(SkippedFrame, "invalid_did")]),
    (
        "invalid_like_subject_uri",
        lambda: commit_frame(100, DID, [like_op("3k1", "at://did:plc:x/app.bsky.feed.post/a/b")]),
        [(SkippedFrame, "invalid_uri")],
    ),
    (
        "invalid_reply_uri",
        lambda: commit_frame(
            100,
            DID,
            [post_op("3k1", "re", reply=reply_ref("at://did:plc:x/app.bsky.feed.post/3k1", "http://x"))],
        ),
        [(SkippedFrame, "invalid_uri")],
    ),
    (
        "invalid_mention_did",
        lambda: commit_frame(
            100,
            DID,
            [
                post_op(
                    "3k1",
                    "@bob",
                    facets=[
                        {
                            "index": {"byteStart": 0, "byteEnd": 4},
                            "features": [{"$type": "app.bsky.richtext.facet#mention", "did": "did:bob"}],
                        }
                    ],
                )
            ],
        ),
        [(SkippedFrame, "invalid_did")],
    ),
    (
        "post_without_text",
        lambda: commit_frame(
            100, DID, [create_op(POST, "3k1", {"$type": POST, "createdAt": "2026-07-04T14:38:06Z"})]
        ),
        [(SkippedFrame, "invalid_record")],
    ),
    (
        "post_bad_created_at",
        lambda: commit_frame(100, DID, [post_op("3k1", "x", created_at="1985-04-12T23:20:50.123-00:00")]),
        [(SkippedFrame, "invalid_record")],
    ),
    (
        "post_bad_embed_shape",
        lambda: commit_frame(
            100, DID, [post_op("3k1", "x", embed={"$type": "app.bsky.embed.record", "record": 5})]
        ),
        [(SkippedFrame, "invalid_record")],
    ),
    (
        "post_sdk_model_rejects",
        lambda: commit_frame(
            100, DID, [post_op("3k1", "x", facets=[{"index": {"byteStart": 0, "byteEnd": 1}}])]
        ),
        [(SkippedFrame, "invalid_record")],
    ),
    ("invalid_rkey", lambda: commit_frame(100, DID, [post_op("..", "x")]), [(SkippedFrame, "invalid_rkey")]),
    (
        "bad_action",
        lambda: commit_frame(100, DID, [Op("create", POST, "3k1", post_record("x"))]).replace(
            b"create", b"cr3ate"
        ),
        [(SkippedFrame, "bad_op")],
    ),
    (
        "account_invalid_did",
        lambda: account_frame(100, "did:x", False, "deleted"),
        [(SkippedFrame, "invalid_did")],
    ),
    (
        "account_no_active",
        lambda: raw_frame({"op": 1, "t": "#account"}, {"seq": 100, "did": DID}),
        [(SkippedFrame, "bad_frame")],
    ),
    (
        "identity_bad_handle",
        lambda: identity_frame(100, DID, "-bad-.com"),
        [(SkippedFrame, "invalid_handle")],
    ),
    (
        "bad_op_in_good_commit",
        lambda: commit_frame(
            100,
            DID,
            [
                post_op("3k1", "good post"),
                post_op("3k2", "a" * 3001),
                like_op("3k3", SUBJECT),
                create_op(LIKE, "3k4", {"$type": LIKE, "subject": strong_ref("not-a-uri")}),
            ],
        ),
        [
            (PostUpserted, None),
            (SkippedFrame, "text_too_long"),
            (EngagementCreated, None),
            (SkippedFrame, "invalid_uri"),
        ],
    ),
]


@pytest.mark.parametrize(("name", "build", "want"), CASES, ids=[c[0] for c in CASES])
def test_bad_input_table(name: str, build: Callable[[], bytes], want: list[tuple[type, str | None]]) -> None:
    events = decode_frame(build())
    assert [(type(e), e.reason if isinstance(e, SkippedFrame) else None) for e in events] == want, events
    for e in events:
        if isinstance(e, SkippedFrame):
            assert e.detail, "a skip says why"
            assert e.cursor in (None, 100)


def test_oversized_frame() -> None:
    frame = _good_post()
    [event] = decode_frame(frame, max_frame_bytes=len(frame) - 1)
    assert event == SkippedFrame(None, "oversized")
    assert str(len(frame)) in event.detail
    assert isinstance(decode_frame(frame, max_frame_bytes=len(frame))[0], PostUpserted)


def test_skip_keeps_the_cursor_when_seq_is_readable() -> None:
    [event] = decode_frame(commit_frame(77, DID, [post_op("3k1", "a" * 3001)]))
    assert event == SkippedFrame(77, "text_too_long")


def _vector_lines(name: str) -> list[str]:
    path = SHARED / "interop-syntax" / name
    if not path.is_file():
        return []
    return [
        line for line in path.read_text(encoding="utf-8").split("\n") if line and not line.startswith("#")
    ]


@pytest.mark.parametrize("value", _vector_lines("did_syntax_invalid.txt") or ["did:METHOD:val"])
def test_every_invalid_vector_did_is_skipped(value: str) -> None:
    events = decode_frame(_frame_with_body(repo=value))
    assert [(type(e), e.reason) for e in events] == [(SkippedFrame, "invalid_did")]


@pytest.mark.parametrize("value", _vector_lines("aturi_syntax_invalid.txt") or ["at://did:plc:x/"])
def test_every_invalid_vector_at_uri_is_skipped(value: str) -> None:
    for op in (like_op("3k1", value), post_op("3k1", "re", reply=reply_ref(SUBJECT, value))):
        events = decode_frame(commit_frame(100, DID, [op]))
        assert [(type(e), e.reason) for e in events] == [(SkippedFrame, "invalid_uri")]


def test_mutated_real_frames_never_raise() -> None:
    """Random byte flips, cuts and splices of real frames: decode_frame returns, whatever the damage."""
    corpus = SHARED / "relay-150" / "frames.bin.zst"
    frames = list(iter_capture(corpus)) if corpus.is_file() else [_good_post()]
    rng = random.Random(1234)
    kinds: set[type] = set()
    for _ in range(1500):
        frame = bytearray(rng.choice(frames))
        for _ in range(rng.randint(1, 4)):
            if len(frame) < 2:
                break
            how = rng.random()
            if how < 0.6:
                frame[rng.randrange(len(frame))] = rng.randrange(256)
            elif how < 0.8:
                del frame[rng.randrange(1, len(frame)) :]
            else:
                pos = rng.randrange(len(frame))
                frame[pos:pos] = rng.randbytes(rng.randint(1, 16))
        events = decode_frame(bytes(frame))
        assert events
        kinds.update(type(e) for e in events)
    assert SkippedFrame in kinds
