"""Sources: one websocket (or file) reader per kind of stream, each yielding normalized events.

`build_source(spec, settings)` turns a `--source` value (relay, jetstream, capture:FILE) into a
`Source`; the ingest loop knows nothing else about where events come from.
"""

from firehose.sources.base import Source, SourceError, SourceStats
from firehose.sources.build import build_source

__all__ = ["Source", "SourceError", "SourceStats", "build_source"]
