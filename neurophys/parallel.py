"""A batch split over T threads or T processes: the helpers for data-parallel shards on the CPU.

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

Threads pay only when each NumPy call is long: between two calls a thread holds the interpreter
lock, and a model made of thousands of short calls (PhysNet's step) runs no faster on two
threads than on one. :class:`ForkedCopies` is the other way: T − 1 forked copies of a layer
stack, each with its own interpreter, that take shards 1 … T − 1 of a batch (``PhysNet.cores``).
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


# ------------------------------------------------------------------ forked copies
class ForkedCopies:
    """Shards 1 … T − 1 of a batch run through T − 1 forked copies of a layer stack, beside the caller.

    Why processes and not threads: a PhysNet step is a few thousand NumPy calls; between two
    calls a thread holds the interpreter lock, and two threads hand it to each other about
    a thousand times a step. On this project's 2-core machine each handoff wakes the other core,
    and two threads ran a training step no faster than one (threads=2: 102–109 ms, threads=1:
    86–97 ms, while two independent processes each kept 88–96 ms; measured idle, batch 128). A
    forked copy has its own interpreter lock: the copies meet the caller twice a step (forward,
    backward) through a pipe.

    What travels where, per step:
    - the parameters: copied by the caller into memory it shares with the copies (an anonymous
      shared mapping made before the fork) at each forward, so whatever the optimizer did to
      ``layer.params`` — in place or by rebinding — the copies see it; the caller's own arrays stay
      private (a later fork of the caller, say a multiprocessing pool, shares nothing);
    - each copy's parameter gradients: written by the copy into its own part of that memory;
    - inputs and outputs of the shard (small next to the parameters): pickled through the pipe;
    - ``report``: attributes of the layers (e.g. a field layer's stability margin) sent back after
      each phase, {layer name: {attribute: value}}.

    A copy is forked from the layers as they are when this object is made (their settings and
    work arrays; only the parameters are refreshed later), runs with one BLAS thread, ignores
    Ctrl-C (the caller handles it) and stops when this object is closed or collected, or when the
    caller exits. An error inside a copy is raised in the caller; after any failure, the copies are
    stopped (``alive`` becomes False) and the caller makes new ones. Linux only (``available()``).
    """

    def __init__(self, layers, n_copies: int, run_forward, run_backward, report=()):
        import mmap
        import multiprocessing
        import weakref
        self.layers, self.report = list(layers), tuple(report)
        self._slots = [(i, key, layer.params[key].shape, layer.params[key].dtype)
                       for i, (_, layer) in enumerate(self.layers) for key in layer.params]
        sizes = [-(-int(numpy.prod(shape)) * numpy.dtype(dt).itemsize // 64) * 64 for _, _, shape, dt in self._slots]
        block = max(sum(sizes), 64)
        self._mem = mmap.mmap(-1, block * (1 + n_copies))   # MAP_SHARED | MAP_ANONYMOUS: the copies share it

        def views(part):
            out, at = [], part * block
            for (_, _, shape, dt), size in zip(self._slots, sizes):
                n = int(numpy.prod(shape))
                out.append(numpy.frombuffer(self._mem, dtype=dt, count=n, offset=at).reshape(shape))
                at += size
            return out
        self._params, self._grads = views(0), [views(1 + c) for c in range(n_copies)]
        self._copy_params_in()
        self._settings = _settings(self.layers, self.report)
        ctx = multiprocessing.get_context("fork")
        self._pid, self._conns, self._procs = os.getpid(), [], []
        self.alive, self._pending = True, False
        # registered first, with the lists it will see filled: a failure part-way stops what started
        self._stop = weakref.finalize(self, _stop_copies, self._pid, self._conns, self._procs)
        try:
            for c in range(n_copies):
                mine, theirs = ctx.Pipe()
                p = ctx.Process(target=_copy_main, name=f"neurophys-copy-{c + 1}", daemon=True,
                                args=(theirs, self._conns + [mine], self.layers, self._slots, self._params,
                                      self._grads[c], run_forward, run_backward, self.report))
                p.start()
                theirs.close()
                self._conns.append(mine)
                self._procs.append(p)
        except BaseException:
            self.close()
            raise

    @property
    def n_copies(self) -> int:
        return len(self._conns)

    @staticmethod
    def available() -> bool:
        """Forked copies work here: Linux (fork is safe with NumPy's OpenBLAS), and not inside a
        daemonic process (a multiprocessing pool's worker may not start processes of its own)."""
        import multiprocessing
        import sys
        return sys.platform.startswith("linux") and not multiprocessing.current_process().daemon

    def usable_for(self, layers) -> bool:
        """Made in this process, every copy running and waiting for a request (no reply left unread
        by an interrupted exchange), for these layers, with parameters of the same shapes and the
        same settings (a layer's scalar or small-array attributes, e.g. a field's dt or V)."""
        if not self.alive or self._pending or self._pid != os.getpid() or len(layers) != len(self.layers):
            return False
        if any(p.exitcode is not None for p in self._procs):
            return False
        if any(a[1] is not b[1] for a, b in zip(layers, self.layers)):
            return False
        if not all(k in self.layers[i][1].params and self.layers[i][1].params[k].shape == shape
                   and self.layers[i][1].params[k].dtype == dt for i, k, shape, dt in self._slots):
            return False
        return _settings(self.layers, self.report) == self._settings

    def _copy_params_in(self):
        for (i, key, _, _), view in zip(self._slots, self._params):
            view[...] = self.layers[i][1].params[key]

    def _exchange(self, command, payloads):
        """Send (command, payload) to copy c, for each c (their replies: :meth:`_collect`). Until every
        reply is read, the copies are marked pending: an exchange cut short (Ctrl-C) is never resumed."""
        self._pending = True
        try:
            for c, (conn, payload) in enumerate(zip(self._conns, payloads)):
                try:
                    conn.send((command, payload))
                except (BrokenPipeError, ConnectionResetError):
                    raise self._stopped(c) from None
        except BaseException:
            self.close()
            raise

    def _stopped(self, c):
        return RuntimeError(f"neurophys: forked copy {c + 1} of the model stopped unexpectedly (killed, or out "
                            f"of memory?); new copies are made on the next call")

    def _collect(self):
        """[(value, report) of copy c, ...]; raises the first error a copy sent back."""
        replies = []
        try:
            for c, conn in enumerate(self._conns):
                try:
                    replies.append(conn.recv())
                except (EOFError, ConnectionResetError):
                    raise self._stopped(c) from None
        except BaseException:
            self.close()
            raise
        self._pending = False
        for ok, value, _ in replies:
            if not ok:
                self.close()
                raise value
        return [(value, report) for _, value, report in replies]

    def start_forward(self, shards):
        """Refresh the shared parameters, then hand shard c + 1 (an array) to copy c."""
        self._copy_params_in()
        self._exchange("forward", shards)

    def start_backward(self, douts):
        self._exchange("backward", douts)

    def finish(self):
        """[(output of copy c, its report), ...] once every copy has answered."""
        return self._collect()

    def grads(self, c):
        """Copy c's parameter gradients, as [(layer index, key, array)] (views of shared memory:
        valid until its next backward)."""
        return [(i, key, g) for (i, key, _, _), g in zip(self._slots, self._grads[c])]

    def fetch(self, layer_name, attribute):
        """[getattr(layer, attribute) in copy c, ...] (e.g. a field the copy keeps)."""
        self._exchange("fetch", [(layer_name, attribute)] * len(self._conns))
        return [value for value, _ in self._collect()]

    def close(self):
        self.alive = False
        self._stop()


def _settings(layers, skip=()):
    """What a forked copy took from each layer besides its parameters: the public attributes that
    are numbers, strings, small arrays (by content) or dicts of those; a change means new copies."""
    def value(v):
        if v is None or isinstance(v, (bool, int, float, complex, str)):
            return v
        if isinstance(v, numpy.ndarray):
            return (v.shape, v.dtype.str, hash(v.tobytes()) if v.size <= 65536 else id(v))
        if isinstance(v, (tuple, list)):
            return tuple(value(x) for x in v)
        if isinstance(v, dict):
            return tuple(sorted((str(k), value(x)) for k, x in v.items()))
        return type(v).__name__
    return tuple((name, tuple(sorted((k, value(v)) for k, v in vars(layer).items()
                                     if not k.startswith("_") and k not in ("params", "grads") and k not in skip)))
                 for name, layer in layers)


def _stop_copies(pid, conns, procs):
    if os.getpid() != pid:       # a forked child of the caller: the copies are not its own
        return
    for conn in conns:
        try:
            conn.send(("stop", None))
        except (OSError, ValueError):
            pass
        conn.close()
    for p in procs:
        p.join(timeout=2)
        if p.is_alive():
            p.terminate()


def _copy_main(conn, callers_ends, layers, slots, params, grads, run_forward, run_backward, report):
    """A forked copy's loop: parameters bound to the shared memory, one BLAS thread, Ctrl-C ignored;
    it returns when the caller says stop, closes its end, or dies (killed: its sentinel)."""
    import multiprocessing.connection
    import signal
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    for end in callers_ends:              # inherited copies of the caller's ends: closed, so that the
        end.close()                       # caller's exit is seen here as the end of the pipe
    caller = multiprocessing.parent_process().sentinel
    _LOCAL.inside = True                                   # nothing below starts shards of its own
    for (i, key, _, _), view in zip(slots, params):
        layers[i][1].params[key] = view
    by_name = dict(layers)

    def reported():
        return {name: {a: getattr(layer, a) for a in report if hasattr(layer, a)} for name, layer in layers
                if any(hasattr(layer, a) for a in report)}

    with blas_threads(1):
        while True:
            try:
                if conn not in multiprocessing.connection.wait([conn, caller]):
                    return                                  # the caller died without a word
                command, payload = conn.recv()
            except (EOFError, OSError):
                return
            if command == "stop":
                return
            try:
                if command == "forward":
                    value = run_forward(layers, payload)
                elif command == "backward":
                    value = run_backward(layers, payload)
                    for (i, key, _, _), g in zip(slots, grads):
                        got = layers[i][1].grads.get(key)
                        if got is None:
                            raise RuntimeError(f"layer {layers[i][0]!r} left no gradient for {key!r}")
                        g[...] = got
                else:                                       # fetch
                    value = getattr(by_name[payload[0]], payload[1])
                reply = (True, value, reported())
            except BaseException as err:                    # sent to the caller, raised there
                reply = (False, err, None)
            try:
                conn.send(reply)
            except Exception as err:                        # an unpicklable exception
                conn.send((False, RuntimeError(f"in a forked copy: {reply[1]!r} ({err})"), None))
