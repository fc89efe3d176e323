"""Checks at the public edge, one function per kind of check, and the two errors they raise.

- :class:`NeurophysInputError` (a ``ValueError``): the caller gave something the function
  cannot use. The message names the argument, says what was given and what to do.
- :class:`DivergenceError` (a ``FloatingPointError``): a training loop or a relaxation
  produced NaN/inf (or runaway values). The message names what diverged, where (step,
  epoch, layer) and what to change; :func:`diagnose_input` blames unnormalised input
  (e.g. raw 0–255 pixels) before the message blames a step size.

Conventions (the same everywhere):

- Floating input stays as it is (float32 stays float32, no copy).
- Integer and boolean input is converted to the default float dtype
  (``backend.float_dtype()``): ``[[0, 1, 2]]`` means the numbers 0, 1, 2, never an
  integer computation. Complex, object, string and date arrays are refused.
- Finiteness of an array is tested with one reduction (``x.sum()`` is finite exactly when
  every entry is, barring overflow, which falls back to ``isfinite``); inside loops only
  a scalar (a loss, a cost) is checked per step or batch.
"""
from __future__ import annotations

import math
import numbers
from contextlib import contextmanager

import numpy

from . import backend as B

__all__ = ["NeurophysInputError", "DivergenceError", "as_float_array", "positive_real", "labels",
           "check_finite", "is_finite", "inner", "check_params", "diagnose_input", "positive_int", "describe", "seed"]


class NeurophysInputError(ValueError):
    """Bad input at the public edge: the message names the argument, what was given, what to do."""


class DivergenceError(FloatingPointError):
    """A run produced NaN/inf or runaway values: the message says what, where, and what to change."""


# ------------------------------------------------------------------ helpers for messages
def describe(x) -> str:
    """A short description of ``x`` for a message: 'float32 array of shape (3, 4)', 'True (bool)'."""
    if hasattr(x, "dtype") and hasattr(x, "shape"):
        if getattr(x, "ndim", 1) == 0:
            return f"{x!r} ({x.dtype})"
        return f"{x.dtype} array of shape {tuple(x.shape)}"
    text = repr(x)
    if len(text) > 60:
        text = text[:57] + "..."
    return f"{text} ({type(x).__name__})"


# ------------------------------------------------------------------ arrays
_inner = [0]


@contextmanager
def inner():
    """Within this block, :func:`as_float_array` skips the finiteness scan: a model that has
    checked its input once runs its layers here, so each intermediate array is not re-scanned."""
    _inner[0] += 1
    try:
        yield
    finally:
        _inner[0] -= 1


def _as_array(name, x):
    if hasattr(x, "dtype") and hasattr(x, "ndim"):
        return x
    try:
        a = numpy.asarray(x)
    except Exception as e:  # ragged lists and the like
        raise NeurophysInputError(f"{name} must be an array of numbers, got {describe(x)}; "
                                  f"numpy could not read it ({e})") from None
    return a


def as_float_array(name: str, x, ndim=None, allow_empty: bool = False, finite: bool = True, shape=None,
                   dtype=None):
    """``x`` as a real floating array of the active backend, checked.

    name: the argument's name, used in messages. ndim: an int or a tuple of allowed ranks.
    shape: a tuple with None (or a name such as "T") for any size, e.g. (None, 784); the
      first None reads "batch" in messages.
    allow_empty: accept arrays with no entries (a batch of 0); refused by default.
    finite: refuse NaN and inf. dtype: what integer, bool and list input becomes (default:
      ``backend.float_dtype()``; float64 for physics that needs it).
    Floating input is returned unchanged (same dtype, no copy); integer and bool input
    becomes the default float dtype; complex, object and string arrays are refused.
    """
    a = _as_array(name, x)
    kind = a.dtype.kind
    if kind == "c":
        raise NeurophysInputError(
            f"{name} must be real, got a complex {describe(a)}; pass the real part (x.real), or split "
            "the real and imaginary parts into two real channels")
    if kind not in "fiub":
        raise NeurophysInputError(
            f"{name} must be an array of real numbers, got {describe(a)} (dtype kind {kind!r}); "
            "convert it with numpy.asarray(x, dtype=numpy.float32)")
    if kind != "f" or not hasattr(x, "dtype"):
        a = B.asarray(a, dtype=dtype)  # integers, bools and lists of numbers: the default float dtype
    if ndim is not None:
        allowed = (ndim,) if isinstance(ndim, int) else tuple(ndim)
        if a.ndim not in allowed:
            want = " or ".join(f"{d}-D" for d in allowed)
            raise NeurophysInputError(f"{name} must be {want}, got {describe(a)}"
                                      + (f"; expected shape {_shape_text(shape)}" if shape else ""))
    if shape is not None:
        if a.ndim != len(shape) or any(isinstance(s, int) and s != n for s, n in zip(shape, a.shape)):
            raise NeurophysInputError(f"{name} must have shape {_shape_text(shape)}, got {describe(a)}")
    if not allow_empty and a.size == 0:
        raise NeurophysInputError(f"{name} is empty ({describe(a)}); pass at least one example "
                                  "(check the slicing or the filter that built this batch)")
    if finite and not _inner[0]:
        check_input_finite(name, a)
    return a


def _shape_text(shape) -> str:
    return "(" + ", ".join("batch" if i == 0 and s is None else ("any" if s is None else str(s))
                           for i, s in enumerate(shape)) + ("," if len(shape) == 1 else "") + ")"


def is_finite(a) -> bool:
    """True when every entry of ``a`` (array or scalar) is finite: one reduction, no boolean copy."""
    if isinstance(a, numbers.Number) and not hasattr(a, "dtype"):
        return math.isfinite(a) if not isinstance(a, complex) else (math.isfinite(a.real) and
                                                                    math.isfinite(a.imag))
    if getattr(a, "size", 1) == 0:
        return True
    xp = B.get_array_module(a)
    if a.dtype.kind not in "fc":
        return True
    with numpy.errstate(over="ignore", invalid="ignore"):
        s = a.sum()
    if bool(xp.isfinite(s)):
        return True  # a sum is finite only if every term is (inf or NaN anywhere propagates)
    return bool(xp.all(xp.isfinite(a)))  # the sum may have overflowed: decide entry by entry


def check_input_finite(name: str, a) -> None:
    """NeurophysInputError unless every entry of the input ``a`` is finite."""
    if not is_finite(a):
        xp = B.get_array_module(a)
        bad = int((~xp.isfinite(a)).sum())
        raise NeurophysInputError(f"{name} contains {bad} NaN or inf value(s) ({describe(a)}); "
                                  "clean or drop those entries before calling")


def labels(name: str, y, n_classes: int, n: int | None = None):
    """Integer class labels: a 1-D integer array with values in [0, n_classes) (n of them if given).

    Float arrays with whole values (1.0, 2.0) are accepted and cast; -1 and other values
    outside the range are refused (they would wrap around to the last class)."""
    a = _as_array(name, y)
    if a.dtype.kind == "f":
        if a.size and not bool(B.get_array_module(a).all(a == B.get_array_module(a).round(a))):
            raise NeurophysInputError(f"{name} must be integer class labels, got non-integer floats "
                                      f"({describe(a)}); pass labels like [0, 2, 1]")
        a = a.astype(numpy.int64)
    elif a.dtype.kind not in "iu":
        raise NeurophysInputError(f"{name} must be integer class labels in 0..{n_classes - 1}, "
                                  f"got {describe(a)}")
    if a.ndim != 1 or (n is not None and a.shape[0] != n):
        want = f"({n},)" if n is not None else "(n,)"
        raise NeurophysInputError(f"{name} must have shape {want} (one integer label per example), "
                                  f"got {describe(a)}")
    if a.size:
        lo, hi = int(a.min()), int(a.max())
        if lo < 0 or hi >= n_classes:
            raise NeurophysInputError(
                f"{name} must be in 0..{n_classes - 1} ({n_classes} classes), got values in {lo}..{hi}; "
                "re-map the labels (negative labels would wrap around to the last class)")
    return a


# ------------------------------------------------------------------ scalars
def _is_bool(v) -> bool:
    return isinstance(v, (bool, numpy.bool_)) or (hasattr(v, "dtype") and getattr(v.dtype, "kind", "") == "b")


def positive_real(name: str, v, allow_zero: bool = False) -> float:
    """``v`` as a float > 0 (>= 0 with allow_zero): Python or NumPy ints and floats (0-d arrays
    too); bool, NaN, inf, strings and non-positive values are refused."""
    if _is_bool(v):
        raise NeurophysInputError(f"{name} must be a positive real number, got {v!r} (a bool); "
                                  f"pass a number such as 0.01")
    if hasattr(v, "ndim") and v.ndim == 0 and getattr(v.dtype, "kind", "") in "iuf":
        v = v.item()
    if not isinstance(v, (numbers.Integral, numbers.Real)) or isinstance(v, complex):
        raise NeurophysInputError(f"{name} must be a positive real number, got {describe(v)}")
    f = float(v)
    if not math.isfinite(f) or f < 0 or (f == 0 and not allow_zero):
        what = "a finite number >= 0" if allow_zero else "positive and finite (> 0)"
        raise NeurophysInputError(f"{name} must be {what}, got {v!r}")
    return f


def positive_int(name: str, v, minimum: int = 1) -> int:
    """``v`` as an int >= ``minimum`` (Python or NumPy integers, or floats with whole values)."""
    if _is_bool(v):
        raise NeurophysInputError(f"{name} must be an integer >= {minimum}, got {v!r} (a bool)")
    if hasattr(v, "ndim") and v.ndim == 0:
        v = v.item()
    if isinstance(v, numbers.Integral):
        i = int(v)
    elif isinstance(v, numbers.Real) and math.isfinite(v) and float(v).is_integer():
        i = int(v)
    else:
        raise NeurophysInputError(f"{name} must be an integer >= {minimum}, got {describe(v)}")
    if i < minimum:
        raise NeurophysInputError(f"{name} must be an integer >= {minimum}, got {i}")
    return i


def seed(name: str, v):
    """A seed for ``numpy.random.default_rng``: None or an integer >= 0 (bool refused)."""
    if v is None:
        return None
    if _is_bool(v) or not isinstance(v, numbers.Integral) or int(v) < 0:
        raise NeurophysInputError(f"{name} must be a non-negative integer (NumPy's generators need one), "
                                  f"got {v!r}; e.g. {name}=0")
    return int(v)


# ------------------------------------------------------------------ divergence
def diagnose_input(x, name: str = "the input", limit: float = 50.0) -> str:
    """A sentence blaming unnormalised input, or '' when ``x`` looks normalised.

    Called before a DivergenceError blames a step size: raw 0–255 pixels (max ≥ 2 with
    whole values) or any |x| > ``limit`` are named, with the fix."""
    if x is None or not hasattr(x, "dtype") or getattr(x, "size", 0) == 0 or x.dtype.kind not in "fiu":
        return ""
    if not is_finite(x):
        return f"{name[:1].upper() + name[1:]} contains NaN or inf: clean it first. "
    m = float(B.to_host(abs(x).max()))
    if m > limit:
        xp = B.get_array_module(x)
        pixels = m <= 255 and bool(xp.all(x == xp.round(x)))
        what = "raw 0–255 pixel values" if pixels else "values far outside the usual range"
        fix = "divide by 255" if pixels else "standardise it ((x − mean) / std)"
        text = (f"{name} is not normalised (max |x| = {m:g}: {what}); normalise the input ({fix}) "
                "before changing the step size. ")
        return text[:1].upper() + text[1:]
    return ""


def lr_text(opt) -> str:
    """'lr=0.01' for an optimizer (or a number), for messages."""
    lr = getattr(opt, "lr", opt)
    return f"lr={lr:g}" if isinstance(lr, numbers.Real) else f"lr={lr}"


def check_finite(name: str, value, where: str = "", fix: str = "", x=None) -> None:
    """DivergenceError unless ``value`` (a scalar, or one small array) is finite.

    name: what diverged ('loss', 'weights', 'states'); where: 'epoch 3, batch 7';
    fix: what to change (e.g. 'lower lr'); x: the input, to blame it first when it is
    unnormalised (:func:`diagnose_input`). Inside loops pass a scalar (one per step)."""
    if is_finite(value):
        return
    _raise_divergence(name, "is NaN or inf", where, fix, x)


def check_params(params: dict, where: str = "", fix: str = "lower the learning rate lr",
                 limit: float = 1e8, x=None, what: str = "weights") -> None:
    """DivergenceError if any parameter is NaN/inf or larger than ``limit`` in size.

    One max-reduction per array: call it once per epoch (or per task), not per element."""
    for k, p in params.items():
        if p is None or getattr(p, "size", 0) == 0:
            continue
        m = float(B.to_host(abs(p).max()))
        if not math.isfinite(m) or m > limit:
            state = "is NaN or inf" if not math.isfinite(m) else f"reached |{k}| = {m:.3g} (> {limit:g})"
            _raise_divergence(f"{what} {k}", state, where, fix, x)


def _raise_divergence(name, state, where, fix, x):
    blame = diagnose_input(x) if x is not None else ""
    blame = blame[:1].upper() + blame[1:]
    msg = f"{name} {state}" + (f" at {where}" if where else "") + ": the run diverged. " + blame
    if fix:
        msg += ("Otherwise " + fix) if blame else (fix[:1].upper() + fix[1:])
        msg += "" if msg.endswith(".") else "."
    raise DivergenceError(msg.strip())
