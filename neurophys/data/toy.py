"""Tiny data sets that fit on a blackboard."""
from __future__ import annotations

from .. import backend as B


def xor():
    """The four XOR points and their targets: x ∈ {0,1}², t = x₁ ⊕ x₂ (shape (4, 1))."""
    x = B.asarray([[0, 0], [0, 1], [1, 0], [1, 1]])
    t = B.asarray([[0], [1], [1], [0]])
    return x, t
