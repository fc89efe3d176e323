"""Activation functions, each written next to its derivative.

Every activation is an :class:`Activation` with ``f(z)`` and ``df(z)`` (the
derivative with respect to its input ``z``). Look one up by name with
:func:`get_activation`; an unknown name is refused with the valid names.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import numpy

from ..backend import get_array_module


@dataclass(frozen=True)
class Activation:
    name: str
    f: Callable
    df: Callable

    def __call__(self, z):
        return self.f(z)


# ---------------------------------------------------------------- sigmoid
def sigmoid(z):
    """σ(z) = 1 / (1 + e^{−z}), computed without overflow for large |z|."""
    xp = get_array_module(z)
    e = xp.exp(-xp.abs(z))
    return xp.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def sigmoid_prime(z):
    """σ'(z) = σ(z)(1 − σ(z))."""
    s = sigmoid(z)
    return s * (1.0 - s)


# ---------------------------------------------------------------- tanh
def tanh(z):
    """tanh(z)."""
    return get_array_module(z).tanh(z)


def tanh_prime(z):
    """tanh'(z) = 1 − tanh²(z)."""
    t = get_array_module(z).tanh(z)
    return 1.0 - t * t


# ---------------------------------------------------------------- ReLU
def relu(z):
    """ReLU(z) = max(0, z)."""
    return get_array_module(z).maximum(z, 0)


def relu_prime(z):
    """ReLU'(z) = 1 for z > 0, else 0 (the subgradient 0 is taken at z = 0)."""
    return (z > 0).astype(z.dtype)


# ---------------------------------------------------------------- hard sigmoid
def hard_sigmoid(z):
    """ρ(z) = clip(z, 0, 1), the Scellier–Bengio nonlinearity of EqProp."""
    return get_array_module(z).clip(z, 0, 1)


def hard_sigmoid_prime(z):
    """ρ'(z) = 1 on the *closed* box 0 ≤ z ≤ 1, else 0.

    The convention at the edges: at z = 0 and z = 1 we take the one-sided derivative that
    points into the box (1), not the one outside (0). An EqProp state sitting on the
    boundary (s = 0 at the start of every relaxation) must be able to move; with 0 there
    it would be stuck. Inside the box this is the ordinary derivative (gradient checks
    probe there); the CUDA relaxation kernel uses the same rule.
    """
    return ((z >= 0) & (z <= 1)).astype(z.dtype)


# ---------------------------------------------------------------- GELU
_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)


def gelu(z):
    """GELU(z) ≈ ½ z (1 + tanh(√(2/π)(z + 0.044715 z³)))  (the tanh form; the exact one is :func:`gelu_erf`)."""
    xp = get_array_module(z)
    u = _SQRT_2_OVER_PI * (z + 0.044715 * z ** 3)
    return 0.5 * z * (1.0 + xp.tanh(u))


def gelu_prime(z):
    """d/dz GELU = ½(1 + tanh u) + ½ z (1 − tanh² u) √(2/π)(1 + 3·0.044715 z²)."""
    xp = get_array_module(z)
    u = _SQRT_2_OVER_PI * (z + 0.044715 * z ** 3)
    t = xp.tanh(u)
    du = _SQRT_2_OVER_PI * (1.0 + 3 * 0.044715 * z ** 2)
    return 0.5 * (1.0 + t) + 0.5 * z * (1.0 - t * t) * du


def _erf(z):
    """erf(z): SciPy's on NumPy; elsewhere Abramowitz & Stegun 7.1.26 (|error| < 1.5e-7)."""
    xp = get_array_module(z)
    if xp is numpy:
        from scipy.special import erf   # scipy.special is slow to import; only the erf GELU needs it
        return erf(z)
    a1, a2, a3, a4, a5, p = 0.254829592, -0.284496736, 1.421413741, -1.453152027, 1.061405429, 0.3275911
    s, x = xp.sign(z), xp.abs(z)
    t = 1.0 / (1.0 + p * x)
    return s * (1.0 - ((((a5 * t + a4) * t + a3) * t + a2) * t + a1) * t * xp.exp(-x * x))


def gelu_erf(z):
    """GELU(z) = z Φ(z) = ½ z (1 + erf(z/√2))  (the exact form; PyTorch's default F.gelu)."""
    return 0.5 * z * (1.0 + _erf(z / math.sqrt(2.0)))


def gelu_erf_prime(z):
    """GELU'(z) = Φ(z) + z φ(z),  φ(z) = e^{−z²/2}/√(2π)."""
    xp = get_array_module(z)
    return 0.5 * (1.0 + _erf(z / math.sqrt(2.0))) + z * xp.exp(-0.5 * z * z) / math.sqrt(2.0 * math.pi)


# ---------------------------------------------------------------- identity
def identity(z):
    """f(z) = z."""
    return z


def identity_prime(z):
    """f'(z) = 1."""
    return get_array_module(z).ones_like(z)


ACTIVATIONS = {
    "sigmoid": Activation("sigmoid", sigmoid, sigmoid_prime),
    "tanh": Activation("tanh", tanh, tanh_prime),
    "relu": Activation("relu", relu, relu_prime),
    "hard_sigmoid": Activation("hard_sigmoid", hard_sigmoid, hard_sigmoid_prime),
    "gelu": Activation("gelu", gelu, gelu_prime),
    "gelu_erf": Activation("gelu_erf", gelu_erf, gelu_erf_prime),
    "identity": Activation("identity", identity, identity_prime),
}


def get_activation(name) -> Activation:
    """The activation called ``name`` (an :class:`Activation` passes through)."""
    if isinstance(name, Activation):
        return name
    if name not in ACTIVATIONS:
        raise ValueError(f"unknown activation {name!r}; valid names are: {', '.join(ACTIVATIONS)}")
    return ACTIVATIONS[name]
