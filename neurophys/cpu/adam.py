"""Adam's update of one flat array, as one sweep (the twin of :meth:`neurophys.blocks.optim.Adam._update`,
a dozen NumPy passes there)."""
from __future__ import annotations

import numpy

from . import constants, jit


@jit
def _adam_sweep(theta, g, m, v, b1, c1, b2, c2, bc1, bc2, lr, eps):
    for k in range(theta.shape[0]):
        m[k] = m[k] * b1 + g[k] * c1                  # m ← β₁ m + (1 − β₁) g
        v[k] = v[k] * b2 + (g[k] * c2) * g[k]         # v ← β₂ v + (1 − β₂) g²
        s = numpy.sqrt(v[k] / bc2) + eps              # √v̂ + ε
        r = ((m[k] / bc1) * lr) / s                   # η m̂ / (√v̂ + ε)
        theta[k] = theta[k] - r


def adam_update(theta, g, m, v, t: int, lr: float, beta1: float, beta2: float, eps: float):
    """θ, m, v (flat, contiguous, one dtype) updated in place by step t of Adam with gradient g:

        m ← β₁ m + (1 − β₁) g,   v ← β₂ v + (1 − β₂) g²,   θ ← θ − η (m / (1 − β₁ᵗ)) / (√(v / (1 − β₂ᵗ)) + ε)"""
    c = constants(theta.dtype, beta1, 1 - beta1, beta2, 1 - beta2, 1 - beta1 ** t, 1 - beta2 ** t, lr, eps)
    _adam_sweep(theta, g, m, v, *c)
