"""Build REAL encoded `com.atproto.sync.subscribeRepos` frames for tests and benchmarks.

Every frame is what a relay would send: a DAG-CBOR header + DAG-CBOR body (libipld, the SDK's own
encoder); `#commit` bodies carry a CAR v1 with the signed commit block (secp256k1, low-S, over the
DAG-CBOR of the unsigned commit), MST-shaped nodes that link down to the ops' record blocks, and
the record blocks; every CID is a real CIDv1 dag-cbor sha2-256 of its block.

Records are written JSON-shaped, as Jetstream shows them: links as {"$link": "bafy..."}, bytes as
{"$bytes": base64}; they are converted to DAG-CBOR values on encoding.

Typical use::

    from tests.support.framegen import commit_frame, post_op, like_op, delete_op, account_frame, error_frame
    frame = commit_frame(10, "did:plc:abc", [post_op("3kabc", "see https://github.com/a/b")])
    frame = commit_frame(11, "did:plc:abc", [like_op("3kabd", "at://did:plc:x/app.bsky.feed.post/3k1")])
    frame = commit_frame(12, "did:plc:abc", [delete_op(POST, "3kabc")])
    frame = account_frame(13, "did:plc:abc", active=False, status="takendown")
    frame = error_frame("FutureCursor", "cursor in the future")

Knobs for bad-input tests: `Op.record` may be pre-encoded `bytes` (e.g. with invalid UTF-8);
`Op(include_block=False)` leaves the record's block out of the CAR; `raw_frame(header, body)` and
`encode_car(roots, blocks)` build anything else.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import os
import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import libipld
from atproto_crypto.did import format_did_key
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

POST = "app.bsky.feed.post"
LIKE = "app.bsky.feed.like"
REPOST = "app.bsky.feed.repost"
FOLLOW = "app.bsky.graph.follow"
BLOCK = "app.bsky.graph.block"

_SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
_TID_ALPHABET = "234567abcdefghijklmnopqrstuvwxyz"
_EPOCH = dt.datetime(2026, 7, 4, 14, 38, tzinfo=dt.UTC)

#: The deterministic test signing key (a real secp256k1 key) and its did:key.
SIGNING_KEY = ec.derive_private_key(0x5EED_C0DE_F00D_BEEF_1234_5678_9ABC_DEF0, ec.SECP256K1())
SIGNING_DID_KEY = format_did_key(
    "ES256K", SIGNING_KEY.public_key().public_bytes(Encoding.X962, PublicFormat.CompressedPoint)
)


# ---------------------------------------------------------------- primitives


def cid_bytes(block: bytes) -> bytes:
    """Raw CIDv1 dag-cbor sha2-256 of an encoded block (the form libipld gives and takes for links)."""
    return b"\x01\x71\x12\x20" + hashlib.sha256(block).digest()


def cid_str(cid: bytes) -> str:
    """Raw CID bytes -> 'bafyrei...' string."""
    return libipld.encode_cid(cid)


def record_cid(record: dict[str, Any]) -> str:
    """The CID string a JSON-shaped record gets when encoded (what the relay puts in the op)."""
    return cid_str(cid_bytes(encode_record(record)))


_TID_PAIRS = [a + b for a in _TID_ALPHABET for b in _TID_ALPHABET]  # 10 bits -> 2 chars


def tid(micros: int, clock_id: int = 0) -> str:
    """A TID (13 chars, base32-sortable) for a microsecond timestamp: revs and record keys look real."""
    v = ((micros & (2**53 - 1)) << 10) | (clock_id & 0x3FF)
    p = _TID_PAIRS
    return (
        _TID_ALPHABET[v >> 60]
        + p[(v >> 50) & 1023]
        + p[(v >> 40) & 1023]
        + p[(v >> 30) & 1023]
        + p[(v >> 20) & 1023]
        + p[(v >> 10) & 1023]
        + p[v & 1023]
    )


def iso_time(micros: int) -> str:
    """Microseconds since the epoch -> '2026-07-04T14:38:07.517Z' (millisecond precision, like the relay)."""
    t = dt.datetime.fromtimestamp(micros / 1e6, tz=dt.UTC)
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + f"{t.microsecond // 1000:03d}Z"


def _micros_for_seq(seq: int) -> int:
    return int(_EPOCH.timestamp() * 1e6) + seq * 1000


def from_json(value: Any) -> Any:
    """JSON data model -> DAG-CBOR value: {"$link"} -> CID bytes (encoded as tag 42), {"$bytes"} -> bytes."""
    if isinstance(value, dict):
        if len(value) == 1 and "$link" in value:
            return libipld.decode_multibase(value["$link"])[1]
        if len(value) == 1 and "$bytes" in value:
            s = value["$bytes"]
            return base64.b64decode(s + "=" * (-len(s) % 4))
        return {k: from_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [from_json(v) for v in value]
    return value


def encode_record(record: dict[str, Any] | bytes) -> bytes:
    """A JSON-shaped record -> its DAG-CBOR block (bytes are passed through as an already-encoded block)."""
    return record if isinstance(record, bytes) else libipld.encode_dag_cbor(from_json(record))


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def encode_car(roots: Sequence[bytes], blocks: Iterable[tuple[bytes, bytes]]) -> bytes:
    """CAR v1: header {roots, version: 1} then [varint len][CID][block] sections."""
    header = libipld.encode_dag_cbor({"roots": list(roots), "version": 1})
    parts = [_varint(len(header)), header]
    for cid, block in blocks:
        parts.append(_varint(len(cid) + len(block)))
        parts.append(cid)
        parts.append(block)
    return b"".join(parts)


def raw_frame(header: dict[str, Any], body: Any) -> bytes:
    """Any header + body, DAG-CBOR encoded back to back (for frames no helper below builds)."""
    return libipld.encode_dag_cbor(header) + libipld.encode_dag_cbor(body)


def sign(data: bytes, key: ec.EllipticCurvePrivateKey = SIGNING_KEY) -> bytes:
    """ES256K as atproto wants it: raw 64-byte r||s, low-S; deterministic (RFC 6979), so frames are too."""
    r, s = decode_dss_signature(key.sign(data, ec.ECDSA(hashes.SHA256(), deterministic_signing=True)))
    if s > _SECP256K1_N // 2:
        s = _SECP256K1_N - s
    return r.to_bytes(32, "big") + s.to_bytes(32, "big")


# ---------------------------------------------------------------- records


def post_record(
    text: str,
    *,
    created_at: str = "2026-07-04T14:38:06.240Z",
    langs: Sequence[str] | None = ("en",),
    facets: list[dict[str, Any]] | None = None,
    embed: dict[str, Any] | None = None,
    reply: dict[str, Any] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """A JSON-shaped `app.bsky.feed.post` record (fields left None are omitted)."""
    record: dict[str, Any] = {"$type": POST, "text": text, "createdAt": created_at}
    if langs is not None:
        record["langs"] = list(langs)
    if facets is not None:
        record["facets"] = facets
    if embed is not None:
        record["embed"] = embed
    if reply is not None:
        record["reply"] = reply
    record.update(extra)
    return record


def link_facet(text: str, anchor: str, uri: str) -> dict[str, Any]:
    """A link facet over the first occurrence of `anchor` in `text` (UTF-8 byte offsets)."""
    start = text.encode().index(anchor.encode())
    return {
        "features": [{"$type": "app.bsky.richtext.facet#link", "uri": uri}],
        "index": {"byteStart": start, "byteEnd": start + len(anchor.encode())},
    }


def blob(cid_seed: bytes = b"thumb", mime_type: str = "image/jpeg", size: int = 119635) -> dict[str, Any]:
    """A blob ref (raw-codec CID as a link), as Jetstream shows it."""
    cid = b"\x01\x55\x12\x20" + hashlib.sha256(cid_seed).digest()
    return {"$type": "blob", "ref": {"$link": cid_str(cid)}, "mimeType": mime_type, "size": size}


def external_embed(uri: str, title: str = "", description: str = "", thumb: bool = True) -> dict[str, Any]:
    """An `app.bsky.embed.external` link card."""
    external: dict[str, Any] = {"uri": uri, "title": title, "description": description}
    if thumb:
        external["thumb"] = blob(uri.encode())
    return {"$type": "app.bsky.embed.external", "external": external}


def strong_ref(uri: str, cid: str | None = None) -> dict[str, str]:
    """`com.atproto.repo.strongRef`; the cid defaults to a real CID derived from the uri."""
    return {"uri": uri, "cid": cid or cid_str(cid_bytes(uri.encode()))}


def reply_ref(root_uri: str, parent_uri: str | None = None) -> dict[str, Any]:
    return {"root": strong_ref(root_uri), "parent": strong_ref(parent_uri or root_uri)}


def subject_record(
    collection: str,
    subject_uri: str,
    subject_cid: str | None = None,
    created_at: str = "2026-07-04T14:38:08.999Z",
) -> dict[str, Any]:
    """A like or repost record."""
    return {"$type": collection, "subject": strong_ref(subject_uri, subject_cid), "createdAt": created_at}


def follow_record(subject_did: str, created_at: str = "2026-07-04T14:38:08.999Z") -> dict[str, Any]:
    return {"$type": FOLLOW, "subject": subject_did, "createdAt": created_at}


# ---------------------------------------------------------------- ops


@dataclass(frozen=True)
class Op:
    """A repo op; `record` is JSON-shaped or an encoded block; include_block=False: not in the CAR."""

    action: Literal["create", "update", "delete"]
    collection: str
    rkey: str
    record: dict[str, Any] | bytes | None = None
    include_block: bool = True

    @property
    def path(self) -> str:
        return f"{self.collection}/{self.rkey}"


def create_op(collection: str, rkey: str, record: dict[str, Any] | bytes) -> Op:
    return Op("create", collection, rkey, record)


def update_op(collection: str, rkey: str, record: dict[str, Any] | bytes) -> Op:
    return Op("update", collection, rkey, record)


def delete_op(collection: str, rkey: str) -> Op:
    return Op("delete", collection, rkey)


def post_op(rkey: str, text: str, *, action: Literal["create", "update"] = "create", **record_kw: Any) -> Op:
    """Create (or update) a post; keyword arguments go to `post_record`."""
    return Op(action, POST, rkey, post_record(text, **record_kw))


def like_op(rkey: str, subject_uri: str, subject_cid: str | None = None) -> Op:
    return Op("create", LIKE, rkey, subject_record(LIKE, subject_uri, subject_cid))


def repost_op(rkey: str, subject_uri: str, subject_cid: str | None = None) -> Op:
    return Op("create", REPOST, rkey, subject_record(REPOST, subject_uri, subject_cid))


def follow_op(rkey: str, subject_did: str) -> Op:
    return Op("create", FOLLOW, rkey, follow_record(subject_did))


# ---------------------------------------------------------------- MST-shaped blocks


_ENTRY_POOL: list[list[dict[str, Any]]] = []


def _entries(keys: list[str], leaves: dict[str, bytes]) -> list[dict[str, Any]]:
    """Prefix-compressed MST entries for sorted keys; `v` is the leaf's record CID (or a stand-in CID)."""
    entries = []
    prev = b""
    for key in keys:
        k = key.encode()
        p = len(os.path.commonprefix((prev, k)))
        entries.append({"k": k[p:], "p": p, "t": None, "v": leaves.get(key) or cid_bytes(k)})
        prev = k
    return entries


def _random_keys(rng: random.Random) -> list[str]:
    n_entries = max(1, min(26, int(rng.expovariate(1 / 4.6)) + 1))
    return sorted(
        f"{rng.choice((LIKE, LIKE, FOLLOW, POST, REPOST))}/{tid(rng.getrandbits(52), rng.getrandbits(10))}"
        for _ in range(n_entries)
    )


def _pooled_entries(rng: random.Random) -> list[dict[str, Any]]:
    """Entries of an interior node, drawn from a pool of 512 (building them is most of a frame's cost)."""
    if not _ENTRY_POOL:
        pool_rng = random.Random(0x5EED)
        _ENTRY_POOL.extend(_entries(_random_keys(pool_rng), {}) for _ in range(512))
    return [dict(e) for e in _ENTRY_POOL[rng.randrange(512)]]


def _mst_nodes(ops: Sequence[Op], leaves: dict[str, bytes], rng: random.Random, depth: int) -> list[bytes]:
    """`depth` encoded MST nodes, root first: each links the next through `l` or an entry's `t`, and the
    last (the leaf layer) holds the ops' keys with `v` = their record CIDs. Node shape follows the real
    relay frames (prefix-compressed `k`, `p`, `t`, `v`; about 4-5 entries, 0-26); it is not a full repo MST.
    """
    nodes: list[bytes] = []
    below: bytes | None = None
    for level in range(depth):
        if level == 0:  # the leaf layer: the ops' own keys are in it
            entries = _entries(sorted(set(_random_keys(rng)) | {op.path for op in ops}), leaves)
        else:
            entries = _pooled_entries(rng)
        left = None
        if below is not None:
            if rng.random() < 0.3:
                left = below
            else:
                entries[rng.randrange(len(entries))]["t"] = below
        block = libipld.encode_dag_cbor({"e": entries, "l": left})
        nodes.append(block)
        below = cid_bytes(block)
    nodes.reverse()
    return nodes


# ---------------------------------------------------------------- frames


def commit_frame(
    seq: int,
    did: str,
    ops: Sequence[Op],
    *,
    rev: str | None = None,
    since: str | None = None,
    time: str | None = None,
    mst_depth: int | None = None,
    key: ec.EllipticCurvePrivateKey = SIGNING_KEY,
    extra_body: dict[str, Any] | None = None,
) -> bytes:
    """A `#commit` frame for `ops`: signed commit + MST-shaped nodes + record blocks, real CIDs throughout.

    `mst_depth` MST nodes (default: 7-10, drawn from `seq`, so the frame size is like the real ones:
    about 5 KB). `extra_body` overrides body fields (e.g. {"repo": "not-a-did"}).
    """
    micros = _micros_for_seq(seq)
    rng = random.Random(seq * 7919 + len(ops))
    rev = rev or tid(micros)
    since = since or tid(micros - 3_000_000)
    record_blocks: list[tuple[bytes, bytes]] = []
    leaves: dict[str, bytes] = {}
    op_bodies = []
    for op in ops:
        body_op: dict[str, Any] = {"action": op.action, "path": op.path, "cid": None}
        if op.action != "delete":
            if op.record is None:
                raise ValueError(f"{op.action} of {op.path} needs a record")
            block = encode_record(op.record)
            cid = cid_bytes(block)
            body_op["cid"] = cid
            leaves[op.path] = cid
            if op.include_block:
                record_blocks.append((cid, block))
        if op.action != "create":
            body_op["prev"] = cid_bytes(op.path.encode() + b"/prev")
        op_bodies.append(body_op)
    depth = mst_depth if mst_depth is not None else rng.randint(7, 10)
    nodes = _mst_nodes(ops, leaves, rng, depth) if depth > 0 else []
    data_cid = cid_bytes(nodes[0]) if nodes else cid_bytes(b"empty-mst")
    unsigned = {"did": did, "version": 3, "data": data_cid, "rev": rev, "prev": None}
    commit = dict(unsigned, sig=sign(libipld.encode_dag_cbor(unsigned), key))
    commit_block = libipld.encode_dag_cbor(commit)
    commit_cid = cid_bytes(commit_block)
    blocks = [(commit_cid, commit_block)] + [(cid_bytes(n), n) for n in nodes] + record_blocks
    body: dict[str, Any] = {
        "seq": seq,
        "repo": did,
        "rev": rev,
        "since": since,
        "time": time or iso_time(micros),
        "commit": commit_cid,
        "ops": op_bodies,
        "blocks": encode_car([commit_cid], blocks),
        "blobs": [],
        "rebase": False,
        "tooBig": False,
        "prevData": cid_bytes(b"prev-data" + seq.to_bytes(8, "big")),
    }
    if extra_body:
        body.update(extra_body)
    return raw_frame({"op": 1, "t": "#commit"}, body)


def account_frame(
    seq: int, did: str, active: bool, status: str | None = None, time: str | None = None
) -> bytes:
    """`#account`: active=False with status takendown / suspended / deleted / deactivated / ..."""
    body: dict[str, Any] = {
        "seq": seq,
        "did": did,
        "time": time or iso_time(_micros_for_seq(seq)),
        "active": active,
    }
    if status is not None:
        body["status"] = status
    return raw_frame({"op": 1, "t": "#account"}, body)


def identity_frame(seq: int, did: str, handle: str | None = None, time: str | None = None) -> bytes:
    body: dict[str, Any] = {"seq": seq, "did": did, "time": time or iso_time(_micros_for_seq(seq))}
    if handle is not None:
        body["handle"] = handle
    return raw_frame({"op": 1, "t": "#identity"}, body)


def sync_frame(seq: int, did: str, time: str | None = None) -> bytes:
    """`#sync`: a new repo state without the diff; carries only the signed commit block."""
    micros = _micros_for_seq(seq)
    rev = tid(micros)
    unsigned = {"did": did, "version": 3, "data": cid_bytes(b"sync" + did.encode()), "rev": rev, "prev": None}
    block = libipld.encode_dag_cbor(dict(unsigned, sig=sign(libipld.encode_dag_cbor(unsigned))))
    cid = cid_bytes(block)
    body = {
        "seq": seq,
        "did": did,
        "rev": rev,
        "time": time or iso_time(micros),
        "blocks": encode_car([cid], [(cid, block)]),
    }
    return raw_frame({"op": 1, "t": "#sync"}, body)


def info_frame(name: str = "OutdatedCursor", message: str | None = None) -> bytes:
    """`#info` (no seq): e.g. OutdatedCursor."""
    body: dict[str, Any] = {"name": name}
    if message is not None:
        body["message"] = message
    return raw_frame({"op": 1, "t": "#info"}, body)


def error_frame(error: str, message: str | None = None) -> bytes:
    """An error frame (header op = -1), e.g. FutureCursor or ConsumerTooSlow; the server closes after it."""
    body: dict[str, Any] = {"error": error}
    if message is not None:
        body["message"] = message
    return raw_frame({"op": -1}, body)


def post_uri(did: str, rkey: str) -> str:
    return f"at://{did}/{POST}/{rkey}"
