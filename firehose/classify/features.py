"""What the classifier reads from a post: the text to embed, cheap link features, hashed n-grams.

The link features carry what an embedding of the text cannot see reliably (a GitHub card with an
empty post text, an arXiv link, a GitLab link that looks like code but is not GitHub). The hashed
n-grams feed the cheap first stage that spares the model the obvious negatives.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit

import numpy as np

from firehose.detect import card_text, embed_text, github_links

__all__ = ["LINK_FEATURES", "embed_text", "hashed_ngrams", "link_features", "link_matrix", "post_urls"]

ML_HOSTS = (
    "arxiv.org",
    "huggingface.co",
    "hf.co",
    "openreview.net",
    "paperswithcode.com",
    "kaggle.com",
    "aclanthology.org",
    "proceedings.neurips.cc",
    "proceedings.mlr.press",
)
OTHER_CODE_HOSTS = ("gitlab.com", "codeberg.org", "sr.ht", "bitbucket.org", "gitlab.gnome.org", "gitea.com")
GITHUB_WORD = re.compile(r"github|ギットハブ", re.IGNORECASE)
LINK_FEATURES: tuple[str, ...] = (
    "github_link",  # any link to GitHub (facet, card or text)
    "github_repo",  # a link that names owner/repo
    "github_card",  # the link card itself is a GitHub page
    "github_word",  # the word GitHub in text or card
    "ml_host_link",  # arXiv, Hugging Face, OpenReview, ...
    "other_code_host",  # GitLab, Codeberg, sourcehut, Bitbucket: code, but not GitHub
    "any_link",
    "empty_text",  # link-only post: the card is all there is
)
URL_IN_TEXT = re.compile(r"(?:https?://)?(?:[a-z0-9-]+\.)+[a-z]{2,}(?:/\S*)?", re.IGNORECASE)
WORD = re.compile(r"\w+", re.UNICODE)


def _host(url: str) -> str:
    return (urlsplit(url if "://" in url else "https://" + url).hostname or "").lower()


def post_urls(record: dict[str, Any]) -> list[str]:
    """Every URL of a post: link facets, the card, and URLs written in the text."""
    urls = []
    for facet in record.get("facets") or []:
        for feature in (facet.get("features") or []) if isinstance(facet, dict) else []:
            if isinstance(feature, dict) and isinstance(feature.get("uri"), str):
                urls.append(feature["uri"])
    card_uri = card_text(record)[0]
    if card_uri:
        urls.append(card_uri)
    text = record.get("text")
    if isinstance(text, str) and "." in text:
        urls.extend(match.group(0) for match in URL_IN_TEXT.finditer(text) if "/" in match.group(0))
    return urls


def _on(host: str, domains: Sequence[str]) -> bool:
    return any(host == domain or host.endswith("." + domain) for domain in domains)


def link_features(record: dict[str, Any]) -> np.ndarray:
    """The LINK_FEATURES of one post as 0/1 floats."""
    links = github_links(record)
    card_uri, title, description = card_text(record)
    hosts = [_host(url) for url in post_urls(record)]
    text = record.get("text") if isinstance(record.get("text"), str) else ""
    values = (
        bool(links),
        any(link.repo for link in links),
        bool(card_uri) and any(link.url == card_uri for link in links),
        bool(GITHUB_WORD.search(text) or GITHUB_WORD.search(title) or GITHUB_WORD.search(description)),
        any(_on(host, ML_HOSTS) for host in hosts),
        any(_on(host, OTHER_CODE_HOSTS) for host in hosts),
        bool(hosts),
        not text.strip(),
    )
    return np.asarray(values, dtype=np.float32)


def link_matrix(records: Sequence[dict[str, Any]]) -> np.ndarray:
    """LINK_FEATURES for many posts, shape (n, len(LINK_FEATURES))."""
    if not records:
        return np.zeros((0, len(LINK_FEATURES)), dtype=np.float32)
    return np.stack([link_features(record) for record in records])


_PREFIX_CRC = {kind: zlib.crc32(kind) for kind in (b"w:", b"b:", b"c:")}


def hashed_ngrams(text: str, dim: int) -> list[int]:
    """Bucket ids of word 1-2-grams and character 4-grams (crc32, so stable across runs and machines).

    A gram's id is crc32 of "w:word", "b:word word" or "c:four" in UTF-8, modulo dim; the prefix's crc is
    computed once and continued (crc32's running form gives the same value), and an ASCII text's
    4-grams are sliced from its bytes. Every post pays this in the first stage.
    """
    crc = zlib.crc32
    words = WORD.findall(text.lower())
    w, b, c = _PREFIX_CRC[b"w:"], _PREFIX_CRC[b"b:"], _PREFIX_CRC[b"c:"]
    buckets = {crc(word.encode("utf-8"), w) % dim for word in words}
    buckets.update(crc(f"{x} {y}".encode(), b) % dim for x, y in zip(words, words[1:], strict=False))
    squashed = " ".join(words)
    if squashed.isascii():
        raw = squashed.encode("ascii")
        buckets.update(crc(raw[i : i + 4], c) % dim for i in range(len(raw) - 3))
    else:
        buckets.update(crc(squashed[i : i + 4].encode("utf-8"), c) % dim for i in range(len(squashed) - 3))
    return sorted(buckets)
