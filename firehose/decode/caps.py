"""Caps on what a stranger can make us carry from one post or one commit (README: "Caps on hostile input").

Both decoders apply `cap_post` to a post record as soon as it is decoded, before it is validated,
classified or stored, so a 4 MB link-card description or 20,000 facets cost one slice here and
nothing downstream: the event's record, the classifier's input, the stored row and the `/` page
all see the capped post. Why cut rather than reject: the lexicon sets no length on card text, alt
text or the facet list, so such a post is valid, and its text and first links are real; what we
keep of it is bounded. The event counts what was cut (`PostUpserted.fields_truncated`,
`.facets_dropped`); the store adds them to the `fields_truncated` / `facets_dropped` counters.

A commit with more ops than the lexicon allows is not cut: it is invalid as a whole (a commit is
atomic, and half of one is a repo state that never existed), so the relay decoder skips it before
walking its CAR and counts its ops in `ops_skipped`.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "MAX_ALT_CHARS",
    "MAX_CARD_DESCRIPTION_CHARS",
    "MAX_CARD_TITLE_CHARS",
    "MAX_COMMIT_OPS",
    "MAX_FACETS",
    "cap_post",
]

MAX_COMMIT_OPS = 200  # com.atproto.sync.subscribeRepos#commit: `ops` maxLength 200
MAX_FACETS = 100  # the first 100 facets of a post are kept; real posts have a handful
MAX_CARD_TITLE_CHARS = 300  # app.bsky.embed.external#external title (no lexicon limit)
MAX_CARD_DESCRIPTION_CHARS = 1000  # ... description (no lexicon limit); the app shows two lines
MAX_ALT_CHARS = 2000  # image and video alt text (the Bluesky app's own limit on alt text)

ELLIPSIS = "\u2026"
_IMAGES = "app.bsky.embed.images"
_EXTERNAL = "app.bsky.embed.external"
_VIDEO = "app.bsky.embed.video"
_RECORD_WITH_MEDIA = "app.bsky.embed.recordWithMedia"


def _cut(value: str, limit: int) -> str:
    """`value` cut to `limit` characters, the last one an ellipsis, so a reader sees it was cut."""
    return value[: limit - 1] + ELLIPSIS


def _cap_media(media: dict[str, Any]) -> tuple[dict[str, Any], int]:
    """(media embed, strings cut): a copy only when something was cut."""
    mtype = media.get("$type")
    cut = 0
    if mtype == _EXTERNAL:
        external = media.get("external")
        if type(external) is not dict:
            return media, 0
        for name, limit in (("title", MAX_CARD_TITLE_CHARS), ("description", MAX_CARD_DESCRIPTION_CHARS)):
            value = external.get(name)
            if type(value) is str and len(value) > limit:
                if not cut:
                    external = dict(external)
                external[name] = _cut(value, limit)
                cut += 1
        return ({**media, "external": external}, cut) if cut else (media, 0)
    if mtype == _IMAGES:
        images = media.get("images")
        if type(images) is not list:
            return media, 0
        capped = []
        for image in images:
            alt = image.get("alt") if type(image) is dict else None
            if type(alt) is str and len(alt) > MAX_ALT_CHARS:
                image = {**image, "alt": _cut(alt, MAX_ALT_CHARS)}
                cut += 1
            capped.append(image)
        return ({**media, "images": capped}, cut) if cut else (media, 0)
    if mtype == _VIDEO:
        alt = media.get("alt")
        if type(alt) is str and len(alt) > MAX_ALT_CHARS:
            return {**media, "alt": _cut(alt, MAX_ALT_CHARS)}, 1
    return media, 0


def cap_post(record: dict[str, Any]) -> tuple[dict[str, Any], int, int]:
    """A post record -> (record within the caps, strings cut, facets dropped).

    Never mutates `record`: when nothing is over a cap (nearly every post) it is returned as is;
    otherwise a copy is, with only the paths that were cut copied. Shapes it does not expect are
    left for validation to judge.
    """
    facets = record.get("facets")
    embed = record.get("embed")
    dropped = 0
    if type(facets) is list and len(facets) > MAX_FACETS:
        dropped = len(facets) - MAX_FACETS
        record = {**record, "facets": facets[:MAX_FACETS]}
    if type(embed) is not dict:
        return record, 0, dropped
    if embed.get("$type") == _RECORD_WITH_MEDIA:
        media = embed.get("media")
        if type(media) is not dict:
            return record, 0, dropped
        media, cut = _cap_media(media)
        if cut:
            record = {**record, "embed": {**embed, "media": media}}
        return record, cut, dropped
    embed, cut = _cap_media(embed)
    if cut:
        record = {**record, "embed": embed}
    return record, cut, dropped
