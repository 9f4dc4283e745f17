"""`python -m feedserver.cli` is the `gitfeed` command (used by `gitfeed run` to start its halves)."""

from feedserver.cli import main

main(prog_name="gitfeed")
