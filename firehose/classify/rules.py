"""The label rules that need no model: what a link or a lexicon group decides on its own.

A post that links GitHub, names it (or a product only GitHub has), gives a repository's star count, or
talks pull requests, PR review or issue trackers is about GitHub (LABELS.md),
whatever the heads think of its other words: it scores 1.0 on `github`. And the one the other way:
crypto "AI tokens" are not `ml`, so a post in a crypto context never enters the ml feed on the heads'
word, however much AI it names. The scorer applies these; training counts them when it chooses the
operating point, so the heads' thresholds are set for the posts the rules leave to them.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from firehose.classify.features import LINK_FEATURES
from firehose.classify.lexicon import GROUPS

LINK_RULES: dict[str, tuple[str, ...]] = {"github": ("github_link",)}
LEXICON_RULES: dict[str, tuple[str, ...]] = {"github": ("github_stars", "github_word", "github_flow")}
VETO_RULES: dict[str, tuple[str, ...]] = {"ml": ("crypto_context",)}


def forced(topics: Sequence[str], lexicon: np.ndarray, links: np.ndarray) -> np.ndarray:
    """(n, topics) True where a link or lexicon rule puts the post in the topic."""
    out = np.zeros((len(links), len(topics)), dtype=bool)
    for column, topic in enumerate(topics):
        for feature in LINK_RULES.get(topic, ()):
            out[:, column] |= links[:, LINK_FEATURES.index(feature)] > 0
        for group in LEXICON_RULES.get(topic, ()):
            out[:, column] |= lexicon[:, GROUPS.index(group)] > 0
    return out


def vetoed(topics: Sequence[str], lexicon: np.ndarray) -> np.ndarray:
    """(n, topics) True where a veto rule keeps the post out of the topic's heads."""
    out = np.zeros((len(lexicon), len(topics)), dtype=bool)
    for column, topic in enumerate(topics):
        for group in VETO_RULES.get(topic, ()):
            out[:, column] |= lexicon[:, GROUPS.index(group)] > 0
    return out
