"""Relay frames (`com.atproto.sync.subscribeRepos`) -> normalized events.

A frame is two concatenated DAG-CBOR objects: a header `{op, t}` and a body. `#commit` bodies carry
a CAR (`blocks`) with the commit, MST nodes and the records of the ops. Why not the SDK's
`Frame` -> `parse_subscribe_repos_message` -> `CAR.from_bytes` chain: it builds pydantic models and
decodes every block of every CAR (about 4,000 frames/s here). This module decodes the frame with
libipld (the SDK's own decoder), walks the CAR's framing without decoding it, and decodes only the
record blocks of post / like / repost ops, checking each block's hash against its CID (sha2-256 or
sha2-512; a block whose CID names another hash function is skipped, not trusted). Posts are
still validated against the lexicon as the SDK's post model sees it (`records.check_post`).

`decode_frame` never raises for bad input: a bad frame is `[SkippedFrame]`, a bad op inside a good
commit is one SkippedFrame next to the good events of the frame.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import libipld

from firehose.decode.caps import MAX_COMMIT_OPS, cap_post
from firehose.decode.records import RecordError, check_post, check_subject, decode_block, to_json
from firehose.decode.syntax import is_did, is_handle, is_record_key
from firehose.events import (
    ENGAGEMENT_COLLECTIONS,
    POST,
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

__all__ = ["DEFAULT_MAX_FRAME_BYTES", "Decoded", "StreamControl", "car_blocks", "decode_frame"]

DEFAULT_MAX_FRAME_BYTES = 5 * 2**20
_DAG_CBOR_SHA256 = b"\x01\x71\x12\x20"


@dataclass(frozen=True, slots=True)
class StreamControl:
    """An error frame (header op = -1) or an `#info` message: not an event, something the client acts on.

    How a websocket client should react (com.atproto.sync.subscribeRepos lexicon + event-stream spec):
    - kind 'error', name 'FutureCursor': the cursor we sent is ahead of the relay's sequence (another
      relay, or a relay that was reset). The server closes the stream. Reconnect WITHOUT a cursor (live
      tip) and log it loudly: events between our cursor and the tip on this relay are not replayable.
    - kind 'error', name 'ConsumerTooSlow': the server dropped us because our backlog grew too large.
      Reconnect (with backoff) from our persisted cursor; nothing is lost if the relay still has it.
    - kind 'error', any other name: the server closes the stream; log and reconnect with backoff from
      our cursor.
    - kind 'info', name 'OutdatedCursor': our cursor is older than the relay's backfill window; it
      starts from the oldest event it has. Log (events were missed) and carry on; not a reconnect.
    - kind 'info', any other name: log and carry on.
    """

    kind: Literal["error", "info"]
    name: str
    message: str | None = None


Decoded = Event | StreamControl


def _skip(cursor: int | None, reason: str, detail: str = "") -> SkippedFrame:
    return SkippedFrame(cursor=cursor, reason=reason, detail=detail)


def _varint(data: bytes, pos: int) -> tuple[int, int]:
    """Unsigned LEB128 at `pos` -> (value, next position)."""
    b = data[pos]
    if b < 0x80:
        return b, pos + 1
    value = 0
    shift = 0
    while True:
        b = data[pos]
        pos += 1
        value |= (b & 0x7F) << shift
        if b < 0x80:
            return value, pos
        shift += 7
        if shift > 63:
            raise ValueError("varint too long")


def car_blocks(car: bytes, wanted: set[bytes] | None = None) -> dict[bytes, bytes]:
    """CAR v1 -> {CID bytes: block bytes}, reading only the framing (no block is decoded); with `wanted`,
    only those CIDs' blocks are sliced out (duplicates: the last), though every section is walked.

    Why `wanted`: a commit's CAR has ten-odd sections (commit, MST nodes, records) and a commit's ops
    need one or two of them; not copying the rest into a dict halves the cost of the walk.
    Raises ValueError for a malformed CAR (truncated section, bad CID).
    """
    header_len, pos = _varint(car, 0)
    pos += header_len
    end = len(car)
    if pos > end:
        raise ValueError("CAR header runs past the end")
    found: dict[bytes, bytes] = {}
    startswith = car.startswith
    while pos < end:
        b = car[pos]
        if b < 0x80:
            pos += 1
            section_end = pos + b
        else:
            b2 = car[pos + 1]
            if b2 < 0x80:
                pos += 2
                section_end = pos + ((b & 0x7F) | (b2 << 7))
            else:
                section_len, pos = _varint(car, pos)
                section_end = pos + section_len
        if section_end > end:
            raise ValueError("CAR section runs past the end")
        if startswith(_DAG_CBOR_SHA256, pos):  # the common case: CIDv1 dag-cbor sha2-256, 36 bytes
            cid_end = pos + 36
        elif car[pos] == 0x12 and car[pos + 1] == 0x20:  # CIDv0: a bare sha256 multihash
            cid_end = pos + 34
        else:
            _, cid_end = _varint(car, pos)  # version
            _, cid_end = _varint(car, cid_end)  # codec
            _, cid_end = _varint(car, cid_end)  # multihash code
            digest_len, cid_end = _varint(car, cid_end)
            cid_end += digest_len
        if cid_end > section_end:
            raise ValueError("CAR CID runs past its section")
        cid = car[pos:cid_end]
        if wanted is None or cid in wanted:
            found[cid] = car[cid_end:section_end]
        pos = section_end
    return found


# Multihash functions we can check a block against: code -> (digest length, hash). A CID naming any
# other function (blake3, sha1, identity, a truncated digest, ...) cannot be verified, so its block is
# skipped (reason `unsupported_hash`, counted in `cids_unverified`), never trusted.
_HASHES: dict[int, tuple[int, Callable[[bytes], Any]]] = {
    0x12: (32, hashlib.sha256),  # sha2-256
    0x13: (64, hashlib.sha512),  # sha2-512
}


def _block(blocks: dict[bytes, bytes], cid: object) -> bytes:
    """The op's record block, its hash checked against the CID (sha2-256 and sha2-512; others skipped)."""
    if not isinstance(cid, bytes):
        raise RecordError("bad_op", f"op cid is {type(cid).__name__}")
    raw = blocks.get(cid)
    if raw is None:
        raise RecordError("missing_block", f"no block for {_cid_str(cid)}")
    if len(cid) == 36 and cid.startswith(_DAG_CBOR_SHA256):  # the common case: CIDv1 dag-cbor sha2-256
        if hashlib.sha256(raw).digest() != cid[4:]:
            raise RecordError("block_hash_mismatch", f"block of {_cid_str(cid)}")
        return raw
    code, digest = _multihash(cid)
    known = _HASHES.get(code)
    if known is None or len(digest) != known[0]:
        raise RecordError("unsupported_hash", f"{_cid_str(cid)}: multihash 0x{code:x}/{len(digest)} bytes")
    if known[1](raw).digest() != digest:
        raise RecordError("block_hash_mismatch", f"block of {_cid_str(cid)}")
    return raw


def _multihash(cid: bytes) -> tuple[int, bytes]:
    """(multihash code, digest) of a raw CID: v0 (a bare sha2-256 multihash) or v1."""
    try:
        if len(cid) == 34 and cid[0] == 0x12 and cid[1] == 0x20:
            return 0x12, cid[2:]
        version, pos = _varint(cid, 0)
        _, pos = _varint(cid, pos)  # codec
        code, pos = _varint(cid, pos)
        size, pos = _varint(cid, pos)
    except (IndexError, ValueError):
        raise RecordError("bad_op", f"op cid {cid[:80].hex()} is not a CID") from None
    if version != 1 or len(cid) - pos != size:
        raise RecordError("bad_op", f"op cid {cid[:80].hex()} is not a CID")
    return code, cid[pos:]


def _cid_str(cid: bytes) -> str:
    try:
        return libipld.encode_cid(cid)
    except ValueError:
        return cid.hex()


def _commit(body: dict, seq: int) -> list[Event]:
    did = body.get("repo")
    if not isinstance(did, str) or not is_did(did):
        return [_skip(seq, "invalid_did", f"repo {str(did)[:120]!r}")]
    ops = body.get("ops")
    if not isinstance(ops, list):
        return [_skip(seq, "bad_frame", "commit without ops")]
    if len(ops) > MAX_COMMIT_OPS:  # invalid as a whole (the lexicon's maxLength): skipped before any work
        detail = f"{did}: {len(ops)} ops > {MAX_COMMIT_OPS}"
        return [SkippedFrame(cursor=seq, reason="too_many_ops", detail=detail, ops=len(ops))]
    car = body.get("blocks")
    blocks: dict[bytes, bytes] | None = None
    events: list[Event] = []
    for op in ops:
        try:
            if not isinstance(op, dict):
                raise RecordError("bad_op", "op is not a map")
            path, action = op.get("path"), op.get("action")
            if not isinstance(path, str):
                raise RecordError("bad_op", "op without path")
            collection, _, rkey = path.partition("/")
            kind = ENGAGEMENT_COLLECTIONS.get(collection)
            if collection != POST and kind is None:
                continue
            if not is_record_key(rkey):
                raise RecordError("invalid_rkey", f"path {path[:120]!r}")
            if action == "delete":
                if kind is None:
                    events.append(PostDeleted(cursor=seq, did=did, rkey=rkey))
                else:
                    events.append(EngagementDeleted(cursor=seq, kind=kind, did=did, rkey=rkey))
                continue
            if action not in ("create", "update"):
                raise RecordError("bad_op", f"action {str(action)[:40]!r}")
            if kind is not None and action == "update":
                continue  # likes and reposts are not updated in place; nothing we count changes
            if blocks is None:
                if not isinstance(car, bytes):
                    raise RecordError("missing_block", "commit without a CAR")
                try:
                    wanted = {c for o in ops if type(o) is dict and type(c := o.get("cid")) is bytes}
                    blocks = car_blocks(car, wanted)
                except (ValueError, IndexError) as e:
                    blocks = {}
                    raise RecordError("bad_car", str(e)[:200]) from None
            cid = op.get("cid")
            raw = _block(blocks, cid)
            record = decode_block(raw)
            if kind is None:
                record, truncated, dropped = cap_post(record)
                check_post(record)
                events.append(
                    PostUpserted(
                        cursor=seq,
                        did=did,
                        rkey=rkey,
                        cid=libipld.encode_cid(cid),
                        record=to_json(record, raw),
                        update=action == "update",
                        fields_truncated=truncated,
                        facets_dropped=dropped,
                    )
                )
            else:
                subject_uri, subject_cid = check_subject(record, collection)
                events.append(
                    EngagementCreated(
                        cursor=seq,
                        kind=kind,
                        did=did,
                        rkey=rkey,
                        subject_uri=subject_uri,
                        subject_cid=subject_cid,
                    )
                )
        except RecordError as e:
            where = op.get("path") if isinstance(op, dict) else None
            events.append(_skip(seq, e.reason, f"{did} {str(where)[:160]}: {e.detail}"))
    return events or [Progress(cursor=seq)]


def _message(t: object, body: dict, seq: int) -> list[Decoded]:
    if t == "#commit":
        return _commit(body, seq)  # type: ignore[return-value]
    if t in ("#account", "#identity"):
        did = body.get("did")
        if not isinstance(did, str) or not is_did(did):
            return [_skip(seq, "invalid_did", f"{t} did {str(did)[:120]!r}")]
        if t == "#account":
            active, status = body.get("active"), body.get("status")
            if not isinstance(active, bool) or not (status is None or isinstance(status, str)):
                return [_skip(seq, "bad_frame", f"#account active={active!r} status={status!r}")]
            return [AccountChanged(cursor=seq, did=did, active=active, status=status)]
        handle = body.get("handle")
        if handle is not None and (not isinstance(handle, str) or not is_handle(handle)):
            return [_skip(seq, "invalid_handle", f"{did} handle {str(handle)[:120]!r}")]
        return [IdentityChanged(cursor=seq, did=did, handle=handle)]
    # #sync and any message type we do not know (the lexicon says: ignore unknown types) still move the cursor
    return [Progress(cursor=seq)]


def decode_frame(frame: bytes, *, max_frame_bytes: int = DEFAULT_MAX_FRAME_BYTES) -> list[Decoded]:
    """One subscribeRepos frame -> events (or one StreamControl for an error frame / #info).

    Never raises for bad input. Every event carries cursor = the frame's `seq`; a SkippedFrame has
    cursor None when the frame was too broken to read its seq.
    """
    if len(frame) > max_frame_bytes:
        return [_skip(None, "oversized", f"{len(frame)} bytes > {max_frame_bytes}")]
    try:
        parts = libipld.decode_dag_cbor_multi(frame)
    except (ValueError, RecursionError, OverflowError, TypeError) as e:
        return [_skip(None, "bad_cbor", str(e)[:200])]
    if len(parts) != 2 or not isinstance(parts[0], dict) or not isinstance(parts[1], dict):
        return [_skip(None, "bad_frame", f"{len(parts)} CBOR items, want header + body maps")]
    header, body = parts
    op = header.get("op")
    if op == -1:
        error, message = body.get("error"), body.get("message")
        return [
            StreamControl(
                kind="error",
                name=error if isinstance(error, str) else "Unknown",
                message=message if isinstance(message, str) else None,
            )
        ]
    if op != 1:
        return [_skip(None, "bad_frame", f"header op {op!r}")]
    t = header.get("t")
    if t == "#info":
        name, message = body.get("name"), body.get("message")
        return [
            StreamControl(
                kind="info",
                name=name if isinstance(name, str) else "Unknown",
                message=message if isinstance(message, str) else None,
            )
        ]
    seq = body.get("seq")
    if type(seq) is not int or seq < 0:
        return [_skip(None, "bad_frame", f"{t} without a seq")]
    try:
        return _message(t, body, seq)
    except Exception as e:  # last resort: a decoder bug must not stop the stream, but must be visible
        return [_skip(seq, "decode_error", f"{type(e).__name__}: {str(e)[:200]}")]
