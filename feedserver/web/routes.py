"""HTTP routes of the web page and the operator view; thin: parse, call queries/admin, render.

Mount with `app.include_router(web_router(settings, app.state.service))`. Forms are plain
`application/x-www-form-urlencoded` posts (parsed here, so no multipart dependency), and every page
works without JavaScript; `static/app.js` only adds polling and in-place form answers.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from feedserver import moderation
from feedserver.feeds import FEEDS
from feedserver.service import FeedService
from feedserver.web import admin
from feedserver.web.queries import PageData
from feedserver.web.render import STATIC, environment
from firehose.settings import Settings
from firehose.store import labels

DEFAULT_FEED = "github"
PAGE_SIZE = 30
LABEL_QUEUE_SHOWN = 20
MAX_LIMIT = 100
MAX_FORM_BYTES = 64 * 1024
STATIC_TYPES = {".css": "text/css; charset=utf-8", ".js": "text/javascript; charset=utf-8"}
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        "frame-ancestors 'none'; form-action 'self'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}


def _limit(raw: str | None) -> int:
    try:
        value = int(raw) if raw else PAGE_SIZE
    except ValueError:
        value = PAGE_SIZE
    return min(max(value, 1), MAX_LIMIT)


async def _form(request: Request) -> dict[str, str]:
    body = await request.body()
    if len(body) > MAX_FORM_BYTES:
        return {}
    parsed = parse_qs(body.decode("utf-8", errors="replace"), keep_blank_values=True)
    return {key: values[0] for key, values in parsed.items()}


def web_router(
    settings: Settings,
    service: FeedService,
    *,
    scorer_factory: Callable[[Settings], Any] | None = None,
) -> APIRouter:
    """The routes of `/` (feeds, trending), `/web/*` (fragments, static) and `/admin`.

    `scorer_factory` builds the playground's scorer on first use (default:
    `firehose.classify.build_scorer`); nothing is loaded at import or mount time.
    """
    data = PageData(settings, service)
    playground = admin.Playground(settings, scorer_factory) if scorer_factory else admin.Playground(settings)
    env = environment()
    poll_seconds = max(2.0, min(settings.snapshot_refresh_seconds, 30.0))
    static = {path.name: path for path in STATIC.iterdir() if path.suffix in STATIC_TYPES}

    # Trending is counted on the first visit to `/`, not at start-up: a server that only answers the
    # AppView never pays for it, and getFeedSkeleton's latency is not hit by a count it does not need.
    router = APIRouter(include_in_schema=False)

    def html(
        template: str, status: int = 200, headers: dict[str, str] | None = None, **context: Any
    ) -> HTMLResponse:
        body = env.get_template(template).render(now=time.time(), feeds=FEEDS, **context)
        return HTMLResponse(body, status_code=status, headers={**SECURITY_HEADERS, **(headers or {})})

    throttle = admin.LoginThrottle()

    def client_of(request: Request) -> str:
        return request.client.host if request.client else "-"

    def is_admin(request: Request) -> bool:
        """The admin token in a header (counted against the login throttle when wrong), or a session."""
        given = admin.header_token(request.headers.get("authorization"), request.headers.get("x-admin-token"))
        if given is not None and settings.admin_token:
            client = client_of(request)
            if throttle.retry_after(client):
                request.state.throttled = True
                return False
            if admin.token_matches(settings.admin_token, given):
                return True
            throttle.failed(client)
        cookie = request.cookies.get(admin.COOKIE)
        if cookie is None:
            return False
        return admin.session_valid(data.conn(), settings.admin_token, cookie, time.time())

    def refusal(request: Request, error: str = "") -> HTMLResponse:
        if not settings.admin_token:
            return html(
                "error.html", 403, message="The operator view is off: set FEEDGEN_ADMIN_TOKEN to use it."
            )
        wait = throttle.retry_after(client_of(request))
        if wait and getattr(request.state, "throttled", False):
            return html(
                "error.html",
                429,
                message=f"Too many wrong tokens from your address: try again in {wait:.0f} s.",
                headers={"Retry-After": str(max(1, round(wait)))},
            )
        return html("login.html", 401, error=error, headers={"WWW-Authenticate": "Bearer"})

    def cross_site(request: Request) -> HTMLResponse | None:
        """A 403 for a state-changing POST that is not known to come from this site's own pages.

        A request with the token in a header is not a browser's forgery (no page can make a browser
        add it); every other POST under /admin must name this origin in Origin (or Referer).
        """
        given = admin.header_token(request.headers.get("authorization"), request.headers.get("x-admin-token"))
        if given is not None and admin.token_matches(settings.admin_token, given):
            return None
        own = {f"{request.url.scheme}://{request.headers.get('host', '')}".lower()}
        own.add(f"https://{settings.hostname}".lower())
        if admin.same_origin(request.headers.get("origin"), request.headers.get("referer"), own):
            return None
        return html("error.html", 403, message="Refused: this request did not come from this site's pages.")

    def feed_of(request: Request) -> str | None:
        name = request.query_params.get("feed", DEFAULT_FEED)
        return name if name in FEEDS else None

    # --- public pages --------------------------------------------------------------------------

    @router.get("/")
    async def index(request: Request) -> Response:
        name = feed_of(request)
        if name is None:
            return html("error.html", 404, message="No such feed.")
        limit = _limit(request.query_params.get("limit"))
        page = await data.feed_page(FEEDS[name], limit)
        trending = await data.trending_async()
        return html(
            "index.html",
            page=page,
            trending=trending,
            limit=limit,
            more=min(limit + PAGE_SIZE, MAX_LIMIT),
            poll_seconds=poll_seconds,
            poll_url="/web/posts?" + urlencode({"feed": name, "limit": limit}),
            is_admin=is_admin(request),
            back="/",
        )

    @router.get("/web/posts")
    async def posts_fragment(request: Request) -> Response:
        """The post list alone, for polling: 204 when nothing changed since `since`."""
        name = feed_of(request)
        if name is None:
            return Response(status_code=404)
        page = await data.feed_page(FEEDS[name], _limit(request.query_params.get("limit")))
        headers = {"X-Version": page.version, "Cache-Control": "no-store"}
        if request.query_params.get("since") == page.version:
            return Response(status_code=204, headers=headers)
        return html("_posts.html", page=page, headers=headers, is_admin=is_admin(request), back="/")

    @router.get("/web/static/{name}")
    async def static_file(name: str) -> Response:
        path = static.get(name)
        if path is None:
            return Response(status_code=404)
        return Response(
            path.read_bytes(),
            media_type=STATIC_TYPES[path.suffix],
            headers={"Cache-Control": "public, max-age=300", "X-Content-Type-Options": "nosniff"},
        )

    # --- operator view ---------------------------------------------------------------------------

    async def admin_page(request: Request, status: int = 200, **extra: Any) -> Response:
        name = feed_of(request) or DEFAULT_FEED
        page = await data.feed_page(FEEDS[name], PAGE_SIZE)

        def read() -> dict[str, Any]:
            data.sample_counters()
            conn = data.conn()
            bans, pins = moderation.moderation_rows(conn)
            first_hour, series = data.histogram()
            return {
                "figures": admin.ingest_figures(conn, settings, data.samples),
                "bans": bans,
                "pins": pins,
                "first_hour": first_hour,
                "series": series,
                "queue": labels.queue(conn, limit=LABEL_QUEUE_SHOWN),
                "queue_counts": labels.queue_counts(conn),
            }

        context = await asyncio.to_thread(read)
        return html(
            "admin.html",
            status,
            page=page,
            playground=playground,
            thresholds=settings.thresholds,
            poll_seconds=max(poll_seconds, 5.0),
            **context,
            **extra,
        )

    @router.get("/admin")
    async def admin_view(request: Request) -> Response:
        if not is_admin(request):
            return refusal(request)
        return await admin_page(request, request_done=request.query_params.get("done", "")[:300])

    @router.post("/admin/login")
    async def login(request: Request) -> Response:
        if (refused := cross_site(request)) is not None:
            return refused
        client = client_of(request)
        if settings.admin_token and throttle.retry_after(client):
            request.state.throttled = True
        if not settings.admin_token or getattr(request.state, "throttled", False):
            return refusal(request)
        form = await _form(request)
        if not admin.token_matches(settings.admin_token, form.get("token", "")):
            throttle.failed(client)
            return refusal(request, "Wrong token.")
        session = await asyncio.to_thread(admin.open_session, data.conn(), settings.admin_token, time.time())
        response = RedirectResponse("/admin", status_code=303)
        response.set_cookie(
            admin.COOKIE,
            session,
            httponly=True,
            samesite="strict",
            secure=request.url.scheme == "https",
            max_age=admin.SESSION_SECONDS,
        )
        return response

    @router.post("/admin/logout")
    async def logout(request: Request) -> Response:
        if (refused := cross_site(request)) is not None:
            return refused
        cookie = request.cookies.get(admin.COOKIE)
        await asyncio.to_thread(lambda: admin.close_session(data.conn(), cookie))
        response = RedirectResponse("/", status_code=303)
        response.delete_cookie(admin.COOKIE)
        return response

    @router.get("/admin/figures")
    async def figures(request: Request) -> Response:
        if not is_admin(request):
            return refusal(request)

        def read() -> admin.IngestFigures:
            data.sample_counters()
            return admin.ingest_figures(data.conn(), settings, data.samples)

        result = await asyncio.to_thread(read)
        return html(
            "_figures.html", figures=result, playground=playground, headers={"Cache-Control": "no-store"}
        )

    @router.post("/admin/moderate")
    async def moderate(request: Request) -> Response:
        """One form for ban / unban / pin / unpin, so every button is a tiny form with hidden fields."""
        if (refused := cross_site(request)) is not None:
            return refused
        if not is_admin(request):
            return refusal(request)
        form = await _form(request)
        action, kind, value = form.get("action", ""), form.get("kind", "post"), form.get("value", "")
        feed = form.get("feed", "*") or "*"

        def write() -> str:
            conn = data.conn()
            if action == "ban":
                return f"banned {kind} {moderation.ban(conn, kind, value, form.get('reason', ''))}"
            if action == "unban":
                return f"unbanned {kind} {value}" if moderation.unban(conn, kind, value) else "no such ban"
            if action == "pin":
                return f"pinned {moderation.pin(conn, value, feed)} on {feed}"
            if action == "unpin":
                return f"unpinned {value}" if moderation.unpin(conn, value, feed) else "no such pin"
            raise moderation.ModerationError(f"unknown action {action[:50]!r}")

        def write_and_apply() -> str:
            message = write()
            service.moderation_written(data.conn())  # this server at once; the others within a tick
            return message

        try:
            message = await asyncio.to_thread(write_and_apply)
        except moderation.ModerationError as error:
            return await admin_page(request, 400, message=str(error))
        back = form.get("back", "/admin")
        target = back if back in ("/", "/admin") else "/admin"
        return RedirectResponse(target + "?" + urlencode({"done": message}), status_code=303)

    @router.post("/admin/label")
    async def label(request: Request) -> Response:
        """The operator's label of a queued post (the same call as `gitfeed label URI --as ...`), or
        `drop` to take it out of the queue unlabeled."""
        if (refused := cross_site(request)) is not None:
            return refused
        if not is_admin(request):
            return refusal(request)
        form = await _form(request)
        uri, answer = form.get("uri", ""), form.get("labels", "")

        def write() -> str:
            if answer == "drop":
                return (
                    f"dropped {uri} from the label queue"
                    if labels.dismiss(data.conn(), uri)
                    else "not queued"
                )
            done = labels.add_label(data.conn(), uri, answer, time.time())
            return f"labeled {uri}: {', '.join(sorted(done.labels)) or 'neither'}"

        try:
            message = await asyncio.to_thread(write)
        except labels.LabelError as error:
            return await admin_page(request, 400, message=str(error))
        return RedirectResponse("/admin?" + urlencode({"done": message[:300]}) + "#labels", status_code=303)

    @router.post("/admin/playground")
    async def playground_run(request: Request) -> Response:
        if (refused := cross_site(request)) is not None:
            return refused
        if not is_admin(request):
            return refusal(request)
        form = await _form(request)
        text = form.get("text", "")
        try:
            result = await asyncio.to_thread(playground.evaluate, text)
        except Exception as error:  # the classifier failed to load or score: say so on the page
            result = admin.PlaygroundResult(
                text=text,
                scores={},
                thresholds=settings.thresholds,
                kept_topics=[],
                feeds=[],
                repos=[],
                seconds=0.0,
                scorer=playground.describe(),
                error=f"{type(error).__name__}: {error}",
            )
        if request.headers.get("x-fragment"):
            return html("_playground.html", result=result)
        return await admin_page(request, result=result)

    return router
