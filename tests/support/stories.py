"""A short relay log that exercises every kind of event, and a capture file of it (ingest and CLI tests)."""

from __future__ import annotations

from pathlib import Path

from firehose.capture import CaptureWriter
from tests.support import framegen as fg

ALICE = "did:plc:alicealicealicealice00"
BOB = "did:plc:bobbobbobbobbobbobbob00"
CAROL = "did:plc:carolcarolcarolcarol00"


def story() -> list[bytes]:
    """Posts with and without GitHub links, engagement on them, an unlike, a delete and a takedown."""
    gh = fg.post_uri(ALICE, "3kgh0000000a2")
    return [
        fg.commit_frame(
            1, ALICE, [fg.post_op("3kgh0000000a2", "shipped https://github.com/Pallets/Flask today")]
        ),
        fg.commit_frame(2, BOB, [fg.post_op("3kplain00000b2", "just a cat photo")]),
        fg.commit_frame(3, BOB, [fg.like_op("3klike0000001", gh)]),
        fg.commit_frame(4, CAROL, [fg.like_op("3klike0000002", gh), fg.repost_op("3krepo0000001", gh)]),
        fg.commit_frame(5, BOB, [fg.delete_op(fg.LIKE, "3klike0000001")]),
        fg.commit_frame(6, CAROL, [fg.post_op("3kgh0000000c2", "see github.com/psf/requests")]),
        fg.commit_frame(7, CAROL, [fg.delete_op(fg.POST, "3kgh0000000c2")]),
        fg.commit_frame(8, BOB, [fg.post_op("3kgh0000000b3", "fork: https://github.com/bob/fork")]),
        fg.account_frame(9, BOB, active=False, status="takendown"),
        b"\x00 not a frame",
        fg.identity_frame(10, ALICE, handle="alice.example.com"),
    ]


def write_capture(path: Path, frames: list[bytes]) -> Path:
    with CaptureWriter(path) as writer:
        for frame in frames:
            writer.write(frame)
    return path
