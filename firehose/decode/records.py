"""Records: DAG-CBOR blocks -> JSON-shaped dicts (as Jetstream shows them), and their validation.

Why not the SDK models alone: libipld decodes a CID link (tag 42) and a byte string to the same
Python `bytes`, and the SDK's string formats disagree with the interop vectors in places. So the
JSON shaping looks at the raw block to tell a link from bytes, and the checks that matter to us
(sizes, facet ranges, DIDs and at-uris) use `firehose.decode.syntax`; the lexicon shape of a post
(required fields, facet features, embed unions) is still checked by the SDK's post model.
"""

from __future__ import annotations

import base64
from typing import Any

import libipld
import regex
from atproto_client import models

from firehose.decode.syntax import is_at_uri, is_cid, is_datetime, is_did, is_language, is_uri

__all__ = [
    "MAX_TEXT_BYTES",
    "MAX_TEXT_GRAPHEMES",
    "RecordError",
    "check_post",
    "check_subject",
    "decode_block",
    "to_json",
]

MAX_TEXT_BYTES = 3000
MAX_TEXT_GRAPHEMES = 300
_GRAPHEME = regex.compile(r"\X")
_TAG42 = b"\xd8\x2a"


class RecordError(Exception):
    """A record that fails decoding or validation; `reason` is the short counter name."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail


def decode_block(raw: bytes) -> dict[str, Any]:
    """Decode one record block; invalid UTF-8 gets its own reason because it is a client bug worth seeing."""
    try:
        value = libipld.decode_dag_cbor(raw)
    except (ValueError, RecursionError, OverflowError) as e:
        msg = str(e)
        if "utf-8" in msg.lower() or "unicode" in msg.lower():
            raise RecordError("invalid_utf8", msg[:200]) from None
        raise RecordError("bad_record_cbor", msg[:200]) from None
    if not isinstance(value, dict):
        raise RecordError("bad_record_cbor", f"record is a {type(value).__name__}, not a map")
    return value


def _bytes_header(n: int) -> bytes:
    if n < 24:
        return bytes((0x40 + n,))
    if n < 256:
        return bytes((0x58, n))
    return bytes((0x59, n >> 8, n & 0xFF))


def _is_link(value: bytes, raw: bytes | None) -> bool:
    """True when `value` was a tag-42 CID link in `raw` (libipld gives both links and bytes as bytes)."""
    if raw is None:
        try:
            libipld.decode_cid(value)
        except ValueError:
            return False
        return True
    return _TAG42 + _bytes_header(len(value) + 1) + b"\x00" + value in raw


def to_json(value: Any, raw: bytes | None = None) -> Any:
    """libipld value -> JSON data model: links as {"$link": cid}, bytes as {"$bytes": base64 unpadded}.

    `raw` is the block the value came from; when given, a byte string is a link only if the block
    encodes it with tag 42 (exact); without it, any bytes that parse as a CID count as a link.
    """
    if isinstance(value, dict):
        return {k: to_json(v, raw) for k, v in value.items()}
    if isinstance(value, list):
        return [to_json(v, raw) for v in value]
    if isinstance(value, bytes):
        if (raw is None or _TAG42 in raw) and _is_link(value, raw):
            return {"$link": libipld.encode_cid(value)}
        return {"$bytes": base64.b64encode(value).decode("ascii").rstrip("=")}
    return value


def _check_strong_ref(ref: Any, what: str) -> None:
    if not isinstance(ref, dict):
        raise RecordError("invalid_record", f"{what} is not an object")
    uri, cid = ref.get("uri"), ref.get("cid")
    if not isinstance(uri, str) or not is_at_uri(uri):
        raise RecordError("invalid_uri", f"{what}.uri {str(uri)[:120]!r}")
    if not isinstance(cid, str) or not is_cid(cid):
        raise RecordError("invalid_record", f"{what}.cid {str(cid)[:120]!r}")


def check_subject(record: dict[str, Any], collection: str) -> tuple[str, str]:
    """Validate a like/repost record; returns (subject_uri, subject_cid)."""
    rtype = record.get("$type")
    if rtype != collection:
        raise RecordError("wrong_type", f"$type {str(rtype)[:80]!r} in {collection}")
    subject = record.get("subject")
    _check_strong_ref(subject, "subject")
    return subject["uri"], subject["cid"]


def _check_facets(facets: Any, text_bytes: int) -> None:
    if not isinstance(facets, list):
        raise RecordError("invalid_record", "facets is not a list")
    for i, facet in enumerate(facets):
        index = facet.get("index") if isinstance(facet, dict) else None
        if not isinstance(index, dict):
            raise RecordError("invalid_record", f"facets[{i}] has no index")
        start, end = index.get("byteStart"), index.get("byteEnd")
        if type(start) is not int or type(end) is not int or start < 0 or end < start:
            raise RecordError("invalid_record", f"facets[{i}] index {start!r}..{end!r}")
        if end > text_bytes:
            raise RecordError("facet_out_of_range", f"facets[{i}] byteEnd {end} > text {text_bytes} bytes")
        for feature in facet.get("features") or ():
            if not isinstance(feature, dict):
                continue
            ftype = feature.get("$type")
            if ftype == "app.bsky.richtext.facet#link" and not (
                isinstance(feature.get("uri"), str) and is_uri(feature["uri"])
            ):
                raise RecordError("invalid_uri", f"facets[{i}] link uri {str(feature.get('uri'))[:120]!r}")
            if ftype == "app.bsky.richtext.facet#mention" and not (
                isinstance(feature.get("did"), str) and is_did(feature["did"])
            ):
                raise RecordError("invalid_did", f"facets[{i}] mention did {str(feature.get('did'))[:120]!r}")


def _check_embed(embed: Any) -> None:
    if not isinstance(embed, dict):
        raise RecordError("invalid_record", "embed is not an object")
    etype = embed.get("$type")
    if etype == "app.bsky.embed.recordWithMedia":
        _check_embed(embed.get("record"))
        _check_embed(embed.get("media"))
    elif etype == "app.bsky.embed.record":
        _check_strong_ref(embed.get("record"), "embed.record")
    elif etype == "app.bsky.embed.external":
        external = embed.get("external")
        uri = external.get("uri") if isinstance(external, dict) else None
        if not isinstance(uri, str) or not is_uri(uri):
            raise RecordError("invalid_uri", f"embed.external.uri {str(uri)[:120]!r}")


def check_post(record: dict[str, Any]) -> None:
    """Validate an `app.bsky.feed.post` record as the lexicon and the interop vectors say; raises RecordError.

    Text: at most 3,000 UTF-8 bytes and 300 graphemes (extended grapheme clusters, counted only
    when the text has more than 300 code points, so the common path stays cheap).
    """
    rtype = record.get("$type")
    if rtype != "app.bsky.feed.post":
        raise RecordError("wrong_type", f"$type {str(rtype)[:80]!r} in app.bsky.feed.post")
    text = record.get("text")
    if not isinstance(text, str):
        raise RecordError("invalid_record", "text is missing")
    text_bytes = len(text.encode("utf-8"))
    if text_bytes > MAX_TEXT_BYTES:
        raise RecordError("text_too_long", f"{text_bytes} bytes > {MAX_TEXT_BYTES}")
    if len(text) > MAX_TEXT_GRAPHEMES:
        graphemes = len(_GRAPHEME.findall(text))
        if graphemes > MAX_TEXT_GRAPHEMES:
            raise RecordError("text_too_long", f"{graphemes} graphemes > {MAX_TEXT_GRAPHEMES}")
    created = record.get("createdAt")
    if not isinstance(created, str) or not is_datetime(created):
        raise RecordError("invalid_record", f"createdAt {str(created)[:40]!r}")
    langs = record.get("langs")
    if langs is not None and (
        not isinstance(langs, list)
        or len(langs) > 3
        or not all(isinstance(lang, str) and is_language(lang) for lang in langs)
    ):
        raise RecordError("invalid_record", f"langs {str(langs)[:80]!r}")
    facets = record.get("facets")
    if facets is not None:
        _check_facets(facets, text_bytes)
    reply = record.get("reply")
    if reply is not None:
        if not isinstance(reply, dict):
            raise RecordError("invalid_record", "reply is not an object")
        _check_strong_ref(reply.get("root"), "reply.root")
        _check_strong_ref(reply.get("parent"), "reply.parent")
    embed = record.get("embed")
    if embed is not None:
        _check_embed(embed)
    try:
        models.get_or_create(record, models.AppBskyFeedPost.Record, strict=True)
    except Exception as e:  # pydantic ValidationError or the SDK's ModelError
        first = str(e).strip().splitlines()
        raise RecordError("invalid_record", " ".join(first[:3])[:200]) from None
