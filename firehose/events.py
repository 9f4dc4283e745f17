"""Normalized events: what every source turns the network into, whatever its wire format.

Each event carries the cursor of the frame it came from, so storage can persist the position
together with the rows the event produced. Records are plain JSON-shaped dicts (CIDs as
{"$link": ...}, bytes as {"$bytes": ...}), exactly as Jetstream would show them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

POST = "app.bsky.feed.post"
LIKE = "app.bsky.feed.like"
REPOST = "app.bsky.feed.repost"

EngagementKind = Literal["like", "repost"]
ENGAGEMENT_COLLECTIONS: dict[str, EngagementKind] = {LIKE: "like", REPOST: "repost"}


def at_uri(did: str, collection: str, rkey: str) -> str:
    """The at-uri of a record."""
    return f"at://{did}/{collection}/{rkey}"


@dataclass(frozen=True, slots=True)
class PostUpserted:
    """A post was created (or updated, when `update` is true).

    `record` is within the caps of `firehose.decode.caps`; `fields_truncated` says how many of its
    strings were cut to get there and `facets_dropped` how many facets past the cap were dropped.
    """

    cursor: int
    did: str
    rkey: str
    cid: str
    record: dict[str, Any]
    update: bool = False
    fields_truncated: int = 0
    facets_dropped: int = 0

    @property
    def uri(self) -> str:
        return at_uri(self.did, POST, self.rkey)


@dataclass(frozen=True, slots=True)
class PostDeleted:
    cursor: int
    did: str
    rkey: str

    @property
    def uri(self) -> str:
        return at_uri(self.did, POST, self.rkey)


@dataclass(frozen=True, slots=True)
class EngagementCreated:
    """A like or repost; `subject_uri` is the post it points at."""

    cursor: int
    kind: EngagementKind
    did: str
    rkey: str
    subject_uri: str
    subject_cid: str = ""

    @property
    def uri(self) -> str:
        return at_uri(self.did, LIKE if self.kind == "like" else REPOST, self.rkey)


@dataclass(frozen=True, slots=True)
class EngagementDeleted:
    """An unlike or un-repost; the subject is not on the wire, storage looks it up."""

    cursor: int
    kind: EngagementKind
    did: str
    rkey: str

    @property
    def uri(self) -> str:
        return at_uri(self.did, LIKE if self.kind == "like" else REPOST, self.rkey)


@dataclass(frozen=True, slots=True)
class AccountChanged:
    """`#account`: active=False with a status of takendown, suspended, deleted or deactivated."""

    cursor: int
    did: str
    active: bool
    status: str | None = None


@dataclass(frozen=True, slots=True)
class IdentityChanged:
    cursor: int
    did: str
    handle: str | None = None


@dataclass(frozen=True, slots=True)
class Progress:
    """A frame that produced nothing we keep; it still moves the cursor."""

    cursor: int


@dataclass(frozen=True, slots=True)
class SkippedFrame:
    """A frame that failed decoding or validation: counted, logged once, skipped.

    `ops` is how many repo ops went unread with it when a whole commit was skipped for having too
    many (the store counts them in `ops_skipped`).
    """

    cursor: int | None
    reason: str
    detail: str = field(default="", compare=False)
    ops: int = field(default=0, compare=False)


Event = (
    PostUpserted
    | PostDeleted
    | EngagementCreated
    | EngagementDeleted
    | AccountChanged
    | IdentityChanged
    | Progress
    | SkippedFrame
)
