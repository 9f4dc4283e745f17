"""Helpers the tests (and the benchmarks under scripts/) share: real frames, local servers, seeded stores.

`framegen` builds real subscribeRepos frames, `relayserver`/`jetstreamserver` serve them on loopback,
`capture_synth` writes a realistic synthetic capture, `seed` fills a store, `sourcetools` reads a source.
Import them as `from tests.support import framegen` (the repository root is on sys.path under pytest
and for `python -m scripts.NAME`).
"""
