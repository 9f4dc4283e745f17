"""Opaque, tamper-proof feed cursors.

A cursor names the snapshot a reader is paging through and where the next page starts, plus what is
needed to rebuild an equivalent frame if that snapshot is gone (expired, restart, another process):
the snapshot's instant and max post id, and the rank key of the last item served. It is HMAC-signed,
so a client can neither forge a position nor make us parse attacker-chosen structure.

The secret is `FEEDGEN_CURSOR_SECRET` when set; otherwise one random secret is generated once and kept
in the database (`server_state`), so every process and every restart accepts the same cursors.

Rotation keeps old cursors valid for a grace period: each cursor starts with its key's id (a short hash
of the secret, `key_id`), and a codec holds the current key (which signs) and retired ones (which still
verify until their time is up). `rotate_secret` (`gitfeed rotate-cursor-secret`) makes a new stored
secret current and retires the old one, in the `cursor_keys` row that every server follows; a
configured secret rotates as `FEEDGEN_CURSOR_SECRET=new,old` (every one after the first verifies only).
A cursor without a key id (made before key ids) is checked against every key held.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import math
import secrets
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import orjson

from firehose.store.backend import Connection, write_transaction

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


def key_id(secret: bytes) -> str:
    """A secret's public id in the cursors it signs (4 characters; not enough to learn anything)."""
    return _b64(hashlib.blake2b(b"gitfeed-cursor-key\x00" + secret, digest_size=3).digest())


@dataclass(frozen=True)
class CursorKey:
    """One secret: `until` None signs (the current one), else it only verifies until that time."""

    secret: bytes
    until: float | None = None


class CursorCodec:
    """Signs cursors with the current key, verifies them with any key still valid."""

    def __init__(self, keys: bytes | Sequence[CursorKey], *, clock: Callable[[], float] = time.time) -> None:
        if isinstance(keys, bytes):
            keys = [CursorKey(keys)]
        if not keys or not all(k.secret for k in keys):
            raise ValueError("cursor secret must not be empty")
        self.clock = clock
        self.key_id = key_id(keys[0].secret)
        self._keys = {key_id(k.secret): (self._keyed(k.secret), k.until) for k in reversed(keys)}
        self._key = self._keys[self.key_id][0]

    @staticmethod
    def _keyed(secret: bytes) -> hmac.HMAC:
        """The secret's HMAC with its key's pads hashed once: each cursor's MAC copies it (same digest)."""
        return hmac.new(hashlib.sha256(b"gitfeed-cursor\x00" + secret).digest(), digestmod=hashlib.sha256)

    def _mac(self, payload: bytes, key: hmac.HMAC | None = None) -> bytes:
        mac = (self._key if key is None else key).copy()
        mac.update(payload)
        return mac.digest()[:_MAC_BYTES]

    def _valid_keys(self, kid: str | None) -> list[hmac.HMAC]:
        now = self.clock()
        if kid is None:  # a cursor made before key ids
            return [key for key, until in self._keys.values() if until is None or until > now]
        found = self._keys.get(kid)
        if found is None or (found[1] is not None and found[1] <= now):
            return []
        return [found[0]]

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
        return self.key_id + "." + _b64(payload) + "." + _b64(self._mac(payload))

    def decode(self, token: str, *, feed: str, viewer: str | None) -> CursorState:
        """Verify and parse; raise InvalidCursorError with a message fit for the client."""
        if len(token) > MAX_CURSOR_CHARS:
            raise InvalidCursorError(f"cursor is too long (at most {MAX_CURSOR_CHARS} characters)")
        parts = token.split(".")
        if len(parts) == 2:
            kid, (body, mac) = None, parts
        elif len(parts) == 3:
            kid, body, mac = parts
        else:
            raise InvalidCursorError("malformed cursor")
        if not body or not mac:
            raise InvalidCursorError("malformed cursor")
        try:
            payload = _unb64(body)
            given = _unb64(mac)
        except (binascii.Error, ValueError) as error:
            raise InvalidCursorError("malformed cursor") from error
        if not any(hmac.compare_digest(given, self._mac(payload, key)) for key in self._valid_keys(kid)):
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


def parse_keys(configured: str, stored: str | None) -> list[CursorKey]:
    """The keys a codec holds: the configured secrets (`new,old,...`: the first signs, the others
    verify), else the stored `cursor_keys` value (`{"current", "retired": [[secret, until], ...]}`)."""
    if configured:
        names = [part for part in configured.split(",") if part]
        return [CursorKey(names[0].encode())] + [CursorKey(n.encode(), math.inf) for n in names[1:]]
    value = orjson.loads(stored or "{}")
    retired = [CursorKey(str(secret).encode(), float(until)) for secret, until in value.get("retired", [])]
    return [CursorKey(str(value["current"]).encode()), *retired]


def load_keys(conn: Connection, configured: str) -> tuple[list[CursorKey], str]:
    """The codec's keys and the stored `cursor_keys` value they came from (what servers watch for a
    rotation; "" while nothing was rotated, or with a configured secret)."""
    if configured:
        return parse_keys(configured, None), ""
    current = load_or_create_secret(conn, "").decode()
    row = conn.execute("SELECT value FROM server_state WHERE name = 'cursor_keys'").fetchone()
    stored = str(row[0]) if row and row[0] else ""
    if not stored:
        return [CursorKey(current.encode())], ""
    return parse_keys("", stored), stored


def rotate_secret(conn: Connection, grace_seconds: float, now: float | None = None) -> str:
    """A new stored secret signs from now on; the current one still verifies for `grace_seconds`
    (retired keys past their time are dropped). One transaction; returns the new key's id."""
    now = time.time() if now is None else now
    load_or_create_secret(conn, "")
    with write_transaction(conn):
        current = str(
            conn.execute("SELECT value FROM server_state WHERE name = 'cursor_secret'").fetchone()[0]
        )
        row = conn.execute("SELECT value FROM server_state WHERE name = 'cursor_keys'").fetchone()
        value = orjson.loads(row[0]) if row and row[0] else {}
        retired = [[s, u] for s, u in value.get("retired", []) if float(u) > now]
        fresh = secrets.token_hex(32)
        stored = orjson.dumps({"current": fresh, "retired": [[current, now + grace_seconds], *retired]})
        conn.execute(
            "INSERT INTO server_state (name, value) VALUES ('cursor_keys', ?)"
            " ON CONFLICT(name) DO UPDATE SET value = excluded.value",
            (stored.decode(),),
        )
        conn.execute("UPDATE server_state SET value = ? WHERE name = 'cursor_secret'", (fresh,))
    return key_id(fresh.encode())


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
