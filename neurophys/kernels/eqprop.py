"""EqProp on the GPU: the fused relaxation and the weight-update reduction of ``eqprop.cu``.

The model (and the NumPy reference, :func:`neurophys.models.eqprop.relax_step`) lives in
:mod:`neurophys.models.eqprop`. Here the same steps (alternating or synchronous order)

    s_l <- clip(s_l - eps_l [s_l - rho'(s_l) drive_l + beta (s_l - t)[l = L]], lo_l, hi_l)

run n_steps at a time in one launch, each block holding a tile of examples' states in
shared memory. Supported: the input layer clamped, every other layer free, rho the
identity (kind 0) or the hard sigmoid clip(s, 0, 1) (kind 1), float32 or float64.

Arrays are cupy (``device='cuda'``, the default for cupy arrays) or NumPy with
``device='host'`` (the kernel compiled for the CPU; slow, for tests).
"""
from __future__ import annotations

import numpy

from .. import backend as B
from .loader import KernelError, module, real_suffix, resolve_target

THREADS = 256
MAX_SHARED_BYTES = 44 * 1024  # 48 KiB less the kernel's static shared memory (split-K scratch: 2 KiB in f64)
MAX_LAYERS = 8  # NP_EQ_MAX_LAYERS in eqprop.cu
RHO_KINDS = {"identity": 0, "hard_sigmoid": 1}
NULL = numpy.uint64(0)


def _address(a) -> int:
    """Device (cupy) or host (NumPy) address of a C-contiguous array."""
    return int(a.data.ptr) if hasattr(a.data, "ptr") else int(a.ctypes.data)


def relax_tile(sizes, batch: int, itemsize: int, tile=None, copies: int = 2) -> int:
    """Examples per block: enough blocks to fill a GPU (~64), ``copies`` state copies in 48 KiB
    (2 for the synchronous order, 1 for the alternating one)."""
    per_example = copies * sum(sizes[1:]) * itemsize
    fits = MAX_SHARED_BYTES // per_example
    if fits < 1:
        raise KernelError(f"eqprop relax: the free layers {list(sizes[1:])} hold {sum(sizes[1:])} units, too many "
                          f"for one example's {copies} state cop{'ies' if copies > 1 else 'y'} in 48 KiB of shared memory "
                          f"(at most {MAX_SHARED_BYTES // (copies * itemsize)}); use the NumPy/cupy relax_step loop")
    if tile is None:
        tile = 1
        while tile * 2 <= min(16, fits) and batch // (tile * 2) >= 64:
            tile *= 2
    tile = int(tile)
    if not 1 <= tile <= fits:
        raise KernelError(f"eqprop relax: tile={tile} examples per block does not fit (1..{fits})")
    return tile


def relax(s, W, const_drive, rho_kinds, lo, hi, eps: float, n_steps: int, beta: float = 0.0, target=None,
          order: str = "alternating", tile=None, device=None):
    """n_steps relaxation steps of layers 1..L in one launch; returns the new states.

    order: 'alternating' (odd layers, then even layers with the new odd states) or
    'synchronous' (all layers from the old states), as relax_step; the nudged output
    layer steps with eps / (1 + |beta|).

    s: [x, s_1, ..., s_L] (batch, n_l) — s_0 = x is clamped and not read (its drive is in c_1).
    W: [W_0, ..., W_{L-1}], W_l (n_l, n_{l+1}).
    const_drive: [None, c_1, ..., c_L], c_l (batch, n_l) or (n_l,): b_{l-1} plus clamped neighbours.
    rho_kinds: [k_0, ..., k_L] (0 identity, 1 hard sigmoid); lo, hi: per layer, None for no box.
    target: (batch, n_L) when beta != 0.
    """
    what = "eqprop relax"
    L = len(s) - 1
    if L < 1 or L + 1 > MAX_LAYERS or len(W) != L or len(const_drive) != L + 1:
        raise KernelError(f"{what}: needs 2..{MAX_LAYERS} layers with L weight matrices and L+1 drives")
    x = s[1]
    suffix, real = real_suffix(x.dtype, what)
    device = resolve_target(device, x, what)
    xp = B.get_array_module(x)
    batch = x.shape[0]
    sizes = [int(a.shape[1]) for a in s]
    keep = []  # keep every array whose address goes to the kernel alive until it has run

    def prep(a, shape, name):
        a = xp.ascontiguousarray(xp.asarray(a, dtype=real))
        if a.shape != shape:
            if a.ndim == 1 and shape[1:] == a.shape:
                a = xp.ascontiguousarray(xp.broadcast_to(a, shape))
            else:
                raise KernelError(f"{what}: {name} has shape {a.shape}, expected {shape}")
        keep.append(a)
        return a

    Ws = [prep(W[l], (sizes[l], sizes[l + 1]), f"W[{l}]") for l in range(L)]
    cs = [None] + [prep(const_drive[l], (batch, sizes[l]), f"const_drive[{l}]") for l in range(1, L + 1)]
    new = [s[0]] + [prep(s[l], (batch, sizes[l]), f"s[{l}]").copy() for l in range(1, L + 1)]
    keep.extend(new[1:])
    kinds = [int(k) for k in rho_kinds]
    if len(kinds) != L + 1 or any(k not in (0, 1) for k in kinds):
        raise KernelError(f"{what}: rho_kinds must be L+1 values in (0 identity, 1 hard sigmoid), got {rho_kinds}")
    if beta != 0.0:
        if target is None:
            raise KernelError(f"{what}: beta != 0 needs a target")
        tgt = prep(target, (batch, sizes[L]), "target")
    else:
        tgt = NULL
    has_box = [int(lo[l] is not None) for l in range(L + 1)]
    lo_a = numpy.array([0.0 if v is None else v for v in lo], dtype=real)
    hi_a = numpy.array([0.0 if v is None else v for v in hi], dtype=real)
    if order not in ("alternating", "synchronous"):
        raise KernelError(f"{what}: unknown order {order!r}; valid: 'alternating', 'synchronous'")
    copies = 1 if order == "alternating" else 2
    itemsize = numpy.dtype(real).itemsize
    tile = relax_tile(sizes, batch, itemsize, tile, copies)
    ptr = lambda arrs: xp.asarray(numpy.array([0 if a is None else _address(a) for a in arrs], dtype=numpy.int64))
    args = [ptr(Ws), ptr(cs), ptr(new), xp.asarray(numpy.array(sizes, dtype=numpy.int32)),
            xp.asarray(numpy.array(kinds, dtype=numpy.int32)), xp.asarray(lo_a), xp.asarray(hi_a),
            xp.asarray(numpy.array(has_box, dtype=numpy.int32)), tgt, real(beta), real(eps),
            numpy.int32(n_steps), numpy.int32(L), numpy.int32(batch), numpy.int32(tile),
            numpy.int32(order == "alternating")]
    module("eqprop", device).get_function(f"eqprop_relax_{suffix}")(
        ((batch + tile - 1) // tile,), (THREADS,), args, shared_mem=copies * tile * sum(sizes[1:]) * itemsize)
    return new


def weight_grad(A_plus, B_plus, A_ref, B_ref, kind_A: int, kind_B: int, coef: float, device=None):
    """dW = coef * (rho(A+)^T rho(B+) - rho(A-)^T rho(B-)), db = coef * sum_batch (rho(B+) - rho(B-))."""
    what = "eqprop weight_grad"
    suffix, real = real_suffix(A_plus.dtype, what)
    device = resolve_target(device, A_plus, what)
    xp = B.get_array_module(A_plus)
    batch, n_in = A_plus.shape
    n_out = B_plus.shape[1]
    arrs = [xp.ascontiguousarray(xp.asarray(a, dtype=real)) for a in (A_plus, B_plus, A_ref, B_ref)]
    if arrs[2].shape != (batch, n_in) or arrs[1].shape != (batch, n_out) or arrs[3].shape != (batch, n_out):
        raise KernelError(f"{what}: states of mismatched shapes {[a.shape for a in arrs]}")
    dW = xp.empty((n_in, n_out), dtype=real)
    db = xp.empty((n_out,), dtype=real)
    T = 16
    module("eqprop", device).get_function(f"eqprop_weight_grad_{suffix}")(
        ((n_out + T - 1) // T, (n_in + T - 1) // T), (T, T),
        [*arrs, dW, db, numpy.int32(batch), numpy.int32(n_in), numpy.int32(n_out), numpy.int32(kind_A),
         numpy.int32(kind_B), real(coef)])
    return dW, db
