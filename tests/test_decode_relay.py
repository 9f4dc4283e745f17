"""decode_frame on real relay bytes (the relay-150 corpus vs production Jetstream) and on framegen frames."""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any

import libipld
import pytest
from atproto import CAR, models
from atproto_crypto.verify import verify_signature
from atproto_firehose import parse_subscribe_repos_message
from atproto_subscription.frames import Frame

from firehose.capture import iter_capture
from firehose.decode.relay import StreamControl, car_blocks, decode_frame
from firehose.events import (
    AccountChanged,
    EngagementCreated,
    EngagementDeleted,
    IdentityChanged,
    PostDeleted,
    PostUpserted,
    Progress,
    SkippedFrame,
)
from tests.support.framegen import (
    FOLLOW,
    LIKE,
    POST,
    REPOST,
    SIGNING_DID_KEY,
    account_frame,
    commit_frame,
    delete_op,
    error_frame,
    external_embed,
    follow_op,
    identity_frame,
    info_frame,
    like_op,
    link_facet,
    post_op,
    post_record,
    post_uri,
    record_cid,
    reply_ref,
    repost_op,
    sync_frame,
    update_op,
)

CORPUS = Path(__file__).resolve().parents[1].parent / "shared" / "corpus" / "relay-150"
DID = "did:plc:ewvi7nxzyoun6zhxrhs64oiz"


@pytest.fixture(scope="module")
def corpus() -> Path:
    if not (CORPUS / "frames.bin.zst").is_file():
        pytest.skip(f"{CORPUS} is absent: the shared corpus lives beside the checkout")
    return CORPUS


@pytest.fixture(scope="module")
def frames(corpus: Path) -> list[bytes]:
    return list(iter_capture(corpus / "frames.bin.zst", strict=True))


@pytest.fixture(scope="module")
def expected(corpus: Path) -> list[dict[str, Any]]:
    lines = (corpus / "expected_v1.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


# ---------------------------------------------------------------- real data


def test_every_corpus_frame_decodes(frames: list[bytes]) -> None:
    assert len(frames) == 150
    for i, frame in enumerate(frames):
        events = decode_frame(frame)
        assert events, f"frame {i} gave nothing"
        bad = [e for e in events if isinstance(e, SkippedFrame | StreamControl)]
        assert not bad, f"frame {i}: {bad}"
        seq = libipld.decode_dag_cbor_multi(frame)[1]["seq"]
        assert {e.cursor for e in events} == {seq}


def test_corpus_agrees_with_production_jetstream(frames: list[bytes], expected: list[dict[str, Any]]) -> None:
    events = [e for frame in frames for e in decode_frame(frame)]
    posts = {(e.did, e.rkey): e for e in events if isinstance(e, PostUpserted)}
    deletes = {(e.did, e.rkey) for e in events if isinstance(e, PostDeleted)}
    engagements = {(e.did, e.rkey): e for e in events if isinstance(e, EngagementCreated)}
    accounts = [e for e in events if isinstance(e, AccountChanged)]

    want_posts = want_deletes = want_engagements = want_accounts = 0
    for line in expected:
        did = line["did"]
        if line["kind"] == "account":
            want_accounts += 1
            acct = line["account"]
            assert AccountChanged(acct["seq"], did, acct["active"], acct.get("status")) in accounts
            continue
        if line["kind"] != "commit":
            continue
        commit = line["commit"]
        key = (did, commit["rkey"])
        coll, operation = commit["collection"], commit["operation"]
        if coll == POST and operation in ("create", "update"):
            want_posts += 1
            got = posts[key]
            assert got.cid == commit["cid"]
            assert got.update is (operation == "update")
            rec = commit["record"]
            for field in ("text", "createdAt", "langs"):
                assert got.record.get(field) == rec.get(field), (key, field)
            assert got.record == rec, key  # the whole record, links and blobs included, as Jetstream shows it
        elif coll == POST and operation == "delete":
            want_deletes += 1
            assert key in deletes
        elif coll in (LIKE, REPOST) and operation == "create":
            want_engagements += 1
            got = engagements[key]
            assert got.kind == ("like" if coll == LIKE else "repost")
            assert (got.subject_uri, got.subject_cid) == (
                commit["record"]["subject"]["uri"],
                commit["record"]["subject"]["cid"],
            )
    assert (want_posts, want_deletes, want_accounts) == (17, 1, 1)
    assert (len(posts), len(deletes), len(accounts)) == (want_posts, want_deletes, want_accounts)
    assert len(engagements) == want_engagements == 120


def test_corpus_identity_event(frames: list[bytes], expected: list[dict[str, Any]]) -> None:
    events = [e for frame in frames for e in decode_frame(frame)]
    identities = [e for e in events if isinstance(e, IdentityChanged)]
    want = [line["identity"] for line in expected if line["kind"] == "identity"]
    assert [(e.cursor, e.did, e.handle) for e in identities] == [
        (w["seq"], w["did"], w.get("handle")) for w in want
    ]


def test_fast_path_matches_the_sdk_path(frames: list[bytes]) -> None:
    """Our libipld fast path gives the same records as the SDK's Frame -> model -> CAR -> get_or_create."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        for frame in frames:
            fr = Frame.from_bytes(frame)
            msg = parse_subscribe_repos_message(fr)
            if fr.type != "#commit":
                continue
            car = CAR.from_bytes(msg.blocks)
            ours = {e.rkey: e for e in decode_frame(frame) if isinstance(e, PostUpserted)}
            for op in msg.ops:
                collection, rkey = op.path.split("/")
                if collection != POST or op.action == "delete":
                    continue
                model = models.get_or_create(
                    car.blocks.get(op.cid), models.AppBskyFeedPost.Record, strict=True
                )
                assert ours[rkey].record["text"] == model.text
                assert ours[rkey].record["createdAt"] == model.created_at
                assert ours[rkey].cid == str(op.cid)


def _mst_records(blocks: dict[bytes, bytes], node_cid: bytes | None) -> dict[str, str]:
    """Walk an MST (in key order) and return {collection/rkey: record CID}."""
    out: dict[str, str] = {}
    if node_cid is None:
        return out
    node = libipld.decode_dag_cbor(blocks[node_cid])
    out.update(_mst_records(blocks, node.get("l")))
    key = b""
    for entry in node["e"]:
        key = key[: entry["p"]] + entry["k"]
        out[key.decode()] = libipld.encode_cid(entry["v"])
        out.update(_mst_records(blocks, entry.get("t")))
    return out


def test_repo_car_lists_the_reference_records(corpus: Path) -> None:
    car = (corpus / "repo.car").read_bytes()
    blocks = car_blocks(car)
    header, sdk_blocks = libipld.decode_car(car)
    assert set(blocks) == set(sdk_blocks)
    commit = libipld.decode_dag_cbor(blocks[header["roots"][0]])
    got = _mst_records(blocks, commit["data"])
    want = dict(
        line.split("\t")
        for line in (corpus / "car_expected_records.tsv").read_text().splitlines()
        if line.strip()
    )
    assert got == want


# ---------------------------------------------------------------- framegen frames


def test_post_create_with_link_facet_embed_and_reply() -> None:
    text = "new release: https://github.com/octo/repo"
    op = post_op(
        "3lbbbbbbbbb22",
        text,
        facets=[link_facet(text, "https://github.com/octo/repo", "https://github.com/octo/repo")],
        embed=external_embed("https://github.com/octo/repo", "octo/repo", "A repo"),
        reply=reply_ref(post_uri("did:plc:other", "3laaaaaaaaa22")),
    )
    [event] = decode_frame(commit_frame(42, DID, [op]))
    assert isinstance(event, PostUpserted)
    assert (event.cursor, event.did, event.rkey, event.update) == (42, DID, "3lbbbbbbbbb22", False)
    assert event.cid == record_cid(op.record)
    assert event.record == op.record  # JSON shape round-trips: blob ref as {"$link"}, strong refs as strings
    assert event.record["embed"]["external"]["thumb"]["ref"]["$link"].startswith("bafkrei")


def test_post_update_delete_and_bytes_field() -> None:
    record = post_record("edited", extraBlob={"$bytes": "AAECAw"})
    events = decode_frame(commit_frame(7, DID, [update_op(POST, "3k2", record), delete_op(POST, "3k3")]))
    assert isinstance(events[0], PostUpserted) and events[0].update is True
    assert events[0].record["extraBlob"] == {"$bytes": "AAECAw"}
    assert events[1] == PostDeleted(7, DID, "3k3")


def test_engagements_and_ignored_collections() -> None:
    subject = post_uri("did:plc:other", "3laaaaaaaaa22")
    events = decode_frame(
        commit_frame(
            9,
            DID,
            [
                like_op("3l1", subject, "bafyreiftot7eltsc3f6g4qktykmbv6jcmdmhcx5osscan6jpdxkpqcmcza"),
                repost_op("3l2", subject),
                follow_op("3l3", "did:plc:other"),
                delete_op(LIKE, "3l4"),
                delete_op(REPOST, "3l5"),
                delete_op(FOLLOW, "3l6"),
            ],
        )
    )
    assert events == [
        EngagementCreated(
            9, "like", DID, "3l1", subject, "bafyreiftot7eltsc3f6g4qktykmbv6jcmdmhcx5osscan6jpdxkpqcmcza"
        ),
        EngagementCreated(9, "repost", DID, "3l2", subject, events[1].subject_cid),
        EngagementDeleted(9, "like", DID, "3l4"),
        EngagementDeleted(9, "repost", DID, "3l5"),
    ]


def test_commit_with_nothing_relevant_is_progress() -> None:
    assert decode_frame(commit_frame(11, DID, [follow_op("3l3", "did:plc:other")])) == [Progress(11)]
    assert decode_frame(commit_frame(12, DID, [])) == [Progress(12)]


def test_account_identity_sync_info_error_frames() -> None:
    assert decode_frame(account_frame(20, DID, False, "takendown")) == [
        AccountChanged(20, DID, False, "takendown")
    ]
    assert decode_frame(account_frame(21, DID, True)) == [AccountChanged(21, DID, True, None)]
    assert decode_frame(identity_frame(22, DID, "alice.example.com")) == [
        IdentityChanged(22, DID, "alice.example.com")
    ]
    assert decode_frame(identity_frame(23, DID)) == [IdentityChanged(23, DID, None)]
    assert decode_frame(sync_frame(24, DID)) == [Progress(24)]
    assert decode_frame(info_frame("OutdatedCursor", "too old")) == [
        StreamControl("info", "OutdatedCursor", "too old")
    ]
    assert decode_frame(error_frame("FutureCursor", "cursor ahead")) == [
        StreamControl("error", "FutureCursor", "cursor ahead")
    ]
    assert decode_frame(error_frame("ConsumerTooSlow")) == [StreamControl("error", "ConsumerTooSlow", None)]


def test_framegen_commit_is_real() -> None:
    """Signed with a real secp256k1 key, CIDs are real sha256 CIDs, and the SDK parses the frame."""
    frame = commit_frame(5, DID, [post_op("3k9", "hello")])
    header, body = libipld.decode_dag_cbor_multi(frame)
    assert header == {"op": 1, "t": "#commit"}
    blocks = car_blocks(body["blocks"])
    assert 9 <= len(blocks) <= 12  # commit + 7-10 MST nodes + the record, like the real frames
    commit = libipld.decode_dag_cbor(blocks[body["commit"]])
    unsigned = {k: v for k, v in commit.items() if k != "sig"}
    assert verify_signature(SIGNING_DID_KEY, libipld.encode_dag_cbor(unsigned), commit["sig"])
    assert _mst_records(blocks, commit["data"])["app.bsky.feed.post/3k9"] == libipld.encode_cid(
        body["ops"][0]["cid"]
    )
    msg = parse_subscribe_repos_message(Frame.from_bytes(frame))
    record = CAR.from_bytes(msg.blocks).blocks.get(msg.ops[0].cid)
    assert models.get_or_create(record, models.AppBskyFeedPost.Record, strict=True).text == "hello"


def test_framegen_is_deterministic() -> None:
    ops = [post_op("3k9", "hello"), like_op("3ka", post_uri("did:plc:other", "3k1"))]
    assert commit_frame(5, DID, ops) == commit_frame(5, DID, ops)


def test_synthetic_capture_decodes_clean(tmp_path: Path) -> None:
    """The benchmark's generator: the mix it reports is what decoding finds, and nothing is skipped."""
    from tests.support.capture_synth import write_synthetic_capture

    counts = write_synthetic_capture(tmp_path / "synth.zst", 600, seed=7)
    events = [e for f in iter_capture(tmp_path / "synth.zst", strict=True) for e in decode_frame(f)]
    assert not [e for e in events if isinstance(e, SkippedFrame | StreamControl)]
    assert sum(isinstance(e, PostUpserted) for e in events) == counts["post"]
    assert sum(isinstance(e, PostDeleted) for e in events) == counts.get("post_delete", 0)
    assert sum(isinstance(e, EngagementCreated) for e in events) == counts["like"] + counts["repost"]
    assert sum(isinstance(e, AccountChanged) for e in events) == counts.get("account", 0)
    assert 0.05 < counts["post"] / counts["frames"] < 0.14
    assert counts["like"] + counts["follow"] > counts["frames"] / 2
    assert any("github.com" in str(e.record.get("facets")) for e in events if isinstance(e, PostUpserted))
