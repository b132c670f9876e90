"""Benchmarks of the platform (issue 2, "Benchmark"); not part of the product."""
