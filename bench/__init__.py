"""Benchmark of the CDS service: request generator (generate) and runner (run); see bench/README.md."""
