"""Central finite differences, the independent referee of every hand-written backward.

    ∂f/∂x_i ≈ [f(x + ε e_i) − f(x − ε e_i)] / (2ε)      (error O(ε²))

Use float64 (``backend.precision('float64')``): in float32 the round-off
ε⁻¹·10⁻⁷ swamps the truncation error and no check can pass honestly.
"""
from __future__ import annotations

import numpy

from .backend import get_array_module, to_host


def numerical_gradient(f, x, eps: float = 1e-6, max_entries: int | None = None, seed: int = 0):
    """∂f/∂x by central differences; ``f()`` reads ``x``, which is perturbed in place.

    ``f`` takes no argument and returns a scalar. With ``max_entries``, only that
    many randomly chosen entries are probed; the others are NaN in the result.
    """
    if x.dtype != numpy.float64:
        raise TypeError(f"gradient checks need float64 arrays, got {x.dtype}; wrap the setup in "
                        "backend.precision('float64')")
    xp = get_array_module(x)
    grad = numpy.full(x.shape, numpy.nan)
    flat = x.reshape(-1)  # a view: writes go to x
    idx = numpy.arange(flat.size)
    if max_entries is not None and flat.size > max_entries:
        idx = numpy.random.default_rng(seed).choice(flat.size, max_entries, replace=False)
    g = grad.reshape(-1)
    for i in idx:
        old = float(flat[i])
        flat[i] = old + eps
        f_plus = float(f())
        flat[i] = old - eps
        f_minus = float(f())
        flat[i] = old
        g[i] = (f_plus - f_minus) / (2 * eps)
    del xp
    return grad


def relative_error(analytic, numeric) -> float:
    """max |a − n| / max(‖a‖_∞, ‖n‖_∞, 1e-12) over the probed (non-NaN) entries."""
    a, n = numpy.asarray(to_host(analytic), dtype=float), numpy.asarray(numeric, dtype=float)
    mask = ~numpy.isnan(n)
    if not mask.any():
        raise ValueError("no entries were probed")
    a, n = a[mask], n[mask]
    return float(numpy.abs(a - n).max() / max(numpy.abs(a).max(), numpy.abs(n).max(), 1e-12))


def check_gradient(f, x, analytic, eps: float = 1e-6, max_entries: int | None = 200, seed: int = 0) -> float:
    """Relative error between ``analytic`` (∂f/∂x) and central differences.

    Returns the error; tests assert it is small (typically < 1e-6 in float64).

    >>> import numpy
    >>> from neurophys.gradcheck import check_gradient
    >>> w = numpy.array([0.3, -0.2])
    >>> bool(check_gradient(lambda: float((w ** 3).sum()), w, 3 * w ** 2) < 1e-8)   # d(w³)/dw = 3w²
    True
    """
    if tuple(analytic.shape) != tuple(x.shape):
        raise ValueError(f"analytic gradient shape {tuple(analytic.shape)} differs from x {tuple(x.shape)}")
    numeric = numerical_gradient(f, x, eps=eps, max_entries=max_entries, seed=seed)
    return relative_error(analytic, numeric)


def cosine_similarity(a, b) -> float:
    """cos∠(a, b) = a·b / (‖a‖‖b‖) of two arrays, flattened."""
    a = numpy.asarray(to_host(a), dtype=float).ravel()
    b = numpy.asarray(to_host(b), dtype=float).ravel()
    return float(a @ b / (numpy.linalg.norm(a) * numpy.linalg.norm(b) + 1e-300))
