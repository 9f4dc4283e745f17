"""Capture files: round trips, the corpus format, and a writer SIGKILLed mid-way leaving a readable prefix."""

from __future__ import annotations

import logging
import os
import signal
import struct
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import zstandard

from firehose.capture import CaptureError, CaptureWriter, iter_capture
from tests.support.framegen import commit_frame, like_op, post_op, post_uri

CORPUS = Path(__file__).resolve().parents[1].parent / "shared" / "corpus" / "relay-150" / "frames.bin.zst"
DID = "did:plc:ewvi7nxzyoun6zhxrhs64oiz"


def _frames(n: int) -> list[bytes]:
    subject = post_uri("did:plc:other", "3laaaaaaaaa22")
    return [
        commit_frame(i, DID, [post_op(f"3k{i}", f"post {i}")] if i % 3 == 0 else [like_op(f"3k{i}", subject)])
        for i in range(1, n + 1)
    ]


def test_round_trip(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    frames = _frames(40) + [b"", b"x" * 300_000]  # an empty frame and one larger than a read chunk
    path = tmp_path / "c.zst"
    with CaptureWriter(path) as w:
        for f in frames:
            w.write(f)
    assert w.frames == len(frames)
    with caplog.at_level(logging.WARNING):
        assert list(iter_capture(path, strict=True)) == frames
    assert not caplog.records


def test_flush_every_and_empty_capture(tmp_path: Path) -> None:
    frames = _frames(25)
    with CaptureWriter(tmp_path / "a.zst", flush_every=10) as w:
        for f in frames:
            w.write(f)
    assert list(iter_capture(tmp_path / "a.zst", strict=True)) == frames
    with CaptureWriter(tmp_path / "empty.zst"):
        pass
    assert list(iter_capture(tmp_path / "empty.zst", strict=True)) == []
    with pytest.raises(CaptureError):
        CaptureWriter(tmp_path / "b.zst", flush_every=0)
    w = CaptureWriter(tmp_path / "closed.zst")
    w.close()
    with pytest.raises(CaptureError):
        w.write(b"late")


def test_reads_the_corpus_format() -> None:
    if not CORPUS.is_file():
        pytest.skip(f"{CORPUS} is absent: the shared corpus lives beside the checkout")
    frames = list(iter_capture(CORPUS, strict=True))
    assert len(frames) == 150
    raw = zstandard.ZstdDecompressor().stream_reader(CORPUS.open("rb")).read()
    assert sum(4 + len(f) for f in frames) == len(raw)
    assert struct.unpack_from("<I", raw)[0] == len(frames[0])


def test_concatenated_captures_read_as_one(tmp_path: Path) -> None:
    frames = _frames(10)
    for name, part in (("a", frames[:4]), ("b", frames[4:])):
        with CaptureWriter(tmp_path / name) as w:
            for f in part:
                w.write(f)
    (tmp_path / "ab").write_bytes((tmp_path / "a").read_bytes() + (tmp_path / "b").read_bytes())
    assert list(iter_capture(tmp_path / "ab", strict=True)) == frames


def test_truncated_file_yields_a_prefix_and_says_so(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    frames = _frames(30)
    path = tmp_path / "c.zst"
    with CaptureWriter(path) as w:
        for f in frames:
            w.write(f)
    data = path.read_bytes()
    cut = tmp_path / "cut.zst"
    for size in (len(data) - 1, len(data) * 2 // 3, len(data) // 3, 5):
        cut.write_bytes(data[:size])
        caplog.clear()
        with caplog.at_level(logging.WARNING, logger="firehose.capture"):
            got = list(iter_capture(cut))
        assert got == frames[: len(got)]
        assert len(got) < len(frames) or size == len(data) - 1  # the last byte is only the zstd end mark
        assert any("complete frames" in r.getMessage() for r in caplog.records)
        with pytest.raises(CaptureError, match=f"read {len(got)} complete frames"):
            list(iter_capture(cut, strict=True))


def test_corrupt_length_stops(tmp_path: Path) -> None:
    path = tmp_path / "bad.zst"
    path.write_bytes(
        zstandard.ZstdCompressor().compress(struct.pack("<I", 3) + b"abc" + struct.pack("<I", 2**31))
    )
    assert list(iter_capture(path)) == [b"abc"]
    with pytest.raises(CaptureError, match="corruption"):
        list(iter_capture(path, strict=True))


def test_writer_killed_mid_way_leaves_a_readable_prefix(tmp_path: Path) -> None:
    """A real writer process, SIGKILLed while writing: every frame it reported written reads back."""
    path = tmp_path / "live.zst"
    script = textwrap.dedent(
        f"""
        import sys, time
        sys.path[:0] = {[str(Path(__file__).parent), str(Path(__file__).resolve().parents[1])]!r}
        from tests.support.framegen import commit_frame, post_op
        from firehose.capture import CaptureWriter
        w = CaptureWriter({str(path)!r})
        i = 0
        while True:
            i += 1
            w.write(commit_frame(i, {DID!r}, [post_op("3k" + str(i), "post " + str(i))]))
            print(i, flush=True)
            if i >= 25:
                time.sleep(0.002)
        """
    )
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        written = 0
        while written < 60:
            written = int(proc.stdout.readline())
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    got = list(iter_capture(path))
    assert len(got) >= written
    assert got == [commit_frame(i, DID, [post_op(f"3k{i}", f"post {i}")]) for i in range(1, len(got) + 1)]
    with pytest.raises(CaptureError, match="unterminated"):
        list(iter_capture(path, strict=True))
