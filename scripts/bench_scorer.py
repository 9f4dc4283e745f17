"""The model step through Ray Serve (`gitfeed scorer`) against in process, on the same real posts, on CPU.

The payload is what ingest sends: real posts of the `random` kind (an unfiltered firehose sample, from
shared/corpus/real-posts, read in place and never copied) cut into ingest batches of `--chunk` posts,
and of each batch only the first stage's survivors (a few %). Each batch's survivors go once to
`LocalModel.routes` (in this process) and once to `RemoteModel.routes` (HTTP to the workers), in turn,
`--repeat` times; the figures are the medians per batch:

- model step ms/batch, in process and through Ray Serve, and the difference: the overhead per batch
  (JSON both ways, HTTP, Ray's proxy and router, `@serve.batch`'s wait);
- round trip: one unreadable survivor (the heads only, no encoder), median of 50: the fixed cost of
  the hop itself;
- ingest posts/s: batch posts / (first stage + model step), the scorer's throughput seen by ingest;
- saturated: `--model-n` posts of every kind sent as if all survived, in batches of `--model-batch`:
  the model's own posts/s in process and through Ray Serve.

The workers: `--url` of a running `gitfeed scorer`, or one started here (a local Ray, one CPU, the
replica on `--threads` torch threads like the in-process model). Usage:

    python -m scripts.bench_scorer [--n 4000] [--chunk 500] [--repeat 5] [--threads 2] [--url URL]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

if __package__ in (None, ""):  # run as `python scripts/bench_scorer.py`: import the checkout as `-m` does
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from scripts.bench_classify import real_records


def timed(fn) -> float:  # noqa: ANN001 - a thunk
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--n", type=int, default=4000, help="random-kind posts (the firehose sample)")
    parser.add_argument("--chunk", type=int, default=500, help="posts per ingest batch")
    parser.add_argument("--repeat", type=int, default=5, help="passes over the batches")
    parser.add_argument("--model-n", type=int, default=1024, help="posts (all kinds) for the saturated run")
    parser.add_argument("--model-batch", type=int, default=256)
    parser.add_argument("--threads", type=int, default=2, help="torch threads, here and in the replica")
    parser.add_argument("--url", default="", help="a running `gitfeed scorer` (default: start one here)")
    args = parser.parse_args()
    os.environ["HF_HUB_OFFLINE"] = "1"

    from firehose.classify import build_scorer
    from firehose.classify.features import LINK_FEATURES, embed_text
    from firehose.classify.lexicon import GROUPS
    from firehose.classify.modelstep import ModelInput
    from firehose.classify.remote import RemoteModel
    from firehose.settings import load_settings

    settings = load_settings(device="cpu", embed_threads=args.threads)
    scorer = build_scorer(settings)
    local = scorer.model
    stream = real_records("random")[: args.n]
    chunks = [stream[i : i + args.chunk] for i in range(0, len(stream), args.chunk)]
    first_stage_s = [timed(lambda c=chunk: scorer.survivors(c)) for chunk in chunks]
    payloads = [scorer.survivors(chunk).batch for chunk in chunks]
    everything = real_records()[: args.model_n]
    saturated = []
    for i in range(0, len(everything), args.model_batch):
        part = everything[i : i + args.model_batch]
        texts = [embed_text(record) for record in part]
        saturated.append(
            ModelInput(
                texts,
                np.zeros((len(texts), len(GROUPS)), dtype=np.float32),
                np.zeros((len(texts), len(LINK_FEATURES)), dtype=np.float32),
                np.ones(len(texts), dtype=bool),
            )
        )

    workers = None
    url = args.url
    if not url:
        from tests.support.scorerproc import ScorerProcess

        log = Path(tempfile.mkdtemp(prefix="bench-scorer-")) / "scorer.log"
        workers = ScorerProcess(log, env={"FEEDGEN_EMBED_THREADS": str(args.threads)})
        started = time.perf_counter()
        workers.start()
        print(
            f"started gitfeed scorer (local Ray, 1 CPU) in {time.perf_counter() - started:.1f}s", flush=True
        )
        url = workers.url
    remote = RemoteModel(url, scorer.heads, timeout=120)
    try:
        print(f"workers: {remote.health()['model']} at {url}; in process: {local.describe()}", flush=True)
        for payload in payloads[:2] + saturated[:1]:  # warm both up
            local.routes(payload)
            remote.routes(payload)
        per_batch: dict[str, list[float]] = {"local": [], "remote": []}
        for _ in range(args.repeat):
            for payload in payloads:
                per_batch["local"].append(timed(lambda p=payload: local.routes(p)))
                per_batch["remote"].append(timed(lambda p=payload: remote.routes(p)))
        one = payloads[0]
        bare = ModelInput(one.texts[:1], one.lexicon[:1], one.links[:1], np.zeros(1, dtype=bool))
        trip = {
            name: statistics.median(timed(lambda m=model: m.routes(bare)) for _ in range(50))
            for name, model in (("local", local), ("remote", remote))
        }
        sat: dict[str, float] = {"local": 0.0, "remote": 0.0}
        for payload in saturated:
            sat["local"] += timed(lambda p=payload: local.routes(p))
            sat["remote"] += timed(lambda p=payload: remote.routes(p))
        for payload in payloads:  # the same scores either way (int8: up to the 4th decimal)
            diff = np.abs(local.routes(payload) - remote.routes(payload)).max(initial=0.0)
            assert diff < 2e-3, f"the workers' scores differ by {diff}"
    finally:
        remote.close()
        if workers is not None:
            workers.stop()

    n_surv = sum(len(p) for p in payloads)
    n_read = sum(int(p.readable.sum()) for p in payloads)
    print(
        f"payload: {len(stream)} random real posts in {len(chunks)} ingest batches of {args.chunk}: "
        f"{n_surv / len(stream):.1%} pass the first stage ({n_surv / len(chunks):.1f} survivors a batch, "
        f"{n_read / len(chunks):.1f} reach the encoder)"
    )
    first = statistics.median(first_stage_s) * 1000
    print(f"first stage (in ingest either way): {first:.1f} ms a batch")
    print(f"{'model step':28s} {'in process':>11s} {'Ray Serve':>11s} {'overhead':>9s}")
    loc, rem = (statistics.median(per_batch[k]) * 1000 for k in ("local", "remote"))
    print(f"{'ms a batch (median)':28s} {loc:11.1f} {rem:11.1f} {rem - loc:9.1f}")
    loc_s, rem_s = n_surv / len(chunks) / (loc / 1000), n_surv / len(chunks) / (rem / 1000)
    print(f"{'survivors/s':28s} {loc_s:11.0f} {rem_s:11.0f}")
    ingest_l, ingest_r = (args.chunk / ((first + t) / 1000) for t in (loc, rem))
    print(f"{'ingest posts/s (1st + model)':28s} {ingest_l:11.0f} {ingest_r:11.0f}")
    bare_l, bare_r = trip["local"] * 1000, trip["remote"] * 1000
    print(f"{'round trip, no encoder (ms)':28s} {bare_l:11.2f} {bare_r:11.2f} {bare_r - bare_l:9.2f}")
    sat_n = sum(len(p) for p in saturated)
    sat_l, sat_r = sat_n / sat["local"], sat_n / sat["remote"]
    overhead = (sat["remote"] - sat["local"]) / len(saturated) * 1000
    print(
        f"{f'saturated ({sat_n} posts, {args.model_batch}/batch)':28s} {sat_l:11.0f} {sat_r:11.0f} "
        f"{overhead:9.1f}  posts/s; overhead ms a batch"
    )
    print(f"load average after: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")


if __name__ == "__main__":
    main()
