"""The browser face of gitfeed: ranked feeds, trending repositories and the operator view.

`web_router(settings)` is the one entry point; the app mounts it with `app.include_router(...)`.
"""

from feedserver.web.routes import web_router

__all__ = ["web_router"]
