"""Sweeps as units: repeat an experiment over variants and seeds, resumably, on one core or many.

A lesson that repeats an experiment (method × seed, variant × seed) declares the
repetitions as *units*: small dicts of JSON scalars such as ``{"method": "ewc",
"seed": 2}``. :func:`run_units` calls ``fn(**unit)`` for each of them and writes
every finished unit at once, atomically, to ``folder/<key>.json`` (the unit, its
measurements, what ran it and how long it took). So

- a run that is interrupted (Ctrl-C, a killed process, a closed laptop) loses at
  most the units in progress; ``resume=True`` (``--resume``) skips the finished
  ones and runs only the rest, and the final results are the same as those of an
  uninterrupted run;
- ``jobs=N`` (``--jobs N``) runs the units in N local processes
  (:class:`concurrent.futures.ProcessPoolExecutor`), and ``scheduler`` sends the
  same units to a Dask cluster (``"tcp://host:8786"``, a
  ``dask.distributed.Client`` or a ``LocalCluster``) — what a researcher with
  more than one machine would use.

**Results do not depend on scheduling.** A unit's randomness must come from the
unit itself (its ``seed``), never from a generator shared between units, and
every unit runs with one BLAS thread, wherever it runs: OpenBLAS sums a matrix
product in a different order with 1 and with 2 threads (different last bits),
and a training run amplifies a last-bit difference into the third digit of its
accuracy. With one thread per unit, serial, ``jobs=2`` and Dask give identical
numbers on one machine (``tests/test_sweep.py``), and a unit gives the same
numbers whatever the machine's core count. The active backend and default float
dtype of the calling process are passed to every unit.

``fn`` must be picklable: a module-level function of the library (or a
``functools.partial`` of one with JSON-able arguments, which is how a lesson
passes its tier's settings). The description of ``fn`` (its name and partial
arguments) is stored with each unit, with the backend and float dtype it ran
under; resuming with a different ``fn``, different settings, backend or dtype is
refused instead of mixing two experiments. Changes to the *code* are not
detected (each record notes the neurophys version, for the reader): after
changing what a unit computes, start a fresh run in a fresh folder.
"""
from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import math
import multiprocessing
import os
import platform
import re
import sys
import time
import warnings
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

import numpy

from . import __version__
from . import backend as B
from . import files

__all__ = ["run_units", "clear_units", "units_cpu_seconds", "unit_key", "describe_fn", "blas_threads", "SweepError", "SweepRefused"]

# Environment variables that fix the thread count of the BLAS / OpenMP libraries at load time.
BLAS_ENV_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "BLIS_NUM_THREADS",
                 "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS")
UNIT_THREADS = 1      # BLAS threads per unit, in every mode of scheduling
_KEY_MAX = 120        # longest readable file-name stem before a hash takes over


class SweepError(RuntimeError):
    """A sweep failed: a unit raised (the finished units are saved; rerun with --resume)."""


class SweepRefused(SweepError):
    """A sweep cannot run as asked: bad units, finished units in the way, or a folder of another
    experiment. The message says what to change (``--resume``, another ``--out``)."""


# ------------------------------------------------------------------ units and their keys
def _check_units(units) -> list:
    units = list(units)
    for i, u in enumerate(units):
        if not isinstance(u, dict) or not u:
            raise SweepRefused(f"unit {i} must be a non-empty dict of JSON scalars, e.g. "
                             f"{{'seed': 0}}; got {u!r}")
        for k, v in u.items():
            if not isinstance(k, str) or not k.isidentifier():
                raise SweepRefused(f"unit {i}: key {k!r} must be a Python identifier (it is passed as fn(**unit))")
            if not (v is None or isinstance(v, (bool, int, str)) or (isinstance(v, float) and math.isfinite(v))):
                raise SweepRefused(f"unit {i}: {k}={v!r} is not a JSON scalar (str, int, finite float, bool, None)")
    seen = {}
    for u in units:
        k = unit_key(u)
        if k.lower() in seen:   # file names that differ only in case are one file on macOS and Windows
            other = seen[k.lower()]
            same = _normalised(other) == _normalised(u)
            raise SweepRefused(f"units {other!r} and {u!r} " + ("are the same unit" if same else
                               "would share one file name on a case-insensitive file system") +
                               f" (key {k!r}); every unit must differ")
        seen[k.lower()] = u
    return units


def _scalar_text(v) -> str:
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "true" if v else "false"
    return repr(v) if isinstance(v, float) else str(v)


_LOOKS_TYPED = re.compile(r"null|true|false|[-+]?(\d+\.?\d*|\.\d+)(e[-+]?\d+)?|[-+]?(inf|nan)", re.I)


def unit_key(unit: dict) -> str:
    """A stable, file-name-safe key: ``method=ewc,seed=2`` (sorted ``k=v`` joined by commas).

    Characters outside ``[A-Za-z0-9._+-]`` in a value become ``_``; when that, a very long key,
    or a string that reads like a number, bool or null (``'1'`` beside ``1``) could make two units
    collide, a short hash of the unit's canonical JSON is appended.
    """
    parts = [f"{k}={_scalar_text(unit[k])}" for k in sorted(unit)]
    raw = ",".join(parts)
    safe = ",".join(f"{k}={re.sub(r'[^A-Za-z0-9._+-]', '_', _scalar_text(unit[k]))}" for k in sorted(unit))
    typed_text = any(isinstance(v, str) and _LOOKS_TYPED.fullmatch(v) for v in unit.values())
    if safe != raw or typed_text or len(safe) > _KEY_MAX or safe.startswith("."):
        digest = hashlib.sha1(json.dumps(unit, sort_keys=True).encode()).hexdigest()[:10]
        safe = f"{safe[:_KEY_MAX]}~{digest}"
    return safe


def describe_fn(fn) -> str:
    """``module.qualname`` of ``fn``, with the arguments of a ``functools.partial`` (canonical JSON)."""
    if isinstance(fn, functools.partial):
        inner = describe_fn(fn.func)
        args = json.dumps({"args": list(fn.args), "kwargs": fn.keywords}, sort_keys=True,
                          default=repr, allow_nan=True)
        return f"{inner}{args}"
    return f"{getattr(fn, '__module__', '?')}.{getattr(fn, '__qualname__', repr(fn))}"


# ------------------------------------------------------------------ one BLAS thread per unit
@contextlib.contextmanager
def blas_threads(n: int = UNIT_THREADS):
    """Limit the BLAS/OpenMP thread pools of this process to ``n`` inside the block
    (threadpoolctl where installed; otherwise nothing can be changed after NumPy loaded
    its BLAS, and the block runs with the process's own thread count)."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        yield False
        return
    with threadpool_limits(limits=int(n)):
        yield True


@contextlib.contextmanager
def _blas_env(n: int = UNIT_THREADS):
    """Set the BLAS thread variables while worker processes start (they inherit them)."""
    old = {k: os.environ.get(k) for k in BLAS_ENV_VARS}
    os.environ.update({k: str(int(n)) for k in BLAS_ENV_VARS})
    try:
        yield
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


@contextlib.contextmanager
def _main_script_hidden():
    """While spawned workers start, hide the path of a ``__main__`` script from multiprocessing.

    A spawned worker re-imports the parent's main script (as ``__mp_main__``) to find functions
    defined there. A lesson run as a script (``python lessons/04_....py --jobs 2``) is one
    top-level program without an ``if __name__ == "__main__"`` guard: every worker would run the
    whole lesson again. Unit functions live in the library, so the workers never need it.
    (``python -m neurophys`` and notebooks are unaffected: their main module is not re-run.)
    """
    main = sys.modules.get("__main__")
    path = getattr(main, "__file__", None)
    if main is None or path is None or getattr(main, "__spec__", None) is not None:
        yield
        return
    del main.__file__
    try:
        yield
    finally:
        main.__file__ = path


def _worker_init(threads: int = UNIT_THREADS):
    """Runs first in every worker process: BLAS limited to ``threads`` for its whole life."""
    os.environ.update({k: str(int(threads)) for k in BLAS_ENV_VARS})
    try:
        from threadpoolctl import threadpool_limits
        threadpool_limits(limits=int(threads))
    except ImportError:
        pass


def _backend_state():
    return B.name(), numpy.dtype(B.float_dtype()).name


def _run_one(fn, unit: dict, backend_name: str, dtype_name: str, threads: int = UNIT_THREADS) -> dict:
    """Run one unit (in this process or a worker): fn(**unit) under the caller's backend and
    dtype, with ``threads`` BLAS threads. Returns its measurements and what it cost."""
    c0, w0 = time.process_time(), time.perf_counter()
    with blas_threads(threads) as limited, B.using(backend_name), B.precision(dtype_name):
        measurements = fn(**unit)
        B.synchronize()
    if not isinstance(measurements, dict):
        raise SweepError(f"{describe_fn(fn)} returned {type(measurements).__name__} for unit {unit!r}; "
                         "a unit function must return a dict of measurements")
    nonfinite = {}
    out = {"measurements": files.jsonable(measurements, "measurements", nonfinite), "cpu_seconds": round(time.process_time() - c0, 3),
            "wall_seconds": round(time.perf_counter() - w0, 3), "backend": backend_name, "dtype": dtype_name,
            "neurophys": __version__, "host": platform.node(), "pid": os.getpid(),
            "blas_threads": threads if limited or os.environ.get("OPENBLAS_NUM_THREADS") == str(threads) else None}
    if nonfinite:   # strict JSON: NaN/inf are stored as null, their keys listed here
        out["nonfinite"] = nonfinite
    return out


# ------------------------------------------------------------------ the run folder
def _unit_path(folder: Path, unit: dict) -> Path:
    return folder / f"{unit_key(unit)}.json"


def _normalised(obj):
    """What ``obj`` reads back as after a JSON round trip (NaN -> None, tuples -> lists)."""
    return json.loads(json.dumps(files.jsonable(obj)))


def _finished(path: Path, unit: dict, fn_desc: str, state: tuple):
    """The stored record of a finished unit, or None when the file is absent or unusable.
    ``state``: (backend, dtype) of this run; a unit computed with others is refused."""
    if not path.exists():
        return None
    try:
        record = files.read_json(path)
    except (files.CorruptFileError, OSError) as err:
        warnings.warn(f"{err}; the unit {unit!r} will be run again", stacklevel=3)
        return None
    if not isinstance(record, dict) or record.get("unit") != _normalised(unit) \
            or not isinstance(record.get("measurements"), dict):
        warnings.warn(f"{path} does not hold a finished result of unit {unit!r}; it will be run again",
                      stacklevel=3)
        return None
    if record.get("fn") != fn_desc:
        raise SweepRefused(f"{path} was produced by {record.get('fn')!r}, not by this sweep's {fn_desc!r} "
                         "(another function or other settings); resume into a folder of the same experiment, or "
                         "choose another output folder (--out)")
    stored = (record.get("backend"), record.get("dtype"))
    if None not in stored and stored != tuple(state):   # (files written before these were recorded: not checked)
        raise SweepRefused(f"{path} was computed with backend {stored[0]!r} in {stored[1]}, this run uses "
                           f"{state[0]!r} in {state[1]}; resume with the same --backend (and precision), or "
                           "choose another output folder (--out)")
    return record


def _save(path: Path, unit: dict, fn_desc: str, outcome: dict) -> dict:
    record = {"key": path.stem, "unit": unit, "fn": fn_desc, **outcome,
              "finished": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
    files.write_json(path, record)
    return files.read_json(path)   # what a resumed run will read: the same numbers either way


# ------------------------------------------------------------------ the entry point
def run_units(fn, units, folder, *, resume: bool = False, jobs: int = 1, scheduler=None,
              progress=None) -> list:
    """Run ``fn(**unit)`` for every unit and return the measurements, in the order of ``units``.

    fn: returns a dict of JSON-able measurements; module-level (picklable by reference) or a
        ``functools.partial`` of one. Its randomness must come from the unit (e.g. its ``seed``).
    units: a list of dicts of JSON scalars, all different (``[{"method": "ewc", "seed": 0}, ...]``).
    folder: where ``<key>.json`` of each finished unit is written (atomically; see :func:`unit_key`).
    resume: skip units whose file exists and holds a finished result of the same ``fn``; without it
        a folder that already holds finished units is refused (:class:`SweepRefused`).
    jobs: run the units in this many local processes (1: in this process).
    scheduler: a Dask scheduler address (``"tcp://host:8786"``), a ``dask.distributed.Client`` or a
        cluster object (e.g. ``LocalCluster``); the units go to its workers (``jobs`` is then unused).
    progress: an optional wrapper for the stream of finishing units, called as
        ``progress(iterable, total=n, desc="units")`` (``ctx.progress`` or ``tqdm`` fit).

    Every unit runs with one BLAS thread and the caller's backend and float dtype, so the numbers
    do not depend on where or in what order units ran. The returned dicts are the measurements
    as stored in the files (a JSON round trip: non-finite floats read back as None).
    """
    units = _check_units(units)
    folder = Path(folder)
    jobs = int(jobs or 1)
    if jobs < 1:
        raise SweepRefused(f"jobs must be >= 1, got {jobs}")
    fn_desc = describe_fn(fn)
    paths = [_unit_path(folder, u) for u in units]
    if not resume and folder.is_dir():
        existing = sorted(p.name for p in folder.glob("*.json"))
        if existing:
            raise SweepRefused(f"{folder} already holds {len(existing)} finished unit(s) of an earlier run "
                             f"(e.g. {existing[0]}); resume it with --resume (resume=True), which keeps them "
                             "and runs only the rest, or choose another output folder with --out")
    folder.mkdir(parents=True, exist_ok=True)
    state = _backend_state()
    records = {}                     # unit index -> its stored record
    if resume:
        for i, (u, p) in enumerate(zip(units, paths)):
            r = _finished(p, u, fn_desc, state)
            if r is not None:
                records[i] = r
    todo = [(i, u, p) for i, (u, p) in enumerate(zip(units, paths)) if i not in records]
    if todo:
        args = (*state, UNIT_THREADS)
        if scheduler is not None:
            stream = _run_dask(fn, todo, args, scheduler)
        elif jobs > 1 and len(todo) > 1:
            stream = _run_processes(fn, todo, args, min(jobs, len(todo)))
        else:
            stream = _run_serial(fn, todo, args)
        if progress is not None:
            stream = progress(stream, total=len(todo), desc="units")
        for i, u, p, outcome in stream:
            records[i] = _save(p, u, fn_desc, outcome)
    return [records[i]["measurements"] for i in range(len(units))]


def clear_units(fn, folder) -> int:
    """Remove the unit files an earlier run of this same sweep (``fn`` with the same settings)
    left in ``folder``, so that a fresh run recomputes them; returns how many. A folder that also
    holds units of another experiment (or files that cannot be read) is refused, and nothing removed."""
    fn_desc, mine, others = describe_fn(fn), [], []
    for path in sorted(Path(folder).glob("*.json")):
        try:
            record = files.read_json(path)
        except (files.CorruptFileError, OSError):
            record = None
        (mine if isinstance(record, dict) and record.get("fn") == fn_desc else others).append(path)
    if others:
        raise SweepRefused(f"{folder} holds {len(others)} unit file(s) of another experiment or that cannot be read "
                           f"(e.g. {others[0].name}); a fresh run here would overwrite them. Choose another output "
                           "folder with --out, or resume that experiment with its own settings (--resume)")
    for path in mine:
        path.unlink()
    return len(mine)


def units_cpu_seconds(units, folder) -> float:
    """The CPU seconds that the finished units in ``folder`` took, summed: the cost of a sweep,
    whenever and wherever its units ran (a resumed run's own CPU time counts only the rest)."""
    total = 0.0
    for unit in _check_units(units):
        path = _unit_path(Path(folder), unit)
        if path.exists():
            total += float(files.read_json(path).get("cpu_seconds") or 0.0)
    return total


def _run_serial(fn, todo, args):
    """Yield (index, unit, path, outcome) for each unit, run one after the other in this process."""
    for i, u, p in todo:
        try:
            outcome = _run_one(fn, u, *args)
        except Exception as err:                 # named like a failure in a pool (Ctrl-C passes through)
            raise _unit_failed(fn, u, err) from err
        yield i, u, p, outcome


def _unit_failed(fn, unit, err):
    return SweepError(f"unit {unit!r} of {describe_fn(fn)} failed: {type(err).__name__}: {err} "
                      "(finished units are saved; fix the cause and rerun with --resume)")


def _run_processes(fn, todo, args, jobs):
    """Yield (index, unit, path, outcome) as the units finish in ``jobs`` spawned processes."""
    ctx = multiprocessing.get_context("spawn")   # fresh interpreters: BLAS reads the thread variables
    with _blas_env(args[-1]), _main_script_hidden():   # every worker starts inside this block
        pool = ProcessPoolExecutor(max_workers=jobs, mp_context=ctx, initializer=_worker_init,
                                   initargs=(args[-1],))
        futures = {pool.submit(_run_one, fn, u, *args): (i, u, p) for i, u, p in todo}
    failure = None
    try:
        for fut in as_completed(futures):
            if fut.cancelled():
                continue
            i, u, p = futures[fut]
            err = fut.exception()
            if err is not None:
                if failure is None:      # stop handing out units; let the running ones finish and be saved
                    failure = _unit_failed(fn, u, err)
                    failure.__cause__ = err
                    for f in futures:
                        f.cancel()
                continue
            yield i, u, p, fut.result()
    except BaseException:               # Ctrl-C, or the caller stopped: drop the queue, stop the workers
        workers = list((getattr(pool, "_processes", None) or {}).values())   # before shutdown forgets them
        for f in futures:
            f.cancel()
        for proc in workers:            # the units in progress are lost (at most one per worker)
            with contextlib.suppress(Exception):
                proc.terminate()
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown(wait=True)
    if failure is not None:
        raise failure


def _dask_client(scheduler):
    try:
        from distributed import Client
    except ImportError as err:
        raise SweepRefused("a Dask scheduler was given but dask.distributed is not installed; "
                         "pip install 'dask[distributed]'") from err
    if isinstance(scheduler, Client):
        return scheduler, False
    if isinstance(scheduler, str) or hasattr(scheduler, "scheduler_address"):
        try:
            return Client(scheduler), True
        except (OSError, TimeoutError) as err:
            where = scheduler if isinstance(scheduler, str) else scheduler.scheduler_address
            raise SweepRefused(f"--scheduler {where}: no Dask scheduler answered ({err}); start one "
                               "(`dask scheduler`, then `dask worker ADDRESS --nthreads 1` on each machine) "
                               "or drop --scheduler to run here") from err
    raise SweepRefused(f"scheduler must be an address like 'tcp://host:8786', a dask.distributed.Client or a "
                     f"cluster; got {scheduler!r}")


def _run_dask(fn, todo, args, scheduler):
    """Yield (index, unit, path, outcome) as the units finish on a Dask cluster.

    Every worker must run one thread: units side by side in one process would share its array
    backend, float dtype and BLAS thread settings (``backend.using`` / ``precision`` are per process)."""
    from distributed import as_completed as dask_completed
    client, own = _dask_client(scheduler)
    futures = {}
    try:
        crowded = {w: n for w, n in client.nthreads().items() if n > 1}
        if crowded:
            raise SweepRefused(f"Dask workers with more than one thread ({crowded}) would run units side by side "
                               "in one process, sharing its backend, float dtype and BLAS settings; start them "
                               "with `dask worker ADDRESS --nthreads 1` (more processes: --nworkers N)")
        for i, u, p in todo:
            fut = client.submit(_run_one, fn, u, *args, pure=False)
            futures[fut.key] = (fut, i, u, p)
        failure = None
        for fut in dask_completed([f for f, _, _, _ in futures.values()]):
            _, i, u, p = futures[fut.key]
            if fut.status == "cancelled":
                continue
            if fut.status == "error":
                if failure is None:
                    err = fut.exception()
                    failure = _unit_failed(fn, u, err)
                    failure.__cause__ = err
                    for f, _, _, _ in futures.values():
                        if not f.done():
                            f.cancel()
                continue
            yield i, u, p, fut.result()
        if failure is not None:
            raise failure
    except BaseException:
        with contextlib.suppress(Exception):
            client.cancel([f for f, _, _, _ in futures.values()])
        raise
    finally:
        if own:
            client.close()
