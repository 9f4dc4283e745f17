"""The served stream: a capture looped as often as a long run needs, every loop a fresh part of the network.

Seq s (1, 2, ...) is capture frame (s - 1) % N in loop (s - 1) // N. Loop 0 is the capture as it is
(its frames re-encoded only when their seq differs from s); in loop k > 0 every repo DID is
rewritten so that loop's posts, likes and deletes are new records of new accounts, while records
(and the subjects their likes point at) are untouched. A 50,000-frame capture then feeds a
10-minute, 3-million-event run, and the audit reproduces exactly what was served by applying the
same rewrite to the decoded events (`loop_did`), without re-encoding anything.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import libipld

_B32 = "abcdefghijklmnopqrstuvwxyz234567"
_PLC = "did:plc:"


def loop_did(did: str, loop: int) -> str:
    """The DID an account of the capture has in loop `loop`: differs for every loop (up to 1024)."""
    if loop == 0:
        return did
    if did.startswith(_PLC) and len(did) > len(_PLC) + 2 and all(c in _B32 for c in did[8:10]):
        x = (_B32.index(did[8]) * 32 + _B32.index(did[9]) + loop) % 1024
        return _PLC + _B32[x // 32] + _B32[x % 32] + did[10:]
    return f"{did}x{loop}"  # not a did:plc: still a valid DID (did:web:host -> did:web:hostx1)


def frame_seq(frame: bytes) -> int | None:
    try:
        parts = libipld.decode_dag_cbor_multi(frame)
    except ValueError:
        return None
    body = parts[1] if len(parts) == 2 and isinstance(parts[1], dict) else {}
    seq = body.get("seq")
    return seq if isinstance(seq, int) else None


class ServedStream:
    """`frame(seq)` -> the bytes a relay sends for seq; `position(seq)` -> (capture index, loop)."""

    def __init__(self, frames: Sequence[bytes]) -> None:
        if not frames:
            raise ValueError("an empty capture")
        self.frames = frames
        self.n = len(frames)
        self._verbatim = [frame_seq(f) == i + 1 for i, f in enumerate(frames)]

    @classmethod
    def from_capture(cls, path: str | Path) -> ServedStream:
        from firehose.capture import iter_capture

        return cls(list(iter_capture(path)))

    def position(self, seq: int) -> tuple[int, int]:
        loop, index = divmod(seq - 1, self.n)
        return index, loop

    def frame(self, seq: int) -> bytes:
        index, loop = self.position(seq)
        raw = self.frames[index]
        if loop == 0 and self._verbatim[index]:
            return raw
        header, body = libipld.decode_dag_cbor_multi(raw)
        body["seq"] = seq
        for key in ("repo", "did"):
            if isinstance(body.get(key), str):
                body[key] = loop_did(body[key], loop)
        return libipld.encode_dag_cbor(header) + libipld.encode_dag_cbor(body)
