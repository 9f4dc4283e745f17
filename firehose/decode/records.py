"""Records: DAG-CBOR blocks -> JSON-shaped dicts (as Jetstream shows them), and their validation.

Why not the SDK models alone: libipld decodes a CID link (tag 42) and a byte string to the same
Python `bytes`, and the SDK's string formats disagree with the interop vectors in places. So the
JSON shaping looks at the raw block to tell a link from bytes, and the checks that matter to us
(sizes, facet ranges, DIDs and at-uris) use `firehose.decode.syntax`; the lexicon shape of a post
(required fields, facet features, embed unions) is still what the SDK's post model says.

Why the SDK model is imported lazily and usually not called: importing `atproto_client` costs about
1.5 s and building the post model's validator another 0.4 s, at every start. `_plainly_valid` proves,
for the shapes nearly every post has, that the SDK model would accept the record (it only accepts
what it has checked field by field, the way the model's strict schema does); anything else (labels,
entities, galleries, captions, nested extra keys, None values, ...) still goes to the SDK model, so
the verdict is the SDK's either way.
"""

from __future__ import annotations

import base64
from typing import Any

import libipld

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
_TAG42 = b"\xd8\x2a"


class RecordError(Exception):
    """A record that fails decoding or validation; `reason` is the short counter name."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail


def _graphemes(text: str) -> int:
    """Extended grapheme clusters; `regex` is imported on first use (most posts never need it)."""
    import regex

    return len(regex.findall(r"\X", text))


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
        features = facet.get("features")
        if not isinstance(features, list):
            raise RecordError("invalid_record", f"facets[{i}] features is not a list")
        for feature in features:
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
        graphemes = _graphemes(text)
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
    if not _plainly_valid(record):
        _check_with_sdk(record)


def load_sdk_post_model() -> None:
    """Import the SDK's post model now: about 5 CPU-seconds, which ingest pays at start-up rather than on
    the first post of an unusual shape (about 1 in 200 on the network), where it would stall the stream."""
    _check_with_sdk({"$type": "app.bsky.feed.post", "text": "", "createdAt": "2026-01-01T00:00:00Z"})


def _check_with_sdk(record: dict[str, Any]) -> None:
    """The SDK's post model in strict mode (string formats are ours, above); imported on first use."""
    from atproto_client import models

    try:
        models.get_or_create(record, models.AppBskyFeedPost.Record, strict=True)
    except Exception as e:  # pydantic ValidationError or the SDK's ModelError
        first = str(e).strip().splitlines()
        raise RecordError("invalid_record", " ".join(first[:3])[:200]) from None


# ---------------------------------------------------------------- what the SDK post model surely accepts
#
# Each helper returns True only when the value has exactly a shape the SDK model (atproto 0.0.73,
# pydantic strict mode, string formats not checked) accepts: known keys only (a snake_case field
# name would populate a field too), `$type` absent or the member's literal, strict str/int types,
# the model's length bounds. False means "ask the SDK", never "invalid".

_POST_FIELDS = frozenset({"$type", "text", "createdAt", "langs", "facets", "reply", "embed", "tags"})
# Field names and aliases of the post model that `_plainly_valid` does not check itself.
_POST_OTHER_FIELDS = frozenset(
    {"created_at", "py_type", "entities", "labels", "model_config", "model_fields", "model_extra"}
)


def _keys_within(value: dict[str, Any], allowed: frozenset[str], literal: str) -> bool:
    rtype = value.get("$type", literal)
    return rtype == literal and value.keys() <= allowed


_STRONG_REF = frozenset({"$type", "uri", "cid"})


def _strong_ref_ok(ref: Any) -> bool:
    return (
        type(ref) is dict
        and _keys_within(ref, _STRONG_REF, "com.atproto.repo.strongRef")
        and type(ref.get("uri")) is str
        and type(ref.get("cid")) is str
    )


_BLOB = frozenset({"$type", "ref", "mimeType", "size"})


def _blob_ok(blob: Any) -> bool:
    return (
        type(blob) is dict
        and _keys_within(blob, _BLOB, "blob")
        and type(blob.get("ref")) in (bytes, str)
        and type(blob.get("mimeType")) is str
        and type(blob.get("size")) is int
    )


_ASPECT = frozenset({"$type", "width", "height"})


def _aspect_ok(value: Any) -> bool:
    if value is None:
        return True
    if type(value) is not dict or not _keys_within(value, _ASPECT, "app.bsky.embed.defs#aspectRatio"):
        return False
    width, height = value.get("width"), value.get("height")
    return type(width) is int and type(height) is int and width >= 1 and height >= 1


_IMAGES = frozenset({"$type", "images"})
_IMAGE = frozenset({"$type", "alt", "image", "aspectRatio"})
_EXTERNAL = frozenset({"$type", "external"})
_EXTERNAL_INNER = frozenset({"$type", "uri", "title", "description", "thumb"})
_RECORD = frozenset({"$type", "record"})
_RECORD_WITH_MEDIA = frozenset({"$type", "record", "media"})
_VIDEO = frozenset({"$type", "video", "alt", "aspectRatio", "presentation"})


def _media_ok(embed: dict[str, Any], etype: str) -> bool:
    if etype == "app.bsky.embed.images":
        images = embed.get("images")
        return (
            embed.keys() <= _IMAGES
            and type(images) is list
            and len(images) <= 4
            and all(
                type(image) is dict
                and _keys_within(image, _IMAGE, "app.bsky.embed.images#image")
                and type(image.get("alt")) is str
                and _blob_ok(image.get("image"))
                and _aspect_ok(image.get("aspectRatio"))
                for image in images
            )
        )
    if etype == "app.bsky.embed.external":
        external = embed.get("external")
        return (
            embed.keys() <= _EXTERNAL
            and type(external) is dict
            and _keys_within(external, _EXTERNAL_INNER, "app.bsky.embed.external#external")
            and type(external.get("uri")) is str
            and type(external.get("title")) is str
            and type(external.get("description")) is str
            and ("thumb" not in external or _blob_ok(external["thumb"]))
        )
    if etype == "app.bsky.embed.video":
        return (
            embed.keys() <= _VIDEO
            and _blob_ok(embed.get("video"))
            and ("alt" not in embed or type(embed["alt"]) is str)
            and ("presentation" not in embed or type(embed["presentation"]) is str)
            and _aspect_ok(embed.get("aspectRatio"))
        )
    return False


def _embed_ok(embed: Any) -> bool:
    if type(embed) is not dict:
        return False
    etype = embed.get("$type")
    if etype == "app.bsky.embed.record":
        return embed.keys() <= _RECORD and _strong_ref_ok(embed.get("record"))
    if etype == "app.bsky.embed.recordWithMedia":
        record, media = embed.get("record"), embed.get("media")
        return (
            embed.keys() <= _RECORD_WITH_MEDIA
            and type(record) is dict
            and _keys_within(record, _RECORD, "app.bsky.embed.record")
            and _strong_ref_ok(record.get("record"))
            and type(media) is dict
            and type(media.get("$type")) is str
            and _media_ok(media, media["$type"])
        )
    return type(etype) is str and _media_ok(embed, etype)


_FACET = frozenset({"$type", "index", "features"})
_BYTE_SLICE = frozenset({"$type", "byteStart", "byteEnd"})
_BYTE_SLICE_TYPE = "app.bsky.richtext.facet#byteSlice"
_FEATURE_FIELD = {
    "app.bsky.richtext.facet#link": "uri",
    "app.bsky.richtext.facet#mention": "did",
    "app.bsky.richtext.facet#tag": "tag",
}


def _facets_ok(facets: list[Any]) -> bool:
    for facet in facets:
        if type(facet) is not dict or not _keys_within(facet, _FACET, "app.bsky.richtext.facet"):
            return False
        index, features = facet.get("index"), facet.get("features")
        if type(index) is not dict or not _keys_within(index, _BYTE_SLICE, _BYTE_SLICE_TYPE):
            return False
        start, end = index.get("byteStart"), index.get("byteEnd")
        if type(start) is not int or type(end) is not int or start < 0 or end < 0:
            return False
        if type(features) is not list:
            return False
        for feature in features:
            ftype = feature.get("$type") if type(feature) is dict else None
            field = _FEATURE_FIELD.get(ftype) if type(ftype) is str else None
            if field is None or len(feature) != 2 or type(feature.get(field)) is not str:
                return False
            if field == "tag" and len(feature["tag"]) > 640:
                return False
    return True


def _plainly_valid(record: dict[str, Any]) -> bool:
    """True when the SDK post model would accept `record` (already through `check_post`'s own checks)."""
    for key in record:  # extra keys are fine (the model allows them) unless they could name a field
        if key not in _POST_FIELDS and (key in _POST_OTHER_FIELDS or key.startswith(("_", "model_"))):
            return False
    if type(record.get("text")) is not str or type(record.get("createdAt")) is not str:
        return False
    langs = record.get("langs")
    if langs is not None and type(langs) is not list:
        return False
    facets = record.get("facets")
    if facets is not None and (type(facets) is not list or not _facets_ok(facets)):
        return False
    reply = record.get("reply")
    if reply is not None and not (
        type(reply) is dict
        and _keys_within(reply, _STRONG_REF_PAIR, "app.bsky.feed.post#replyRef")
        and _strong_ref_ok(reply.get("root"))
        and _strong_ref_ok(reply.get("parent"))
    ):
        return False
    embed = record.get("embed")
    if embed is not None and not _embed_ok(embed):
        return False
    tags = record.get("tags")
    return tags is None or (
        type(tags) is list and len(tags) <= 8 and all(type(tag) is str and len(tag) <= 640 for tag in tags)
    )


_STRONG_REF_PAIR = frozenset({"$type", "root", "parent"})
