"""Ingest side of gitfeed: sources, decoding, detection, classification and storage writes."""
