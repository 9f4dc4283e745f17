"""Jetstream v2 messages (`network.bsky.jetstream.subscribeEvents`, JSON) -> the same normalized events
the relay decoder makes, so the store cannot tell the sources apart.

Jetstream already decoded the records to JSON (the shape our events carry), so only the caps
(`cap_post`) and validation are left: the same `check_post` / `check_subject` rules as the relay
path. Like `decode_frame`, `decode_message` never raises for bad input: a bad message is
`[SkippedFrame]`. `#info` is a `StreamControl` (the source acts on it); every other message carries
`seq`, the stream's cursor.
"""

from __future__ import annotations

from typing import Any

from firehose.decode.caps import cap_post
from firehose.decode.records import RecordError, check_post, check_subject
from firehose.decode.relay import StreamControl
from firehose.decode.syntax import is_cid, is_did, is_handle, is_record_key
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

__all__ = ["NSID", "decode_message"]

NSID = "network.bsky.jetstream.subscribeEvents"


def _commit(payload: dict[str, Any], seq: int, did: str) -> list[Event]:
    collection, operation, rkey = payload.get("collection"), payload.get("operation"), payload.get("rkey")
    kind = ENGAGEMENT_COLLECTIONS.get(collection)  # type: ignore[arg-type]
    if collection != POST and kind is None:
        return [Progress(cursor=seq)]
    if not isinstance(rkey, str) or not is_record_key(rkey):
        raise RecordError("invalid_rkey", f"rkey {str(rkey)[:120]!r}")
    if operation == "delete":
        if kind is None:
            return [PostDeleted(cursor=seq, did=did, rkey=rkey)]
        return [EngagementDeleted(cursor=seq, kind=kind, did=did, rkey=rkey)]
    if operation not in ("create", "update"):
        raise RecordError("bad_op", f"operation {str(operation)[:40]!r}")
    if kind is not None and operation == "update":
        return [Progress(cursor=seq)]
    record, cid = payload.get("record"), payload.get("cid")
    if not isinstance(record, dict):
        raise RecordError("missing_block", "commit without a record")
    if not isinstance(cid, str) or not is_cid(cid):
        raise RecordError("bad_op", f"cid {str(cid)[:80]!r}")
    if kind is None:
        record, truncated, dropped = cap_post(record)
        check_post(record)
        return [
            PostUpserted(
                cursor=seq,
                did=did,
                rkey=rkey,
                cid=cid,
                record=record,
                update=operation == "update",
                fields_truncated=truncated,
                facets_dropped=dropped,
            )
        ]
    subject_uri, subject_cid = check_subject(record, collection)  # type: ignore[arg-type]
    return [
        EngagementCreated(
            cursor=seq, kind=kind, did=did, rkey=rkey, subject_uri=subject_uri, subject_cid=subject_cid
        )
    ]


def _account(payload: dict[str, Any], seq: int, did: str) -> list[Event]:
    inner = payload.get("account")
    inner = inner if isinstance(inner, dict) else payload
    active, status = inner.get("active"), inner.get("status")
    if not isinstance(active, bool) or not (status is None or isinstance(status, str)):
        raise RecordError("bad_frame", f"#account active={active!r} status={status!r}")
    return [AccountChanged(cursor=seq, did=did, active=active, status=status)]


def _identity(payload: dict[str, Any], seq: int, did: str) -> list[Event]:
    inner = payload.get("identity")
    handle = (inner if isinstance(inner, dict) else payload).get("handle")
    if handle is not None and (not isinstance(handle, str) or not is_handle(handle)):
        raise RecordError("invalid_handle", f"{did} handle {str(handle)[:120]!r}")
    return [IdentityChanged(cursor=seq, did=did, handle=handle)]


_HANDLERS = {"#commit": _commit, "#account": _account, "#identity": _identity}


def decode_message(payload: object) -> list[Event] | StreamControl:
    """One message payload (the `payload` of an xrpc.v1.json message frame) -> events, or a StreamControl."""
    if not isinstance(payload, dict):
        return [SkippedFrame(cursor=None, reason="bad_frame", detail="payload is not an object")]
    mtype = payload.get("$type")
    fragment = mtype.removeprefix(NSID) if isinstance(mtype, str) else ""
    if fragment == "#info":
        name, message = payload.get("name"), payload.get("message")
        return StreamControl(
            kind="info",
            name=name if isinstance(name, str) else "Unknown",
            message=message if isinstance(message, str) else None,
        )
    seq = payload.get("seq")
    if type(seq) is not int or seq < 0:
        return [SkippedFrame(cursor=None, reason="bad_frame", detail=f"{str(mtype)[:80]} without a seq")]
    handler = _HANDLERS.get(fragment)
    if handler is None:  # #sync and types we do not know still move the cursor
        return [Progress(cursor=seq)]
    did = payload.get("did")
    if not isinstance(did, str) or not is_did(did):
        return [SkippedFrame(cursor=seq, reason="invalid_did", detail=f"{fragment} did {str(did)[:120]!r}")]
    try:
        return handler(payload, seq, did)
    except RecordError as e:
        where = f"{did} {payload.get('collection', '')}/{payload.get('rkey', '')}"
        return [SkippedFrame(cursor=seq, reason=e.reason, detail=f"{where[:160]}: {e.detail}")]
    except Exception as e:  # last resort, as in the relay decoder: visible, never fatal
        return [SkippedFrame(cursor=seq, reason="decode_error", detail=f"{type(e).__name__}: {str(e)[:200]}")]
