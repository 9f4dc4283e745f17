"""Decoding of source frames into normalized events (see docs/INTERFACES.md)."""

from firehose.decode.relay import StreamControl, decode_frame

__all__ = ["StreamControl", "decode_frame"]
