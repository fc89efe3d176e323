"""Device-memory bandwidth on a GPU at several sizes, three ways, beside the one-step Euler kernel.

    python -m benchmarks.gpu_bandwidth [--out benchmarks/results]

Asks whether the Euler kernel's rate in ``gpu.json`` is the kernel's or the card's: a
device-to-device copy through cupy (``copyto`` into a preallocated array) and through PyTorch
(``copy_``), and the kernel (``kernels.gpe.euler_steps``, one launch per step), on buffers from
64 MiB to 4 GiB. Every rate counts bytes read plus bytes written, timed with CUDA events,
median of the repeats after a warm-up. Writes ``gpu_bandwidth.json``. A benchmark, not a test.
"""
from __future__ import annotations

import argparse
import platform
from datetime import datetime, timezone
from pathlib import Path

import numpy

from benchmarks.run import RESULTS, cupy_clock, gpu_peaks, load_torch, timeit, torch_clock
from neurophys import backend as B, files

SIZES_MIB = (64, 256, 1024, 4096)
PLANE = 512                      # Euler fields of 512 x 512 complex64: 2 MiB per field


def rates(size_mib: int, torch, repeat: int) -> dict:
    """GB/s (read + write) of each way of moving ``size_mib`` MiB once."""
    from neurophys.kernels import gpe as KG
    cp = B.xp()
    nbytes = size_mib * 2**20
    a = cp.ones(nbytes // 4, dtype=cp.float32)
    b = cp.empty_like(a)
    out = {"size_MiB": size_mib}
    out["cupy_copyto_GBs"] = 2 * nbytes / timeit(lambda: cp.copyto(b, a), repeat, clock=cupy_clock()) / 1e9
    if torch is not None:
        ta = torch.ones(nbytes // 4, device="cuda")
        tb = torch.empty_like(ta)
        out["torch_copy_GBs"] = 2 * nbytes / timeit(lambda: tb.copy_(ta), repeat, clock=torch_clock(torch)) / 1e9
    batch = max(1, nbytes // (8 * PLANE * PLANE))
    psi = (cp.ones((batch, PLANE, PLANE), dtype=cp.complex64) * 0.1)
    t = timeit(lambda: KG.euler_steps(psi, 0.01, 1, -0.15, 0.3, fused=False), repeat, clock=cupy_clock())
    out["euler_step_GBs"] = 2 * psi.nbytes / t / 1e9
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repeat", type=int, default=20)
    ap.add_argument("--out", type=Path, default=RESULTS)
    args = ap.parse_args(argv)
    torch = load_torch()
    if torch is not None and not torch.cuda.is_available():
        torch = None
    with B.using("cupy"):
        peaks = gpu_peaks()
        rows = [rates(s, torch, args.repeat) for s in SIZES_MIB]
    nominal = peaks.get("nominal_bandwidth_GBs")
    print(f"{peaks['gpu']}: nominal {nominal:.0f} GB/s" if nominal else peaks["gpu"])
    print(f"{'MiB':>6s} {'cupy copyto':>12s} {'torch copy_':>12s} {'Euler step':>12s}   (GB/s, read + write)")
    for r in rows:
        print(f"{r['size_MiB']:6d} {r['cupy_copyto_GBs']:12.0f} {r.get('torch_copy_GBs', float('nan')):12.0f} "
              f"{r['euler_step_GBs']:12.0f}")
    meta = {**peaks, "date": datetime.now(timezone.utc).isoformat(timespec="seconds"), "repeat": args.repeat,
            "torch": getattr(torch, "__version__", None), "python": platform.python_version(),
            "numpy": numpy.__version__}
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / "gpu_bandwidth.json"
    files.write_json(path, {"meta": meta, "rows": rows})   # atomically
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
