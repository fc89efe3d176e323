"""Benchmarks: neurophys against PyTorch (the `bench` extra). Installed next to neurophys
(setup.cfg), so ``from benchmarks import run`` works from an installed package; the harness
is ``benchmarks.run`` (also ``python -m benchmarks.run``), the PyTorch peers ``benchmarks.torch_ref``."""
