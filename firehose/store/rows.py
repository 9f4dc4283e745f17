"""Turn a kept post event into a `posts` row: pure, so it is tested without a database."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from firehose.detect import GithubLink, card_text
from firehose.events import PostUpserted

# A post claiming to be from the future ranks as if posted when we saw it.
MAX_CLOCK_SKEW_SECONDS = 300.0
# GitHub links stored per post (facets and card first, then text; `/` draws a card for each repo).
# The decoder already keeps at most 100 facets; a real post links a handful of repositories.
MAX_STORED_LINKS = 20


@dataclass(frozen=True, slots=True)
class KeptPost:
    """What the classifier decided about a post the pipeline keeps."""

    scores: dict[str, float]
    links: list[GithubLink] = field(default_factory=list)
    topics: tuple[str, ...] = ()


def parse_timestamp(value: Any, default: float) -> float:
    """Epoch seconds of an RFC 3339 datetime; `default` when absent or unparseable."""
    if not isinstance(value, str) or not value:
        return default
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return default
    if parsed.tzinfo is None:
        return default
    return parsed.timestamp()


def _reply_uri(record: dict[str, Any], which: str) -> str | None:
    reply = record.get("reply")
    if not isinstance(reply, dict) or not isinstance(reply.get(which), dict):
        return None
    uri = reply[which].get("uri")
    return uri if isinstance(uri, str) else None


def post_row(event: PostUpserted, kept: KeptPost, now: float) -> dict[str, Any]:
    """The `posts` row for a kept post; created_ts is clamped to `now` (+ small skew), links to the
    first MAX_STORED_LINKS (the writer counts the cut in `fields_truncated`)."""
    record = event.record
    created_ts = min(parse_timestamp(record.get("createdAt"), now), now + MAX_CLOCK_SKEW_SECONDS)
    _, title, description = card_text(record)
    langs = record.get("langs") if isinstance(record.get("langs"), list) else []
    links = kept.links[:MAX_STORED_LINKS]
    repos = sorted({link.repo for link in links if link.repo})
    return {
        "uri": event.uri,
        "cid": event.cid,
        "author": event.did,
        "rkey": event.rkey,
        "text": record.get("text") if isinstance(record.get("text"), str) else "",
        "langs": json.dumps(langs),
        "created_at": record.get("createdAt") if isinstance(record.get("createdAt"), str) else "",
        "created_ts": created_ts,
        "indexed_ts": now,
        "reply_root": _reply_uri(record, "root"),
        "reply_parent": _reply_uri(record, "parent"),
        "github_urls": json.dumps([link.url for link in links]),
        "repos": json.dumps(repos),
        "card_title": title,
        "card_description": description,
        "score_github": float(kept.scores.get("github", 0.0)),
        "score_ml": float(kept.scores.get("ml", 0.0)),
    }
