"""Run a kernel source (.cu) on the CPU: compile it for the host and call it like cupy does.

The CUDA source is compiled with the host C++ compiler (``g++``) through
``host_emulation.h``, which stands in for the thread and block indices, shared
memory and ``__syncthreads`` (every CUDA thread of a block is a coroutine; blocks
run one after another). :class:`HostModule` mimics ``cupy.RawModule``:
``HostModule(name).get_function('gpe_euler_step_f32')(grid, block, args,
shared_mem=...)`` takes NumPy arrays and NumPy scalars where cupy takes cupy
arrays, so the *same launch code* (grid sizes, argument order, shared memory)
runs in both places. This is how CI checks the kernels' arithmetic without a GPU.

It is slow (one CPU thread, a context switch per barrier): for tests and teaching only.
"""
from __future__ import annotations

import ctypes
import hashlib
import os
import re
import shutil
import stat
import subprocess
from pathlib import Path

import numpy

KERNEL_DIR = Path(__file__).resolve().parent
_KERNEL_NAME = re.compile(r'extern\s+"C"\s+__global__\s+void\s+(\w+)\s*\(')
_MACRO_KERNEL = re.compile(r'extern\s+"C"\s+__global__\s+void\s+(\w+)\s*##\s*(\w+)\s*\(')
_MACRO_USE = re.compile(r'^\s*(NP_\w+_EXPORT)\s*\(\s*\w+\s*,\s*(\w+)\s*\)', re.M)

_modules: dict = {}


class EmulationError(RuntimeError):
    """The host emulation cannot compile or launch a kernel; the message says why."""


def find_compiler() -> str | None:
    """The host C++ compiler (``$CXX``, else g++ or clang++), or None."""
    for cand in (os.environ.get("CXX"), "g++", "clang++"):
        if cand and shutil.which(cand):
            return shutil.which(cand)
    return None


def kernel_names(source: str) -> list:
    """Names of the ``extern "C" __global__`` kernels a source defines (macro exports expanded)."""
    names = _KERNEL_NAME.findall(source)
    stems = _MACRO_KERNEL.findall(source)  # e.g. ('gpe_euler_step_', 'SUF')
    for _macro, suffix in _MACRO_USE.findall(source):
        names += [stem + suffix for stem, _param in stems]
    return sorted(set(names))


class UnsafeCacheError(EmulationError):
    """The kernel cache folder or a library in it could have been written by someone else."""


def cache_root() -> Path:
    """The per-user cache folder of the host builds: ``$NEUROPHYS_KERNEL_CACHE`` if set, else
    ``$XDG_CACHE_HOME/neurophys/kernels`` (``~/.cache/neurophys/kernels``); never a shared
    world-writable place such as /tmp."""
    explicit = os.environ.get("NEUROPHYS_KERNEL_CACHE")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "neurophys" / "kernels"


def _check_private(path: Path, what: str) -> None:
    """Refuse ``path`` unless it is owned by this user, not a symlink, and not group/world-writable."""
    st = os.lstat(path)
    if stat.S_ISLNK(st.st_mode):
        raise UnsafeCacheError(f"the kernel cache {what} {path} is a symbolic link; remove it "
                               "(compiled kernels are loaded only from a private folder)")
    if hasattr(os, "getuid") and st.st_uid != os.getuid():
        raise UnsafeCacheError(
            f"the kernel cache {what} {path} belongs to user id {st.st_uid}, not to you ({os.getuid()}): "
            "its code would run in your process, so it is not loaded. Remove it, or set "
            "$NEUROPHYS_KERNEL_CACHE to a folder of your own")
    if st.st_mode & 0o022:
        raise UnsafeCacheError(
            f"the kernel cache {what} {path} is writable by others (mode {stat.S_IMODE(st.st_mode):04o}): "
            f"anyone could replace the compiled code. Run `chmod go-w {path}` (or remove it) and retry")


def _cache_dir() -> Path:
    """The private cache folder, created with mode 0700 and checked (owner, permissions) on every use."""
    d = cache_root()
    if not d.exists():
        d.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.mkdir(d, 0o700)
        except FileExistsError:  # a parallel process made it first: the checks below decide
            pass
    _check_private(d, "folder")
    return d


def _sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _digest_path(lib: Path) -> Path:
    return lib.with_name(lib.name + ".sha256")


def verify_library(lib: Path) -> Path:
    """Check a cached library before it is loaded: the folder and the file are private to this
    user, and the file's SHA-256 equals the one recorded when it was built."""
    lib = Path(lib)
    _check_private(lib.parent, "folder")
    _check_private(lib, "library")
    record = _digest_path(lib)
    if not record.exists():
        raise UnsafeCacheError(f"{lib} has no recorded content hash ({record.name}); it was not built by "
                               "this version of neurophys, so it is not loaded. Delete it to rebuild")
    _check_private(record, "hash record")
    if record.read_text().strip() != _sha256_file(lib):
        raise UnsafeCacheError(f"{lib} changed after it was built (its SHA-256 differs from {record.name}); "
                               "it is not loaded. Delete it (and its .sha256) to rebuild")
    return lib


def cpu_has_fma() -> bool:
    try:
        return " fma" in Path("/proc/cpuinfo").read_text()
    except OSError:
        return False


def compile_host(source_path: Path, cxx: str | None = None, fma: bool = False) -> Path:
    """Compile ``source_path`` for the host into a cached shared library; return its path.

    fma=True contracts a*b + c into fused multiply-adds, as nvcc does on a GPU (with -mfma
    where the CPU has it), so that the host build rounds the way the GPU build does.
    Without it the host build follows NumPy's operation-by-operation rounding.
    """
    cxx = cxx or find_compiler()
    if cxx is None:
        raise EmulationError("no host C++ compiler (g++ or clang++) on PATH; install one or set $CXX")
    source_path = Path(source_path)
    text = source_path.read_text()
    names = kernel_names(text)
    if not names:
        raise EmulationError(f"{source_path.name} defines no extern \"C\" __global__ kernel")
    headers = "".join((KERNEL_DIR / h).read_text() for h in ("np_common.cuh", "host_emulation.h"))
    flags = (["-ffp-contract=fast"] + (["-mfma"] if cpu_has_fma() else [])) if fma else ["-ffp-contract=off"]
    digest = hashlib.sha256((text + headers + cxx + " ".join(flags)).encode()).hexdigest()[:16]
    lib = _cache_dir() / f"{source_path.stem}_{digest}.so"
    if lib.exists() and _digest_path(lib).exists():
        return verify_library(lib)
    wrapper = _cache_dir() / f"{source_path.stem}_{digest}.cpp"
    wrapper.write_text(
        "#define NP_HOST_EMULATION 1\n"
        f'#include "{source_path}"\n'
        + "".join(f"NP_EMU_EXPORT({n})\n" for n in names)
    )
    tmp = lib.with_suffix(f".{os.getpid()}.tmp")
    cmd = [cxx, "-O2", "-std=c++17", "-shared", "-fPIC", "-w", *flags, f"-I{KERNEL_DIR}", str(wrapper), "-o",
           str(tmp)]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise EmulationError(f"host compile of {source_path.name} failed:\n{' '.join(cmd)}\n{proc.stderr[-4000:]}")
    tmp_record = _digest_path(lib).with_suffix(f".{os.getpid()}.tmp")
    tmp_record.write_text(_sha256_file(tmp) + "\n")
    os.replace(tmp, lib)  # atomic: parallel test runs never load a half-written library
    os.replace(tmp_record, _digest_path(lib))
    return verify_library(lib)


_CTYPES = {
    numpy.dtype(numpy.float32): ctypes.c_float,
    numpy.dtype(numpy.float64): ctypes.c_double,
    numpy.dtype(numpy.int32): ctypes.c_int32,
    numpy.dtype(numpy.int64): ctypes.c_int64,
    numpy.dtype(numpy.uint32): ctypes.c_uint32,
    numpy.dtype(numpy.uint64): ctypes.c_uint64,
}


class HostKernel:
    """One kernel of a :class:`HostModule`; called like ``cupy.RawKernel``."""

    def __init__(self, lib, name: str):
        self.name = name
        try:
            self._fn = getattr(lib, f"np_emu_launch_{name}")
        except AttributeError:
            raise EmulationError(f"kernel {name!r} not found in the host build") from None
        self._fn.restype = ctypes.c_int
        self._fn.argtypes = [ctypes.POINTER(ctypes.c_uint), ctypes.POINTER(ctypes.c_uint), ctypes.c_size_t,
                             ctypes.POINTER(ctypes.c_void_p)]
        self._lib = lib

    def __call__(self, grid, block, args, shared_mem: int = 0):
        grid, block = _dims(grid), _dims(block)
        keep = []  # keep ctypes values alive during the call
        ptrs = (ctypes.c_void_p * max(1, len(args)))()
        for i, a in enumerate(args):
            if a is None:
                val = ctypes.c_void_p(None)
            elif isinstance(a, numpy.ndarray):
                if not a.flags.c_contiguous:
                    raise EmulationError(f"argument {i} of {self.name} is not C-contiguous")
                val = ctypes.c_void_p(a.ctypes.data)
            elif isinstance(a, numpy.generic) and a.dtype in _CTYPES:
                val = _CTYPES[a.dtype](a.item())
            else:
                raise EmulationError(f"argument {i} of {self.name}: pass a NumPy array or a NumPy scalar "
                                     f"with an explicit dtype, not {type(a).__name__}")
            keep.append(val)
            ptrs[i] = ctypes.cast(ctypes.pointer(val), ctypes.c_void_p)
        g = (ctypes.c_uint * 3)(*grid)
        b = (ctypes.c_uint * 3)(*block)
        rc = self._fn(g, b, int(shared_mem), ptrs)
        if rc != 0:
            msg = self._lib.np_emu_last_error().decode()
            raise EmulationError(f"launch of {self.name} refused: {msg}")


def _dims(d):
    d = (int(d),) if numpy.ndim(d) == 0 else tuple(int(v) for v in d)
    return (d + (1, 1, 1))[:3]


class HostModule:
    """A kernel source compiled for the CPU: ``HostModule('gpe').get_function(name)``."""

    def __init__(self, name: str, fma: bool = False):
        path = KERNEL_DIR / f"{name}.cu"
        if not path.exists():
            raise EmulationError(f"no kernel source {path.name} in {KERNEL_DIR}")
        self.path = verify_library(compile_host(path, fma=fma))  # checked right before loading
        self._lib = ctypes.CDLL(str(self.path))
        self._lib.np_emu_last_error.restype = ctypes.c_char_p
        self._kernels: dict = {}

    def get_function(self, name: str) -> HostKernel:
        if name not in self._kernels:
            self._kernels[name] = HostKernel(self._lib, name)
        return self._kernels[name]


def host_module(name: str, fma: bool = False) -> HostModule:
    """The cached host build of kernel source ``name`` ('gpe', 'eqprop'); fma: GPU-like rounding."""
    if (name, fma) not in _modules:
        _modules[(name, fma)] = HostModule(name, fma)
    return _modules[(name, fma)]
