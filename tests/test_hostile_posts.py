"""Hostile posts and commits (issue 13): real encoded frames over every cap, decoded, stored and shown.

Each case is a frame a stranger could put on the relay: what the decoder makes of it, and what the
store counts (`fields_truncated`, `facets_dropped`, `ops_skipped`, `cids_unverified`).
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import libipld
import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient

from feedserver.app import create_app
from firehose.decode.caps import (
    MAX_ALT_CHARS,
    MAX_CARD_DESCRIPTION_CHARS,
    MAX_CARD_TITLE_CHARS,
    MAX_COMMIT_OPS,
    MAX_FACETS,
)
from firehose.decode.jetstream import decode_message
from firehose.decode.relay import decode_frame
from firehose.events import EngagementCreated, PostUpserted, SkippedFrame
from firehose.store.rows import MAX_STORED_LINKS
from firehose.store.schema import open_db
from gitfeed.cli import main
from tests.support import framegen as fg
from tests.support.seed import server_settings
from tests.support.stories import write_capture
from tests.test_ingest import ingest_capture

DID = "did:plc:hostilehostilehostile00"
REPO = "https://github.com/pallets/flask"
TEXT = f"look at {REPO}"
FOUR_MB = 4 * 2**20


def _post(seq: int = 100, rkey: str = "3khostile0001", **record_kw: Any) -> bytes:
    return fg.commit_frame(seq, DID, [fg.post_op(rkey, TEXT, **record_kw)], mst_depth=1)


def _card(title: str = "Flask", description: str = "a web framework") -> dict[str, Any]:
    return fg.external_embed(REPO, title, description)


def _image(alt: str) -> dict[str, Any]:
    return {"alt": alt, "image": fg.blob(alt[:8].encode()), "aspectRatio": {"width": 4, "height": 3}}


def _link_facets(n: int) -> list[dict[str, Any]]:
    """`n` link facets over the post's URL, each to another repository (distinct links)."""
    start = TEXT.encode().index(b"https")
    return [
        {
            "index": {"byteStart": start, "byteEnd": len(TEXT.encode())},
            "features": [{"$type": "app.bsky.richtext.facet#link", "uri": f"https://github.com/o{i}/r{i}"}],
        }
        for i in range(n)
    ]


def _likes(n: int, seq: int = 100) -> bytes:
    subject = fg.post_uri("did:plc:other", "3laaaaaaaaa22")
    ops = [fg.like_op(fg.tid(1_700_000_000_000_000 + i), subject) for i in range(n)]
    return fg.commit_frame(seq, DID, ops, mst_depth=1)


# (id, the post's facets / embed, fields cut, facets dropped, what to check on the decoded record)
POST_CASES: list[tuple[str, Callable[[], dict[str, Any]], int, int, Callable[[dict[str, Any]], object]]] = [
    (
        "card_description_4mb",
        lambda: dict(embed=_card(description="d" * FOUR_MB)),
        1,
        0,
        lambda r: r["embed"]["external"]["description"] == "d" * (MAX_CARD_DESCRIPTION_CHARS - 1) + "\u2026",
    ),
    (
        "card_title_100k",
        lambda: dict(embed=_card(title="t" * 100_000)),
        1,
        0,
        lambda r: len(r["embed"]["external"]["title"]) == MAX_CARD_TITLE_CHARS,
    ),
    (
        "card_title_and_description",
        lambda: dict(embed=_card(title="t" * 301, description="d" * 1001)),
        2,
        0,
        lambda r: [len(r["embed"]["external"][k]) for k in ("title", "description")] == [300, 1000],
    ),
    (
        "card_at_the_caps_kept_whole",
        lambda: dict(embed=_card(title="t" * 300, description="d" * 1000)),
        0,
        0,
        lambda r: [len(r["embed"]["external"][k]) for k in ("title", "description")] == [300, 1000],
    ),
    (
        "card_inside_record_with_media",
        lambda: dict(
            embed={
                "$type": "app.bsky.embed.recordWithMedia",
                "record": {
                    "$type": "app.bsky.embed.record",
                    "record": fg.strong_ref(fg.post_uri(DID, "3k1")),
                },
                "media": _card(description="d" * 50_000),
            }
        ),
        1,
        0,
        lambda r: len(r["embed"]["media"]["external"]["description"]) == MAX_CARD_DESCRIPTION_CHARS,
    ),
    (
        "link_facets_20000",
        lambda: dict(facets=_link_facets(20_000)),
        0,
        20_000 - MAX_FACETS,
        lambda r: (
            len(r["facets"]) == MAX_FACETS
            and r["facets"][-1]["features"][0]["uri"] == "https://github.com/o99/r99"
        ),
    ),
    (
        "link_facets_at_the_cap",
        lambda: dict(facets=_link_facets(MAX_FACETS)),
        0,
        0,
        lambda r: len(r["facets"]) == MAX_FACETS,
    ),
    (
        "image_alt_1mb_each",
        lambda: dict(embed={"$type": "app.bsky.embed.images", "images": [_image(c * 2**20) for c in "abcd"]}),
        4,
        0,
        lambda r: [len(i["alt"]) for i in r["embed"]["images"]] == [MAX_ALT_CHARS] * 4,
    ),
    (
        "video_alt_100k",
        lambda: dict(
            embed={"$type": "app.bsky.embed.video", "video": fg.blob(b"v", "video/mp4"), "alt": "v" * 100_000}
        ),
        1,
        0,
        lambda r: len(r["embed"]["alt"]) == MAX_ALT_CHARS,
    ),
]


@pytest.mark.parametrize(
    ("name", "fields", "cut", "dropped", "check"), POST_CASES, ids=[c[0] for c in POST_CASES]
)
def test_a_hostile_post_is_kept_within_the_caps_and_counted_from_either_source(
    name: str,
    fields: Callable[[], dict[str, Any]],
    cut: int,
    dropped: int,
    check: Callable[[dict[str, Any]], object],
) -> None:
    """The relay frame, and the same post as Jetstream shows it (JSON): the same capped record and counts."""
    [relay] = decode_frame(_post(**fields()))
    assert isinstance(relay, PostUpserted), relay
    payload = {
        "$type": "network.bsky.jetstream.subscribeEvents#commit",
        "seq": 7,
        "did": DID,
        "collection": fg.POST,
        "operation": "create",
        "rkey": "3khostile0001",
        "cid": relay.cid,
        "record": fg.post_record(TEXT, **fields()),
    }
    [jetstream] = decode_message(payload)
    assert isinstance(jetstream, PostUpserted), jetstream
    for event in (relay, jetstream):
        assert (event.fields_truncated, event.facets_dropped) == (cut, dropped)
        assert check(event.record)
        assert event.record["text"] == TEXT
    assert jetstream.record == relay.record


# ---------------------------------------------------------------- ops per commit


@pytest.mark.parametrize(
    ("n_ops", "want"),
    [
        (1, [EngagementCreated]),
        (MAX_COMMIT_OPS, [EngagementCreated] * MAX_COMMIT_OPS),
        (MAX_COMMIT_OPS + 1, [SkippedFrame]),
        (10_000, [SkippedFrame]),
    ],
    ids=["1_op", "200_ops", "201_ops", "10000_ops"],
)
def test_a_commit_over_the_lexicons_200_ops_is_skipped_whole(n_ops: int, want: list[type]) -> None:
    events = decode_frame(_likes(n_ops))
    assert [type(e) for e in events] == want
    if want == [SkippedFrame]:
        [skip] = events
        assert (skip.cursor, skip.reason, skip.ops) == (100, "too_many_ops", n_ops)
        assert f"{n_ops} ops > 200" in skip.detail


# ---------------------------------------------------------------- CID hash functions


def _cid(code: int, digest: bytes, codec: int = 0x71) -> bytes:
    return bytes((0x01, codec)) + _uvarint(code) + _uvarint(len(digest)) + digest


def _uvarint(n: int) -> bytes:
    out = bytearray()
    while True:
        out.append((n & 0x7F) | (0x80 if n > 0x7F else 0))
        n >>= 7
        if not n:
            return bytes(out)


def _frame_with_cid(make_cid: Callable[[bytes], bytes], stored: bytes | None = None, seq: int = 100) -> bytes:
    """A one-post commit whose op CID is `make_cid(block)`; the CAR holds `stored` (default: the block)."""
    block = fg.encode_record(fg.post_record(TEXT))
    header, body = libipld.decode_dag_cbor_multi(
        fg.commit_frame(seq, DID, [fg.Op("create", fg.POST, f"3khostile{seq:04d}", block)], mst_depth=1)
    )
    cid = make_cid(block)
    body["ops"][0]["cid"] = cid
    body["blocks"] = fg.encode_car([body["commit"]], [(cid, block if stored is None else stored)])
    return fg.raw_frame(header, body)


OTHER_BLOCK = fg.encode_record(fg.post_record("swapped in by the attacker"))

# (id, frame, expected reason or None for an accepted post)
CID_CASES: list[tuple[str, Callable[[], bytes], str | None]] = [
    ("sha2_256_match", lambda: _frame_with_cid(lambda b: _cid(0x12, hashlib.sha256(b).digest())), None),
    (
        "sha2_256_mismatch",
        lambda: _frame_with_cid(lambda b: _cid(0x12, hashlib.sha256(b).digest()), OTHER_BLOCK),
        "block_hash_mismatch",
    ),
    ("sha2_512_match", lambda: _frame_with_cid(lambda b: _cid(0x13, hashlib.sha512(b).digest())), None),
    (
        "sha2_512_mismatch",
        lambda: _frame_with_cid(lambda b: _cid(0x13, hashlib.sha512(b).digest()), OTHER_BLOCK),
        "block_hash_mismatch",
    ),
    (
        "raw_codec_sha2_512_mismatch",
        lambda: _frame_with_cid(lambda b: _cid(0x13, hashlib.sha512(b).digest(), codec=0x55), OTHER_BLOCK),
        "block_hash_mismatch",
    ),
    (
        "cid_v0_sha2_256_match",
        lambda: _frame_with_cid(lambda b: b"\x12\x20" + hashlib.sha256(b).digest()),
        None,
    ),
    (
        "cid_v0_sha2_256_mismatch",
        lambda: _frame_with_cid(lambda b: b"\x12\x20" + hashlib.sha256(b).digest(), OTHER_BLOCK),
        "block_hash_mismatch",
    ),
    ("blake3", lambda: _frame_with_cid(lambda b: _cid(0x1E, hashlib.sha256(b).digest())), "unsupported_hash"),
    ("sha1", lambda: _frame_with_cid(lambda b: _cid(0x11, hashlib.sha1(b).digest())), "unsupported_hash"),
    ("identity", lambda: _frame_with_cid(lambda b: _cid(0x00, b)), "unsupported_hash"),
    (
        "sha2_256_truncated_digest",
        lambda: _frame_with_cid(lambda b: _cid(0x12, hashlib.sha256(b).digest()[:16])),
        "unsupported_hash",
    ),
    (
        "sha3_512",
        lambda: _frame_with_cid(lambda b: _cid(0x14, hashlib.sha3_512(b).digest())),
        "unsupported_hash",
    ),
]


@pytest.mark.parametrize(("name", "build", "reason"), CID_CASES, ids=[c[0] for c in CID_CASES])
def test_every_supported_hash_is_verified_and_the_rest_skipped(
    name: str, build: Callable[[], bytes], reason: str | None
) -> None:
    [event] = decode_frame(build())
    if reason is None:
        assert isinstance(event, PostUpserted), event
        assert event.record["text"] == TEXT
    else:
        assert isinstance(event, SkippedFrame), event
        assert (event.cursor, event.reason) == (100, reason)
        assert event.detail


# ---------------------------------------------------------------- stored, counted, shown


def test_hostile_frames_are_stored_capped_counted_and_the_page_stays_small(tmp_path: Path) -> None:
    db_path = tmp_path / "gitfeed.db"
    now = fg.iso_time(int(time.time() * 1e6))  # recent, so `/` shows them
    frames = [
        _post(1, "3khostile0001", embed=_card(description="d" * FOUR_MB), created_at=now),
        _post(2, "3khostile0002", facets=_link_facets(20_000), created_at=now),
        _likes(10_000, seq=3),
        _frame_with_cid(lambda b: _cid(0x13, hashlib.sha512(b).digest()), OTHER_BLOCK, seq=4),
        _frame_with_cid(lambda b: _cid(0x1E, hashlib.sha256(b).digest()), seq=5),
        _frame_with_cid(lambda b: _cid(0x13, hashlib.sha512(b).digest()), seq=6),  # verified: stored
    ]
    capture = write_capture(tmp_path / "hostile.bin.zst", frames)
    runner, _ = ingest_capture(db_path, capture)

    db = open_db(db_path)
    rows = {row["rkey"]: row for row in db["posts"].rows}
    counters = dict(db.execute("SELECT name, value FROM counters").fetchall())
    db.close()
    assert sorted(rows) == ["3khostile0001", "3khostile0002", "3khostile0006"]
    assert len(rows["3khostile0001"]["card_description"]) == MAX_CARD_DESCRIPTION_CHARS
    faceted = rows["3khostile0002"]
    assert len(json.loads(faceted["github_urls"])) == MAX_STORED_LINKS
    assert len(json.loads(faceted["repos"])) == MAX_STORED_LINKS
    want = {
        "fields_truncated": 2,
        "facets_dropped": 20_000 - MAX_FACETS,
        "ops_skipped": 10_000,
        "cids_unverified": 1,
    }
    assert {name: counters.get(name, 0) for name in want} == want
    assert counters["frames_skipped"] == 3  # the commit of 10,000 ops, the sha2-512 mismatch, the blake3 CID
    assert {name: getattr(runner.stats, name) for name in want} == want

    stats = json.loads(CliRunner().invoke(main, ["stats", "--json", "--db", str(db_path)]).output)
    assert {name: stats[name] for name in want} == want

    settings = server_settings(db_path, admin_token="t")
    with TestClient(create_app(settings)) as client:
        page = client.get("/")
        metrics = client.get("/metrics").text
    assert page.status_code == 200
    assert "d" * (MAX_CARD_DESCRIPTION_CHARS - 1) + "\u2026" in page.text
    assert page.text.count('class="gh-card"') == 1 + MAX_STORED_LINKS  # the sha2-512 post is too old for /
    assert len(page.content) < 100_000, len(page.content)
    for name, value in want.items():
        assert f'gitfeed_ingest_capped_total{{counter="{name}"}} {float(value)}' in metrics
