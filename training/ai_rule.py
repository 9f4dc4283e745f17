"""The ml rule of issue 12, applied to the written rows that the old rule labeled otherwise.

The feed is for posts related to ML and AI: a post clearly about an AI system is `ml` even when it is
casual (a chatbot's wrong answer, AI images shared as real, an AI voice line, GitHub Copilot reviewing a
PR). The old rule kept consumer chatter about AI products out of `ml`; these rows, by id, gain `ml` (rows
about GitHub's Copilot keep `github` too). Crypto "AI tokens" and cockpit copilots stay as they were.
"""

from __future__ import annotations

NOW_ML: frozenset[str] = frozenset(
    {
        # GitHub Copilot, an AI system, at work on code and PRs
        "gh-talk0-003",
        "gh-talk6-002",
        "gh-talk6-003",
        "gh-talk12-000",
        "gh-more3-003",
        "gh-more4-003",
        "gh-extra3-001",
        "gh-extra0-000",
        "pt-gh2-001",
        "es-gh1-001",
        "de-gh2-001",
        "fr-gh1-001",
        "fresh-008",
        "fresh-009",
        # consumer chatter about AI products and AI images
        "r2-ai-consumer0-000",
        "r2-ai-consumer0-001",
        "r2-ai-consumer1-000",
        "r2-ai-consumer1-001",
        "r2-ai-consumer2-000",
        "r2-ai-consumer2-001",
        "trap-misc3-000",
        "fresh-203",
        "fresh-204",
        "fresh-205",
    }
)


def relabel(row: dict) -> dict:
    """The row with `ml` added when the current rule says so (labels stay sorted as the files keep them)."""
    if row["id"] in NOW_ML and "ml" not in row["labels"]:
        row = {**row, "labels": sorted([*row["labels"], "ml"])}
    return row
