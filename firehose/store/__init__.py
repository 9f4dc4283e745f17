"""The store: the one schema (SQLite or PostgreSQL), the connection factory and the ingest writer."""

from firehose.store.schema import open_db

__all__ = ["open_db"]
