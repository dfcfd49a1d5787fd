"""Benchmarks that run the real engine; see :mod:`bench.engine`."""
