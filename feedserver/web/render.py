"""Jinja2 environment and the filters the templates use; autoescape is on for every template.

`linkify` is the one filter that returns markup: it escapes each piece of the post text itself and
only wraps http(s) URLs (and bare github.com links) in anchors, so a post's `<script>` stays text.
"""

from __future__ import annotations

import re
import time
import unicodedata
from importlib import resources
from pathlib import Path
from urllib.parse import quote

from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup, escape

URL = re.compile(r"(https?://[^\s<>\"'`]+|(?<![\w./@-])(?:www\.)?github\.com/[^\s<>\"'`]*)", re.IGNORECASE)
TRAILING = ".,;:!?)]}…"
TEMPLATES = Path(str(resources.files("feedserver.web") / "templates"))
STATIC = Path(str(resources.files("feedserver.web") / "static"))


def _neutralized(url: str) -> str:
    """The URL with its control and format characters (bidi overrides and isolates such as U+202E,
    zero-width ones, U+FEFF) percent-encoded, so a link shows, and goes to, what it says."""
    if url.isascii() and url.isprintable():
        return url
    return "".join(
        quote(char, safe="") if unicodedata.category(char) in ("Cc", "Cf") else char for char in url
    )


def linkify(text: str | None) -> Markup:
    """Escaped text with its URLs as links (trailing punctuation left outside the link).

    A link's text and href have their bidi and other invisible characters percent-encoded, and the
    anchor is `dir="ltr"` (an isolate), so neither a character inside the URL nor one around it can
    make the link read as another address.
    """
    text = text or ""
    out: list[str] = []
    last = 0
    for match in URL.finditer(text):
        url = match.group(0)
        stripped = url.rstrip(TRAILING)
        end = match.start() + len(stripped)
        out.append(str(escape(text[last : match.start()])))
        shown = _neutralized(stripped)
        href = shown if shown.lower().startswith(("http://", "https://")) else "https://" + shown
        out.append(
            f'<a href="{escape(href)}" dir="ltr" rel="nofollow noopener" target="_blank">{escape(shown)}</a>'
        )
        last = end
    out.append(str(escape(text[last:])))
    return Markup("".join(out))


def age(ts: float | None, now: float | None = None) -> str:
    """'42s', '5m', '3h', '2d': how long ago."""
    if ts is None:
        return "-"
    seconds = max(0.0, (time.time() if now is None else now) - ts)
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{int(seconds // size)}{unit}"
    return f"{int(seconds)}s"


def rate(value: float | None) -> str:
    return "-" if value is None else f"{value:,.1f}"


def chart(series: dict[str, list[int]], width: int = 600, height: int = 120) -> dict:
    """Polyline points per series scaled into a width x height box (y grows downward), and the max."""
    peak = max((max(values) for values in series.values() if values), default=0) or 1
    lines = {}
    for name, values in series.items():
        step = width / max(len(values) - 1, 1)
        lines[name] = " ".join(
            f"{i * step:.1f},{height - value * height / peak:.1f}" for i, value in enumerate(values)
        )
    return {"lines": lines, "peak": peak, "width": width, "height": height}


def environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(linkify=linkify, age=age, rate=rate)
    env.globals.update(chart=chart)
    return env
