"""Scoring workers: the model step (`LocalModel`: the encoder and the heads) as a Ray Serve deployment.

`gitfeed scorer` starts it; ingest reaches it over plain HTTP (`firehose.classify.remote`, the wire
format and its checks). Each replica loads the model once, on the GPU Ray gave it (`num_gpus=1` when the
cluster has GPUs; the Embedder then picks fp16, FEEDGEN_EMBED_PRECISION=auto), else on CPU. A request
carries one ingest batch of first-stage survivors; `@serve.batch` regroups the posts of concurrent
requests (several ingests, or a batch larger than a model batch) into model batches of at most
`max_batch_size` posts. The model runs in one thread beside the replica's event loop, so requests keep
arriving (and batching) while a batch is on the device.

Only this module imports Ray; ingest never does.
"""

from __future__ import annotations

import asyncio
import logging
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from ray import serve
from starlette.requests import Request
from starlette.responses import Response

from firehose.classify.modelstep import ModelInput
from firehose.classify.remote import (
    HEALTH_PATH,
    SCORE_PATH,
    RequestRefused,
    encode_reply,
    heads_checksum,
    health_reply,
    parse_request,
)

if TYPE_CHECKING:
    from firehose.settings import Settings

log = logging.getLogger(__name__)
APP_NAME = "gitfeed-scorer"
JSON = "application/json"
# The settings a worker needs to load the same model step as ingest would (the rest stay with ingest).
MODEL_SETTINGS = (
    "model",
    "device",
    "embed_precision",
    "embed_max_seq_length",
    "embed_threads",
    "embed_batch_size",
    "heads_path",
)


@serve.deployment(name="scorer", max_ongoing_requests=256)
class ScoringWorker:
    """One replica: the model step loaded once, answering `/score` and `/health`."""

    def __init__(self, model_settings: dict[str, Any], max_batch_size: int, batch_wait_s: float) -> None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        from firehose.classify.scorer import build_model
        from firehose.settings import Settings

        self.model = build_model(Settings(**model_settings))
        self.heads = heads_checksum(self.model.heads)
        self._device = ThreadPoolExecutor(max_workers=1, thread_name_prefix="gitfeed-model")
        self.score_posts.set_max_batch_size(max_batch_size)
        self.score_posts.set_batch_wait_timeout_s(batch_wait_s)
        log.info("scorer replica: %s, batches of up to %d posts", self.model.describe(), max_batch_size)

    async def __call__(self, request: Request) -> Response:
        path = request.url.path.rstrip("/")
        if request.method == "GET" and path == HEALTH_PATH:
            return Response(health_reply(self.model), media_type=JSON)
        if request.method != "POST" or path != SCORE_PATH:
            return Response(RequestRefused(404, f"POST {SCORE_PATH} or GET {HEALTH_PATH}").body(), 404)
        try:
            batch = parse_request(await request.body(), self.heads)
        except RequestRefused as error:
            return Response(error.body(), status_code=error.status, media_type=JSON)
        rows = await asyncio.gather(*(self.score_posts(row) for row in batch.rows()))
        routes = np.stack(rows) if rows else np.zeros((0, len(self.model.topics), 2))
        return Response(encode_reply(routes, self.model.topics, self.heads), media_type=JSON)

    @serve.batch(max_batch_size=256, batch_wait_timeout_s=0.005)
    async def score_posts(self, posts: list[ModelInput]) -> list[np.ndarray]:
        """Posts of concurrent requests in one model batch; one (topics, 2) row back per post."""
        batch = ModelInput.concat(posts)
        routes = await asyncio.get_running_loop().run_in_executor(self._device, self.model.routes, batch)
        return list(routes)


@dataclass(frozen=True)
class Deployment:
    """What `start` deployed, for the operator's line."""

    url: str
    replicas: int
    gpus_per_replica: float
    cpus_per_replica: float
    cluster_gpus: float


def start(
    settings: Settings,
    *,
    host: str,
    port: int,
    address: str = "",
    num_cpus: int | None = None,
    replicas: int = 0,
    cpus_per_replica: float = 1.0,
    max_batch_size: int = 256,
    batch_wait_s: float = 0.005,
) -> Deployment:
    """Start Ray (a local instance, or join the cluster at `address`), then the deployment, serving HTTP
    on host:port; returns once every replica has loaded the model. replicas=0: one per GPU, else one."""
    import ray

    if not ray.is_initialized():
        if address:
            ray.init(address=address, include_dashboard=False)
        else:
            ray.init(address="local", num_cpus=num_cpus, include_dashboard=False)
    gpus = float(ray.cluster_resources().get("GPU", 0))
    gpus_per_replica = 1.0 if gpus >= 1 else 0.0
    replicas = replicas or max(1, int(gpus))
    model_settings = settings.model_dump(include=set(MODEL_SETTINGS), mode="json")
    app = ScoringWorker.options(
        num_replicas=replicas,
        ray_actor_options={"num_cpus": cpus_per_replica, "num_gpus": gpus_per_replica},
    ).bind(model_settings, max_batch_size, batch_wait_s)
    serve.start(http_options={"host": host, "port": port})
    serve.run(app, name=APP_NAME, route_prefix="/")
    return Deployment(f"http://{host}:{port}", replicas, gpus_per_replica, cpus_per_replica, gpus)


def stop(*, shared_cluster: bool) -> None:
    """Take the deployment down; on our own local Ray instance, Serve and Ray with it."""
    import ray

    if shared_cluster:
        serve.delete(APP_NAME)
    else:
        serve.shutdown()
    ray.shutdown()
