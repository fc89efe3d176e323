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

from .. import validate
from .expr import Const, Node, Op, Var, power
from .library import check_library, library_matrix, linear_combination, polynomial_terms, stlsq
from .search import Candidate, GeneticSearch, ParetoFront, check_data
from .expr import get_operator

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


DEFAULT_OPERATORS = ("add", "sub", "mul", "div", "square", "sqrt", "inv")


def split_operators(operators) -> tuple:
    """(binary, unary) operator names from one list such as ("add", "mul", "sin", "cos").

    Without any two-argument operator the four arithmetic ones are added (a law is
    a sum of terms). Names are those of :data:`.expr.OPERATORS`.
    """

    operators = [operators] if isinstance(operators, str) else list(operators)
    ops = [get_operator(o) for o in operators]
    binary = tuple(o.name for o in ops if o.arity == 2) or ("add", "sub", "mul", "div")
    unary = tuple(o.name for o in ops if o.arity == 1 and o.name != "neg")
    return binary, unary


def discover(X, y, names, engine: str = "builtin", terms=None, strict: bool = False, seed: int = 0,
             operators=None, intercept: bool = True, max_seconds: float | None = None,
             progress: bool | None = None, **options) -> ParetoFront:
    """Search for laws y ≈ f(X) and return a Pareto front of complexity vs error.

    X: (n_samples, n_vars); y: (n_samples,); names: one name per column.
    ``operators``: the operators the law may use, e.g. ("add", "sub", "mul",
    "div", "sin", "cos") (default: + − × ÷ square sqrt inv); the sparse engine
    adds each unary operator of each variable (sin(θ), cos(θ)) to its library.
    ``terms``: the candidate library (sparse engine; seed genes for the built-in
    one). ``intercept``: a free constant term, in every engine (on by default).
    ``max_seconds``: a time budget; ``progress``: a progress bar (None: when
    stderr is a terminal). Other keywords go to the engine (e.g. ``population``,
    ``generations``, ``islands`` for the built-in engine, ``niterations`` for PySR).
    """
    if engine not in ENGINES:
        raise ValueError(f"unknown engine {engine!r}; valid engines are: {', '.join(ENGINES)}")
    names = list(names)
    X, y = check_data(X, y, names)
    validate.seed("seed", seed)
    if terms is not None:
        terms = check_library(terms)
    binary, unary = split_operators(DEFAULT_OPERATORS if operators is None else operators)
    note = ""
    if engine in ("pysr", "auto"):
        ok, reason = pysr_status()
        if ok:
            try:
                return _pysr_front(X, y, names, seed=seed, binary=binary, unary=unary, max_seconds=max_seconds,
                                   progress=progress, **options)
            except Exception as err:  # Julia can fail at first use, after the import
                ok, reason = False, f"pysr failed to run ({type(err).__name__}: {err})"
        if strict and engine == "pysr":
            raise EngineUnavailable(reason)
        note = f"PySR unavailable, built-in engine used instead: {reason}"
        if engine == "pysr":
            warnings.warn(note, RuntimeWarning, stacklevel=2)
        engine = "builtin"
    if engine == "sparse":
        lib = list(terms) if terms is not None else polynomial_terms(names, 2)
        skipped = []
        if operators is not None:          # op(variable) terms, where they are finite on the data
            for u in unary:
                for j, n in enumerate(names):
                    term = Op(u, Var(n))
                    with np.errstate(all="ignore"):
                        ok = np.all(np.isfinite(term.evaluate({n: X[:, j]})))
                    (lib.append(term) if ok else skipped.append(str(term)))
        front = _sparse_front(X, y, names, lib, intercept=intercept, **options)
        if skipped:
            note = f"terms left out (not finite on the data): {', '.join(skipped)}"
    else:
        options.setdefault("binary_ops", binary)
        options.setdefault("unary_ops", unary)
        search = GeneticSearch(names, seed=seed, seed_genes=terms or (), intercept=intercept,
                               max_seconds=max_seconds, progress=progress, **options)
        front = search.fit(X, y)
    front.note = note
    return front


# --------------------------------------------------------------------------- sparse engine
def _sparse_front(X, y, names, terms, thresholds=(1e-4, 1e-3, 1e-2, 3e-2, 1e-1, 3e-1),
                  intercept: bool = True) -> ParetoFront:
    t0 = time.time()
    seen, unique = set(), []
    for term in terms:                      # duplicates (x and an operator's x) would split weights
        if term.key() not in seen:
            seen.add(term.key())
            unique.append(term)
    terms = unique
    if intercept and not any(isinstance(term, Const) for term in terms):
        terms = [Const(1.0)] + terms
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
PYSR_NAMES = {"add": "+", "sub": "-", "mul": "*", "div": "/", "square": "square", "cube": "cube",
              "sqrt": "sqrt", "inv": "inv", "sin": "sin", "cos": "cos", "exp": "exp", "log": "log", "abs": "abs"}


def _pysr_front(X, y, names, seed=0, niterations: int = 40, binary=("add", "sub", "mul", "div"),
                unary=("square", "sqrt"), max_seconds=None, progress=None, **options) -> ParetoFront:
    from pysr import PySRRegressor

    t0 = time.time()
    if max_seconds is not None:
        options.setdefault("timeout_in_seconds", max_seconds)
    model = PySRRegressor(niterations=niterations, binary_operators=[PYSR_NAMES[o] for o in binary],
                          unary_operators=[PYSR_NAMES[o] for o in unary], random_state=seed, deterministic=True,
                          parallelism="serial", verbosity=0, progress=bool(progress), **options)
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
        try:
            return power(args[0], float(e.args[1]))
        except ValueError as err:
            raise ValueError(f"cannot convert {e} into a tree: {err}") from None
    ops = {"sin": "sin", "cos": "cos", "exp": "exp", "log": "log", "Abs": "abs"}
    if kind in ops:
        return Op(ops[kind], args[0])
    raise ValueError(f"cannot convert sympy node {kind} ({e}) into a tree")


def _fold(op, args):
    out = args[0]
    for a in args[1:]:
        out = Op(op, out, a)
    return out
