"""Initial weights: every initialisation the blocks and models draw, in one place.

Each helper takes the run's generator ``rng`` (``backend.rng(seed)``, or a
:class:`~neurophys.learning.torch_stream.TorchCPUStream` to replay PyTorch) and returns an
array in the default float dtype (float32, float64 inside ``backend.precision``).

>>> from neurophys import backend as B
>>> from neurophys.blocks.init import init_weights, uniform_fan_in
>>> W = init_weights(B.rng(0), 784, 500)            # Glorot/Xavier uniform
>>> W.shape, W.dtype, bool(abs(W).max() <= (6 / (784 + 500)) ** 0.5)
((784, 500), dtype('float32'), True)
>>> bool(abs(uniform_fan_in(B.rng(0), (16, 3), fan_in=9)).max() <= 1 / 3)
True
"""
from __future__ import annotations

import math

from .. import backend as B

INITS = ("xavier", "he", "normal")


def init_weights(rng, n_in: int, n_out: int, init: str = "xavier", scale: float | None = None):
    """Initial weights of shape (n_in, n_out).

    - ``xavier``: U(−a, a), a = √(6 / (n_in + n_out))  (Glorot & Bengio 2010)
    - ``he``: N(0, 2 / n_in)
    - ``normal``: N(0, scale²)  (document 001 uses scale = 0.1)
    """
    dtype = B.float_dtype()
    if init == "xavier":
        a = math.sqrt(6.0 / (n_in + n_out))
        return rng.uniform(-a, a, size=(n_in, n_out)).astype(dtype)
    if init == "he":
        return (rng.standard_normal((n_in, n_out)) * math.sqrt(2.0 / n_in)).astype(dtype)
    if init == "normal":
        return (rng.standard_normal((n_in, n_out)) * (0.1 if scale is None else scale)).astype(dtype)
    raise ValueError(f"unknown init {init!r}; valid names are: {', '.join(INITS)}")


def uniform_fan_in(rng, shape, fan_in: int):
    """U(−1/√fan_in, 1/√fan_in): PyTorch's default init of Conv2d and Linear weights and biases
    (and of its recurrent layers, with fan_in = the hidden size)."""
    bound = 1.0 / math.sqrt(fan_in)
    return rng.uniform(-bound, bound, size=shape).astype(B.float_dtype())


def normal_out_in(rng, n_in: int, n_out: int):
    """N(0, 1) of shape (n_in, n_out), drawn in PyTorch's (n_out, n_in) order and transposed,
    so that a :class:`~neurophys.learning.torch_stream.TorchCPUStream` replays the original."""
    return B.asarray(rng.standard_normal((n_out, n_in)), dtype=B.float_dtype()).T.copy()
