"""A library of candidate terms and sparse regression over it (STLSQ, as in SINDy).

A library is a list of expression trees (``x``, ``x*vy``, ``vx^2``,
``1/sqrt(x^2 + y^2)``, ...). Evaluated on data it is a matrix

    Theta[n, j] = term_j(state_n)

and a law is a sparse weight vector xi with ``y ≈ Theta @ xi``. Sequentially
thresholded least squares (Brunton, Proctor & Kutz 2016) finds xi: fit by least
squares, zero the terms whose contribution is below a threshold, refit on the
rest, repeat.
"""
from __future__ import annotations

from itertools import combinations_with_replacement

import numpy as np

from ..validate import NeurophysInputError
from .expr import Const, Node, Op, Var, evaluate, square
from .parse import parse_expression


def check_names(names, what: str = "names") -> list:
    """The variable names as a list; a name given twice is refused (each name labels one column
    of the data, so with a repeat one column would be read under the other's name)."""
    names = list(names)
    repeated = list(dict.fromkeys(n for i, n in enumerate(names) if n in names[:i]))
    if repeated:
        raise NeurophysInputError(f"{what} has repeated name(s) {', '.join(map(repr, repeated))} in {names}; "
                                  "each name labels one column of the data: give every column its own name")
    return names


def polynomial_terms(names, degree: int = 2, include_constant: bool = False) -> list:
    """All monomials of the variables up to ``degree``: x, y, x^2, x*y, y^2, ...

    Squares are written with the ``square`` operator, products with ``mul``.
    """
    names = list(names)
    if not names:
        raise ValueError("polynomial_terms needs at least one variable name")
    if degree < 1:
        raise ValueError(f"degree must be >= 1, got {degree}")
    terms = [Const(1.0)] if include_constant else []
    for d in range(1, degree + 1):
        for combo in combinations_with_replacement(names, d):
            terms.append(_monomial(combo))
    return terms


def _monomial(combo) -> Node:
    """x*x*y -> square(x)*y (pairs of equal factors become squares)."""
    factors, rest = [], list(combo)
    while rest:
        v = rest.pop(0)
        if v in rest:
            rest.remove(v)
            factors.append(square(Var(v)))
        else:
            factors.append(Var(v))
    out = factors[0]
    for f in factors[1:]:
        out = Op("mul", out, f)
    return out


def check_library(terms) -> list:
    terms = list(terms)
    if not terms:
        raise ValueError("the term library is empty; give at least one candidate term "
                         "(e.g. polynomial_terms(names, degree=2))")
    for t in terms:
        if not isinstance(t, Node):
            raise TypeError(f"library terms must be expression trees (Node), got {type(t).__name__}")
    return terms


def library_matrix(terms, X, names) -> np.ndarray:
    """Theta (n_samples, n_terms): each candidate term evaluated on the data."""
    terms = check_library(terms)
    names = check_names(names)
    X = np.asarray(X, dtype=float)
    cols = [evaluate(t, X, names) for t in terms]
    Theta = np.stack(cols, axis=1)
    bad = ~np.all(np.isfinite(Theta), axis=0)
    if bad.any():
        which = ", ".join(str(terms[j]) for j in np.flatnonzero(bad))
        raise ValueError(f"library terms are not finite on the data: {which}; remove them or the samples "
                         "where they blow up")
    return Theta


def stlsq(Theta, y, threshold: float = 0.01, max_iter: int = 20) -> np.ndarray:
    """Sequentially thresholded least squares: sparse xi with y ≈ Theta @ xi.

    The columns are scaled to unit spread first, so ``threshold`` reads as:
    a term whose contribution to y is below ``threshold * std(y)`` is dropped.
    """
    Theta = np.asarray(Theta, dtype=float)
    y = np.asarray(y, dtype=float).ravel()
    if Theta.ndim != 2 or Theta.shape[0] != y.shape[0]:
        raise ValueError(f"Theta must be (n_samples, n_terms) with n_samples = len(y) = {y.shape[0]}, "
                         f"got {Theta.shape}")
    if Theta.shape[1] == 0:
        raise ValueError("the term library is empty; give at least one candidate term")
    scale = np.sqrt(np.mean(Theta ** 2, axis=0))
    scale[scale == 0] = 1.0
    A = Theta / scale
    y_scale = np.std(y) if np.std(y) > 0 else max(np.abs(y).max(), 1.0)
    active = np.ones(A.shape[1], bool)
    w = np.zeros(A.shape[1])
    for _ in range(max_iter):
        w[:] = 0.0
        if active.any():
            w[active] = np.linalg.lstsq(A[:, active], y, rcond=None)[0]
        keep = np.abs(w) >= threshold * y_scale
        if np.array_equal(keep, active):
            break
        active = keep
    return w / scale


def linear_combination(terms, weights, drop_zeros: bool = True) -> Node:
    """The tree  w_1*term_1 + w_2*term_2 + ...  (a term with weight 1 keeps no factor)."""
    terms = check_library(terms)
    parts = []
    for t, w in zip(terms, weights):
        if drop_zeros and w == 0:
            continue
        if abs(abs(w) - 1.0) < 1e-9:       # 0.999999999 prints as 1: say 1
            w = float(np.sign(w))
        if isinstance(t, Const):
            parts.append(Const(w * t.value))
        elif w == 1.0:
            parts.append(t)
        else:
            parts.append(Op("mul", Const(w), t))
    if not parts:
        return Const(0.0)
    out = parts[0]
    for p in parts[1:]:
        out = Op("add", out, p)
    return out


def sparse_fit(X, y, names, terms=None, degree: int = 2, threshold: float = 0.01) -> Node:
    """Fit y as a sparse combination of library terms and return the law as a tree."""
    terms = polynomial_terms(names, degree) if terms is None else check_library(terms)
    Theta = library_matrix(terms, X, names)
    return linear_combination(terms, stlsq(Theta, y, threshold))


def trig_terms(names, harmonics: int = 1) -> list:
    """sin(k·θ) and cos(k·θ) for each named variable θ and k = 1..harmonics (angles, phases)."""
    names = [names] if isinstance(names, str) else list(names)
    if not names:
        raise ValueError("trig_terms needs at least one variable name (the angles), e.g. trig_terms(['theta'])")
    if harmonics < 1:
        raise ValueError(f"harmonics must be >= 1, got {harmonics}")
    terms = []
    for name in names:
        for k in range(1, int(harmonics) + 1):
            arg = Var(name) if k == 1 else Op("mul", Const(float(k)), Var(name))
            terms += [Op("sin", arg), Op("cos", arg)]
    return terms


def inverse_distance(*coordinates) -> Node:
    """1/√(x² + y² (+ z²)) of the named coordinates: the shape of a central 1/r potential."""
    if not coordinates or not all(isinstance(c, str) for c in coordinates):
        raise ValueError(f"inverse_distance takes coordinate names, e.g. inverse_distance('x', 'y'); got {coordinates}")
    r2 = square(Var(coordinates[0]))
    for c in coordinates[1:]:
        r2 = Op("add", r2, square(Var(c)))
    return Op("inv", Op("sqrt", r2))


def build_library(names, degree: int = 2, trig=(), harmonics: int = 1, inverse_distances=(), expressions=(),
                  constant: bool = False) -> list:
    """A candidate library from plain choices (what the examples expose on the command line).

    ``degree``: monomials up to this degree (0: none); ``trig``: variables that get
    sin/cos terms; ``inverse_distances``: tuples of coordinate names, each giving
    1/√(Σ c²); ``expressions``: formulas as text, read by the safe parser of
    :mod:`.parse` (never eval). Duplicates are dropped.
    """

    names = list(names)
    for v in ([trig] if isinstance(trig, str) else list(trig)) + [c for g in inverse_distances for c in g]:
        if v not in names:
            raise ValueError(f"unknown variable {v!r}; the state variables are: {', '.join(names)}")
    terms = polynomial_terms(names, degree, include_constant=constant) if degree > 0 else \
        ([Const(1.0)] if constant else [])
    if trig:
        terms += trig_terms(trig, harmonics)
    for group in inverse_distances:
        terms.append(inverse_distance(*group))
    for text in ([expressions] if isinstance(expressions, str) else expressions):
        terms.append(parse_expression(text, names))
    out, seen = [], set()
    for t in terms:
        if t.key() not in seen:
            seen.add(t.key())
            out.append(t)
    return check_library(out)
