"""One call, three engines: ``discover(X, y, names, engine=...)``.

- ``"builtin"``: the genetic search of :mod:`.search` (a Pareto front).
- ``"sparse"``: sequentially thresholded least squares over a term library
  (:mod:`.library`); its front is the sequence of laws found as the threshold
  is raised.
- ``"pysr"``: PySR (Cranmer 2023) with its Julia back end, when both import.
  When they do not, the call says so (a warning, and ``front.note``) and the
  built-in engine runs instead; ``strict=True`` raises instead of falling back.
- ``"auto"``: PySR if it is available, else the built-in engine.

Every engine returns a :class:`.search.ParetoFront` of expression trees.
"""
from __future__ import annotations

import time
import warnings

import numpy as np

from .expr import Const, Node, Op, Var
from .library import check_library, library_matrix, linear_combination, polynomial_terms, stlsq
from .search import Candidate, GeneticSearch, ParetoFront, _check_data

ENGINES = ("builtin", "sparse", "pysr", "auto")


class EngineUnavailable(RuntimeError):
    """The asked-for engine cannot run here; the message says why and what to install."""


def pysr_status() -> tuple:
    """(available, reason): whether ``pysr`` and its Julia back end import here."""
    try:
        import pysr  # noqa: F401  (lazy: an optional dependency)
    except Exception as err:  # ImportError, or Julia failing to start inside the import
        return False, (f"pysr is not usable here ({type(err).__name__}: {err}); install it with "
                       "`pip install neurophys[pysr]` (it needs Julia, which it downloads on first use)")
    return True, "pysr imported"


def discover(X, y, names, engine: str = "builtin", terms=None, strict: bool = False, seed: int = 0,
             **options) -> ParetoFront:
    """Search for laws y ≈ f(X) and return a Pareto front of complexity vs error.

    X: (n_samples, n_vars); y: (n_samples,); names: one name per column.
    ``terms``: the candidate library (sparse engine; seed genes for the built-in
    one). Other keywords go to the engine (e.g. ``population``, ``generations``,
    ``islands`` for the built-in engine, ``niterations`` for PySR).
    """
    if engine not in ENGINES:
        raise ValueError(f"unknown engine {engine!r}; valid engines are: {', '.join(ENGINES)}")
    names = list(names)
    X, y = _check_data(X, y, names)
    if terms is not None:
        terms = check_library(terms)
    note = ""
    if engine in ("pysr", "auto"):
        ok, reason = pysr_status()
        if ok:
            try:
                return _pysr_front(X, y, names, seed=seed, **options)
            except Exception as err:  # Julia can fail at first use, after the import
                ok, reason = False, f"pysr failed to run ({type(err).__name__}: {err})"
        if strict and engine == "pysr":
            raise EngineUnavailable(reason)
        note = f"PySR unavailable, built-in engine used instead: {reason}"
        if engine == "pysr":
            warnings.warn(note, RuntimeWarning, stacklevel=2)
        engine = "builtin"
    if engine == "sparse":
        front = _sparse_front(X, y, names, terms if terms is not None else polynomial_terms(names, 2), **options)
    else:
        search = GeneticSearch(names, seed=seed, seed_genes=terms or (), **options)
        front = search.fit(X, y)
    front.note = note
    return front


# --------------------------------------------------------------------------- sparse engine
def _sparse_front(X, y, names, terms, thresholds=(1e-4, 1e-3, 1e-2, 3e-2, 1e-1, 3e-1)) -> ParetoFront:
    t0 = time.time()
    Theta = library_matrix(terms, X, names)
    y_var = float(np.var(y)) if np.var(y) > 0 else 1.0
    cands = []
    for thr in thresholds:
        w = stlsq(Theta, y, threshold=thr)
        if not np.any(w):
            continue
        expr = linear_combination(terms, w)
        loss = float(np.mean((y - Theta @ w) ** 2))
        cands.append(Candidate(expr, expr.complexity(), loss, 1.0 - loss / y_var))
    return ParetoFront(cands, y_var=y_var, engine="sparse", seconds=time.time() - t0)


# --------------------------------------------------------------------------- PySR engine
def _pysr_front(X, y, names, seed=0, niterations: int = 40, **options) -> ParetoFront:
    from pysr import PySRRegressor

    t0 = time.time()
    model = PySRRegressor(niterations=niterations, binary_operators=["+", "-", "*", "/"],
                          unary_operators=["square", "sqrt"], random_state=seed, deterministic=True,
                          parallelism="serial", verbosity=0, progress=False, **options)
    model.fit(X, y, variable_names=names)
    y_var = float(np.var(y)) if np.var(y) > 0 else 1.0
    cands = []
    for _, row in model.equations_.iterrows():
        expr = from_sympy(row["sympy_format"])
        cands.append(Candidate(expr, int(row["complexity"]), float(row["loss"]),
                               1.0 - float(row["loss"]) / y_var))
    return ParetoFront(cands, y_var=y_var, engine="pysr", seconds=time.time() - t0)


def from_sympy(e) -> Node:
    """Convert a SymPy expression (what PySR reports) into a tree, walking its nodes (no strings)."""
    kind = type(e).__name__
    if getattr(e, "is_Symbol", False):
        return Var(str(e))
    if getattr(e, "is_Number", False):
        return Const(float(e))
    args = [from_sympy(a) for a in e.args]
    if kind == "Add":
        return _fold("add", args)
    if kind == "Mul":
        return _fold("mul", args)
    if kind == "Pow":
        base, p = args[0], float(e.args[1])
        if p == 2:
            return Op("square", base)
        if p == 0.5:
            return Op("sqrt", base)
        if p == -1:
            return Op("inv", base)
        if p == -0.5:
            return Op("inv", Op("sqrt", base))
        if p == 3:
            return Op("cube", base)
        if p == -2:
            return Op("inv", Op("square", base))
        if p == int(p) and p > 0:
            return _fold("mul", [base] * int(p))
        raise ValueError(f"cannot convert the power {p} in {e} into a tree")
    ops = {"sin": "sin", "cos": "cos", "exp": "exp", "log": "log", "Abs": "abs"}
    if kind in ops:
        return Op(ops[kind], args[0])
    raise ValueError(f"cannot convert sympy node {kind} ({e}) into a tree")


def _fold(op, args):
    out = args[0]
    for a in args[1:]:
        out = Op(op, out, a)
    return out
