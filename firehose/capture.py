"""Capture files: recorded relay frames, for replay, tests, benchmarks and classifier backtests.

Format (that of `../shared/corpus/relay-150/frames.bin.zst`): a zstd stream of
`[u32 little-endian length][frame bytes]...`. The writer flushes a zstd block every `flush_every`
frames, so a writer killed mid-way leaves a file whose prefix still decodes; the reader yields every
complete frame and reports (logs, or raises with strict=True) a truncated or corrupt tail.
"""

from __future__ import annotations

import logging
import struct
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType
from typing import BinaryIO

import zstandard

__all__ = ["CaptureError", "CaptureWriter", "iter_capture"]

log = logging.getLogger(__name__)

#: A length prefix above this is corruption, not a frame (relays cap frames at a few MiB).
MAX_CAPTURED_FRAME = 64 * 2**20
_LEN = struct.Struct("<I")
_READ_CHUNK = 1 << 17


class CaptureError(Exception):
    """A capture file that cannot be read (strict mode), or a bad use of the writer."""


def _decompressed_chunks(fh: BinaryIO) -> Iterator[bytes]:
    """Decompress one or more zstd frames; raises CaptureError("unterminated ...") at an unended frame."""
    dctx = zstandard.ZstdDecompressor()
    dobj = dctx.decompressobj()
    pending = False  # input fed to a zstd frame that has not ended yet
    while True:
        data = fh.read(_READ_CHUNK)
        if not data:
            break
        while data:
            out = dobj.decompress(data)
            pending = True
            if out:
                yield out
            if dobj.eof:
                data = dobj.unused_data
                dobj = dctx.decompressobj()
                pending = False
            else:
                data = b""
    if pending:
        raise CaptureError("unterminated zstd stream (a writer stopped before close)")


def iter_capture(path: str | Path, *, strict: bool = False) -> Iterator[bytes]:
    """Yield each recorded frame, streaming (memory stays at about one chunk plus one frame).

    A capture whose writer was killed (no zstd end mark, possibly a truncated last frame) or has a
    corrupt tail yields every complete frame, then logs one warning saying what was wrong; with
    `strict=True` it raises CaptureError instead. A missing file raises FileNotFoundError.
    """
    path = Path(path)
    problem: str | None = None
    count = 0
    buf = b""
    pos = 0
    with path.open("rb") as fh:
        chunks = _decompressed_chunks(fh)
        while True:
            avail = len(buf) - pos
            if avail >= 4:
                (n,) = _LEN.unpack_from(buf, pos)
                if n > MAX_CAPTURED_FRAME:
                    problem = f"frame length {n} is corruption"
                    break
                if avail >= 4 + n:
                    yield buf[pos + 4 : pos + 4 + n]
                    count += 1
                    pos += 4 + n
                    continue
            try:
                chunk = next(chunks)
            except StopIteration:
                break
            except CaptureError as e:
                problem = str(e)
                break
            except zstandard.ZstdError as e:
                problem = f"corrupt zstd data: {e}"
                break
            buf = buf[pos:] + chunk
            pos = 0
    if pos < len(buf) and (problem is None or problem.startswith("unterminated")):
        tail = len(buf) - pos
        need = 4 + _LEN.unpack_from(buf, pos)[0] if tail >= 4 else 4
        problem = f"truncated last frame ({tail} of {need} bytes)" + (f"; {problem}" if problem else "")
    if problem is not None:
        message = f"capture {path}: {problem}; read {count} complete frames"
        if strict:
            raise CaptureError(message)
        log.warning(message)


class CaptureWriter:
    """Append frames to a new capture file; a context manager.

    `flush_every=1` (the default) ends a zstd block after every frame, so a crash loses at most the
    frame being written; a larger value trades that for a better compression ratio.
    """

    def __init__(self, path: str | Path, *, flush_every: int = 1, level: int = 3) -> None:
        if flush_every < 1:
            raise CaptureError("flush_every must be >= 1")
        self.path = Path(path)
        self.frames = 0
        self._flush_every = flush_every
        self._fh: BinaryIO | None = self.path.open("wb")
        self._zw = zstandard.ZstdCompressor(level=level).stream_writer(self._fh, closefd=False)

    def write(self, frame: bytes) -> None:
        if self._fh is None:
            raise CaptureError(f"capture {self.path} is closed")
        self._zw.write(_LEN.pack(len(frame)))
        self._zw.write(frame)
        self.frames += 1
        if self.frames % self._flush_every == 0:
            self._zw.flush(zstandard.FLUSH_BLOCK)
            self._fh.flush()

    def close(self) -> None:
        if self._fh is None:
            return
        self._zw.flush(zstandard.FLUSH_FRAME)
        self._zw.close()
        self._fh.close()
        self._fh = None

    def __enter__(self) -> CaptureWriter:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
