"""Ingest benchmark: a realistic synthetic relay capture, decoded (and, later, ingested) on one core.

    python -m scripts.bench_ingest decode [--events 50000] [--seed 1] [--capture PATH] [--cpu 0]
    python -m scripts.bench_ingest generate --events 50000 --capture /tmp/bench.zst
    python -m scripts.bench_ingest full [--events 50000] [--cpu 0] [--profile ingest.prof]
    python -m scripts.bench_ingest full --scorer model --real random,timeline [--repeat 2]
    python -m scripts.bench_ingest full --backend postgres [--events 50000]

`decode` generates the capture once (cached under the temp dir by events and seed), then measures in
a fresh child process pinned to one CPU, so the peak RSS is that of decoding alone: frames/s and
events/s of `decode_frame` over frames held in memory, of the streaming path (iter_capture +
decode_frame), and the child's peak RSS.

`full` serves the capture from a local relay process (scripts/soaklib/relay.py, on another CPU) and
runs the real `gitfeed ingest --source relay --scorer link` pinned to `--cpu` into a fresh database:
relay events (frames)/s end to end, start-up included and in steady state, the share of the ingest's
wall time spent committing batches, and the ingest's peak RSS. `--backend postgres` runs the same
benchmark into a private PostgreSQL cluster on loopback (Debian's binaries, as the tests start it;
fsync off, so it measures the store's CPU and round trips, not a disk) and into SQLite, and prints
both side by side.

`--real KINDS`: the capture's posts (about 9% of the events) carry real post records from
shared/corpus/real-posts of those kinds (read in place; `random` is an unfiltered firehose sample, text
only; `timeline` has facets, link cards, images with alt text, quotes, replies), blobs synthetic.
`--scorer model` runs the classifier (first stage, language, the model on one thread, heads) in the
ingest, and the benchmark prints the share of the capture's posts that reach the model (the first stage
and the language rule run here over the same records: no model is loaded for that).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import resource
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

if __package__ in (None, ""):  # run as `python scripts/bench_ingest.py`: import the checkout as `-m` does
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from firehose.capture import iter_capture
from tests.support.capture_synth import write_synthetic_capture


def default_capture(events: int, seed: int, real: str = "") -> Path:
    tag = f"-real-{real.replace(',', '+')}" if real else ""
    return Path(tempfile.gettempdir()) / f"gitfeed-bench-{events}-{seed}{tag}.zst"


def real_records(kinds: str) -> list[dict]:
    """The real post records of these kinds (comma-separated) from shared/corpus/real-posts, in place."""
    from firehose.classify.realdata import default_posts_path

    path = default_posts_path(Path(__file__).resolve().parents[2])
    if path is None:
        raise SystemExit("--real: no shared/corpus/real-posts/posts.jsonl beside the checkout")
    wanted = set(kinds.split(","))
    rows = (json.loads(line) for line in path.open(encoding="utf-8") if line.strip())
    return [row["record"] for row in rows if row.get("kind") in wanted]


def model_share(capture: Path) -> dict[str, float | int]:
    """Of the capture's posts: the share past the first stage and the share the model would embed."""
    from firehose.classify.features import embed_text, link_matrix
    from firehose.classify.heads import DEFAULT_HEADS_PATH, Heads
    from firehose.classify.language import detect_language
    from firehose.classify.lexicon import lexicon_matrix
    from firehose.decode.relay import decode_frame
    from firehose.events import PostUpserted

    records = [
        e.record for f in iter_capture(capture) for e in decode_frame(f) if isinstance(e, PostUpserted)
    ]
    heads = Heads.load(DEFAULT_HEADS_PATH)
    texts = [embed_text(record) for record in records]
    passed = heads.passes(heads.gate_logits(texts, lexicon_matrix(texts), link_matrix(records)))
    embedded = sum(detect_language(texts[i]) in heads.readable_languages for i in passed.nonzero()[0])
    n = max(1, len(records))
    passed_share = round(float(passed.sum()) / n, 4)
    return {"posts": len(records), "passed": passed_share, "to_model": round(embedded / n, 4)}


def ensure_capture(path: Path, events: int, seed: int, real: str = "") -> dict[str, int] | None:
    """Generate the capture unless it is already there; returns its counts when generated."""
    if path.is_file():
        return None
    tmp = path.with_suffix(".partial")
    t0 = time.perf_counter()
    counts = write_synthetic_capture(tmp, events, seed, posts=real_records(real) if real else None)
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


def run_full_benchmark(
    capture: Path,
    db_path: Path,
    *,
    cpu: int = 0,
    relay_cpu: int | None = None,
    scorer: str = "link",
    timeout: float = 900.0,
    profile: Path | None = None,
) -> dict[str, float | int | str]:
    """Replay `capture` through a local websocket relay into a fresh database at `db_path`, end to end.

    The relay (scripts/soaklib/relay.py, everything available at once) runs in its own process on
    `relay_cpu`; the real `gitfeed ingest --source relay --scorer link` runs pinned to `cpu`. Measured
    from the ingest's start (interpreter, imports and connect included) until the stored cursor is the
    capture's last seq, and from its first commit (steady state); peak RSS is the ingest's ru_maxrss.
    `profile`: run the ingest under cProfile (`.prof`, main thread only) or py-spy (`.txt` collapsed
    stacks, `.svg` flame graph; every thread) and write the profile there.
    """
    from scripts.soaklib.pace import Pace
    from scripts.soaklib.procs import RelayProcess, db_state

    for suffix in ("", "-wal", "-shm"):
        if not str(db_path).startswith("postgresql://"):
            Path(f"{db_path}{suffix}").unlink(missing_ok=True)
    workdir = Path(tempfile.mkdtemp(prefix="gitfeed-bench-"))
    frames = sum(1 for _ in iter_capture(capture))
    if relay_cpu is None and (os.cpu_count() or 1) > 1:
        relay_cpu = 1 if cpu == 0 else 0
    relay = RelayProcess(capture, Pace(rate=0, limit=frames), workdir, cpu=relay_cpu).start()
    command = [sys.executable, "-m", "gitfeed.cli", "ingest", "--source", "relay"]
    if profile is not None and profile.suffix == ".prof":  # cProfile: the main thread only
        command[1:3] = ["-m", "cProfile", "-o", str(profile), "-m", "gitfeed.cli"]
    elif profile is not None:  # py-spy, every thread: .txt = collapsed stacks, .svg = flame graph
        fmt = "raw" if profile.suffix == ".txt" else "flamegraph"
        command = ["py-spy", "record", "-r", "250", "-f", fmt, "-o", str(profile), "--", *command]
    command += ["--endpoint", relay.url, "--db", str(db_path), "--scorer", scorer, "--quiet"]
    log = open(workdir / "ingest.log", "wb")  # noqa: SIM115 - closed below
    try:
        started = time.perf_counter()
        env = {**os.environ, "HF_HUB_OFFLINE": "1", "FEEDGEN_EMBED_THREADS": "1"}
        ingest = subprocess.Popen(
            command,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            preexec_fn=lambda: _pin(cpu),
            start_new_session=True,
        )
        first_commit = None
        last_seq = relay.head()
        state: dict = {}
        while True:
            state = db_state(db_path)
            cursor = state.get("cursor")
            now = time.perf_counter()
            if cursor is not None and first_commit is None:
                first_commit = (now, cursor, _cpu_seconds(ingest.pid))
            if cursor is not None and cursor >= last_seq:
                break
            if ingest.poll() is not None:
                raise RuntimeError(f"ingest exited with {ingest.returncode}; see {workdir}/ingest.log")
            if now - started > timeout:
                raise RuntimeError(f"ingest reached cursor {cursor} of {last_seq} in {timeout:.0f}s")
            time.sleep(0.05)
        done = time.perf_counter()
        cpu_done = _cpu_seconds(ingest.pid)
        spy = profile is not None and profile.suffix != ".prof"
        ingest.send_signal(signal.SIGINT if spy else signal.SIGTERM)  # py-spy writes its file on SIGINT
        _, status, usage = os.wait4(ingest.pid, 0)
        ingest.returncode = os.waitstatus_to_exitcode(status)
        if spy:  # py-spy leaves the profiled ingest running: end its process group
            with contextlib.suppress(ProcessLookupError):
                os.killpg(ingest.pid, signal.SIGTERM)
    finally:
        if ingest.returncode is None:
            ingest.kill()
            ingest.wait()
        log.close()
        relay.stop()
    seconds = done - started
    commit_share = _commit_share(workdir / "ingest.log")
    steady = done - first_commit[0] if first_commit else seconds
    steady_frames = frames - (first_commit[1] if first_commit else 0)
    steady_cpu = cpu_done - first_commit[2] if first_commit else cpu_done
    counters = state.get("counters", {})
    return {
        "frames": frames,
        "events": counters.get("events_seen", 0),
        "posts_kept": counters.get("posts_kept", 0),
        "frames_skipped": counters.get("frames_skipped", 0),
        "seconds": round(seconds, 2),
        "frames_per_s": round(frames / seconds),
        "events_per_s": round(counters.get("events_seen", 0) / seconds),
        "steady_frames_per_s": round(steady_frames / max(steady, 1e-9)),
        "commit_share": commit_share,
        "peak_rss_mib": round(usage.ru_maxrss / 1024, 1),
        "cpu_seconds": round(usage.ru_utime + usage.ru_stime, 2),
        "frames_per_cpu_s": round(frames / max(usage.ru_utime + usage.ru_stime, 1e-9)),
        "steady_cpu_seconds": round(steady_cpu, 2),
        "steady_frames_per_cpu_s": round(steady_frames / max(steady_cpu, 1e-9)),
        "ingest_cpu": cpu,
        "relay_cpu": relay_cpu if relay_cpu is not None else "any",
        "scorer": scorer,
        "db": str(db_path),
        "log": str(workdir / "ingest.log"),
    }


def _commit_share(log: Path) -> float | None:
    """The share of wall time ingest spent committing, from its final line (`commit 12% of ...`)."""
    import re

    found = re.search(r"commit (\d+(?:\.\d+)?)% of", log.read_text(errors="replace"))
    return float(found.group(1)) / 100 if found else None


def _full_line(result: dict) -> str:
    share = result.get("commit_share")
    commit = f", commit {share:.0%} of wall time" if share is not None else ""
    return (
        f"{result['frames_per_s']:,} relay events/s ({result['frames']:,} frames in {result['seconds']}s "
        f"incl. start-up; steady {result['steady_frames_per_s']:,}/s wall, "
        f"{result['steady_frames_per_cpu_s']:,}/CPU-second; {result['frames_per_cpu_s']:,}/CPU-second incl. "
        f"start-up, {result['cpu_seconds']} CPU-s){commit}, peak RSS {result['peak_rss_mib']} MiB, "
        f"{result['posts_kept']} posts kept"
    )


def run_both_backends(capture: Path, args: argparse.Namespace) -> dict[str, dict]:
    """The full benchmark into SQLite and into a private PostgreSQL cluster, one after the other."""
    from tests.support.stores import Cluster

    results = {}
    results["sqlite"] = run_full_benchmark(
        capture,
        Path(tempfile.mkdtemp()) / "bench.db",
        cpu=args.cpu,
        relay_cpu=args.relay_cpu,
        scorer=args.scorer,
    )
    cluster = Cluster()
    try:
        results["postgres"] = run_full_benchmark(
            capture,
            cluster.database(),
            cpu=args.cpu,
            relay_cpu=args.relay_cpu,
            scorer=args.scorer,  # type: ignore[arg-type]
        )
    finally:
        cluster.stop()
    return results


def _cpu_seconds(pid: int) -> float:
    """utime + stime of a live process, from /proc: what it burnt, whoever else shares its core."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _pin(cpu: int | None) -> None:
    if cpu is not None and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {cpu})


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("mode", choices=["decode", "generate", "full", "_child"])
    parser.add_argument("--events", type=int, default=50_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--capture", type=Path)
    parser.add_argument("--cpu", type=int, default=0, help="CPU to pin the measuring process to")
    parser.add_argument("--db", type=Path, help="full mode: database path (default: a temp file)")
    parser.add_argument(
        "--backend",
        choices=["sqlite", "postgres"],
        default="sqlite",
        help="full mode: postgres runs into a private PostgreSQL cluster too, SQLite beside it",
    )
    parser.add_argument("--relay-cpu", type=int, help="full mode: CPU of the relay (default: another one)")
    parser.add_argument("--scorer", choices=["link", "model"], default="link", help="full mode: scorer")
    parser.add_argument(
        "--real", default="", help="posts carry real records of these kinds (random,timeline)"
    )
    parser.add_argument("--repeat", type=int, default=1, help="full mode: runs (best and spread printed)")
    parser.add_argument(
        "--profile", type=Path, help="full mode: profile ingest (.prof cProfile, .txt/.svg py-spy)"
    )
    args = parser.parse_args(argv)
    capture = args.capture or default_capture(args.events, args.seed, args.real)

    if args.mode == "_child":
        if hasattr(os, "sched_setaffinity"):
            os.sched_setaffinity(0, {args.cpu})
        print(json.dumps(measure_decode(capture)))
        return 0
    ensure_capture(capture, args.events, args.seed, args.real)
    if args.mode == "generate":
        return 0
    if args.mode == "full" and args.backend == "postgres":
        both = run_both_backends(capture, args)
        print(json.dumps(both, indent=2))
        for name, result in both.items():
            print(
                f"ingest end to end on one core (CPU {result['ingest_cpu']}), {name:>8}: {_full_line(result)}"
            )
        return 0
    if args.mode == "full":
        db = args.db or Path(tempfile.mkdtemp()) / "bench.db"
        runs = []
        for _ in range(args.repeat):
            runs.append(
                run_full_benchmark(
                    capture,
                    db,
                    cpu=args.cpu,
                    relay_cpu=args.relay_cpu,
                    scorer=args.scorer,
                    profile=args.profile,
                )
            )
            print(json.dumps(runs[-1], indent=2), flush=True)
        result = max(runs, key=lambda r: r["frames_per_s"])
        if args.scorer == "model":
            result["posts_share"] = model_share(capture)
            print(f"posts of the capture: {result['posts_share']}")
        if len(runs) > 1:
            rates = sorted(r["frames_per_s"] for r in runs)
            steady = sorted(r["steady_frames_per_s"] for r in runs)
            print(
                f"{len(runs)} runs: {rates[0]:,}-{rates[-1]:,} events/s incl. start-up, steady "
                f"{steady[0]:,}-{steady[-1]:,}/s; peak RSS {max(r['peak_rss_mib'] for r in runs)} MiB; "
                f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs"
            )
        print(f"ingest end to end on one core (CPU {result['ingest_cpu']}): {_full_line(result)}")
        return 0
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "scripts.bench_ingest",
            "_child",
            "--capture",
            str(capture),
            "--cpu",
            str(args.cpu),
        ],
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
