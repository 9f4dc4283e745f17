"""Publish the feeds: one `app.bsky.feed.generator` record per feed in the publisher's repository.

The records are what the Bluesky app shows (name, description, avatar) and what tells the AppView
which service answers getFeedSkeleton (`did`). Everything that can be checked offline (grapheme
limits, avatar type and size, feed names) is checked before any request leaves, so a bad display
name never costs a login. Publishing is idempotent: rkey = feed name, and a record that would not
change keeps its `createdAt` and CID.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import regex
from atproto import Client, models
from atproto_client import exceptions as sdk_errors

from feedserver.feeds import FEED_COLLECTION, FEEDS, feed_uri
from firehose.settings import Settings

CONTENT_MODE_UNSPECIFIED = "app.bsky.feed.defs#contentModeUnspecified"
MAX_DISPLAY_NAME_GRAPHEMES = 24  # lexicon: maxGraphemes 24, maxLength 240 (bytes)
MAX_DISPLAY_NAME_BYTES = 240
MAX_DESCRIPTION_GRAPHEMES = 300  # lexicon: maxGraphemes 300, maxLength 3000 (bytes)
MAX_DESCRIPTION_BYTES = 3000
MAX_AVATAR_BYTES = 1_000_000  # lexicon: accept image/png, image/jpeg; maxSize 1000000
_MAGIC = ((b"\x89PNG\r\n\x1a\n", "image/png"), (b"\xff\xd8\xff", "image/jpeg"))
_RKEY = re.compile(r"^[A-Za-z0-9._:~-]{1,512}$")
# What a request through the SDK can raise: its own errors, and httpx's for a transport failure it
# does not wrap (a server that hangs up without answering).
_REQUEST_FAILURES = (sdk_errors.AtProtocolError, httpx.TransportError)


class PublishError(Exception):
    """Publishing failed; the message is one line an operator can act on."""


class RecordValidationError(PublishError, ValueError):
    """A record would break the lexicon or our own rules; raised before any network call."""


class ForeignRecordError(PublishError):
    """A record already at the rkey points at another feed generator service; replacing it needs --force."""


class CredentialsError(PublishError):
    """The PDS refused the handle and app password."""


class PdsUnreachableError(PublishError):
    """No answer from the PDS (connection refused, DNS, timeout)."""


@dataclass(frozen=True)
class Avatar:
    """An image checked by its magic bytes, ready to upload as a blob."""

    data: bytes
    mime_type: str


@dataclass(frozen=True)
class FeedSpec:
    """What one generator record says about one feed."""

    name: str
    display_name: str
    description: str = ""
    accepts_interactions: bool = True


@dataclass(frozen=True)
class PublishedFeed:
    """The outcome for one feed: where it lives and whether the write changed anything."""

    name: str
    uri: str
    cid: str
    url: str
    status: str  # "created" | "updated" | "unchanged"
    record: dict[str, Any] = field(compare=False, repr=False)


def grapheme_count(text: str) -> int:
    """User-perceived characters (extended grapheme clusters), as the lexicon's maxGraphemes counts."""
    return len(regex.findall(r"\X", text))


def bsky_app_link(publisher_did: str, name: str) -> str:
    """The link that opens the feed in the Bluesky app."""
    return f"https://bsky.app/profile/{publisher_did}/feed/{name}"


def check_record_key(name: str) -> str:
    """A feed name must be a valid record key: it is the rkey of the generator record."""
    if not _RKEY.match(name) or name in (".", ".."):
        raise RecordValidationError(f"feed name {name!r} is not a valid record key ([A-Za-z0-9._:~-], 1-512)")
    return name


def validate_spec(spec: FeedSpec) -> None:
    """Refuse what the lexicon refuses, with the limit in the message."""
    check_record_key(spec.name)
    if not spec.display_name.strip():
        raise RecordValidationError(f"feed {spec.name}: display name is empty")
    _check_length(
        spec.name, "display name", spec.display_name, MAX_DISPLAY_NAME_GRAPHEMES, MAX_DISPLAY_NAME_BYTES
    )
    _check_length(
        spec.name, "description", spec.description, MAX_DESCRIPTION_GRAPHEMES, MAX_DESCRIPTION_BYTES
    )


def _check_length(feed: str, what: str, text: str, max_graphemes: int, max_bytes: int) -> None:
    """The lexicon bounds a string twice: in graphemes (what people see) and in UTF-8 bytes."""
    count = grapheme_count(text)
    if count > max_graphemes:
        raise RecordValidationError(f"feed {feed}: {what} is {count} graphemes; the limit is {max_graphemes}")
    size = len(text.encode())
    if size > max_bytes:
        raise RecordValidationError(f"feed {feed}: {what} is {size} bytes of UTF-8; the limit is {max_bytes}")


def load_avatar(path: Path) -> Avatar:
    """Read an avatar file, trusting its bytes rather than its extension."""
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise RecordValidationError(f"cannot read avatar {path}: {exc.strerror or exc}") from exc
    if len(data) > MAX_AVATAR_BYTES:
        raise RecordValidationError(f"avatar {path} is {len(data)} bytes; the limit is {MAX_AVATAR_BYTES}")
    for magic, mime_type in _MAGIC:
        if data.startswith(magic):
            return Avatar(data=data, mime_type=mime_type)
    raise RecordValidationError(f"avatar {path} is not a PNG or JPEG image")


def build_specs(
    names: Sequence[str] | None = None,
    *,
    display_name: str | None = None,
    description: str | None = None,
    accepts_interactions: bool = True,
) -> list[FeedSpec]:
    """The feeds to publish (all of FEEDS by default), with overrides, validated."""
    chosen = list(dict.fromkeys(names)) if names else list(FEEDS)
    unknown = [name for name in chosen if name not in FEEDS]
    if unknown:
        raise RecordValidationError(f"unknown feed {', '.join(unknown)}; known feeds: {', '.join(FEEDS)}")
    if (display_name is not None or description is not None) and len(chosen) != 1:
        raise RecordValidationError("--display-name and --description apply to one feed: name it with --feed")
    specs = [
        FeedSpec(
            name=name,
            display_name=FEEDS[name].display_name if display_name is None else display_name,
            description=FEEDS[name].description if description is None else description,
            accepts_interactions=accepts_interactions,
        )
        for name in chosen
    ]
    for spec in specs:
        validate_spec(spec)
    return specs


def service_did_for(settings: Settings) -> str:
    """The DID the records point at; refuses the placeholder host, which would publish a dead feed."""
    did = settings.service_did
    if not did.startswith("did:") or did.count(":") < 2:
        raise RecordValidationError(f"FEEDGEN_SERVICE_DID {did!r} is not a DID")
    if did == "did:web:example.com":
        raise RecordValidationError(
            "set FEEDGEN_HOSTNAME (or FEEDGEN_SERVICE_DID): the records would point at did:web:example.com"
        )
    return did


def build_record(
    spec: FeedSpec, service_did: str, created_at: str, avatar_blob: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The generator record as JSON, exactly as it is written to the repository."""
    record: dict[str, Any] = {
        "$type": FEED_COLLECTION,
        "did": service_did,
        "displayName": spec.display_name,
        "acceptsInteractions": spec.accepts_interactions,
        "contentMode": CONTENT_MODE_UNSPECIFIED,
        "createdAt": created_at,
    }
    if spec.description:
        record["description"] = spec.description
    if avatar_blob is not None:
        record["avatar"] = avatar_blob
    return record


def now_iso() -> str:
    """A datetime in the form the lexicon wants (UTC, milliseconds, Z)."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


# ---- the network half ------------------------------------------------------------------------


def _explain(exc: Exception, pds_url: str, doing: str) -> PublishError:
    """One-line error for an SDK failure; never includes the password."""
    if isinstance(exc, httpx.TransportError) or (
        isinstance(exc, sdk_errors.NetworkError) and exc.response is None
    ):
        return PdsUnreachableError(f"cannot reach the PDS at {pds_url} ({doing})")
    if isinstance(exc, sdk_errors.UnauthorizedError):
        return CredentialsError(f"the PDS at {pds_url} refused the handle and app password (bad credentials)")
    return PublishError(f"{doing} failed at {pds_url}: {exc}")


@dataclass
class Session:
    """A logged-in client and the DID of the repository it writes to."""

    client: Client
    did: str
    handle: str
    pds_url: str


def login(pds_url: str, handle: str, password: str) -> Session:
    """Log in with an app password. No profile lookup: a PDS may have no AppView behind it."""
    client = Client(base_url=pds_url)
    seen: list[Any] = []
    client.on_session_change(lambda _event, session: seen.append(session))
    try:
        client.login(handle, password, fetch_bsky_profile=False)
    except sdk_errors.BadRequestError as exc:
        error = getattr(getattr(exc.response, "content", None), "error", "")
        if error in ("AuthenticationRequired", "InvalidIdentifier", "InvalidPassword"):
            raise CredentialsError(
                f"the PDS at {pds_url} refused the handle and app password (bad credentials)"
            ) from None
        raise _explain(exc, pds_url, "login") from None
    except _REQUEST_FAILURES as exc:
        raise _explain(exc, pds_url, "login") from None
    return Session(client=client, did=seen[-1].did, handle=seen[-1].handle, pds_url=pds_url)


def _existing(session: Session, name: str) -> tuple[dict[str, Any], str] | None:
    """The record now at rkey=name (as JSON) and its CID, or None."""
    try:
        response = session.client.com.atproto.repo.get_record(
            models.ComAtprotoRepoGetRecord.Params(repo=session.did, collection=FEED_COLLECTION, rkey=name)
        )
    except sdk_errors.BadRequestError as exc:
        if getattr(getattr(exc.response, "content", None), "error", "") == "RecordNotFound":
            return None
        raise _explain(exc, session.pds_url, f"reading feed {name}") from None
    except _REQUEST_FAILURES as exc:
        raise _explain(exc, session.pds_url, f"reading feed {name}") from None
    value = response.value
    as_json = (
        value if isinstance(value, dict) else value.model_dump(mode="json", by_alias=True, exclude_none=True)
    )
    return as_json, str(response.cid)


def _upload_avatar(session: Session, avatar: Avatar) -> dict[str, Any]:
    try:
        blob = session.client.com.atproto.repo.upload_blob(
            avatar.data, headers={"Content-Type": avatar.mime_type}
        )
    except _REQUEST_FAILURES as exc:
        raise _explain(exc, session.pds_url, "uploading the avatar") from None
    blob_ref = blob.blob
    return {
        "$type": "blob",
        "ref": {"$link": str(blob_ref.cid)},
        "mimeType": blob_ref.mime_type,
        "size": blob_ref.size,
    }


def check_replaceable(
    session_did: str, existing: dict[str, dict[str, Any] | None], service_did: str, force: bool = False
) -> None:
    """Refuse to overwrite a generator record that points at another service (someone's other feed
    that happens to share the rkey), unless `force`. One error names every such record."""
    if force:
        return
    foreign = [
        f"{feed_uri(session_did, name)} points at {record.get('did')!r}"
        for name, record in existing.items()
        if record is not None and record.get("did") != service_did
    ]
    if foreign:
        raise ForeignRecordError(
            f"not replacing {'; '.join(foreign)}, not {service_did}: "
            "pass --force to replace, or publish under another --feed name"
        )


def publish(
    session: Session,
    specs: Sequence[FeedSpec],
    service_did: str,
    avatar: Avatar | None = None,
    *,
    force: bool = False,
) -> list[PublishedFeed]:
    """Write one generator record per spec (rkey = name); unchanged records are left as they are.

    Every record is read first: if one at a spec's rkey points at another service, nothing is written
    (ForeignRecordError) unless `force`.
    """
    for spec in specs:
        validate_spec(spec)
    current = {spec.name: _existing(session, spec.name) for spec in specs}
    records = {name: found[0] if found else None for name, found in current.items()}
    check_replaceable(session.did, records, service_did, force)
    avatar_blob = _upload_avatar(session, avatar) if avatar is not None else None
    results = []
    for spec in specs:
        existing = current[spec.name]
        created_at = existing[0].get("createdAt", now_iso()) if existing else now_iso()
        if avatar_blob is None and existing and "avatar" in existing[0]:
            keep_avatar: dict[str, Any] | None = existing[0]["avatar"]  # no --avatar: keep the one there
        else:
            keep_avatar = avatar_blob
        record = build_record(spec, service_did, created_at, keep_avatar)
        uri = feed_uri(session.did, spec.name)
        url = bsky_app_link(session.did, spec.name)
        if existing and existing[0] == record:
            results.append(PublishedFeed(spec.name, uri, existing[1], url, "unchanged", record))
            continue
        try:
            written = session.client.com.atproto.repo.put_record(
                models.ComAtprotoRepoPutRecord.Data(
                    repo=session.did, collection=FEED_COLLECTION, rkey=spec.name, record=record
                )
            )
        except _REQUEST_FAILURES as exc:
            raise _explain(exc, session.pds_url, f"writing feed {spec.name}") from None
        status = "updated" if existing else "created"
        results.append(PublishedFeed(spec.name, written.uri, str(written.cid), url, status, record))
    return results


def unpublish(session: Session, name: str) -> bool:
    """Delete the generator record of one feed; False when there was none to delete."""
    check_record_key(name)
    if _existing(session, name) is None:
        return False
    try:
        session.client.com.atproto.repo.delete_record(
            models.ComAtprotoRepoDeleteRecord.Data(repo=session.did, collection=FEED_COLLECTION, rkey=name)
        )
    except _REQUEST_FAILURES as exc:
        raise _explain(exc, session.pds_url, f"deleting feed {name}") from None
    return True
