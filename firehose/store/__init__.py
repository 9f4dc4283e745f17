"""SQLite storage: the one schema, the connection factory and the ingest writer."""

from firehose.store.schema import open_db

__all__ = ["open_db"]
