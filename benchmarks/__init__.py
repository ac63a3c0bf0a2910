"""Benchmarks and evaluations; run as `python -m benchmarks.NAME` or `python benchmarks/NAME.py`."""
