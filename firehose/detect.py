"""Find GitHub links in a post: pure functions over an `app.bsky.feed.post` record dict.

A post can point at GitHub in four places: a link facet, an external embed, the external inside
recordWithMedia, and plain text that the client left unfaceted or shortened
(`github.com/org/re...`). Each link gets its canonical `owner/repo` when the URL names one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

EXTERNAL = "app.bsky.embed.external"
RECORD_WITH_MEDIA = "app.bsky.embed.recordWithMedia"
LINK_FEATURE = "app.bsky.richtext.facet#link"

# github.com paths that are GitHub's own pages, not owners.
RESERVED_OWNERS = frozenset(
    """about apps blog codespaces collections contact customer-stories enterprise events explore features
    login logout marketplace new notifications orgs organizations pricing pulls issues readme search
    security settings site sponsors topics trending users join signup team premium-support home
    copilot resources solutions""".split()
)
NAME = r"[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9_])?"
TEXT_URL = re.compile(
    r"(?<![\w.@/-])(?:https?://)?"
    r"((?:www\.)?github\.com|gist\.github\.com|[A-Za-z0-9-]+\.github\.io|raw\.githubusercontent\.com)"
    r"(/[^\s<>\"'\)\]]*)?",
    re.IGNORECASE,
)
ELLIPSIS = re.compile(r"(\.\.\.|…)$")


@dataclass(frozen=True, slots=True)
class GithubLink:
    """A link to GitHub; `repo` is lower-case `owner/repo` when the URL names a repository."""

    url: str
    repo: str | None = None


def canonical_repo(url: str) -> str | None:
    """`owner/repo` for a URL on github.com, raw.githubusercontent.com or a *.github.io page."""
    parts = urlsplit(url if "://" in url else "https://" + url)
    host = (parts.hostname or "").lower()
    segments = [segment for segment in parts.path.split("/") if segment]
    if host in ("github.com", "www.github.com", "raw.githubusercontent.com"):
        if (
            len(segments) < 2
            or segments[0].lower() in RESERVED_OWNERS
            and host != "raw.githubusercontent.com"
        ):
            return None
        owner, repo = segments[0], segments[1]
        repo = repo.removesuffix(".git")
    elif host.endswith(".github.io"):
        owner = host.removesuffix(".github.io")
        repo = segments[0] if segments else host
    else:
        return None
    if not (re.fullmatch(NAME, owner) and re.fullmatch(NAME, repo)):
        return None
    return f"{owner}/{repo}".lower()


def is_github_url(url: str) -> bool:
    """True for github.com, gist.github.com, raw.githubusercontent.com and *.github.io URLs."""
    host = (urlsplit(url if "://" in url else "https://" + url).hostname or "").lower()
    return host in ("github.com", "www.github.com", "gist.github.com", "raw.githubusercontent.com") or (
        host.endswith(".github.io") and host.count(".") == 2
    )


def _external(record: dict[str, Any]) -> dict[str, Any] | None:
    embed = record.get("embed")
    if not isinstance(embed, dict):
        return None
    if embed.get("$type") == RECORD_WITH_MEDIA:
        embed = embed.get("media")
        if not isinstance(embed, dict):
            return None
    if embed.get("$type") != EXTERNAL:
        return None
    external = embed.get("external")
    return external if isinstance(external, dict) else None


def card_text(record: dict[str, Any]) -> tuple[str, str, str]:
    """The link card's (uri, title, description), empty strings when there is no card."""
    external = _external(record) or {}

    def field(name: str) -> str:
        value = external.get(name)
        return value if isinstance(value, str) else ""

    return field("uri"), field("title"), field("description")


# What the classifier reads of each part, at most: a stranger's 100 KB card description or forty images
# of alt text cost no more than a normal post (the post text itself is capped by the lexicon at 3,000 bytes).
MAX_TEXT_CHARS = 3000
MAX_CARD_TITLE_CHARS = 300
MAX_CARD_DESCRIPTION_CHARS = 1000
MAX_ALT_TEXTS = 4
MAX_ALT_CHARS = 500
IMAGES = "app.bsky.embed.images"


def alt_texts(record: dict[str, Any]) -> list[str]:
    """The alt texts of a post's images (also inside recordWithMedia), at most MAX_ALT_TEXTS."""
    embed = record.get("embed")
    if isinstance(embed, dict) and embed.get("$type") == RECORD_WITH_MEDIA:
        embed = embed.get("media")
    if not isinstance(embed, dict) or embed.get("$type") != IMAGES:
        return []
    images = embed.get("images")
    if not isinstance(images, list):
        return []
    alts = [image.get("alt") for image in images[:MAX_ALT_TEXTS] if isinstance(image, dict)]
    return [alt[:MAX_ALT_CHARS] for alt in alts if isinstance(alt, str) and alt.strip()]


def embed_text(record: dict[str, Any]) -> str:
    """What the classifier reads: the post text, the link card's title and description, the images' alt
    texts (a post whose only words are in its alt text is about what the alt text says); each part capped."""
    _, title, description = card_text(record)
    text = record.get("text") if isinstance(record.get("text"), str) else ""
    parts = (
        text[:MAX_TEXT_CHARS],
        title[:MAX_CARD_TITLE_CHARS],
        description[:MAX_CARD_DESCRIPTION_CHARS],
        *alt_texts(record),
    )
    return "\n".join(part for part in parts if part)


def _facet_uris(record: dict[str, Any]) -> list[str]:
    uris: list[str] = []
    for facet in record.get("facets") or []:
        if not isinstance(facet, dict):
            continue
        for feature in facet.get("features") or []:
            if isinstance(feature, dict) and feature.get("$type") == LINK_FEATURE:
                uri = feature.get("uri")
                if isinstance(uri, str):
                    uris.append(uri)
    return uris


def _text_urls(text: str) -> list[tuple[str, bool]]:
    """(url, shortened) for each GitHub URL written in plain text."""
    found = []
    for match in TEXT_URL.finditer(text):
        host, path = match.group(1), match.group(2) or ""
        path = path.rstrip(".,;:!?")
        shortened = bool(ELLIPSIS.search(match.group(0)))
        if shortened:
            path = ELLIPSIS.sub("", match.group(2) or "")
        found.append((f"https://{host.lower()}{path}", shortened))
    return found


def github_links(record: dict[str, Any]) -> list[GithubLink]:
    """Every distinct GitHub link of a post, facets and card first, then plain text."""
    links: dict[str, GithubLink] = {}
    card_uri = card_text(record)[0]
    for uri in [*_facet_uris(record), card_uri]:
        if uri and is_github_url(uri):
            links.setdefault(uri.rstrip("/"), GithubLink(uri, canonical_repo(uri)))
    text = record.get("text")
    if isinstance(text, str):
        for url, shortened in _text_urls(text):
            key = url.rstrip("/")
            if any(known.lower().startswith(key.lower()) for known in links):
                continue  # the client shortened a link that a facet or card already gives in full
            repo = canonical_repo(url)
            if shortened and repo is not None and len(url.split("/")) <= 5:
                repo = None  # the repository name itself was cut: we cannot know it
            links.setdefault(key, GithubLink(url, repo))
    return list(links.values())


MAX_KEPT_FACETS = 20  # link facets kept by classifier_record (detect and the link features read them)


def classifier_record(record: dict[str, Any]) -> dict[str, Any]:
    """The parts of a post record the classifier reads, each capped as it reads them: text, langs,
    createdAt, link facets, the link card (uri, title, description), image alt texts, the reply refs.

    What the label queue and the operator's labels keep of a post (a few hundred bytes, no blobs), so a
    labeled post is scored and trained on exactly as ingest scored it: `embed_text`, `github_links`
    and the link features give the same answer on the compact record as on the full one.
    """
    out: dict[str, Any] = {"$type": "app.bsky.feed.post"}
    text = record.get("text")
    out["text"] = text[:MAX_TEXT_CHARS] if isinstance(text, str) else ""
    if isinstance(record.get("createdAt"), str):
        out["createdAt"] = record["createdAt"][:64]
    langs = record.get("langs")
    if isinstance(langs, list):
        out["langs"] = [lang[:16] for lang in langs[:3] if isinstance(lang, str)]
    facets = []
    for facet in record.get("facets") or []:
        if not isinstance(facet, dict):
            continue
        links = [
            {"$type": LINK_FEATURE, "uri": feature["uri"][:2000]}
            for feature in facet.get("features") or []
            if isinstance(feature, dict)
            and feature.get("$type") == LINK_FEATURE
            and isinstance(feature.get("uri"), str)
        ]
        if links:
            facets.append({"index": facet.get("index"), "features": links})
        if len(facets) >= MAX_KEPT_FACETS:
            break
    if facets:
        out["facets"] = facets
    uri, title, description = card_text(record)
    alts = alt_texts(record)
    if uri or title or description:
        card = {"uri": uri[:2000], "title": title[:MAX_CARD_TITLE_CHARS]}
        card["description"] = description[:MAX_CARD_DESCRIPTION_CHARS]
        out["embed"] = {"$type": EXTERNAL, "external": card}
    elif alts:
        out["embed"] = {"$type": IMAGES, "images": [{"alt": alt} for alt in alts]}
    reply = record.get("reply")
    if isinstance(reply, dict):
        refs = {
            which: {"uri": reply[which]["uri"]}
            for which in ("root", "parent")
            if isinstance(reply.get(which), dict) and isinstance(reply[which].get("uri"), str)
        }
        if refs:
            out["reply"] = refs
    return out
