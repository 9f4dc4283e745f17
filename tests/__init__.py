"""The test suite; `tests.support` holds the helpers shared with scripts/."""
