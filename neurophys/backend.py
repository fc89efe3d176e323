"""The one place where neurophys chooses between NumPy and CuPy.

Every module gets its array namespace from here::

    from neurophys import backend as B
    xp = B.xp()              # numpy or cupy, whichever is active
    x = B.zeros((4, 3))      # float32 by default

Nothing else in the package imports ``cupy``. The backend is chosen, in order
of precedence, by :func:`set_backend` (what ``--backend`` on the command line
calls), then by the environment variable ``NEUROPHYS_BACKEND``, then NumPy.

Named operations (a small table, as in tinygrad): physics and models register their
reference implementation of an operation under the backend name ``'numpy'`` (it runs
on cupy arrays too, through ``xp``) and call it through :func:`op`, which picks the
implementation of the *active* backend at call time. ``neurophys.kernels`` registers
faster ``'cupy'`` implementations (fused CUDA kernels); it is imported when the cupy
backend is selected (:data:`PLUGINS`), so physics and models never import it::

    B.register_op("gpe.evolve", "numpy", evolve)      # in neurophys/physics/gpe.py
    psi, tape = B.op("gpe.evolve")(psi0, n_steps, dt)  # the kernels on cupy, evolve() on numpy
"""
from __future__ import annotations

import importlib
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
    """Activate backend ``name`` ('numpy' or 'cupy') and return its name.

    Selecting 'cupy' also imports its plug-ins (:data:`PLUGINS`), which register the
    CUDA kernels as the cupy implementations of named operations (:func:`op`).

    >>> from neurophys import backend as B
    >>> B.set_backend("numpy")
    'numpy'
    >>> B.zeros((2, 3)).dtype                       # float32 unless told
    dtype('float32')
    >>> B.set_backend("tpu")
    Traceback (most recent call last):
    ...
    neurophys.backend.BackendError: unknown backend 'tpu'; valid names are: numpy, cupy
    """
    if not isinstance(name, str) or name.lower() not in BACKENDS:
        raise BackendError(f"unknown backend {name!r}; valid names are: {', '.join(BACKENDS)}")
    name = name.lower()
    module = numpy if name == "numpy" else _load_cupy()
    _state["name"], _state["xp"] = name, module
    load_plugins(name)
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


# ---------------------------------------------------------------- named operations
# The modules that register faster implementations of named operations for a backend;
# imported when that backend is selected (the cupy kernels need cupy, an optional dependency).
PLUGINS = {"cupy": ("neurophys.kernels",)}

_ops: dict = {}          # name -> {backend name: implementation}
_op_lookup = [None]      # a backend name to look ops up for instead of the active one (see ops_for)


class OpError(LookupError):
    """No implementation of a named operation is registered; the message lists the known names."""


def register_op(op_name: str, backend_name: str, fn):
    """Register ``fn`` as the implementation of operation ``op_name`` on ``backend_name``; returns ``fn``.

    The ``'numpy'`` implementation is the reference: written with ``xp`` it runs on either
    library, and :func:`op` falls back to it when the active backend has none of its own.

    >>> from neurophys import backend as B
    >>> _ = B.register_op("demo.double", "numpy", lambda x: 2 * x)
    >>> B.op("demo.double")(21)
    42
    """
    if backend_name not in BACKENDS:
        raise BackendError(f"cannot register {op_name!r} for unknown backend {backend_name!r}; "
                           f"valid names are: {', '.join(BACKENDS)}")
    if not callable(fn):
        raise TypeError(f"register_op({op_name!r}, {backend_name!r}, fn): fn must be callable, got {fn!r}")
    _ops.setdefault(op_name, {})[backend_name] = fn
    return fn


def op(op_name: str):
    """The implementation of ``op_name`` for the active backend, chosen now (at call time).

    The active backend's own implementation if one is registered, else the ``'numpy'``
    reference. Inside :func:`ops_for` the given backend's table is used instead.
    """
    table = _ops.get(op_name)
    if not table:
        raise OpError(f"no implementation of operation {op_name!r} is registered; known operations: "
                      f"{', '.join(sorted(_ops)) or '(none)'} (import the module that defines it)")
    want = _op_lookup[0] or name()
    fn = table.get(want) or table.get("numpy")
    if fn is None:
        raise OpError(f"operation {op_name!r} has no implementation for backend {want!r} and no numpy reference")
    return fn


def registered_ops() -> dict:
    """{operation name: sorted backend names that implement it}, e.g. to print in a lesson."""
    return {k: sorted(v) for k, v in sorted(_ops.items())}


@contextmanager
def ops_for(backend_name: str):
    """Look named operations up as if ``backend_name`` were active; the arrays stay where they are.

    What the kernels' host emulation uses to run the cupy implementations on NumPy arrays.
    """
    if backend_name not in BACKENDS:
        raise BackendError(f"unknown backend {backend_name!r}; valid names are: {', '.join(BACKENDS)}")
    load_plugins(backend_name)
    old = _op_lookup[0]
    _op_lookup[0] = backend_name
    try:
        yield
    finally:
        _op_lookup[0] = old


def load_plugins(backend_name: str) -> None:
    """Import the modules of :data:`PLUGINS` for ``backend_name`` (each registers its ops once)."""
    for module_name in PLUGINS.get(backend_name, ()):
        importlib.import_module(module_name)
