"""The FastAPI app: XRPC routes of a feed generator, health and metrics.

Routes are thin: parse parameters, call the FeedService, map domain errors to XRPC errors. Handlers
take the raw Request and answer orjson bytes, because at thousands of requests per second pydantic
parameter models and JSON re-encoding cost more than the feed itself.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections.abc import Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import orjson
from fastapi import FastAPI, Request
from fastapi.responses import Response

from feedserver.auth import AuthError, ServiceAuth
from feedserver.cursors import InvalidCursorError
from feedserver.feedback import parse_interactions
from feedserver.feeds import FEEDS, InvalidFeedUriError, UnknownFeedError, feed_uri, parse_feed_uri
from feedserver.httpserver import BodyLimit
from feedserver.metrics import Metrics
from feedserver.requestlog import RequestLog
from feedserver.service import FeedService
from feedserver.web import web_router
from firehose.settings import Settings
from firehose.store import status as ingest_status

GET_FEED_SKELETON = "app.bsky.feed.getFeedSkeleton"
SEND_INTERACTIONS = "app.bsky.feed.sendInteractions"
SKELETON_PATH = "/xrpc/" + GET_FEED_SKELETON
DEFAULT_LIMIT = 50
MAX_LIMIT = 100

log = logging.getLogger(__name__)


class XrpcError(Exception):
    """An XRPC error response: HTTP status plus `{"error", "message"}`."""

    def __init__(self, status: int, error: str, message: str) -> None:
        super().__init__(message)
        self.status, self.error, self.message = status, error, message


def _json(body: object, status: int = 200) -> Response:
    return Response(content=orjson.dumps(body), status_code=status, media_type="application/json")


def _error(error: XrpcError) -> Response:
    return _json({"error": error.error, "message": error.message}, error.status)


def parse_limit(raw: str | None) -> int:
    """`limit` as the lexicon defines it: an integer 1..100, default 50."""
    if raw is None:
        return DEFAULT_LIMIT
    if not raw.isascii() or not raw.isdigit() or not 1 <= int(raw) <= MAX_LIMIT:
        raise XrpcError(400, "InvalidRequest", f"limit must be an integer from 1 to {MAX_LIMIT}")
    return int(raw)


def did_document(settings: Settings) -> dict | None:
    """The did:web document for this service, or None when the service DID is not this host's did:web."""
    expected = "did:web:" + settings.hostname.replace(":", "%3A")
    if settings.service_did != expected:
        return None
    return {
        "@context": ["https://www.w3.org/ns/did/v1"],
        "id": settings.service_did,
        "service": [
            {"id": "#bsky_fg", "type": "BskyFeedGenerator", "serviceEndpoint": f"https://{settings.hostname}"}
        ],
    }


def describe(settings: Settings) -> dict:
    return {
        "did": settings.service_did,
        "feeds": [{"uri": feed_uri(settings.publisher_did, name)} for name in FEEDS],
    }


class SkeletonFastPath:
    """Pure ASGI middleware answering GET getFeedSkeleton directly; everything else goes to the app."""

    def __init__(self, app, handler) -> None:  # noqa: ANN001 - ASGI app and the route's handler
        self.app = app
        self.handler = handler

    async def __call__(self, scope, receive, send) -> None:  # noqa: ANN001 - ASGI
        if scope["type"] != "http" or scope["path"] != SKELETON_PATH or scope["method"] != "GET":
            await self.app(scope, receive, send)
            return
        authorization = None
        for name, value in scope["headers"]:
            if name == b"authorization":
                authorization = value.decode("latin-1")
                break
        status, body = await self.handler(scope["query_string"], authorization)
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


@functools.lru_cache(maxsize=256)
def _unquote_plus(value: str) -> str:
    return unquote(value.replace("+", " "))


def parse_query(query_string: bytes) -> dict[str, str]:
    """A query string as parse_qsl(keep_blank_values=True) reads it, faster on the hot path: cursors
    need no unquoting, and the few feed URIs that do repeat, so their unquoting is cached."""
    params: dict[str, str] = {}
    for piece in query_string.decode("latin-1").split("&"):
        if not piece:
            continue
        name, _, value = piece.partition("=")
        if "%" in name or "+" in name:
            name = _unquote_plus(name)
        if "%" in value or "+" in value:
            value = _unquote_plus(value)
        params[name] = value
    return params


def create_app(
    settings: Settings,
    *,
    db_path: Path | str | None = None,
    service: FeedService | None = None,
    auth: ServiceAuth | None = None,
    scorer_factory: Callable[[Settings], Any] | None = None,
) -> FastAPI:
    """Build the app for these settings. Opens the database now (errors surface at startup)."""
    metrics = Metrics()
    service = service or FeedService(settings, db_path, metrics=metrics)
    if service.metrics is None:
        service.metrics = metrics
    auth = auth or ServiceAuth.create(settings)
    metrics.watch_store(service.store_gauges)
    metrics.watch_caps(service.cap_counters)
    metrics.watch_memory(service.memory_counters)
    described = orjson.dumps(describe(settings))
    did_doc = did_document(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI):  # noqa: ANN202
        await service.start()  # SQLite: rank every feed now; PostgreSQL: join the other servers
        yield
        request_log.flush()
        await service.aclose()
        await auth.aclose()

    app = FastAPI(title="gitfeed", docs_url=None, redoc_url=None, openapi_url=None, lifespan=lifespan)
    app.state.service = service
    app.state.metrics = metrics
    app.state.settings = settings
    request_log = app.state.request_log = RequestLog()

    def finish(
        route: str, feed: str, status: int, started: float, limit: int | None, viewer: str | None
    ) -> None:
        elapsed = time.perf_counter() - started
        metrics.observe(route, feed, status, elapsed)
        request_log.add(
            f"route={route} feed={feed} limit={'-' if limit is None else limit} status={status} "
            f"ms={elapsed * 1000:.2f} viewer={viewer or '-'}"
        )

    async def feed_skeleton(query_string: bytes, authorization: str | None) -> tuple[int, bytes]:
        """getFeedSkeleton from the raw query string: (HTTP status, JSON body)."""
        started = time.perf_counter()
        feed, limit, viewer, status = "-", None, None, 200
        try:
            params = parse_query(query_string)
            raw_feed = params.get("feed")
            if not raw_feed:
                raise XrpcError(400, "InvalidRequest", "missing required parameter: feed")
            try:
                definition = parse_feed_uri(raw_feed, settings.publisher_did)
            except InvalidFeedUriError as error:
                raise XrpcError(400, "InvalidRequest", str(error)) from error
            except UnknownFeedError as error:
                raise XrpcError(400, "UnknownFeed", str(error)) from error
            feed = definition.name
            limit = parse_limit(params.get("limit"))
            viewer = await auth.viewer(authorization, GET_FEED_SKELETON)
            try:
                return 200, await service.skeleton_json(definition, limit, params.get("cursor"), viewer)
            except InvalidCursorError as error:
                raise XrpcError(400, "InvalidRequest", str(error)) from error
        except XrpcError as error:
            status = error.status
            return status, orjson.dumps({"error": error.error, "message": error.message})
        except AuthError as error:
            status = 401
            return status, orjson.dumps({"error": error.error, "message": error.message})
        except Exception:
            status = 500
            log.exception("getFeedSkeleton failed")
            return status, orjson.dumps({"error": "InternalServerError", "message": "Internal Server Error"})
        finally:
            finish("getFeedSkeleton", feed, status, started, limit, viewer)

    async def get_feed_skeleton(request: Request) -> Response:
        status, body = await feed_skeleton(
            request.scope["query_string"], request.headers.get("authorization")
        )
        return Response(content=body, status_code=status, media_type="application/json")

    app.add_route("/xrpc/" + GET_FEED_SKELETON, get_feed_skeleton, methods=["GET"])
    # Bodies are bounded while they arrive (inside the fast path: a GET of the skeleton has none).
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes)
    # The hot path, as pure ASGI in front of the router: skips routing, Request/Response objects and
    # FastAPI's dependency machinery (about a third of the CPU time per request).
    app.add_middleware(SkeletonFastPath, handler=feed_skeleton)

    @app.get("/xrpc/app.bsky.feed.describeFeedGenerator")
    async def describe_feed_generator() -> Response:
        return Response(content=described, media_type="application/json")

    @app.post("/xrpc/" + SEND_INTERACTIONS)
    async def send_interactions(request: Request) -> Response:
        started = time.perf_counter()
        viewer, status = None, 200
        try:
            viewer = await auth.viewer(request.headers.get("authorization"), SEND_INTERACTIONS)
            if viewer is None and auth.mode != "off":
                raise AuthError("AuthenticationRequired", "Authentication Required")
            raw = await request.body()  # at most FEEDGEN_MAX_BODY_BYTES (BodyLimit: 413 past it)
            try:
                parsed = parse_interactions(orjson.loads(raw))
            except orjson.JSONDecodeError as error:
                raise XrpcError(400, "InvalidRequest", "body must be JSON") from error
            except ValueError as error:
                raise XrpcError(400, "InvalidRequest", str(error)) from error
            if parsed.skipped:
                metrics.interactions_skipped.inc(parsed.skipped)
            if viewer is not None and parsed.items:
                await service.record_interactions(viewer, parsed.items)
            return _json({})
        except XrpcError as error:
            status = error.status
            return _error(error)
        except AuthError as error:
            status = 401
            return _json({"error": error.error, "message": error.message}, 401)
        finally:
            finish("sendInteractions", "-", status, started, None, viewer)

    @app.get("/.well-known/did.json")
    async def well_known_did() -> Response:
        if did_doc is None:
            return _json({"error": "NotFound", "message": "service DID is not a did:web of this host"}, 404)
        return _json(did_doc)

    @app.get("/xrpc/_health")
    async def health() -> Response:
        body = service.health()
        if body["ok"]:
            lags = (source["lag_seconds"] for source in body["ingest"])
            reason = ingest_status.stale_reason(lags, settings.health_max_lag_seconds)
            if reason is not None:
                body = {**body, "ok": False, "stale": True, "error": reason}
        return _json(body, 200 if body["ok"] else 503)

    @app.get("/metrics")
    async def prometheus() -> Response:
        payload = await asyncio.to_thread(metrics.render)
        return Response(content=payload, media_type="text/plain; version=0.0.4; charset=utf-8")

    @app.api_route("/xrpc/{nsid}", methods=["GET", "POST"])
    async def not_implemented(nsid: str) -> Response:
        return _json(
            {"error": "MethodNotImplemented", "message": f"method not implemented: {nsid[:200]}"}, 501
        )

    app.include_router(web_router(settings, service, scorer_factory=scorer_factory))
    return app
