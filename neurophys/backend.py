"""The one place where neurophys chooses between NumPy and CuPy.

Every module gets its array namespace from here::

    from neurophys import backend as B
    xp = B.xp()              # numpy or cupy, whichever is active
    x = B.zeros((4, 3))      # float32 by default

Nothing else in the package imports ``cupy``. The backend is chosen, in order
of precedence, by :func:`set_backend` (what ``--backend`` on the command line
calls), then by the environment variable ``NEUROPHYS_BACKEND``, then NumPy.
"""
from __future__ import annotations

import os
from contextlib import contextmanager

import numpy

BACKENDS = ("numpy", "cupy")
ENV_VAR = "NEUROPHYS_BACKEND"


class BackendError(RuntimeError):
    """The requested backend cannot be used here; the message says why."""


_state = {"name": None, "xp": None, "dtype": numpy.float32}


def _load_cupy():
    """Import cupy and make sure a GPU answers, or raise one clear error."""
    try:
        import cupy  # the only cupy import in neurophys
    except ImportError as err:
        raise BackendError(
            "backend 'cupy' asked for, but cupy is not installed: "
            "install it with `pip install neurophys[gpu]` (or a cupy-cudaXXx wheel "
            "matching your CUDA), or use --backend numpy"
        ) from err
    try:
        n_gpus = cupy.cuda.runtime.getDeviceCount()
    except Exception as err:  # cupy raises CUDARuntimeError, or others when no driver
        raise BackendError(
            f"backend 'cupy' asked for, but no GPU answered ({type(err).__name__}: {err}); "
            "check the NVIDIA driver, or use --backend numpy"
        ) from err
    if n_gpus < 1:
        raise BackendError("backend 'cupy' asked for, but no CUDA device was found; use --backend numpy")
    return cupy


def set_backend(name: str) -> str:
    """Activate backend ``name`` ('numpy' or 'cupy') and return its name."""
    if not isinstance(name, str) or name.lower() not in BACKENDS:
        raise BackendError(f"unknown backend {name!r}; valid names are: {', '.join(BACKENDS)}")
    name = name.lower()
    module = numpy if name == "numpy" else _load_cupy()
    _state["name"], _state["xp"] = name, module
    return name


def name() -> str:
    """Name of the active backend ('numpy' or 'cupy')."""
    xp()
    return _state["name"]


def xp():
    """The active array namespace: ``numpy`` or ``cupy``."""
    if _state["xp"] is None:
        set_backend(os.environ.get(ENV_VAR, "numpy") or "numpy")
    return _state["xp"]


def is_gpu() -> bool:
    return name() == "cupy"


def gpu_available() -> bool:
    """True when cupy imports and at least one GPU answers (never raises)."""
    try:
        _load_cupy()
        return True
    except BackendError:
        return False


@contextmanager
def using(backend_name: str):
    """Temporarily switch backend: ``with using('numpy'): ...``."""
    old = _state["name"]
    set_backend(backend_name)
    try:
        yield xp()
    finally:
        if old is None:
            _state["name"], _state["xp"] = None, None
        else:
            set_backend(old)


# ---------------------------------------------------------------- dtypes
def float_dtype():
    """Default floating dtype: float32 (float64 inside :func:`precision`)."""
    return _state["dtype"]


@contextmanager
def precision(dtype):
    """Run a block in another default dtype, e.g. float64 for gradient checks."""
    old = _state["dtype"]
    _state["dtype"] = numpy.dtype(dtype).type
    try:
        yield
    finally:
        _state["dtype"] = old


# ---------------------------------------------------------------- arrays
def asarray(a, dtype=None):
    """Array on the active backend, in the default float dtype unless told."""
    return xp().asarray(a, dtype=float_dtype() if dtype is None else dtype)


def zeros(shape, dtype=None):
    return xp().zeros(shape, dtype=float_dtype() if dtype is None else dtype)


def ones(shape, dtype=None):
    return xp().ones(shape, dtype=float_dtype() if dtype is None else dtype)


def to_host(a):
    """A NumPy array (copied from the GPU if needed); scalars become floats."""
    if hasattr(a, "get"):
        a = a.get()
    if numpy.ndim(a) == 0:
        return float(a)
    return numpy.asarray(a)


def get_array_module(a):
    """numpy or cupy, whichever owns ``a`` (NumPy for plain Python values)."""
    if type(a).__module__.startswith("cupy"):
        return _load_cupy()
    return numpy


def synchronize():
    """Wait for queued GPU work (a no-op on NumPy); use before reading a timer."""
    if is_gpu():
        xp().cuda.get_current_stream().synchronize()


# ---------------------------------------------------------------- randomness
def rng(seed: int | None = 0):
    """A seeded random generator on the active backend (one per run).

    Both NumPy and CuPy provide ``default_rng`` with ``normal``, ``uniform``,
    ``random``, ``integers`` and ``permutation``; the streams differ between
    backends, so a seed reproduces a run on the same backend only.
    """
    return xp().random.default_rng(seed)


def host_rng(seed: int | None = 0) -> numpy.random.Generator:
    """A seeded NumPy generator for host-side work (shuffles, data recipes)."""
    return numpy.random.default_rng(seed)


def check_finite(name_: str, a) -> None:
    """Raise ValueError if ``a`` holds NaN or inf; ``name_`` says which input."""
    mod = get_array_module(a)
    if not bool(mod.all(mod.isfinite(a))):
        raise ValueError(f"{name_} contains NaN or inf; clean the input (or lower the step size) and retry")
