"""PyTorch's CPU random stream, rebuilt in NumPy, to replay a PyTorch experiment number for number.

Document 003's run is deterministic only through ``torch.manual_seed``: its
data, its initial weights and every thermal kick come from one Mersenne
Twister. NumPy ships the same generator (MT19937 with the same integer seeding),
so the raw 32-bit words agree; what differs is how each library turns words into
numbers. PyTorch (``aten/src/ATen/core/TransformationHelper.h`` and
``native/cpu/DistributionTemplates.h``) does, for float32 tensors:

    uniform:  u = (w & (2²⁴ − 1)) / 2²⁴,  x = u (hi − lo) + lo           (one word per number)
    randint:  k = lo + w mod (hi − lo)                                   (one word per number)
    randn (≥ 16 numbers, contiguous): fill with u's, then per block of 16
              Box–Muller on pairs (j, j+8):  r = √(−2 ln(1 − u_j)),  θ = 2π u_{j+8},
              x_j = r cos θ,  x_{j+8} = r sin θ;  a tail of n mod 16 numbers redraws
              the last 16 uniforms and transforms them again.

:class:`TorchCPUStream` implements exactly those (float32; the Box–Muller is
computed in float64 and rounded, so a value may differ from PyTorch's in the
last bit). Smaller randn draws (< 16 numbers) take another path in PyTorch and
are refused here.
"""
from __future__ import annotations

import numpy


class TorchCPUStream:
    """NumPy twin of ``torch.manual_seed(seed)`` followed by CPU float32 draws.

    Shapes follow PyTorch's row-major order: ``randn((out, in))`` gives the same
    matrix as ``torch.randn(out, in)``.
    """

    def __init__(self, seed: int):
        self.manual_seed(seed)

    def manual_seed(self, seed: int):
        """Re-seed: MT19937 initialised by init_genrand(seed) (NumPy's legacy integer seeding)."""
        if not 0 <= int(seed) < 2 ** 32:
            raise ValueError(f"seed must be in [0, 2**32), got {seed}")
        key_state = numpy.random.RandomState(int(seed)).get_state(legacy=False)
        self.mt = numpy.random.MT19937()
        self.mt.state = key_state
        self.n_words = 0

    def words(self, n: int):
        """The next n raw 32-bit words."""
        self.n_words += int(n)
        return self.mt.random_raw(int(n)).astype(numpy.uint64)

    def skip(self, n: int):
        """Advance the stream by n words (the draws of code we do not need to re-run)."""
        for start in range(0, int(n), 1 << 20):
            self.words(min(1 << 20, int(n) - start))

    def _u24(self, n: int):
        return (self.words(n) & numpy.uint64((1 << 24) - 1)).astype(numpy.float64) / float(1 << 24)

    def rand(self, shape, low: float = 0.0, high: float = 1.0):
        """torch.empty(shape).uniform_(low, high) in float32."""
        n = int(numpy.prod(shape))
        return (self._u24(n) * (high - low) + low).astype(numpy.float32).reshape(shape)

    # the name NumPy generators use, so a model can take this stream as its rng
    def uniform(self, low=0.0, high=1.0, size=None):
        return self.rand(size, low, high)

    def randint(self, low: int, high: int, shape):
        """torch.randint(low, high, shape) (int64)."""
        n = int(numpy.prod(shape))
        return (low + (self.words(n) % numpy.uint64(high - low)).astype(numpy.int64)).reshape(shape)

    def integers(self, low: int, high: int, size):
        """NumPy-style name for :meth:`randint`."""
        return self.randint(low, high, size)

    @staticmethod
    def _box_muller_16(u):
        """Box–Muller on blocks of 16 (rows of u): pairs (j, j+8) → (r cos θ, r sin θ)."""
        u = u.astype(numpy.float32).reshape(-1, 16).astype(numpy.float64)
        r = numpy.sqrt(-2.0 * numpy.log(1.0 - u[:, :8]))
        theta = 2.0 * numpy.pi * u[:, 8:]
        return numpy.concatenate([r * numpy.cos(theta), r * numpy.sin(theta)], axis=1).astype(numpy.float32).ravel()

    def randn(self, shape):
        """torch.randn(shape) in float32 (needs ≥ 16 numbers)."""
        shape = tuple(int(s) for s in numpy.atleast_1d(shape))
        n = int(numpy.prod(shape))
        if n < 16:
            raise ValueError(f"torch draws fewer than 16 normals by another path; got {n} numbers")
        u = self._u24(n).astype(numpy.float32)
        out = numpy.empty(n, dtype=numpy.float32)
        full = n - n % 16
        out[:full] = self._box_muller_16(u[:full])
        if n % 16:
            out[n - 16:] = self._box_muller_16(self._u24(16).astype(numpy.float32))
        return out.reshape(shape)

    def standard_normal(self, size):
        """NumPy-style name for :meth:`randn` (so a model can take this stream as its rng)."""
        return self.randn(size)
