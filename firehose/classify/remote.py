"""The model step in scoring workers: the HTTP wire format, the client ingest uses, the worker's checks.

Plain HTTP and JSON, so the ingest process needs no Ray (the workers are a Ray Serve deployment,
`firehose.classify.workers`, which exposes plain HTTP):

- `POST {FEEDGEN_SCORER_URL}/score` with the first stage's survivors of one batch, as columns:
  `{"heads": sha256, "texts": [str], "lexicon": [[0/1 per group]], "links": [[link features]],
  "readable": [bool]}`; the answer: `{"heads": sha256, "topics": [str], "routes": [[[network, written]
  per topic] per post]}`, every value in 0..1.
- `GET {FEEDGEN_SCORER_URL}/health`: `{"heads", "topics", "model"}` once a worker has loaded the model.

`heads` is the checksum of the heads file (`Heads.meta["checksum"]`): ingest's first stage and the
workers' heads must be the same training, or the scores would be neither's; a worker refuses a request
for other heads (409). Every reply is checked (count, shape, topics, numbers in 0..1): a bad reply
raises `BadScorerReply`, so ingest waits and retries; it is never read as a score of 0.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import orjson

from firehose.classify.features import LINK_FEATURES
from firehose.classify.lexicon import GROUPS
from firehose.classify.modelstep import ModelInput
from firehose.scoring import ScorerUnavailable

if TYPE_CHECKING:
    import httpx

    from firehose.classify.heads import Heads
    from firehose.classify.modelstep import LocalModel
    from firehose.settings import Settings

SCORE_PATH = "/score"
HEALTH_PATH = "/health"
MAX_POSTS = 20_000  # per request: an ingest batch is at most FEEDGEN_BATCH_MAX_EVENTS posts (2000)
MAX_TEXT_CHARS = 8_000  # embed_text caps text, card and alt texts well under this


class BadScorerReply(ScorerUnavailable):
    """The workers answered, but not with one valid row of scores per post sent."""


class RequestRefused(Exception):
    """A worker turns a request away: `status` (400, 404, 409) and a one-line reason."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status

    def body(self) -> bytes:
        return orjson.dumps({"error": str(self)})


def heads_checksum(heads: Heads) -> str:
    return str(heads.meta.get("checksum", ""))


# ---------------------------------------------------------------------- the client side (ingest)


def encode_request(batch: ModelInput, heads: str) -> bytes:
    return orjson.dumps(
        {
            "heads": heads,
            "texts": list(batch.texts),
            "lexicon": np.asarray(batch.lexicon, dtype=np.float64).tolist(),
            "links": np.asarray(batch.links, dtype=np.float64).tolist(),
            "readable": [bool(value) for value in batch.readable],
        }
    )


def parse_reply(body: bytes, n: int, topics: Sequence[str], heads: str) -> np.ndarray:
    """(n, topics, 2) routes from a worker's reply, or BadScorerReply saying what is wrong with it."""
    try:
        reply = orjson.loads(body)
    except orjson.JSONDecodeError as error:
        raise BadScorerReply(f"the reply is not JSON ({error})") from error
    if not isinstance(reply, dict) or "routes" not in reply:
        raise BadScorerReply("the reply has no routes")
    if reply.get("heads") != heads:
        raise BadScorerReply(f"the reply is for heads {reply.get('heads')!r}, ingest has {heads!r}")
    if reply.get("topics") != list(topics):
        raise BadScorerReply(f"the reply scores topics {reply.get('topics')!r}, ingest needs {list(topics)}")
    rows = reply["routes"]
    if not isinstance(rows, list) or len(rows) != n:
        count = len(rows) if isinstance(rows, list) else type(rows).__name__
        raise BadScorerReply(f"the reply has {count} rows of scores for {n} posts")
    for i, row in enumerate(rows):  # strictly numbers: no string or null numpy would read as a float
        if not (
            isinstance(row, list)
            and len(row) == len(topics)
            and all(isinstance(pair, list) and len(pair) == 2 and all(map(_is_number, pair)) for pair in row)
        ):
            raise BadScorerReply(f"the reply's row {i} is not {len(topics)} pairs of numbers")
    routes = np.asarray(rows, dtype=np.float64)
    if not np.isfinite(routes).all() or (routes < 0).any() or (routes > 1).any():
        raise BadScorerReply("the reply has a score outside 0..1")
    return routes


def _is_number(value: object) -> bool:
    return type(value) in (int, float)


class RemoteModel:
    """The model step at scoring workers: one POST per batch of survivors (`ModelStep`)."""

    def __init__(self, url: str, heads: Heads, *, timeout: float = 30.0, client: httpx.Client | None = None):
        import httpx

        self.url = url.rstrip("/")
        self.topics: tuple[str, ...] = heads.topics
        self.heads = heads_checksum(heads)
        self._client = client or httpx.Client(timeout=timeout, headers={"content-type": "application/json"})

    @classmethod
    def from_settings(cls, settings: Settings, heads: Heads) -> RemoteModel:
        return cls(settings.scorer_url, heads, timeout=settings.scorer_timeout_seconds)

    def routes(self, batch: ModelInput) -> np.ndarray:
        if not len(batch):
            return np.zeros((0, len(self.topics), 2))
        body = self._post(SCORE_PATH, encode_request(batch, self.heads))
        try:
            return parse_reply(body, len(batch), self.topics, self.heads)
        except BadScorerReply as error:
            raise BadScorerReply(f"scoring workers at {self.url}: {error}") from error

    def health(self) -> dict[str, Any]:
        """The workers' `/health` answer (ScorerUnavailable while they are down or loading)."""
        import httpx

        try:
            response = self._client.get(self.url + HEALTH_PATH)
        except httpx.HTTPError as error:
            raise ScorerUnavailable(f"scoring workers at {self.url}: {error!r}") from error
        if response.status_code != 200:
            raise ScorerUnavailable(f"scoring workers at {self.url} answered HTTP {response.status_code}")
        return orjson.loads(response.content)

    def _post(self, path: str, body: bytes) -> bytes:
        import httpx

        try:
            response = self._client.post(self.url + path, content=body)
        except httpx.HTTPError as error:  # refused, reset, timed out: the workers are down or slow
            raise ScorerUnavailable(f"scoring workers at {self.url}: {error!r}") from error
        if response.status_code != 200:
            reason = response.text[:200].strip()
            raise ScorerUnavailable(
                f"scoring workers at {self.url} answered HTTP {response.status_code}: {reason}"
            )
        return response.content

    def describe(self) -> str:
        return f"scoring workers at {self.url}"

    def close(self) -> None:
        self._client.close()


# ---------------------------------------------------------------------- the worker side


def _matrix(value: object, n: int, width: int, name: str) -> np.ndarray:
    if not (
        isinstance(value, list)
        and len(value) == n
        and all(isinstance(row, list) and len(row) == width and all(map(_is_number, row)) for row in value)
    ):
        raise RequestRefused(400, f"{name} is not {n} rows of {width} numbers")
    return np.asarray(value, dtype=np.float32).reshape(n, width)


def parse_request(body: bytes, heads: str) -> ModelInput:
    """The survivors a request carries, or RequestRefused (400: malformed, 409: other heads)."""
    try:
        request = orjson.loads(body)
    except orjson.JSONDecodeError as error:
        raise RequestRefused(400, f"the body is not JSON ({error})") from error
    if not isinstance(request, dict):
        raise RequestRefused(400, "the body is not a JSON object")
    if request.get("heads") != heads:
        raise RequestRefused(
            409, f"this worker scores with heads {heads}, the request is for {request.get('heads')!r}"
        )
    texts, readable = request.get("texts"), request.get("readable")
    if not isinstance(texts, list) or not all(isinstance(text, str) for text in texts):
        raise RequestRefused(400, "texts is not a list of strings")
    if len(texts) > MAX_POSTS or any(len(text) > MAX_TEXT_CHARS for text in texts):
        raise RequestRefused(400, f"at most {MAX_POSTS} texts of at most {MAX_TEXT_CHARS} characters")
    n = len(texts)
    if not isinstance(readable, list) or len(readable) != n or not all(isinstance(r, bool) for r in readable):
        raise RequestRefused(400, f"readable is not a list of {n} booleans")
    return ModelInput(
        texts=texts,
        lexicon=_matrix(request.get("lexicon"), n, len(GROUPS), "lexicon"),
        links=_matrix(request.get("links"), n, len(LINK_FEATURES), "links"),
        readable=np.asarray(readable, dtype=bool),
    )


def encode_reply(routes: np.ndarray, topics: Sequence[str], heads: str) -> bytes:
    rows = np.asarray(routes, dtype=np.float64)
    if not all(math.isfinite(v) and 0.0 <= v <= 1.0 for v in rows.ravel()):
        raise ValueError("the heads gave a score outside 0..1")  # a worker bug: a 500, never sent as scores
    return orjson.dumps({"heads": heads, "topics": list(topics), "routes": rows.tolist()})


def health_reply(model: LocalModel) -> bytes:
    return orjson.dumps(
        {"heads": heads_checksum(model.heads), "topics": list(model.topics), "model": model.describe()}
    )
