"""`gitfeed scorer`: the classifier's model step as scoring workers on Ray Serve (GPU machines).

Thin edge (STYLE 1): settings in, `firehose.classify.workers.start`, wait for a signal, `stop`.
"""

from __future__ import annotations

import signal
import threading

import click

from gitfeed.cli import common


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address the HTTP endpoint listens on.")
@click.option("--port", type=click.IntRange(1, 65535), default=8100, show_default=True, help="HTTP port.")
@click.option("--address", default="", help="A Ray cluster to join (HOST:PORT); default: start one here.")
@click.option("--num-cpus", type=click.IntRange(min=1), default=None, help="CPUs of a Ray started here.")
@click.option(
    "--replicas", type=click.IntRange(min=0), default=0, help="Model replicas (0: one per GPU, else 1)."
)
@click.option("--cpus-per-replica", type=click.FloatRange(min=0), default=1.0, show_default=True)
@click.option(
    "--max-batch", type=click.IntRange(min=1), default=256, show_default=True, help="Posts per model batch."
)
@click.option(
    "--batch-wait-ms",
    type=click.FloatRange(min=0),
    default=5.0,
    show_default=True,
    help="How long a model batch waits for more posts from other requests.",
)
def scorer(
    host: str,
    port: int,
    address: str,
    num_cpus: int | None,
    replicas: int,
    cpus_per_replica: float,
    max_batch: int,
    batch_wait_ms: float,
) -> None:
    """Serve the classifier's model (encoder + heads) to ingest over HTTP, as a Ray Serve deployment.

    Each replica takes a GPU when the Ray cluster has one (fp16), else runs on CPU. Point ingest at it
    with FEEDGEN_SCORER_URL=http://HOST:PORT; ingest keeps the cheap first stage and sends only the
    posts that pass it. Runs until SIGINT/SIGTERM.

    Example: gitfeed scorer --host 0.0.0.0 --port 8100
    """
    settings = common.settings()
    common.setup_logging()
    try:
        from firehose.classify import workers
    except ImportError as error:
        raise click.ClickException(
            f"Ray Serve is not installed ({error}): pip install -c constraints.txt -e '.[scorer]'"
        ) from error
    deployment = workers.start(
        settings,
        host=host,
        port=port,
        address=address,
        num_cpus=num_cpus,
        replicas=replicas,
        cpus_per_replica=cpus_per_replica,
        max_batch_size=max_batch,
        batch_wait_s=batch_wait_ms / 1000,
    )
    where = f"{deployment.gpus_per_replica:g} GPU" if deployment.gpus_per_replica else "CPU"
    click.echo(
        f"scorer: serving at {deployment.url} ({deployment.replicas} replica(s) on {where}, "
        f"{deployment.cpus_per_replica:g} CPU each; Ray sees {deployment.cluster_gpus:g} GPU); "
        f"ingest: FEEDGEN_SCORER_URL={deployment.url}",
        err=False,
    )
    stopping = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):  # after ray.init, which installs its own
        signal.signal(sig, lambda *_: stopping.set())
    try:
        while not stopping.wait(1.0):
            pass
    finally:
        workers.stop(shared_cluster=bool(address))
        click.echo("scorer: stopped")
