"""neurophys vs PyTorch, side by side in one process: prints a table, writes JSON.

    python -m benchmarks.run                 # CPU: NumPy vs PyTorch CPU (+ GPU if one answers)
    python -m benchmarks.run --cpu --quick   # a fast smoke run
    python -m benchmarks.run --gpu           # CuPy kernels vs PyTorch CUDA eager, + bandwidth/peak fractions

Each row times the same computation in neurophys and in PyTorch (benchmarks/torch_ref.py)
with the same number of threads, after a warm-up, as the median of several repeats.
``speedup`` = torch seconds / neurophys seconds (>= 1: neurophys at least as fast).
An epoch row times ``--batches`` minibatches and scales to the full 60,000-image epoch
(``epoch_s``); ``--batches 0`` runs the whole epoch.

Threads: ``--threads N`` (or OMP_NUM_THREADS) gives NumPy's BLAS and PyTorch the same count
(set in the environment before NumPy loads when run as a script, and through threadpoolctl
in any case). The neurophys models that split a batch over threads (``EqPropNet.threads``,
``GPELayer.threads``, ``Adam.threads``) or over cores (``PhysNet.cores``: the shards beyond the
first run in forked copies of the net) get the same N; inside their shards BLAS runs on one
thread, so neither library computes on more than N cores at once. CPU results go to
``cpu_1thread.json``, ``cpu_2threads.json``, ... so runs at several thread counts sit side by
side; each file records the load average before and after.
Timing: neurophys and PyTorch runs alternate (a, b, a, b, ...) so both see the same load, and
each side reports its best run (epoch rows: batches alternate, and each side's total counts).
This is a benchmark, not a test: nothing here asserts a time.
"""
from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from datetime import datetime, timezone
from pathlib import Path


def _threads_from_argv():
    """--threads N sets the BLAS/OpenMP threads of NumPy and PyTorch alike; it must act before numpy loads."""
    for i, a in enumerate(sys.argv):
        n = sys.argv[i + 1] if a == "--threads" and i + 1 < len(sys.argv) else (
            a.split("=", 1)[1] if a.startswith("--threads=") else None)
        if n is not None:
            for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
                os.environ[var] = n


if __name__ == "__main__":
    _threads_from_argv()

import numpy  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from neurophys import backend as B  # noqa: E402
from neurophys import files  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results"
MNIST_TRAIN = 60000

# Lesson 06's default-tier recipe (lessons/06_eqprop_mnist.py) and document 004's configuration.
EQPROP_LESSON06 = dict(sizes=[784, 500, 10], energy="scellier", eps=1.0, n_free=12, n_nudged=4, beta=0.5,
                       nudging="symmetric", lr=[0.2, 0.1], batch=32)
EQPROP_DOC004 = dict(sizes=[784, 500, 10], energy="raw", eps=0.5, n_free=30, n_nudged=10, beta=1.0,
                     nudging="one-sided", lr=[0.1, 0.1], batch=128)


# ------------------------------------------------------------------ timing
# Every CPU row sleeps this long (untimed) before each timed run or batch, so that neither
# library's run shares the cores with the other's spinning idle threads (see compare).
SETTLE_S = 0.02


def settle_for(device: str) -> float:
    """The untimed sleep before each timed run: SETTLE_S on the CPU, none on a GPU."""
    return SETTLE_S if device == "cpu" else 0.0


def host_clock():
    """A clock for the CPU: wall seconds of fn()."""
    def clock(fn):
        t0 = time.perf_counter()
        fn()
        return time.perf_counter() - t0
    return clock


def cupy_clock():
    """A clock for cupy work: seconds between two CUDA events recorded around fn() on the
    current stream. A host-side synchronize costs a round trip (hundreds of µs in a sandboxed
    VM), which would swamp sub-millisecond kernels; the events time the GPU's own timeline
    (launch gaps included, the round trip not)."""
    cp = B.xp()

    def clock(fn):
        start, end = cp.cuda.Event(), cp.cuda.Event()
        start.record()
        fn()
        end.record()
        end.synchronize()
        return cp.cuda.get_elapsed_time(start, end) / 1e3
    return clock


def torch_clock(torch):
    """The same for PyTorch CUDA work, with PyTorch's own events on its current stream."""
    def clock(fn):
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        fn()
        end.record()
        end.synchronize()
        return start.elapsed_time(end) / 1e3
    return clock


def clocks_for(device: str, torch=None):
    """(neurophys clock, PyTorch clock): wall time on the CPU, CUDA events on a GPU."""
    if device == "cpu":
        return host_clock(), host_clock()
    return cupy_clock(), (torch_clock(torch) if torch is not None else None)


def timeit(fn, repeat: int = 5, warmup: int = 1, clock=None) -> float:
    """Median seconds of fn() by ``clock`` (default: wall time) over ``repeat`` runs after ``warmup`` runs."""
    clock = clock or host_clock()
    for _ in range(warmup):
        clock(fn)
    return statistics.median(clock(fn) for _ in range(repeat))


def compare(neuro, ref=None, repeat: int = 5, clock_neuro=None, clock_ref=None, settle: float = 0.0):
    """Time ``neuro`` and ``ref`` in alternation (a, b, a, b, ...), so that both see the same
    load on a shared machine; returns (best neurophys s, best reference s or None, spreads).
    The clocks (default: wall time) come from :func:`clocks_for`.

    The best of ``repeat`` is the run least disturbed by other programs; the spread
    (median / best) says how disturbed the machine was. ``settle`` seconds of sleep before
    each timed run (untimed) let the other library's idle threads stop spinning: PyTorch's
    OpenMP workers spin-wait ~7 ms of CPU after each call (measured here), which would
    otherwise take a core from the run that follows it."""
    clock_neuro, clock_ref = clock_neuro or host_clock(), clock_ref or host_clock()
    clock_neuro(neuro)
    if ref is not None:
        clock_ref(ref)
    tn, tr = [], []
    for _ in range(repeat):
        time.sleep(settle)
        tn.append(clock_neuro(neuro))
        if ref is not None:
            time.sleep(settle)
            tr.append(clock_ref(ref))
    spread = {"neurophys_median_over_best": statistics.median(tn) / min(tn)}
    if tr:
        spread["torch_median_over_best"] = statistics.median(tr) / min(tr)
    return min(tn), (min(tr) if tr else None), spread


def row(name, device, neuro_s, torch_s, **extra):
    r = {"name": name, "device": device, "neurophys_s": neuro_s, "torch_s": torch_s,
         "speedup": (torch_s / neuro_s) if (neuro_s and torch_s) else None}
    r.update(extra)
    return r


def load_torch():
    """The torch module, or None when the `bench` extra (PyTorch) is not installed."""
    try:
        import torch
    except ImportError:
        return None
    return torch


def cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


# ------------------------------------------------------------------ GPE layer
def bench_gpe_layer(torch, device: str, scheme: str = "euler", batch: int = 128, grid: int = 32,
                    n_steps: int = 5, repeat: int = 5, use_kernels=None):
    """GPELayer forward + backward on (batch, grid, grid, 2), document 000's settings."""
    from neurophys.kernels import dispatch as D
    from neurophys.physics import gpe as P
    prm = P.document_params()
    rng = numpy.random.default_rng(0)
    x_h = rng.normal(size=(batch, grid, grid, 2)).astype(numpy.float32)
    d_h = rng.normal(size=x_h.shape).astype(numpy.float32)
    xp = B.xp()
    x, d = xp.asarray(x_h), xp.asarray(d_h)
    if device == "cpu":
        layer = P.GPELayer(n_steps, 0.01, V=prm["V"], g=prm["g"], scheme=scheme)
        layer.threads = THREADS[0]   # T threads: the batch of fields in T shards side by side

        def neuro():
            layer.forward(x)
            layer.backward(d)
        label = f"GPELayer.forward+backward (NumPy, {layer.threads} shard thread(s))"
    else:  # the kernels through dispatch: fused Euler / kernel phase steps around cuFFT
        psi0 = x[..., 0] + 1j * x[..., 1]
        G = (d[..., 0] + 1j * d[..., 1]).astype(psi0.dtype)

        def neuro():
            out, tape = D.gpe_evolve(psi0, n_steps, 0.01, prm["V"], prm["g"], scheme=scheme, use_kernels=True)
            D.gpe_evolve_backward(tape, G)
        label = "dispatch.gpe_evolve(+backward), CUDA kernels"
    ref = None
    if torch is not None:
        dev = "cuda" if device == "gpu" else "cpu"
        xt, dt_ = torch.tensor(x_h, device=dev), torch.tensor(d_h, device=dev)
        from benchmarks import torch_ref as T
        ref = lambda: T.gpe_layer_forward_backward(xt, dt_, scheme, n_steps, 0.01, prm["V"], prm["g"])
    settle = settle_for(device)
    t_neuro, t_torch, spread = compare(neuro, ref, repeat, *clocks_for(device, torch), settle=settle)
    return row(f"GPE layer fwd+bwd ({scheme}, {batch}x{grid}x{grid}, {n_steps} steps)", device, t_neuro, t_torch,
               neurophys_impl=label, settle_s=settle, **spread)


# ------------------------------------------------------------------ EqProp relaxation


def _eqprop_arrays(cfg, batch, seed=0):
    rng = numpy.random.default_rng(seed)
    sizes = cfg["sizes"]
    x = rng.random((batch, sizes[0])).astype(numpy.float32)
    t = numpy.eye(sizes[-1], dtype=numpy.float32)[rng.integers(0, sizes[-1], batch)]
    return x, t


def bench_eqprop_relax(torch, device: str, cfg=EQPROP_DOC004, batch: int = 128, repeat: int = 5):
    """The free phase: n_free relaxation steps from zero states, clamped input."""
    from neurophys.kernels import dispatch as D
    from neurophys.models.eqprop import EqPropNet
    n_steps = cfg["n_free"]
    x_h, t_h = _eqprop_arrays(cfg, batch)
    net = EqPropNet(cfg["sizes"], energy=cfg["energy"], eps=cfg["eps"], n_free=n_steps, rng=B.rng(0))
    x = B.asarray(x_h)
    if device == "cpu":
        net.threads = THREADS[0]   # T threads: the batch relaxes in T shards side by side (EqPropNet.threads)
        neuro = lambda: net.free_phase(x)
        label = f"EqPropNet.free_phase (NumPy, threads={net.threads})"
    else:
        s0 = net.init_states(x)
        free = [False] + [True] * net.L
        const = [None, net.b[0] + x @ net.W[0]] + [None] * (net.L - 1)
        lo, hi = net.box()
        neuro = lambda: D.eqprop_relax_steps(s0, net.W, net.b, free, net.rho, net.drho, cfg["eps"], 0.0, None, -1,
                                             const, lo, hi, n_steps=n_steps, use_kernels=True)
        label = "dispatch.eqprop_relax_steps, fused CUDA kernel"
    ref = None
    if torch is not None:
        from benchmarks import torch_ref as T
        dev = "cuda" if device == "gpu" else "cpu"
        W = [torch.tensor(B.to_host(w), device=dev) for w in net.W]
        b = [torch.tensor(B.to_host(v), device=dev) for v in net.b]
        xt = torch.tensor(x_h, device=dev)
        s0_t = [xt] + [torch.zeros(batch, n, device=dev) for n in cfg["sizes"][1:]]
        ref = lambda: T.eqprop_relax(xt, W, b, s0_t, n_steps, cfg["eps"], order=net.order)
    settle = settle_for(device)
    t_neuro, t_torch, spread = compare(neuro, ref, repeat, *clocks_for(device, torch), settle=settle)
    sizes = cfg["sizes"]
    # per step, each free-free connection W_l (l >= 1) is used twice (up and down): 2 matvecs
    flops = 2 * batch * n_steps * 2 * sum(sizes[l] * sizes[l + 1] for l in range(1, len(sizes) - 1))
    return row(f"EqProp relaxation ({'-'.join(map(str, sizes))}, batch {batch}, {n_steps} steps)", device,
               t_neuro, t_torch, neurophys_impl=label, flops=flops, order=net.order, settle_s=settle, **spread)


# ------------------------------------------------------------------ training epochs
def _mnist(normalise):
    from neurophys.data import load_mnist
    return load_mnist(normalise=normalise)


def alternate_batches(n: int, neuro_step, ref_step=None, clock_neuro=None, clock_ref=None, settle: float = 0.0):
    """Run batch i of neurophys, then batch i of the reference, for i < n; total seconds of each
    (``settle``: untimed sleep before each batch, as in :func:`compare`; clocks as there)."""
    clock_neuro, clock_ref = clock_neuro or host_clock(), clock_ref or host_clock()
    tn = tr = 0.0
    for i in range(n):
        time.sleep(settle)
        tn += clock_neuro(lambda: neuro_step(i))
        if ref_step is not None:
            time.sleep(settle)
            tr += clock_ref(lambda: ref_step(i))
    return tn, (tr if ref_step is not None else None)


def _epoch_row(name, device, n, total, t_neuro, t_torch, impl):
    scale = total / n
    return row(name, device, t_neuro * scale, None if t_torch is None else t_torch * scale, batches_timed=n,
               batches_per_epoch=total, neurophys_impl=impl,
               note="epoch seconds scaled from the batches timed" if n < total else "full epoch")


def bench_physnet_epoch(torch, device: str, n_batches: int = 10, batch: int = 128):
    """Lesson 03: PhysNet (document 000) training, Adam lr 1e-3, batch 128."""
    from neurophys.blocks import Adam, softmax_cross_entropy_grad
    from neurophys.models.physnet import PhysNet
    x_tr, y_tr, _, _ = _mnist("standard")
    total = MNIST_TRAIN // batch + (MNIST_TRAIN % batch > 0)
    n = total if n_batches in (0, None) else min(n_batches, total)
    order = numpy.random.default_rng(0).permutation(len(x_tr))[: n * batch]
    net = PhysNet(rng=B.rng(0))
    opt = Adam(lr=1e-3)
    if device == "cpu":
        net.cores = THREADS[0]     # T cores: the batch in T shards side by side (PhysNet.cores: forked copies)
        opt.threads = THREADS[0]   # and Adam's update in T pieces side by side (Adam.threads)

    def neuro_step(i):
        idx = B.xp().asarray(order[i * batch:(i + 1) * batch])
        z = net.forward(x_tr[idx])
        net.backward(softmax_cross_entropy_grad(z, y_tr[idx]))
        opt.step(net.params, net.grads)

    neuro_step(0)  # warm-up
    ref_step = None
    if torch is not None:
        from benchmarks import torch_ref as T
        dev = "cuda" if device == "gpu" else "cpu"
        model = T.PhysNet().to(dev)
        topt = torch.optim.Adam(model.parameters(), lr=1e-3)
        xt = torch.tensor(B.to_host(x_tr).reshape(-1, 1, 28, 28), device=dev)
        yt = torch.tensor(B.to_host(y_tr), device=dev)
        idx_t = torch.tensor(order, device=dev)

        def ref_step(i):
            ib = idx_t[i * batch:(i + 1) * batch]
            T.physnet_train_step(model, topt, xt[ib], yt[ib])

        ref_step(0)  # warm-up
    settle = settle_for(device)
    t_neuro, t_torch = alternate_batches(n, neuro_step, ref_step, *clocks_for(device, torch), settle=settle)
    r = _epoch_row(f"Lesson 03 epoch: PhysNet (doc 000), batch {batch}", device, n, total, t_neuro, t_torch,
                   f"PhysNet + Adam (NumPy; ConvPool2D blocks, GPELayer on (Re, Im) planes; "
                   f"{net.cores} core(s): shards beyond the first in forked copies, Adam in {opt.threads} thread(s))")
    r["settle_s"] = settle
    return r


def bench_eqprop_epoch(torch, device: str, cfg=EQPROP_LESSON06, n_batches: int = 40, label="Lesson 06"):
    """Lesson 06: one EqProp epoch (free phase, nudged phase(s), local update) over MNIST."""
    from neurophys.models.eqprop import EqPropNet
    x_tr, y_tr, _, _ = _mnist("unit")
    batch = cfg["batch"]
    total = MNIST_TRAIN // batch + (MNIST_TRAIN % batch > 0)
    n = total if n_batches in (0, None) else min(n_batches, total)
    order = numpy.random.default_rng(0).permutation(len(x_tr))[: n * batch]
    net = EqPropNet(cfg["sizes"], energy=cfg["energy"], eps=cfg["eps"], n_free=cfg["n_free"],
                    n_nudged=cfg["n_nudged"], beta=cfg["beta"], nudging=cfg["nudging"], lr=cfg["lr"], rng=B.rng(0))
    if device == "cpu":
        net.threads = THREADS[0]   # T threads: x W_0, the input layer's gradient and the update split over them;
                                   # a batch of 32 relaxes in one thread (shards need >= 32 examples each)

    def neuro_step(i):
        idx = B.xp().asarray(order[i * batch:(i + 1) * batch])
        net.train_step(x_tr[idx], y_tr[idx])

    neuro_step(0)  # warm-up
    ref_step = None
    if torch is not None:
        from benchmarks import torch_ref as T
        dev = "cuda" if device == "gpu" else "cpu"
        ref = EqPropNet(cfg["sizes"], energy=cfg["energy"], rng=B.rng(0))
        W = [torch.tensor(B.to_host(w), device=dev) for w in ref.W]
        b = [torch.tensor(B.to_host(v), device=dev) for v in ref.b]
        xt = torch.tensor(B.to_host(x_tr), device=dev)
        tt = torch.nn.functional.one_hot(torch.tensor(B.to_host(y_tr), device=dev), cfg["sizes"][-1]).float()
        idx_t = torch.tensor(order, device=dev)
        args = (cfg["eps"], cfg["n_free"], cfg["n_nudged"], cfg["beta"], cfg["lr"], cfg["nudging"], net.order)

        def ref_step(i):
            ib = idx_t[i * batch:(i + 1) * batch]
            T.eqprop_train_step(xt[ib], tt[ib], W, b, *args)

        ref_step(0)  # warm-up
    settle = settle_for(device)
    t_neuro, t_torch = alternate_batches(n, neuro_step, ref_step, *clocks_for(device, torch), settle=settle)
    r = _epoch_row(f"{label} epoch: EqProp {'-'.join(map(str, cfg['sizes']))}, batch {batch}, "
                   f"{cfg['n_free']}/{cfg['n_nudged']} steps, {cfg['nudging']}", device, n, total, t_neuro, t_torch,
                   f"EqPropNet.train_step (threads={net.threads})" if device == "cpu" else "EqPropNet.train_step")
    r["settle_s"] = settle
    return r


# ------------------------------------------------------------------ GPU only: bandwidth and peak
def gpu_peaks():
    """Nominal memory bandwidth (if the driver reports it), measured copy bandwidth, measured SGEMM rate."""
    cp = B.xp()
    out = {}
    dev = cp.cuda.Device()
    try:
        props = cp.cuda.runtime.getDeviceProperties(dev.id)
        out["gpu"] = props["name"].decode() if isinstance(props["name"], bytes) else str(props["name"])
    except Exception:
        out["gpu"] = "unknown"
    try:
        clock_khz = dev.attributes["MemoryClockRate"]
        bus_bits = dev.attributes["GlobalMemoryBusWidth"]
        out["nominal_bandwidth_GBs"] = 2 * clock_khz * 1e3 * bus_bits / 8 / 1e9
    except Exception:
        out["nominal_bandwidth_GBs"] = None
    a = cp.ones(256 * 2**20, dtype=cp.float32)  # 1 GiB, into a preallocated array (a.copy() would
    b = cp.empty_like(a)                           # allocate each time: it measured a third of this rate)
    t = timeit(lambda: cp.copyto(b, a), 10, clock=cupy_clock())
    out["copy_bandwidth_GBs"] = 2 * a.nbytes / t / 1e9
    m = cp.ones((8192, 8192), dtype=cp.float32)
    t = timeit(lambda: m @ m, 5, clock=cupy_clock())
    out["sgemm_TFLOPs"] = 2 * 8192**3 / t / 1e12
    return out


def bench_gpe_step_bandwidth(torch, peaks, batch: int = 16, grid: int = 512, n_steps: int = 20):
    """The one-step Euler kernel on a large field: memory-bound, 16 bytes per point per step."""
    from neurophys.kernels import gpe as KG
    cp = B.xp()
    rng = numpy.random.default_rng(0)
    psi_h = (rng.normal(size=(batch, grid, grid)) + 1j * rng.normal(size=(batch, grid, grid))).astype(
        numpy.complex64) * 0.1
    psi = cp.asarray(psi_h)
    t_k = timeit(lambda: KG.euler_steps(psi, 0.01, n_steps, -0.15, 0.3, fused=False), 5, clock=cupy_clock())
    bytes_moved = 16 * psi.size * n_steps
    bw = bytes_moved / t_k / 1e9
    t_torch = None
    if torch is not None:
        from benchmarks import torch_ref as T
        pt = torch.tensor(psi_h, device="cuda")
        with torch.no_grad():
            t_torch = timeit(lambda: T.gpe_euler(pt, n_steps, 0.01, -0.15, 0.3), 5, clock=torch_clock(torch))
    return row(f"GPE Euler step kernel ({batch}x{grid}x{grid} complex64, {n_steps} launches)", "gpu", t_k, t_torch,
               bandwidth_GBs=bw,
               fraction_of_nominal_bandwidth=(bw / peaks["nominal_bandwidth_GBs"]
                                              if peaks.get("nominal_bandwidth_GBs") else None),
               fraction_of_copy_bandwidth=bw / peaks["copy_bandwidth_GBs"])


# ------------------------------------------------------------------ the suites
THREADS = [1]   # the thread count set by set_threads (PhysNet's data-parallel shards use it)


def set_threads(threads: int, torch=None) -> int:
    """The same number of threads for NumPy's BLAS (threadpoolctl, which acts after NumPy has
    loaded) and PyTorch's intra-op pool. Element-wise NumPy stays on one thread; the threads
    neurophys uses beyond BLAS are its own (e.g. scipy.fft workers), sized from the same limit."""
    threads = int(threads)
    from threadpoolctl import threadpool_limits
    threadpool_limits(limits=threads, user_api="blas")
    THREADS[0] = threads
    if torch is not None:
        torch.set_num_threads(threads)
    return threads


def run_cpu(quick: bool, batches: int, repeat: int, threads: int | None = None):
    torch = load_torch()
    threads = set_threads(threads or int(os.environ.get("OMP_NUM_THREADS") or os.cpu_count() or 1), torch)
    rows = []
    # split-step's FFTs (physics.gpe: scipy.fft on NumPy arrays) may use as many workers as BLAS threads
    # (pocketfft threads only large transforms: at 128 × 32×32 it stays on one thread, measured here)
    import scipy.fft
    with B.using("numpy"), scipy.fft.set_workers(threads):
        rows.append(bench_gpe_layer(torch, "cpu", "euler", batch=16 if quick else 128, repeat=repeat))
        rows.append(bench_gpe_layer(torch, "cpu", "splitstep", batch=16 if quick else 128, repeat=repeat))
        rows.append(bench_eqprop_relax(torch, "cpu", batch=32 if quick else 128, repeat=repeat))
        rows.append(bench_physnet_epoch(torch, "cpu", n_batches=1 if quick else batches))
        rows.append(bench_eqprop_epoch(torch, "cpu", n_batches=2 if quick else 4 * batches))
    meta = {"device": "cpu", "cpu": cpu_name(), "threads": threads,
            "torch": getattr(torch, "__version__", None), "numpy": numpy.__version__}
    return rows, meta


def run_gpu(quick: bool, batches: int, repeat: int):
    torch = load_torch()
    if torch is not None and not torch.cuda.is_available():
        torch = None  # a CPU-only torch build: no CUDA reference here
    rows = []
    with B.using("cupy"):
        peaks = gpu_peaks()
        rows.append(bench_gpe_step_bandwidth(torch, peaks, batch=4 if quick else 16))
        rows.append(bench_gpe_layer(torch, "gpu", "euler", repeat=repeat))
        rows.append(bench_gpe_layer(torch, "gpu", "splitstep", repeat=repeat))
        for batch in (32, 128):
            r = bench_eqprop_relax(torch, "gpu", batch=batch, repeat=repeat)
            r["fraction_of_sgemm"] = r["flops"] / r["neurophys_s"] / (peaks["sgemm_TFLOPs"] * 1e12)
            rows.append(r)
        r = bench_physnet_epoch(torch, "gpu", n_batches=2 if quick else batches)
        r["neurophys_impl"] += (" on cupy (GPELayer through kernels.dispatch: the fused GPE kernels; "
                                "convolutions and the rest as cupy arrays)")
        rows.append(r)
        r = bench_eqprop_epoch(torch, "gpu", n_batches=4 if quick else 4 * batches)
        r["neurophys_impl"] += (" on cupy: library as-is (EqPropNet.relax through B.op('eqprop.relax_steps'): "
                                "the fused kernel where it covers the case)")
        rows.append(r)
    meta = {"device": "gpu", **peaks, "torch": getattr(torch, "__version__", None)}
    return rows, meta


def format_table(rows) -> str:
    lines = [f"{'benchmark':74s} {'dev':4s} {'neurophys s':>12s} {'torch s':>10s} {'speedup':>8s}  extra"]
    for r in rows:
        extra = []
        for k in ("fraction_of_nominal_bandwidth", "fraction_of_copy_bandwidth", "fraction_of_sgemm"):
            if r.get(k) is not None:
                extra.append(f"{k.replace('fraction_of_', '')} {100 * r[k]:.0f}%")
        if r.get("batches_timed") and r["batches_timed"] < r.get("batches_per_epoch", 0):
            extra.append(f"{r['batches_timed']}/{r['batches_per_epoch']} batches timed")
        ts = "-" if r["torch_s"] is None else f"{r['torch_s']:.4g}"
        sp = "-" if r["speedup"] is None else f"{r['speedup']:.2f}x"
        lines.append(f"{r['name'][:74]:74s} {r['device']:4s} {r['neurophys_s']:12.4g} {ts:>10s} {sp:>8s}  "
                     + ", ".join(extra))
    return "\n".join(lines)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--cpu", action="store_true", help="CPU suite only")
    ap.add_argument("--gpu", action="store_true", help="GPU suite only")
    ap.add_argument("--quick", action="store_true", help="tiny sizes, one batch per epoch row (smoke run)")
    ap.add_argument("--batches", type=int, default=10, help="batches timed per lesson-03 epoch row "
                                                           "(lesson 06 rows time 4x as many; 0 = whole epoch)")
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--threads", type=int, default=None,
                    help="BLAS/OpenMP threads for both NumPy and PyTorch (default: $OMP_NUM_THREADS or all cores; "
                         "use 1 on a shared machine: multithreaded BLAS under contention is erratic)")
    ap.add_argument("--out", type=Path, default=RESULTS)
    args = ap.parse_args(argv)
    want_cpu = args.cpu or not args.gpu
    want_gpu = args.gpu or (not args.cpu and B.gpu_available())
    args.out.mkdir(parents=True, exist_ok=True)
    written = []
    load_before = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    for kind, runner, wanted in (("cpu", run_cpu, want_cpu), ("gpu", run_gpu, want_gpu)):
        if not wanted:
            continue
        if kind == "gpu" and not B.gpu_available():
            print("GPU suite skipped: no CUDA GPU with cupy answers here", file=sys.stderr)
            continue
        rows, meta = (runner(args.quick, args.batches, args.repeat, args.threads) if kind == "cpu"
                      else runner(args.quick, args.batches, args.repeat))
        meta.update(date=datetime.now(timezone.utc).isoformat(timespec="seconds"), quick=args.quick,
                    batches=args.batches, repeat=args.repeat, python=platform.python_version())
        print(f"\n== {kind.upper()}: {meta.get('cpu') or meta.get('gpu')}  (torch {meta.get('torch')})")
        print(format_table(rows))
        meta["load_average_1min_after"] = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
        meta["load_average_1min_before"] = load_before
        tag = f"_{meta['threads']}thread{'s' if meta['threads'] > 1 else ''}" if kind == "cpu" else ""
        path = args.out / f"{kind}{tag}{'_quick' if args.quick else ''}.json"
        files.write_json(path, {"meta": meta, "rows": rows})   # atomically
        written.append(path)
        print(f"wrote {path}")
    return written


if __name__ == "__main__":
    main()
