"""Find and load the kernel sources: cupy.RawModule on a GPU, the host emulation on a CPU.

Every kernel source ``neurophys/kernels/<name>.cu`` is one module. A kernel is
launched through :func:`module` with a *target*:

- ``'cuda'``: ``cupy.RawModule`` (NVRTC), for cupy arrays on the cupy backend;
- ``'host'``: :class:`neurophys.kernels.emulate.HostModule`, the same source
  compiled with g++ for the CPU (slow; for tests and teaching).

:func:`resolve_target` picks the target from the arrays a caller passes, and says
clearly what to do when a GPU kernel is asked for on NumPy arrays.
"""
from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path

import numpy

from .. import backend as B
from .emulate import host_module

KERNEL_DIR = Path(__file__).resolve().parent
SOURCES = ("gpe", "eqprop")
COMMON_HEADER = "np_common.cuh"
TARGETS = ("cuda", "host")

_cuda_modules: dict = {}
_emulating = [False]
_host_fma = [False]


@contextmanager
def host_emulation(fma: bool = False):
    """Within this block, kernels run on NumPy arrays through the host emulation
    (``device='host'`` by default), and :func:`neurophys.backend.op` picks the cupy
    implementations of the named operations (:mod:`neurophys.kernels.dispatch`) on the numpy
    backend. For tests and teaching: the whole path from a model to a kernel, on a CPU.
    fma=True: the host build contracts a*b + c into fused multiply-adds, rounding as a GPU does."""
    old = _emulating[0], _host_fma[0]
    _emulating[0], _host_fma[0] = True, bool(fma)
    try:
        with B.ops_for("cupy"):
            yield
    finally:
        _emulating[0], _host_fma[0] = old


def emulating() -> bool:
    return _emulating[0]


class KernelError(ValueError):
    """A kernel cannot run on this input or this backend; the message says which and what to do."""


def source_path(name: str) -> Path:
    if name not in SOURCES:
        raise KernelError(f"unknown kernel source {name!r}; the sources are {', '.join(SOURCES)}")
    return KERNEL_DIR / f"{name}.cu"


def cuda_source(name: str) -> str:
    """The source as NVRTC compiles it: the common header pasted in place of its #include.

    Pasting (rather than ``-I``) makes cupy's compile cache, keyed on the code text,
    see a change to the header.
    """
    text = source_path(name).read_text()
    header = (KERNEL_DIR / COMMON_HEADER).read_text().replace("#pragma once", "")
    include = f'#include "{COMMON_HEADER}"'
    if include not in text:
        raise KernelError(f"{name}.cu must include {COMMON_HEADER}")
    return text.replace(include, header)


def cuda_module(name: str):
    """``cupy.RawModule`` of kernel source ``name`` (compiled once per process)."""
    if name not in _cuda_modules:
        if not B.is_gpu():
            raise KernelError(f"the CUDA kernels of {name}.cu need the cupy backend "
                              f"(backend is {B.name()!r}); use --backend cupy on a machine with a GPU")
        cupy = B.xp()
        _cuda_modules[name] = cupy.RawModule(code=cuda_source(name), options=("-std=c++14",))
    return _cuda_modules[name]


def module(name: str, target: str):
    """The kernel module ``name`` for ``target`` ('cuda' or 'host')."""
    if target == "cuda":
        return cuda_module(name)
    if target == "host":
        return host_module(name, fma=_host_fma[0])
    raise KernelError(f"unknown kernel device {target!r}; valid targets are {', '.join(TARGETS)}")


def is_device_array(a) -> bool:
    return type(a).__module__.startswith("cupy")


def resolve_target(target, array, what: str) -> str:
    """'cuda' for cupy arrays, 'host' only when asked for; a clear error otherwise."""
    on_gpu = is_device_array(array)
    if target is None:
        target = "cuda" if on_gpu else ("host" if _emulating[0] else None)
    if target is None:
        raise KernelError(
            f"the GPU kernel for {what} was asked for on NumPy arrays (backend {B.name()!r}): "
            "on the numpy backend use the NumPy implementation (neurophys.backend.op picks it for you), "
            "switch to --backend cupy on a GPU, or pass device='host' to run the kernel's slow CPU emulation")
    if target not in TARGETS:
        raise KernelError(f"unknown kernel device {target!r}; valid targets are {', '.join(TARGETS)}")
    if target == "cuda" and not on_gpu:
        raise KernelError(f"device='cuda' for {what} needs cupy arrays (got {type(array).__module__} arrays)")
    if target == "host" and on_gpu:
        raise KernelError(f"device='host' for {what} needs NumPy arrays (got cupy arrays); use device='cuda'")
    return target


def real_suffix(dtype, what: str) -> tuple:
    """('f32', float32) or ('f64', float64) for a real or complex dtype; KernelError otherwise."""
    dt = numpy.dtype(dtype)
    if dt in (numpy.float32, numpy.complex64):
        return "f32", numpy.float32
    if dt in (numpy.float64, numpy.complex128):
        return "f64", numpy.float64
    raise KernelError(f"{what}: the kernels support float32/complex64 and float64/complex128, not {dt}; "
                      "cast the input (e.g. .astype(numpy.complex64)) or use the NumPy implementation")


def blocks_for(n: int, threads: int) -> int:
    """Number of blocks for a grid-stride loop over n items (capped; the loop covers the rest)."""
    return max(1, min((int(n) + threads - 1) // threads, 65535 * 32))
