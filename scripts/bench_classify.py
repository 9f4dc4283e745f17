"""Classifier throughput and peak memory on real post texts (shared/corpus/real-posts), CPU and CUDA.

Each configuration (device, precision, max_seq_length, batch size) runs in its own subprocess, so its
peak RSS is its own; `--repeat` runs each that many times and prints the best and the spread (the
machines are shared). Figures per row:
- first stage: the cheap part that every post pays (card/alt text, lexicon, links, hashed n-grams
  gate), on one thread, over the `random` kind (an unfiltered firehose sample);
- pipeline: the full scorer (`EmbeddingScorer.score`: first stage, language detection of the posts
  that pass, the model on the readable ones, heads) over the same `random` posts, in calls of
  `--chunk` posts as ingest batches them; `passed` = share past the first stage, `model` = share that
  reaches the model;
- model: every post embedded (the model's own speed, the cost per candidate), over all kinds of real
  posts (mean ~43 tokens), in batches of `batch`;
- /CPU-s: posts per CPU-second of this process (user + system, all threads), which a loaded machine
  disturbs less than wall time.

The posts are read in place and never copied. Usage:

    python -m scripts.bench_classify [--devices cpu,cuda] [--precisions fp32,int8] [--runtimes torch,onnx]
        [--seq 128,64] [--batches 1,32] [--threads 2] [--repeat 2] [--n 2000] [--model-n 512]

CPU int8 runs on torch (dynamic quantization) and on ONNX Runtime (`rt`; one post per call there).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def real_records(kind: str | None = None) -> list[dict]:
    """The real posts' records (all kinds, or one), in a fixed shuffled order."""
    from firehose.classify.realdata import default_posts_path

    path = default_posts_path(ROOT.parent)
    if path is None:
        raise SystemExit("no shared/corpus/real-posts/posts.jsonl beside the checkout")
    rows = [json.loads(line) for line in path.open(encoding="utf-8") if line.strip()]
    records = [row["record"] for row in rows if kind is None or row.get("kind") == kind]
    random.Random(0).shuffle(records)
    return records


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _timed(fn) -> tuple[float, float]:  # noqa: ANN001 - a thunk
    wall, cpu = time.perf_counter(), _cpu()
    fn()
    return time.perf_counter() - wall, _cpu() - cpu


def first_stage(scorer, records: list[dict]) -> None:  # noqa: ANN001 - an EmbeddingScorer
    from firehose.classify.features import embed_text, link_matrix
    from firehose.classify.lexicon import lexicon_matrix

    texts = [embed_text(record) for record in records]
    gate = scorer.heads.gate_logits(texts, lexicon_matrix(texts), link_matrix(records))
    scorer.heads.passes(gate)


def one(
    device: str,
    batch: int,
    precision: str,
    seq: int,
    runtime: str,
    n: int,
    model_n: int,
    chunk: int,
    threads: int,
) -> dict:
    os.environ["HF_HUB_OFFLINE"] = "1"
    import torch

    from firehose.classify import build_scorer
    from firehose.classify.features import embed_text
    from firehose.settings import load_settings

    torch.set_num_threads(threads)
    settings = load_settings(
        device=device,
        embed_precision=precision,
        embed_batch_size=batch,
        embed_threads=threads,
        embed_max_seq_length=seq,
        embed_runtime=runtime,
    )
    scorer = build_scorer(settings)
    stream = real_records("random")[:n]
    texts = [embed_text(record) for record in real_records()[:model_n]]
    sync = torch.cuda.synchronize if device.startswith("cuda") else (lambda: None)

    torch.set_num_threads(1)
    first_wall, _ = _timed(lambda: first_stage(scorer, stream))
    torch.set_num_threads(threads)

    scorer.embedder.encode(texts[: max(batch, 8)], batch_size=batch)  # warm up
    sync()

    def model() -> None:
        for i in range(0, len(texts), batch):
            scorer.embedder.encode(texts[i : i + batch], batch_size=batch)
        sync()

    model_wall, model_cpu = _timed(model)

    def pipeline() -> None:
        for i in range(0, len(stream), chunk):
            scorer.score(stream[i : i + chunk])
        sync()

    pipe_wall, pipe_cpu = _timed(pipeline)
    counts = scorer.counts
    out = {
        "device": device,
        "precision": scorer.embedder.precision,
        "runtime": scorer.embedder.runtime,
        "seq": scorer.embedder.model.max_seq_length,
        "batch": batch,
        "threads": threads,
        "first_stage_posts_s": round(len(stream) / first_wall),
        "pipeline_posts_s": round(len(stream) / pipe_wall, 1),
        "pipeline_posts_cpu_s": round(len(stream) / max(pipe_cpu, 1e-9), 1),
        "passed": round(counts.passed / max(1, counts.seen), 4),
        "model_share": round(counts.embedded / max(1, counts.seen), 4),
        "model_posts_s": round(len(texts) / model_wall, 1),
        "model_posts_cpu_s": round(len(texts) / max(model_cpu, 1e-9), 1),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
    }
    if device.startswith("cuda"):
        out["peak_gpu_mb"] = round(torch.cuda.max_memory_allocated() / 2**20)
    return out


HEADER = (
    f"{'device':6s} {'prec':5s} {'rt':5s} {'seq':>4s} {'batch':>5s} {'1st stage/s':>11s} {'pipeline/s':>10s} "
    f"{'/CPU-s':>7s} {'passed':>7s} {'model':>6s} {'model/s':>8s} {'/CPU-s':>7s} {'RSS MB':>6s}  runs"
)


def row(runs: list[dict]) -> str:
    """The best of the runs (by pipeline posts/s), each rate with the spread over the runs."""
    best = max(runs, key=lambda r: r["pipeline_posts_s"])

    def rate(key: str, width: int, digits: int = 0) -> str:
        values = [r[key] for r in runs]
        text = f"{max(values):.{digits}f}"
        return text.rjust(width)

    spreads = ", ".join(
        f"{key.split('_')[0]} {min(r[key] for r in runs):.0f}-{max(r[key] for r in runs):.0f}"
        for key in ("pipeline_posts_s", "model_posts_s")
    )
    extra = f"  GPU {best['peak_gpu_mb']} MB" if "peak_gpu_mb" in best else ""
    return (
        f"{best['device']:6s} {best['precision']:5s} {best['runtime']:5s} {best['seq']:4d} "
        f"{best['batch']:5d} "
        f"{rate('first_stage_posts_s', 11)} {rate('pipeline_posts_s', 10)} {rate('pipeline_posts_cpu_s', 7)} "
        f"{best['passed']:7.1%} {best['model_share']:6.1%} {rate('model_posts_s', 8, 1)} "
        f"{rate('model_posts_cpu_s', 7, 1)} {max(r['peak_rss_mb'] for r in runs):6d}  {len(runs)} "
        f"({spreads}){extra}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--devices", default="cpu,cuda")
    parser.add_argument("--precisions", default="fp32,int8", help="CPU precisions (CUDA rows use fp16)")
    parser.add_argument("--seq", default="128,64", help="max_seq_length values")
    parser.add_argument("--runtimes", default="torch,onnx", help="CPU int8 runtimes (others run on torch)")
    parser.add_argument("--batches", default="1,32", help="batch sizes (ONNX Runtime: 1 only)")
    parser.add_argument("--n", type=int, default=2000, help="random-kind posts through the pipeline")
    parser.add_argument("--model-n", type=int, default=512, help="posts (all kinds) embedded model-only")
    parser.add_argument("--chunk", type=int, default=500, help="posts per scorer call (an ingest batch)")
    parser.add_argument("--threads", type=int, default=2, help="CPU threads for the model")
    parser.add_argument("--repeat", type=int, default=2, help="runs per configuration")
    parser.add_argument("--json", action="store_true", help="also print every run as a JSON line")
    parser.add_argument("--one", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        device, batch, precision, seq, runtime = args.one.split(":")
        result = one(
            device, int(batch), precision, int(seq), runtime, args.n, args.model_n, args.chunk, args.threads
        )
        print(json.dumps(result))
        return
    import torch

    devices = [d for d in args.devices.split(",") if d != "cuda" or torch.cuda.is_available()]
    print(HEADER, flush=True)
    for device in devices:
        threads = args.threads if device == "cpu" else os.cpu_count() or 1
        precisions = args.precisions.split(",") if device == "cpu" else ["fp16"]
        runtimes = args.runtimes.split(",")
        configs = [
            (precision, runtime, seq, batch if device == "cpu" else max(batch, 256))
            for precision in precisions
            for runtime in (runtimes if device == "cpu" and precision == "int8" else ["torch"])
            for seq in (int(s) for s in args.seq.split(","))
            for batch in (int(b) for b in args.batches.split(","))
            if runtime != "onnx" or batch == 1
        ]
        for precision, runtime, seq, batch in configs:
            spec = f"{device}:{batch}:{precision}:{seq}:{runtime}"
            runs = []
            for _ in range(args.repeat):
                proc = subprocess.run(
                    [
                        sys.executable,
                        "-m",
                        "scripts.bench_classify",
                        "--one",
                        spec,
                        "--threads",
                        str(threads),
                        "--n",
                        str(args.n),
                        "--model-n",
                        str(args.model_n),
                        "--chunk",
                        str(args.chunk),
                    ],
                    capture_output=True,
                    text=True,
                    cwd=ROOT,
                )
                if proc.returncode:
                    print(f"{spec}: failed: {proc.stderr.strip().splitlines()[-1:]}", flush=True)
                    continue
                runs.append(json.loads(proc.stdout.strip().splitlines()[-1]))
                if args.json:
                    print(json.dumps(runs[-1]), flush=True)
            if runs:
                print(row(runs), flush=True)
    print(f"load average after: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")


if __name__ == "__main__":
    main()
