"""Classifier throughput and peak memory: posts/s at batch sizes 1, 32, 128, 256, CPU (2 threads) and CUDA.

Each configuration runs in its own subprocess so its peak RSS is its own. Two figures per row:
- model: every post embedded (the model's own speed: the cost on a stream of candidates);
- pipeline: the full scorer (link features, prefilter, embedding the posts that pass, heads) on a
  firehose-like stream: 5% topical posts, 80% everyday off-topic posts (small talk, replies, news cards,
  food, sports, politics, pets, in six languages) and 15% hard negatives (word traps, tech that is not
  GitHub, other forges), all drawn from the training and held-out files. Real traffic is mostly the
  everyday kind; the word traps are rare there, so 15% is a pessimistic share.

Usage: python -m scripts.bench_classify [--devices cpu,cuda] [--precisions fp32,int8] [--n 1024]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "firehose" / "classify" / "data"


EVERYDAY = re.compile(
    r"^(chat|chat-reply|none-more|none-reply-more|none-extra|last-none|news|(ja|pt|es|de|fr)-none"
    r"|r2-everyday|r2-everyday-reply|r2-everyday-card|r2-(ja|pt|es|de|fr)-everyday)\d*-"
)


def stream(n: int, positive_share: float = 0.05, hard_share: float = 0.15, seed: int = 0) -> list[dict]:
    rows = [json.loads(line) for name in ("train.jsonl", "heldout.jsonl") for line in (DATA / name).open()]
    positives = [r["record"] for r in rows if r["labels"]]
    everyday = [r["record"] for r in rows if not r["labels"] and EVERYDAY.match(r["id"])]
    hard = [r["record"] for r in rows if not r["labels"] and not EVERYDAY.match(r["id"])]
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        draw = rng.random()
        if draw < positive_share:
            pool = positives
        else:
            pool = hard if draw < positive_share + hard_share else everyday
        out.append(rng.choice(pool))
    return out


def one(device: str, batch: int, precision: str, n: int, threads: int) -> dict:
    os.environ["HF_HUB_OFFLINE"] = "1"
    import torch

    from firehose.classify import build_scorer
    from firehose.classify.features import embed_text
    from firehose.settings import load_settings

    torch.set_num_threads(threads)
    settings = load_settings(
        device=device, embed_precision=precision, embed_batch_size=batch, embed_threads=threads
    )
    scorer = build_scorer(settings)
    posts = stream(n)
    texts = [embed_text(p) for p in posts]
    scorer.embedder.encode(texts[: max(batch, 8)], batch_size=batch)  # warm up
    if device == "cuda":
        torch.cuda.synchronize()
    started = time.perf_counter()
    for i in range(0, n, batch):
        scorer.embedder.encode(texts[i : i + batch], batch_size=batch)
    if device == "cuda":
        torch.cuda.synchronize()
    model_rate = n / (time.perf_counter() - started)
    seen, embedded = scorer.posts_seen, scorer.posts_embedded
    started = time.perf_counter()
    for i in range(0, n, batch):
        scorer.score(posts[i : i + batch])
    if device == "cuda":
        torch.cuda.synchronize()
    pipeline_rate = n / (time.perf_counter() - started)
    pass_rate = (scorer.posts_embedded - embedded) / max(1, scorer.posts_seen - seen)
    out = {
        "device": device,
        "precision": scorer.embedder.precision,
        "batch": batch,
        "threads": threads,
        "model_posts_s": round(model_rate, 1),
        "pipeline_posts_s": round(pipeline_rate, 1),
        "prefilter_pass_rate": round(pass_rate, 3),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }
    if device == "cuda":
        out["peak_gpu_mb"] = round(torch.cuda.max_memory_allocated() / 2**20, 1)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--devices", default="cpu,cuda")
    parser.add_argument("--precisions", default="auto")
    parser.add_argument("--batches", default="1,32,64,128,256")
    parser.add_argument("--n", type=int, default=1024, help="posts per measurement (batch 1 uses n/4)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--one", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        device, batch, precision, n = args.one.split(":")
        print(json.dumps(one(device, int(batch), precision, int(n), args.threads)))
        return
    import torch

    devices = [d for d in args.devices.split(",") if d != "cuda" or torch.cuda.is_available()]
    print("device prec  batch   model/s  pipeline/s  passed  RSS MB")
    for device in devices:
        threads = args.threads if device == "cpu" else os.cpu_count() or 1
        for precision in args.precisions.split(","):
            for batch in (int(b) for b in args.batches.split(",")):
                n = max(batch, args.n // 4 if batch == 1 else args.n)
                if device == "cuda":
                    n = max(n, 16 * batch)
                spec = f"{device}:{batch}:{precision}:{n}"
                proc = subprocess.run(
                    [
                        sys.executable,
                        "-m",
                        "scripts.bench_classify",
                        "--one",
                        spec,
                        "--threads",
                        str(threads),
                    ],
                    capture_output=True,
                    text=True,
                    cwd=ROOT,
                )
                if proc.returncode:
                    print(f"{spec}: failed: {proc.stderr.strip().splitlines()[-1:]}")
                    continue
                r = json.loads(proc.stdout.strip().splitlines()[-1])
                extra = f"  GPU {r['peak_gpu_mb']} MB" if "peak_gpu_mb" in r else ""
                print(
                    f"{r['device']:6s} {r['precision']:5s} {r['batch']:5d} {r['model_posts_s']:9.1f} "
                    f"{r['pipeline_posts_s']:11.1f} {r['prefilter_pass_rate']:7.1%} "
                    f"{r['peak_rss_mb']:7.0f}{extra}",
                    flush=True,
                )


if __name__ == "__main__":
    main()
