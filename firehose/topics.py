"""The topics gitfeed scores posts on, defined once: each has a `score_<topic>` column in the store,
a `FEEDGEN_THRESHOLD_<TOPIC>` setting and a head in the classifier."""

TOPICS: tuple[str, ...] = ("github", "ml")
