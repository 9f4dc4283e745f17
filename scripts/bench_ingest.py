"""Ingest benchmark: a realistic synthetic relay capture, decoded (and, later, ingested) on one core.

    python scripts/bench_ingest.py decode [--events 50000] [--seed 1] [--capture PATH] [--cpu 0]
    python scripts/bench_ingest.py generate --events 50000 --capture /tmp/bench.zst
    python scripts/bench_ingest.py full  # replay through a local websocket relay into a fresh DB (TODO)

`decode` generates the capture once (cached under the temp dir by events and seed), then measures in
a fresh child process pinned to one CPU, so the peak RSS is that of decoding alone: frames/s and
events/s of `decode_frame` over frames held in memory, of the streaming path (iter_capture +
decode_frame), and the child's peak RSS.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

_HERE = Path(__file__).resolve().parent
sys.path[:0] = [p for p in (str(_HERE), str(_HERE.parent)) if p not in sys.path]

from capture_synth import write_synthetic_capture  # noqa: E402

from firehose.capture import iter_capture  # noqa: E402


def default_capture(events: int, seed: int) -> Path:
    return Path(tempfile.gettempdir()) / f"gitfeed-bench-{events}-{seed}.zst"


def ensure_capture(path: Path, events: int, seed: int) -> dict[str, int] | None:
    """Generate the capture unless it is already there; returns its counts when generated."""
    if path.is_file():
        return None
    tmp = path.with_suffix(".partial")
    t0 = time.perf_counter()
    counts = write_synthetic_capture(tmp, events, seed)
    tmp.replace(path)
    size = path.stat().st_size / 2**20
    print(f"generated {path} ({size:.1f} MiB) in {time.perf_counter() - t0:.1f}s: {counts}")
    return counts


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def measure_decode(path: Path) -> dict[str, float | int | dict[str, int]]:
    """In this process: stream-decode once, then decode from memory; frames/s, events/s, kinds, peak RSS."""
    from firehose.decode.relay import decode_frame
    from firehose.events import SkippedFrame

    kinds: dict[str, int] = {}
    t0 = time.perf_counter()
    frames_n = events_n = 0
    for frame in iter_capture(path):
        for event in decode_frame(frame):
            name = type(event).__name__
            if isinstance(event, SkippedFrame):
                name += ":" + event.reason
            kinds[name] = kinds.get(name, 0) + 1
            events_n += 1
        frames_n += 1
    stream_s = time.perf_counter() - t0
    rss_stream = peak_rss_mib()

    frames = list(iter_capture(path))
    t0 = time.perf_counter()
    for frame in frames:
        decode_frame(frame)
    memory_s = time.perf_counter() - t0
    return {
        "frames": frames_n,
        "events": events_n,
        "stream_frames_per_s": round(frames_n / stream_s),
        "stream_events_per_s": round(events_n / stream_s),
        "decode_frames_per_s": round(frames_n / memory_s),
        "peak_rss_mib_streaming": round(rss_stream, 1),
        "peak_rss_mib_all_frames_in_memory": round(peak_rss_mib(), 1),
        "kinds": dict(sorted(kinds.items())),
    }


async def serve_capture(frames: Sequence[bytes], host: str = "127.0.0.1", port: int = 0):
    """A local relay for the full benchmark: each connection to /xrpc/com.atproto.sync.subscribeRepos gets
    the frames whose seq is after the `cursor` query parameter, as fast as it reads them. Returns the
    websockets server; its base URL is `ws://127.0.0.1:{server.sockets[0].getsockname()[1]}`.
    """
    from urllib.parse import parse_qs, urlparse

    import libipld
    from websockets.asyncio.server import serve

    seqs = [libipld.decode_dag_cbor_multi(f)[1].get("seq", 0) for f in frames]

    async def handler(ws) -> None:
        query = parse_qs(urlparse(ws.request.path).query)
        cursor = int(query.get("cursor", ["0"])[0])
        for seq, frame in zip(seqs, frames, strict=True):
            if seq > cursor:
                await ws.send(frame)
        await ws.wait_closed()

    return await serve(handler, host, port, max_size=None, compression=None)


def run_full_benchmark(capture: Path, db_path: Path) -> dict[str, float]:
    """Replay `capture` through a local websocket relay (`serve_capture`) into a fresh database at `db_path`.

    TODO(lead, with the ingest pipeline): start `serve_capture(list(iter_capture(capture)))` in an event
    loop, run the relay source + batching + StoreWriter against `ws://127.0.0.1:PORT` with a fresh
    `db_path`, stop when the stored cursor equals the capture's last seq, and return
    {"events_per_s", "frames_per_s", "peak_rss_mib", "posts", "seconds"}. Run it pinned to one core
    (`os.sched_setaffinity`) like `decode` does, classification aside (LinkScorer).
    """
    raise NotImplementedError("the full ingest benchmark is wired up with the ingest pipeline (issue 2)")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("mode", choices=["decode", "generate", "full", "_child"])
    parser.add_argument("--events", type=int, default=50_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--capture", type=Path)
    parser.add_argument("--cpu", type=int, default=0, help="CPU to pin the measuring process to")
    parser.add_argument("--db", type=Path, help="full mode: database path (default: a temp file)")
    args = parser.parse_args(argv)
    capture = args.capture or default_capture(args.events, args.seed)

    if args.mode == "_child":
        if hasattr(os, "sched_setaffinity"):
            os.sched_setaffinity(0, {args.cpu})
        print(json.dumps(measure_decode(capture)))
        return 0
    ensure_capture(capture, args.events, args.seed)
    if args.mode == "generate":
        return 0
    if args.mode == "full":
        db = args.db or Path(tempfile.mkdtemp()) / "bench.db"
        print(json.dumps(run_full_benchmark(capture, db)))
        return 0
    out = subprocess.run(
        [sys.executable, __file__, "_child", "--capture", str(capture), "--cpu", str(args.cpu)],
        check=True,
        capture_output=True,
        text=True,
    )
    result = json.loads(out.stdout.strip().splitlines()[-1])
    print(json.dumps(result, indent=2))
    print(
        f"decode on one core: {result['decode_frames_per_s']:,} frames/s from memory; streaming from the "
        f"capture {result['stream_frames_per_s']:,} frames/s ({result['stream_events_per_s']:,} events/s); "
        f"peak RSS {result['peak_rss_mib_streaming']} MiB streaming"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

__all__ = ["ensure_capture", "measure_decode", "run_full_benchmark", "serve_capture", "asyncio"]
