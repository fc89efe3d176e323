"""Benchmarks: neurophys against PyTorch (the `bench` extra). Not part of the package."""
