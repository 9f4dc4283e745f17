"""gitfeed, the product: the `gitfeed` operator command (gitfeed.cli) and the supervisor of `gitfeed run`.

The top layer: it may import feedserver and firehose; nothing imports it (docs/ARCHITECTURE.md).
"""
