"""`--source` -> a Source: the one place that knows every kind of source."""

from __future__ import annotations

from pathlib import Path

from firehose.settings import Settings
from firehose.sources.base import Source, SourceError
from firehose.sources.capture import CaptureSource
from firehose.sources.jetstream import JetstreamSource
from firehose.sources.relay import RelaySource

PACES = ("max", "recorded")


def build_source(
    spec: str,
    settings: Settings,
    *,
    endpoint: str | None = None,
    pace: str = "max",
) -> Source:
    """`relay`, `jetstream` or `capture:FILE` -> a Source; raises SourceError for anything else."""
    if spec == "relay":
        return RelaySource(endpoint or settings.subscription_endpoint, settings)
    if spec == "jetstream":
        return JetstreamSource(endpoint or settings.jetstream_endpoint, settings)
    if spec.startswith("capture:"):
        path = Path(spec.removeprefix("capture:"))
        if not str(path) or not path.is_file():
            raise SourceError(f"no capture file at {path!s} (record one with `gitfeed capture --out FILE`)")
        if pace not in PACES:
            raise SourceError(f"pace must be one of {', '.join(PACES)}, not {pace!r}")
        return CaptureSource(path, settings, pace=pace)
    raise SourceError(f"unknown source {spec!r}: use relay, jetstream or capture:FILE")
