"""AT Protocol string formats (did, handle, nsid, at-uri, record key, tid, datetime, cid, language, uri).

Why our own: the decoder must reject exactly what the atproto-interop-tests syntax vectors reject
(`../shared/corpus/interop-syntax/`), and atproto 0.0.73's string formats disagree with three of them.
Each `is_*` is a pure predicate; they are cheap enough for the hot path (compiled regexes, no
exceptions on the success path).
"""

from __future__ import annotations

import re

__all__ = [
    "is_at_identifier",
    "is_at_uri",
    "is_cid",
    "is_datetime",
    "is_did",
    "is_handle",
    "is_language",
    "is_nsid",
    "is_record_key",
    "is_tid",
    "is_uri",
]

_DID = re.compile(r"did:[a-z]+:[a-zA-Z0-9._:%-]*[a-zA-Z0-9._-]\Z")
_HANDLE = re.compile(
    r"([a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?\.)+[a-zA-Z]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?\Z"
)
_NSID = re.compile(
    r"[a-zA-Z]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?"
    r"(\.[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)+"
    r"\.[a-zA-Z][a-zA-Z0-9]{0,62}\Z"
)
_RKEY = re.compile(r"[a-zA-Z0-9_~.:-]{1,512}\Z")
_TID = re.compile(r"[234567abcdefghij][234567abcdefghijklmnopqrstuvwxyz]{12}\Z")
# The shape nearly every like/repost subject and reply ref has; a match implies every check of
# `is_at_uri` below (did <= 2048 chars, allowed characters, a valid NSID, a record key that is
# neither "." nor ".."), so the slow path runs only for the rest.
_ATURI_COMMON = re.compile(
    r"at://did:[a-z]{1,32}:[a-zA-Z0-9._-]{1,2000}/app\.bsky\.feed\.post/[a-zA-Z0-9_~-]{1,512}\Z"
)
_ATURI_CHARS = re.compile(r"[a-zA-Z0-9._~:@!$&')(*+,;=%/-]*\Z")
_ATURI_FRAGMENT = re.compile(r"/[a-zA-Z0-9._~:@!$&')(*+,;=%\[\]/-]*\Z")
_DATETIME = re.compile(
    r"(?P<y>[0-9]{4})-(?P<mo>[0-9]{2})-(?P<d>[0-9]{2})T(?P<h>[0-9]{2}):(?P<mi>[0-9]{2}):(?P<s>[0-9]{2})"
    r"(?:\.[0-9]{1,20})?(?:Z|(?P<sign>[+-])(?P<oh>[0-9]{2}):(?P<om>[0-9]{2}))\Z"
)
_CID = re.compile(r"[a-zA-Z0-9+=]{8,256}\Z")
_URI = re.compile(r"[a-zA-Z][a-zA-Z0-9+.-]*:(?://)?[^\s/][^\s]*\Z")
_LANG = re.compile(
    r"(?:(?P<grandfathered>en-GB-oed|i-ami|i-bnn|i-default|i-enochian|i-hak|i-klingon|i-lux|i-mingo"
    r"|i-navajo|i-pwn|i-tao|i-tay|i-tsu|sgn-BE-FR|sgn-BE-NL|sgn-CH-DE|art-lojban|cel-gaulish|no-bok"
    r"|no-nyn|zh-guoyu|zh-hakka|zh-min|zh-min-nan|zh-xiang)"
    r"|(?:(?P<language>[a-z]{2,3}(?:-[A-Za-z]{3}(?:-[A-Za-z]{3}){0,2})?|[a-z]{5,8})"
    r"(?:-[A-Za-z]{4})?"
    r"(?:-(?:[A-Za-z]{2}|[0-9]{3}))?"
    r"(?P<variants>(?:-(?:[A-Za-z0-9]{5,8}|[0-9][A-Za-z0-9]{3}))*)"
    r"(?P<extensions>(?:-[0-9A-WY-Za-wy-z](?:-[A-Za-z0-9]{2,8})+)*)"
    r"(?:-[xX](?:-[A-Za-z0-9]{1,8})+)?)"
    r"|[xX](?:-[A-Za-z0-9]{1,8})+)\Z"
)
_DAYS = (31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


def is_did(value: str) -> bool:
    if value in _VALID_DIDS:
        return True
    if len(value) > 2048 or _DID.match(value) is None:
        return False
    if len(_VALID_DIDS) >= _VALID_DIDS_MAX:
        _VALID_DIDS.clear()  # a crude bound: the busiest accounts are back within seconds
    _VALID_DIDS.add(value)
    return True


# DIDs repeat (a repo commits again and again): remember the valid ones seen lately.
_VALID_DIDS: set[str] = set()
_VALID_DIDS_MAX = 20_000  # about 2 MB


def is_handle(value: str) -> bool:
    return len(value) <= 253 and _HANDLE.match(value) is not None


def is_at_identifier(value: str) -> bool:
    return is_did(value) if value.startswith("did:") else is_handle(value)


def is_nsid(value: str) -> bool:
    return len(value) <= 317 and _NSID.match(value) is not None


def is_record_key(value: str) -> bool:
    return value not in (".", "..") and _RKEY.match(value) is not None


def is_tid(value: str) -> bool:
    return _TID.match(value) is not None


def is_at_uri(value: str) -> bool:
    """Strict at-uri: `at://AUTHORITY[/NSID[/RKEY]][#/fragment]`, as the interop vectors define it."""
    if _ATURI_COMMON.match(value) is not None:
        return True
    if len(value) > 8 * 1024:
        return False
    uri, sep, fragment = value.partition("#")
    if sep and ("#" in fragment or _ATURI_FRAGMENT.match(fragment) is None):
        return False
    if _ATURI_CHARS.match(uri) is None:
        return False
    parts = uri.split("/")
    if len(parts) < 3 or len(parts) > 5 or parts[0] != "at:" or parts[1] != "":
        return False
    if not is_at_identifier(parts[2]):
        return False
    if len(parts) >= 4 and not is_nsid(parts[3]):
        return False
    return not (len(parts) == 5 and not is_record_key(parts[4]))


def _leap(year: int) -> bool:
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)


def is_datetime(value: str) -> bool:
    """RFC 3339 + ISO 8601 intersection with a required timezone, and a real calendar instant."""
    m = _DATETIME.match(value)
    if m is None:
        return False
    year, month, day = int(m["y"]), int(m["mo"]), int(m["d"])
    hour, minute, second = int(m["h"]), int(m["mi"]), int(m["s"])
    if not 1 <= month <= 12 or hour > 23 or minute > 59 or second > 59:
        return False
    days = 29 if month == 2 and _leap(year) else _DAYS[month - 1]
    if not 1 <= day <= days:
        return False
    if m["sign"] is not None:
        oh, om = int(m["oh"]), int(m["om"])
        if oh > 23 or om > 59 or (m["sign"] == "-" and oh == 0 and om == 0):
            return False  # "-00:00" is RFC 3339's "unknown offset", not ISO 8601
        # A positive offset moves the UTC instant earlier: year 0000 must not go negative.
        if year == 0 and m["sign"] == "+" and (month, day) == (1, 1) and hour * 60 + minute < oh * 60 + om:
            return False
    return True


def is_cid(value: str) -> bool:
    """CID string syntax (not a full multibase decode); CIDv0 (`Qm...`) is not allowed."""
    return _CID.match(value) is not None and not value.startswith("Qm")


def is_language(value: str) -> bool:
    """BCP 47 tag; also rejects repeated variant or extension singleton subtags (RFC 5646 2.2.9)."""
    m = _LANG.match(value)
    if m is None:
        return False
    variants = m["variants"]
    if variants:
        seen = [v.lower() for v in variants[1:].split("-")]
        if len(seen) != len(set(seen)):
            return False
    extensions = m["extensions"]
    if extensions:
        singletons = [s.lower() for s in extensions[1:].split("-") if len(s) == 1]
        if len(singletons) != len(set(singletons)):
            return False
    return True


def is_uri(value: str) -> bool:
    """Generic URI as the lexicon `uri` format checks it (scheme, no whitespace, at most 8 KiB)."""
    return len(value) <= 8192 and _URI.match(value) is not None
