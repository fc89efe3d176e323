"""The cupy implementations of neurophys's named operations: fused kernels, with a safe fallback.

Physics and models call named operations through :func:`neurophys.backend.op`; this module
registers its functions as the ``'cupy'`` implementations (:func:`register`, run when
:mod:`neurophys.kernels` is imported, which the backend does when cupy is selected).
Each has the signature of the reference it stands in for:

=======================  =====================================  ===============================================
operation                this                                   reference (NumPy; also runs on cupy, unfused)
=======================  =====================================  ===============================================
``gpe.evolve``           :func:`gpe_evolve`                     :func:`neurophys.physics.gpe.evolve`
``gpe.evolve_backward``  :func:`gpe_evolve_backward`            :func:`neurophys.physics.gpe.evolve_backward`
``eqprop.relax_steps``   :func:`eqprop_relax_steps`             :func:`neurophys.models.eqprop.relax_steps`
``eqprop.weight_grads``  :func:`eqprop_weight_grads`            :func:`neurophys.models.eqprop.weight_grads`
=======================  =====================================  ===============================================

``use_kernels``: None (default) runs the CUDA kernels when the backend is cupy and the
NumPy reference otherwise; True insists on the kernels (a :class:`KernelError` on the
numpy backend says so); False always runs the reference. On cupy, a case a kernel does
not cover (a smooth ρ, a clamped output, a field too large to fuse, ...) runs the
reference on the GPU and warns once with a :class:`KernelFallbackWarning` that says why;
it never returns numbers from a kernel that does not support the case. The environment
variable ``NEUROPHYS_KERNELS=0`` turns the kernels off everywhere. Inside
:func:`neurophys.kernels.loader.host_emulation` the same functions run the kernels on the
CPU (NumPy arrays), which is how the tests check the wiring without a GPU.

Only public functions of :mod:`neurophys.physics.gpe`, :mod:`neurophys.models.eqprop` and
:mod:`neurophys.blocks.activations` are used; they never import this module.
"""
from __future__ import annotations

import os
import warnings

import numpy

from .. import backend as B
from .. import validate as V_
from ..blocks.activations import ACTIVATIONS
from ..models import eqprop as M
from ..physics import gpe as P
from . import eqprop as KE
from . import gpe as KG
from .loader import KernelError, emulating

_warned: set = set()


class KernelFallbackWarning(UserWarning):
    """A kernel was skipped for a case it does not cover; the reference ran instead."""


def _fallback(reason: str):
    if reason not in _warned:
        _warned.add(reason)
        warnings.warn(f"neurophys kernels: {reason}; running the NumPy/cupy reference instead",
                      KernelFallbackWarning, stacklevel=3)


def kernels_wanted(use_kernels=None) -> bool:
    """Whether to try the kernels: cupy backend (or use_kernels=True), not turned off by env."""
    if use_kernels is False or os.environ.get("NEUROPHYS_KERNELS", "1") == "0":
        return False
    if emulating():
        return True
    if use_kernels is True and not B.is_gpu():
        raise KernelError(f"use_kernels=True asks for the CUDA kernels, but the backend is {B.name()!r}; "
                          "run with --backend cupy on a GPU (or leave use_kernels=None for the NumPy reference)")
    return B.is_gpu()


# ------------------------------------------------------------------ GPE
class KernelTape:
    """What :func:`gpe_evolve` keeps for the kernel backward: Euler's trajectory (the field before
    every step), or the split-step's :class:`neurophys.physics.gpe.Tape` (fields of a batch)."""

    def __init__(self, scheme, n_steps, kwargs, trajectory=None, inner=None):
        self.scheme, self.n_steps, self.kwargs = scheme, n_steps, kwargs
        self.trajectory, self.inner = trajectory, inner

    @property
    def nbytes(self) -> int:
        return int(self.trajectory.nbytes if self.trajectory is not None else self.inner.nbytes)


def gpe_evolve(psi, n_steps: int, dt: float, V=0.0, g=0.0, scheme: str = "splitstep", dx: float = 1.0,
               dy=None, imaginary: bool = False, checkpoint=None, record=None, check: bool = True,
               use_kernels=None, **scheme_kw):
    """:func:`neurophys.physics.gpe.evolve`, fused on a GPU (operation ``gpe.evolve``).

    Euler runs all steps in one launch when the field fits in shared memory (else one
    launch per step); split-step is :func:`neurophys.physics.gpe.evolve` with the kernels
    as its real-space half steps (``phase_ops``), around cuFFT. Euler's stability check is
    made on the initial field (the fused loop cannot stop between steps) and the final
    field is checked for NaN/inf.
    """
    if not kernels_wanted(use_kernels):
        return P.evolve(psi, n_steps, dt, V, g, scheme, dx, dy, imaginary, checkpoint, record, check, **scheme_kw)
    n_steps = V_.positive_int("n_steps", n_steps, minimum=0)   # the checks of gpe.evolve, on the fused path too
    P.check_g(g, psi)
    reason = None
    if n_steps < 1:
        reason = "gpe_evolve with n_steps < 1 has nothing to fuse"
    elif checkpoint is not None or record is not None:
        reason = "gpe_evolve with checkpoint= or record= is not fused"
    elif scheme not in P.SCHEMES:
        raise ValueError(f"unknown scheme {scheme!r}; valid names are: {', '.join(P.SCHEMES)}")
    elif psi.dtype not in (numpy.complex64, numpy.complex128):
        reason = f"GPE kernels take complex64/complex128 fields, not {psi.dtype}"
    elif scheme_kw and set(scheme_kw) - {"laplacian"}:
        reason = f"GPE kernels do not take {sorted(scheme_kw)}"
    if reason:
        _fallback(reason)
        return P.evolve(psi, n_steps, dt, V, g, scheme, dx, dy, imaginary, checkpoint, record, check, **scheme_kw)
    P.check_field(psi)
    single = psi.ndim == 2
    field = psi[None] if single else psi          # the kernels take a batch (batch, Ny, Nx)
    Vk = P.prepare_V(V, field)
    Vk = Vk[None] if (single and getattr(Vk, "ndim", 0) == 3) else Vk
    kwargs = dict(dt=dt, V=V, g=g, dx=dx, dy=dy, imaginary=imaginary, **scheme_kw)
    n_steps = int(n_steps)
    if scheme == "euler":
        if check:
            P.check_euler_dt(field, P.check_dt(dt), Vk, g, dx, dy, imaginary)
        out, traj = KG.euler_steps(field, dt, n_steps, Vk, g, dx, dy, imaginary, store_trajectory=True)
        tape = KernelTape(scheme, n_steps, kwargs, trajectory=traj)
    else:
        out, inner = P.evolve(field, n_steps, dt, Vk, g, "splitstep", dx, dy, imaginary, check=False,
                              phase_ops=KG.PHASE_OPS, **scheme_kw)
        tape = KernelTape(scheme, n_steps, kwargs, inner=inner)
    B.check_finite("the evolved field", out)
    return (out[0] if single else out), tape


def gpe_evolve_backward(tape, grad_out, param_grads: bool = True):
    """:func:`neurophys.physics.gpe.evolve_backward` for either tape (operation ``gpe.evolve_backward``):
    (∂L/∂ψ₀, {'V', 'g', 'dt'}), or (∂L/∂ψ₀, {}) without ``param_grads``."""
    if not isinstance(tape, KernelTape):
        return P.evolve_backward(tape, grad_out, param_grads=param_grads)
    kw = tape.kwargs
    single = grad_out.ndim == 2
    G = grad_out[None] if single else grad_out
    V = P.prepare_V(kw["V"], G)
    Vk = V[None] if (single and getattr(V, "ndim", 0) == 3) else V
    if tape.scheme == "euler":
        G, grads = KG.euler_steps_adjoint(tape.trajectory, G, kw["dt"], Vk, kw["g"], kw["dx"], kw["dy"],
                                          kw["imaginary"])
    else:  # the reference's tape walk, with the kernels as the phase steps' adjoints (phase_ops in the tape)
        G, grads = P.evolve_backward(tape.inner, G, param_grads=param_grads)
    if not param_grads:
        return (G[0] if single else G), {}
    gV = grads["V"]
    if single and getattr(Vk, "ndim", 0) == 3:
        gV = gV[0]
    out = {"V": float(gV) if isinstance(V, float) else gV.reshape(V.shape),
           "g": float(grads["g"]), "dt": float(grads["dt"])}
    return (G[0] if single else G), out


# ------------------------------------------------------------------ EqProp
_IDENTITY, _HARD_SIGMOID = ACTIVATIONS["identity"], ACTIVATIONS["hard_sigmoid"]


def rho_kind(f, df):
    """The kernel's ρ kind of a layer: 0 for the named activation 'identity', 1 for 'hard_sigmoid'
    (recognised by the functions' identity, :mod:`neurophys.blocks.activations`), None otherwise."""
    if f is _IDENTITY.f and df is _IDENTITY.df:
        return KE.RHO_KINDS["identity"]
    if f is _HARD_SIGMOID.f and df is _HARD_SIGMOID.df:
        return KE.RHO_KINDS["hard_sigmoid"]
    return None


def eqprop_relax_steps(s, W, b, free, rho, drho, eps, beta=0.0, target=None, target_layer=-1,
                       const_drive=None, lo=None, hi=None, order: str = "alternating", n_steps: int = 1,
                       use_kernels=None):
    """:func:`neurophys.models.eqprop.relax_steps` (same arguments), fused on a GPU
    (operation ``eqprop.relax_steps``).

    The kernel covers: input clamped, all other layers free, the cost on the output layer,
    ρ the identity or the hard sigmoid, float32/float64, layers small enough for shared memory.
    """
    def reference():
        return M.relax_steps(s, W, b, free, rho, drho, eps, beta, target, target_layer, const_drive, lo, hi,
                             order, n_steps=n_steps)

    if not kernels_wanted(use_kernels):
        return reference()
    L = len(s) - 1
    kinds = [rho_kind(rho[l], drho[l]) for l in range(L + 1)]
    reason = None
    if free[0] or not all(free[1:]):
        reason = "the fused relaxation needs the input clamped and every other layer free"
    elif beta and target_layer % (L + 1) != L:
        reason = "the fused relaxation nudges the output layer only"
    elif None in kinds:
        reason = "the fused relaxation supports rho = identity or hard sigmoid only"
    elif s[1].dtype not in (numpy.float32, numpy.float64):
        reason = f"the fused relaxation takes float32/float64 states, not {s[1].dtype}"
    elif L + 1 > KE.MAX_LAYERS:
        reason = f"the fused relaxation supports at most {KE.MAX_LAYERS} layers"
    if reason is None:
        try:
            KE.relax_tile([a.shape[1] for a in s], s[1].shape[0], s[1].dtype.itemsize,
                          copies=1 if order == "alternating" else 2)
        except KernelError as err:
            reason = str(err)
    if reason:
        _fallback(reason)
        return reference()
    const = [None]
    for l in range(1, L + 1):
        c = const_drive[l] if const_drive is not None and const_drive[l] is not None else None
        if c is None:  # b_{l-1} plus the clamped input's drive for layer 1
            c = b[l - 1] + (rho[0](s[0]) @ W[0] if l == 1 else 0.0)
        const.append(c)
    lo = lo or [None] * (L + 1)
    hi = hi or [None] * (L + 1)
    return KE.relax(s, W, const, kinds, lo, hi, eps, int(n_steps), float(beta or 0.0),
                    target if beta else None, order)


def eqprop_weight_grads(net, s_a, s_b, denominator: float = 1.0, use_kernels=None):
    """:func:`neurophys.models.eqprop.weight_grads` (operation ``eqprop.weight_grads``):
    [∂E/∂θ(s_a) − ∂E/∂θ(s_b)] / denominator, per layer,

        W_l: −[ρ(a_l)ᵀρ(a_{l+1}) − ρ(b_l)ᵀρ(b_{l+1})] / denominator,   b_l: −Σ_batch [ρ(a_{l+1}) − ρ(b_{l+1})] / denominator

    one fused pass per layer on a GPU (EqPropNet.eqprop_gradient uses denominator = scale · batch).
    """
    kinds = [rho_kind(net.rho[l], net.drho[l]) for l in range(net.L + 1)]
    if not kernels_wanted(use_kernels) or None in kinds:
        if kernels_wanted(use_kernels):
            _fallback("the weight-update kernel supports rho = identity or hard sigmoid only")
        return M.weight_grads(net, s_a, s_b, denominator)
    out = {}
    for l in range(net.L):
        out[f"W{l}"], out[f"b{l}"] = KE.weight_grad(s_a[l], s_a[l + 1], s_b[l], s_b[l + 1], kinds[l], kinds[l + 1],
                                                    -1.0 / denominator)
    return out


# ------------------------------------------------------------------ the table
OPS = {"gpe.evolve": gpe_evolve, "gpe.evolve_backward": gpe_evolve_backward,
       "eqprop.relax_steps": eqprop_relax_steps, "eqprop.weight_grads": eqprop_weight_grads}


def register() -> None:
    """Register every function of :data:`OPS` as the cupy implementation of its operation."""
    for op_name, fn in OPS.items():
        B.register_op(op_name, "cupy", fn)
