"""Soak-test parts, each a small module usable on its own (by scripts/soak.py, the benchmark and tests).

- `pace`: the relay's production schedule (a base rate with periodic bursts) and its inverse.
- `stream`: the served stream: a capture looped as long as needed, with fresh seqs and DIDs per loop.
- `relay`: a local subscribeRepos relay process serving that stream at that pace, with fault controls.
- `loadgen`: a getFeedSkeleton load generator process (raw HTTP/1.1 keep-alive, open-loop rate).
- `procs`: processes: RSS from /proc, children of the supervisor, a size-limited disk.
- `audit`: the expected store state computed from the served stream, compared with the database.

These modules import nothing from gitfeed except `audit` (the decoder, the scorer seam) and
`stream` (capture files), so they test gitfeed from the outside.
"""
