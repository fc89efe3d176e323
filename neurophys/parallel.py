"""A batch split over T threads: the one helper for data-parallel shards on the CPU.

NumPy releases the interpreter lock inside its array loops and BLAS calls, so T Python
threads that each work on their own rows of a batch run on T cores. Inside the shards
BLAS is held to one thread (the shards are the parallelism; a threaded BLAS on top would
oversubscribe the cores, and on small products its threads cost more than they give)::

    from neurophys import parallel
    bounds = parallel.shard_bounds(len(x), threads=2, min_rows=32)   # None: run unsharded
    parts = parallel.map_shards(lambda k: f(x[bounds[k][0]:bounds[k][1]]), len(bounds))

With one BLAS thread a row's result does not depend on which rows share its call, so
row-wise work gives the same numbers sharded or not. :func:`matmul` is one large product
done that way: no BLAS thread pool is left spin-waiting after it (OpenBLAS's idle threads
spin for ~0.1 s after a threaded call, taking a core from whatever runs next), and its
numbers do not depend on the thread count.
"""
from __future__ import annotations

import contextlib
import os
import threading

import numpy
from threadpoolctl import ThreadpoolController

_POOLS: dict = {}          # process id -> its shard worker threads, started on first use
_BUSY = threading.Lock()   # one batch of shards at a time (another thread's call runs its shards serially)
_CONTROLLER: list = []     # one ThreadpoolController, made on first use (it inspects the loaded libraries)
_LOCAL = threading.local()  # .inside: this thread is running a shard (nested calls run serially)
_LIMIT: list = []           # the BLAS thread limits in force, innermost last (the limit is process-wide)


def shard_bounds(n: int, threads: int, min_rows: int = 1, multiple: int = 1):
    """[(start, stop), ...]: ``n`` rows in ``threads`` contiguous shards of nearly equal size
    (edges on multiples of ``multiple``), or None when sharding does not apply: fewer than
    two threads, fewer than ``min_rows`` rows per shard, or already inside a shard."""
    T, n = int(threads), int(n)
    if T < 2 or n < T * max(int(min_rows), 1) or getattr(_LOCAL, "inside", False):
        return None
    m = max(int(multiple), 1)
    edges = [min(n, round(k * n / T / m) * m) for k in range(T)] + [n]
    bounds = [(a, b) for a, b in zip(edges[:-1], edges[1:]) if b > a]
    return bounds if len(bounds) > 1 else None


@contextlib.contextmanager
def blas_threads(n: int = 1):
    """BLAS (NumPy's, and any other BLAS loaded when first called) held to ``n`` threads inside
    the block; a block nested in one with the same ``n`` costs nothing."""
    n = int(n)
    if _LIMIT and _LIMIT[-1] == n:
        _LIMIT.append(n)
        try:
            yield
        finally:
            _LIMIT.pop()
        return
    if not _CONTROLLER:
        _CONTROLLER.append(ThreadpoolController())
    with _CONTROLLER[0].limit(limits=n, user_api="blas"):
        _LIMIT.append(n)
        try:
            yield
        finally:
            _LIMIT.pop()


class _Worker:
    """A thread that runs one shard at a time, handed over through two locks (cheaper than a
    ThreadPoolExecutor's futures and waiters: ~10 µs instead of ~90 µs of CPU per call)."""

    def __init__(self, name: str):
        self.go, self.done = threading.Lock(), threading.Lock()
        self.go.acquire()
        self.done.acquire()
        self.job = self.out = None
        threading.Thread(target=self._loop, name=name, daemon=True).start()

    def _loop(self):
        while True:
            self.go.acquire()
            fn, k = self.job
            try:
                self.out = (True, _in_shard(fn, k))
            except BaseException as err:   # handed to the caller, raised there
                self.out = (False, err)
            self.job = None
            self.done.release()

    def start(self, fn, k):
        self.job = (fn, k)
        self.go.release()

    def wait(self):
        self.done.acquire()
        out, self.out = self.out, None
        return out


def _workers(n: int) -> list:
    """``n`` worker threads of this process (a forked child has none of its parent's threads,
    so it starts its own), started on first use."""
    pool = _POOLS.setdefault(os.getpid(), [])
    while len(pool) < n:
        pool.append(_Worker(f"neurophys-shard-{len(pool) + 1}"))
    return pool[:n]


def _in_shard(fn, k):
    _LOCAL.inside = True
    try:
        return fn(k)
    finally:
        _LOCAL.inside = False


def map_shards(fn, n_shards: int) -> list:
    """[fn(0), ..., fn(n_shards − 1)], run side by side: shard 0 in the calling thread, the
    others in worker threads, with BLAS held to one thread meanwhile. Waits for every shard,
    then re-raises the first shard's exception, if any. Called from inside a shard, or while
    another thread's shards run, it runs the shards one after the other."""
    n_shards = int(n_shards)
    if n_shards < 2 or getattr(_LOCAL, "inside", False) or not _BUSY.acquire(blocking=False):
        return [fn(k) for k in range(n_shards)]
    try:
        with blas_threads(1):
            workers = _workers(n_shards - 1)
            for k, w in enumerate(workers, start=1):
                w.start(fn, k)
            try:
                first = (True, _in_shard(fn, 0))
            except BaseException as err:
                first = (False, err)
            outs = [first] + [w.wait() for w in workers]
    finally:
        _BUSY.release()
    for ok, value in outs:
        if not ok:
            raise value
    return [value for _, value in outs]


def matmul(a, b, threads: int, min_madds: float = 2e6):
    """``a @ b`` for 2-D NumPy arrays on ``threads`` threads side by side (one BLAS thread each,
    each writing its block of the result): the same numbers as one BLAS thread. The columns of
    ``b`` are split when ``a`` has no more rows than ``b`` has columns (each thread then packs
    only its part of ``b``: 0.55 ms instead of 0.65 ms per half of a 128×784 @ 784×500 product,
    measured here), else the rows of ``a``. One plain product when ``threads`` < 2, inside a
    shard, or when a thread would get fewer than ``min_madds`` multiply-adds."""
    m, k = a.shape
    n = b.shape[1]
    if m * k * n < int(threads) * min_madds:
        return a @ b
    by_columns = m <= n
    bounds = shard_bounds(n if by_columns else m, threads, multiple=8)
    if bounds is None:
        return a @ b
    out = numpy.empty((m, n), dtype=numpy.result_type(a, b))
    if by_columns:
        map_shards(lambda i: numpy.matmul(a, b[:, bounds[i][0]:bounds[i][1]], out=out[:, bounds[i][0]:bounds[i][1]]),
                   len(bounds))
    else:
        map_shards(lambda i: numpy.matmul(a[bounds[i][0]:bounds[i][1]], b, out=out[bounds[i][0]:bounds[i][1]]),
                   len(bounds))
    return out
