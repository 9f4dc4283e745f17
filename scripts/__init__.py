"""Benchmarks and the soak test; run them from the repository root as `python -m scripts.NAME`."""
