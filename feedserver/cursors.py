"""Opaque, tamper-proof feed cursors.

A cursor names the snapshot a reader is paging through and where the next page starts, plus what is
needed to rebuild an equivalent frame if that snapshot is gone (expired, restart, another process):
the snapshot's instant and max post id, and the rank key of the last item served. It is HMAC-signed,
so a client can neither forge a position nor make us parse attacker-chosen structure.

The secret is `FEEDGEN_CURSOR_SECRET` when set; otherwise one random secret is generated once and kept
in the database (`server_state`), so every process and every restart accepts the same cursors.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import math
import secrets
from dataclasses import dataclass

import orjson

from firehose.store.backend import Connection

MAX_CURSOR_CHARS = 512
_VERSION = 1
_MAC_BYTES = 16


class InvalidCursorError(ValueError):
    """The cursor is malformed, too long, forged, or issued for another feed or viewer."""


class ExpiredCursorError(InvalidCursorError):
    """The cursor's snapshot is gone and rebuilding its frame would pass the fallback rate limit."""


@dataclass(frozen=True)
class CursorState:
    """Where a reader stands in a feed."""

    feed: str
    snapshot_id: str
    offset: int
    built_ts: float
    max_id: int
    last_score: float
    last_id: int
    feedback_version: int = 0
    viewer_tag: str = ""
    pin_ids: tuple[int, ...] = ()


def viewer_tag(viewer: str | None) -> str:
    """A short stable tag binding a cursor to its viewer without spelling out the DID."""
    if not viewer:
        return ""
    return hashlib.blake2b(viewer.encode(), digest_size=6).hexdigest()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class CursorCodec:
    """Signs and verifies cursors with one secret."""

    def __init__(self, secret: bytes) -> None:
        if not secret:
            raise ValueError("cursor secret must not be empty")
        self._key = hashlib.sha256(b"gitfeed-cursor\x00" + secret).digest()

    def _mac(self, payload: bytes) -> bytes:
        return hmac.new(self._key, payload, hashlib.sha256).digest()[:_MAC_BYTES]

    def encode(self, state: CursorState) -> str:
        last_score = None if math.isinf(state.last_score) else state.last_score
        payload = orjson.dumps(
            [
                _VERSION,
                state.feed,
                state.snapshot_id,
                state.offset,
                round(state.built_ts * 1000),
                state.max_id,
                last_score,
                state.last_id,
                state.feedback_version,
                state.viewer_tag,
                list(state.pin_ids),
            ]
        )
        return _b64(payload) + "." + _b64(self._mac(payload))

    def decode(self, token: str, *, feed: str, viewer: str | None) -> CursorState:
        """Verify and parse; raise InvalidCursorError with a message fit for the client."""
        if len(token) > MAX_CURSOR_CHARS:
            raise InvalidCursorError(f"cursor is too long (at most {MAX_CURSOR_CHARS} characters)")
        body, sep, mac = token.partition(".")
        if not sep or not body or not mac:
            raise InvalidCursorError("malformed cursor")
        try:
            payload = _unb64(body)
            given = _unb64(mac)
        except (binascii.Error, ValueError) as error:
            raise InvalidCursorError("malformed cursor") from error
        if not hmac.compare_digest(given, self._mac(payload)):
            raise InvalidCursorError("invalid cursor (not issued by this feed generator)")
        try:
            fields = orjson.loads(payload)
            version, c_feed, sid, offset, t0_ms, max_id, last_score, last_id, fb, tag, pins = fields
            state = CursorState(
                feed=_typed(c_feed, str),
                snapshot_id=_typed(sid, str),
                offset=_typed(offset, int),
                built_ts=_typed(t0_ms, int) / 1000.0,
                max_id=_typed(max_id, int),
                last_score=math.inf if last_score is None else float(_typed(last_score, (int, float))),
                last_id=_typed(last_id, int),
                feedback_version=_typed(fb, int),
                viewer_tag=_typed(tag, str),
                pin_ids=tuple(_typed(p, int) for p in _typed(pins, list)),
            )
        except (orjson.JSONDecodeError, TypeError, ValueError) as error:
            raise InvalidCursorError("malformed cursor") from error
        if version != _VERSION or state.offset < 0:
            raise InvalidCursorError("malformed cursor")
        if state.feed != feed:
            raise InvalidCursorError("cursor was issued for another feed")
        if state.viewer_tag != viewer_tag(viewer):
            raise InvalidCursorError("cursor was issued to another viewer")
        return state


def _typed(value: object, kind: type | tuple[type, ...]) -> object:
    if isinstance(value, bool) or not isinstance(value, kind):
        raise TypeError("unexpected cursor field type")
    return value


def load_or_create_secret(conn: Connection, configured: str) -> bytes:
    """The configured secret, else the one stored in the database (created on first use).

    Insert-if-absent then SELECT: when several processes start at once, they all end up with the
    first secret written.
    """
    if configured:
        return configured.encode()
    conn.execute(
        "INSERT INTO server_state (name, value) VALUES ('cursor_secret', ?) ON CONFLICT(name) DO NOTHING",
        (secrets.token_hex(32),),
    )
    row = conn.execute("SELECT value FROM server_state WHERE name = 'cursor_secret'").fetchone()
    return str(row[0]).encode()
