"""`python -m gitfeed.cli` is the `gitfeed` command (used by `gitfeed run` to start its halves)."""

from gitfeed.cli import main

main(prog_name="gitfeed")
