"""Compiled CPU twins of the element-wise loops that NumPy runs as many passes (numba).

NumPy computes ``y = a·x + b`` as two passes over memory, each writing a whole array; a
training step of PhysNet is thousands of such passes (the GPE's Euler steps, the max-pooling
and its masks, Adam's dozen). Each loop here does all the passes of one formula in one sweep,
one point at a time, and is the twin of a NumPy reference that stays in the library (and is
what cupy runs):

    gpe     one forward-Euler step of ψ = (Re, Im) and its adjoint  ←  physics.gpe.euler_evolve_planes(_backward)
    pool    2×2 max-pooling (+ ReLU) of ConvPool2D and its backward  ←  blocks.conv.ConvPool2D
    conv    a convolution's input-gradient sums (col2im) and the      ←  blocks.conv.Conv2D
            patch copies of its transposed (few-channel) layout
    adam    Adam's update of θ, m, v                                 ←  blocks.optim.Adam

Same numbers, bit for bit: each loop does the reference's operations in the reference's order
and in the array's dtype (constants are cast to it first, as NumPy casts a Python number), with
no fused multiply-add and no reordering (numba's default: no fastmath). tests/test_cpu_loops.py
checks every loop against its reference on random and edge-case inputs (NaN, ±0, ties).

Used on the NumPy backend when numba is installed (a dependency of neurophys) and not turned
off: ``NEUROPHYS_KERNELS=0`` turns off the compiled loops here and the CUDA kernels alike, and
:func:`disabled` does it for a block of code (the tests run both and compare). The loops
are compiled on first use and cached on disk by numba (``NUMBA_CACHE_DIR`` to move the cache).
"""
from __future__ import annotations

import contextlib
import os
import types

import numpy

_state = {"numba": None, "off": int(os.environ.get("NEUROPHYS_KERNELS", "1") == "0")}


def _numba():
    """The numba module, or False where it cannot be imported (then the NumPy references run)."""
    if _state["numba"] is None:
        try:
            import numba
            _state["numba"] = numba
        except Exception:          # not installed, or built for another NumPy: the references run
            _state["numba"] = False
    return _state["numba"]


def available() -> bool:
    """Whether the compiled loops run now: numba importable, not turned off (``NEUROPHYS_KERNELS=0`` in the
    environment when neurophys was imported, or :func:`disabled`)."""
    return not _state["off"] and bool(_numba())


def active(*arrays) -> bool:
    """:func:`available`, and every array is a NumPy array (cupy arrays take the reference path)."""
    for a in arrays:
        if type(a) is not numpy.ndarray:
            return False
    return available()


@contextlib.contextmanager
def disabled():
    """Run a block with the NumPy references only (to compare, or to time the difference)."""
    _state["off"] += 1
    try:
        yield
    finally:
        _state["off"] -= 1


class Loop:
    """A plain Python function over arrays and numbers, compiled by numba on its first call: ``nogil``
    (the data-parallel shards of :mod:`neurophys.parallel` still run side by side), cached on disk,
    and NumPy's error model (a division by zero gives inf or NaN, as in NumPy, not an exception).
    A loop may call other loops (helpers, compiled first); ``import neurophys`` does not import numba."""

    def __init__(self, fn, inline: bool = False):
        self.fn, self.inline, self._compiled = fn, inline, None
        self.__doc__, self.__name__, self.__qualname__ = fn.__doc__, fn.__name__, fn.__qualname__

    def compiled(self):
        if self._compiled is None:
            fn = self.fn
            helpers = {name: ref.compiled() for name in fn.__code__.co_names
                       if isinstance(ref := fn.__globals__.get(name), Loop)}
            if helpers:      # the same code, seeing the compiled helpers under their names
                fn = types.FunctionType(fn.__code__, {**fn.__globals__, **helpers}, fn.__name__, fn.__defaults__)
                fn.__qualname__, fn.__module__ = self.fn.__qualname__, self.fn.__module__
            self._compiled = _numba().njit(cache=True, nogil=True, error_model="numpy",
                                           inline="always" if self.inline else "never")(fn)
        return self._compiled

    def __call__(self, *args):
        return self.compiled()(*args)


def jit(fn=None, *, inline: bool = False):
    """Decorator: ``fn`` becomes a :class:`Loop`; ``@jit(inline=True)`` for a helper that works on one
    point, so that it is inlined where it is called (a call inside a loop keeps the compiler from
    turning the loop into vector instructions)."""
    if fn is None:
        return lambda f: Loop(f, inline)
    return Loop(fn)


def constants(dtype, *values):
    """Python numbers as scalars of ``dtype``: what NumPy does to a Python number in ``array * number``
    (so that ``x * c`` in a loop is the float32 product NumPy computes, not a float64 one)."""
    t = numpy.dtype(dtype).type
    return tuple(t(v) for v in values)
