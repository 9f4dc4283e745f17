"""Write the labeled dataset (train.jsonl, heldout.jsonl) from hand-written phrasings.

Run: python -m training.generate (writes firehose/classify/data/, where `gitfeed train` reads).
Deterministic (fixed seed). Every phrasing belongs to a
group; the held-out split takes whole groups (hash of the group name), so held-out posts use wordings
that training never saw and the held-out F1 measures generalization, not memorized templates.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

from training import ai_rule
from training.phrases import english, everyday, intl, ml_jargon, replies_and_short, slang_and_everyday

OUT = Path(__file__).resolve().parents[1] / "firehose" / "classify" / "data"  # where `gitfeed train` reads
SEED = 20261129
HELDOUT_PERCENT = 20


def _offsets(text: str, needle: str) -> tuple[int, int]:
    start = text.index(needle)
    byte_start = len(text[:start].encode("utf-8"))
    return byte_start, byte_start + len(needle.encode("utf-8"))


class Builder:
    """Builds app.bsky.feed.post records with correct UTF-8 byte offsets for facets."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.clock = datetime(2026, 11, 1, 8, 0, tzinfo=UTC)

    def _tid(self) -> str:
        alphabet = "234567abcdefghijklmnopqrstuvwxyz"
        return "3l" + "".join(self.rng.choice(alphabet) for _ in range(11))

    def _did(self) -> str:
        alphabet = "abcdefghijklmnopqrstuvwxyz234567"
        return "did:plc:" + "".join(self.rng.choice(alphabet) for _ in range(24))

    def _ref(self) -> dict:
        return {
            "uri": f"at://{self._did()}/app.bsky.feed.post/{self._tid()}",
            "cid": "bafyrei"
            + "".join(self.rng.choice("abcdefghijklmnopqrstuvwxyz234567") for _ in range(52)),
        }

    def record(
        self,
        text: str,
        *,
        lang: str = "en",
        links: list[tuple[str, str]] = (),
        card: tuple[str, str, str] | None = None,
        reply: bool = False,
    ) -> dict:
        self.clock += timedelta(seconds=self.rng.randint(5, 900))
        record: dict = {
            "$type": "app.bsky.feed.post",
            "text": text,
            "createdAt": self.clock.strftime("%Y-%m-%dT%H:%M:%S.") + f"{self.rng.randint(0, 999):03d}Z",
            "langs": [lang],
        }
        facets = []
        for shown, uri in links:
            start, end = _offsets(text, shown)
            facets.append(
                {
                    "index": {"byteStart": start, "byteEnd": end},
                    "features": [{"$type": "app.bsky.richtext.facet#link", "uri": uri}],
                }
            )
        for word in text.split():
            if word.startswith("#") and len(word) > 1 and word[1:].replace("_", "").isalnum():
                start, end = _offsets(text, word)
                facets.append(
                    {
                        "index": {"byteStart": start, "byteEnd": end},
                        "features": [{"$type": "app.bsky.richtext.facet#tag", "tag": word[1:]}],
                    }
                )
        if facets:
            record["facets"] = facets
        if card is not None:
            uri, title, description = card
            external = {"uri": uri, "title": title, "description": description}
            if self.rng.random() < 0.5:
                external["thumb"] = {
                    "$type": "blob",
                    "ref": {
                        "$link": "bafkrei" + "".join(self.rng.choice("abcdefghij234567") for _ in range(52))
                    },
                    "mimeType": "image/jpeg",
                    "size": self.rng.randint(20000, 400000),
                }
            record["embed"] = {"$type": "app.bsky.embed.external", "external": external}
        if reply:
            root = self._ref()
            record["reply"] = {"root": root, "parent": root if self.rng.random() < 0.5 else self._ref()}
        return record


def shown_url(url: str, rng: random.Random) -> str:
    """How a Bluesky client shows a link in text: scheme dropped, long paths cut with '...'."""
    bare = url.split("://", 1)[1]
    if len(bare) > 30 and rng.random() < 0.6:
        return bare[:27] + "..."
    return bare


def build() -> list[dict]:
    rng = random.Random(SEED)
    builder = Builder(rng)
    rows: list[dict] = []
    seen: set[tuple[str, str]] = set()
    # Later rounds come last so that adding them left every earlier row (and its random draws) unchanged.
    rounds = (
        english.generators(rng),
        replies_and_short.generators(rng),
        replies_and_short.extra_generators(rng),
        intl.generators(rng),
        slang_and_everyday.generators(),  # round 2
        ml_jargon.generators(),  # round 3
        everyday.generators(),  # round 4
    )
    for group, labels, lang, make in itertools.chain(*rounds):
        for index, spec in enumerate(make()):
            text = spec["text"]
            key = (text, (spec.get("card") or ("",))[0] or " ".join(spec.get("urls", [])))
            if key in seen:
                continue  # a template filled twice with the same choice
            seen.add(key)
            links = []
            for url in spec.get("urls", []):
                shown = shown_url(url, rng)
                text = text.replace("{URL}", shown, 1)
                links.append((shown, url))
            record = builder.record(
                text,
                lang=lang,
                links=links,
                card=spec.get("card"),
                reply=spec.get("reply", rng.random() < 0.12),
            )
            row = {"id": f"{group}-{index:03d}", "group": group, "labels": labels, "record": record}
            rows.append(ai_rule.relabel(row))
    return rows


def is_heldout(group: str) -> bool:
    """Whole groups, by hash. Round-2, -3 and -4 groups (`r2-`, `r3-`, `r4-`) all train: heldout.jsonl stays
    comparable across rounds, and fresh.jsonl (hand-written separately) is the check on unseen wordings."""
    if group.startswith(("r2-", "r3-", "r4-")):
        return False
    digest = hashlib.sha256(group.encode()).digest()
    return digest[0] * 100 // 256 < HELDOUT_PERCENT


def main() -> None:
    rows = build()
    ids = [row["id"] for row in rows]
    assert len(ids) == len(set(ids)), "duplicate ids"
    with (OUT / "train.jsonl").open("w") as train, (OUT / "heldout.jsonl").open("w") as heldout:
        for row in rows:
            line = json.dumps({k: row[k] for k in ("id", "labels", "record")}, ensure_ascii=False)
            (heldout if is_heldout(row["group"]) else train).write(line + "\n")
    counts: dict[str, int] = {}
    for row in rows:
        key = "+".join(row["labels"]) or "neither"
        counts[key] = counts.get(key, 0) + 1
    langs: dict[str, int] = {}
    for row in rows:
        lang = row["record"]["langs"][0]
        langs[lang] = langs.get(lang, 0) + 1
    print(len(rows), counts, langs)


if __name__ == "__main__":
    main()
