"""Pick the kernel or the NumPy reference: the one entry point the rest of neurophys calls.

Each function here has the signature of the reference it stands in for:

=====================================  ===============================================
this                                   reference (NumPy; also runs on cupy, unfused)
=====================================  ===============================================
:func:`gpe_evolve`                     :func:`neurophys.physics.gpe.evolve`
:func:`gpe_evolve_backward`            :func:`neurophys.physics.gpe.evolve_backward`
:func:`eqprop_relax_steps`             n × :func:`neurophys.models.eqprop.relax_step`
:func:`eqprop_weight_grads`            ``EqPropNet.dE_dtheta_difference``  
=====================================  ===============================================

``use_kernels``: None (default) runs the CUDA kernels when the backend is cupy and the
NumPy reference otherwise; True insists on the kernels (a :class:`KernelError` on the
numpy backend says so); False always runs the reference. On cupy, a case a kernel does
not cover (a smooth ρ, a clamped output, a field too large to fuse, ...) runs the
reference on the GPU and warns once with a :class:`KernelFallbackWarning` that says why;
it never returns numbers from a kernel that does not support the case. The environment
variable ``NEUROPHYS_KERNELS=0`` turns the kernels off everywhere.
"""
from __future__ import annotations

import os
import warnings

import numpy

from .. import backend as B
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
    """What :func:`gpe_evolve` keeps for the kernel backward: the fields of every step."""

    def __init__(self, scheme, n_steps, kwargs, trajectory):
        self.scheme, self.n_steps, self.kwargs, self.trajectory = scheme, n_steps, kwargs, trajectory

    @property
    def nbytes(self) -> int:
        return int(self.trajectory.nbytes)


def gpe_evolve(psi, n_steps: int, dt: float, V=0.0, g=0.0, scheme: str = "splitstep", dx: float = 1.0,
               dy=None, imaginary: bool = False, checkpoint=None, record=None, check: bool = True,
               use_kernels=None, **scheme_kw):
    """:func:`neurophys.physics.gpe.evolve`, fused on a GPU.

    Euler runs all steps in one launch when the field fits in shared memory (else one
    launch per step); split-step runs its two real-space half steps as kernels around
    cuFFT. Euler's stability check is made on the initial field (the fused loop cannot
    stop between steps) and the final field is checked for NaN/inf.
    """
    from ..physics import gpe as P
    if not kernels_wanted(use_kernels):
        return P.evolve(psi, n_steps, dt, V, g, scheme, dx, dy, imaginary, checkpoint, record, check, **scheme_kw)
    reason = None
    if int(n_steps) < 1:
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
    from . import gpe as K
    P.check_field(psi)
    single = psi.ndim == 2
    field = psi[None] if single else psi
    Vk = P._prepare_V(V, field)
    Vk = Vk[None] if (single and getattr(Vk, "ndim", 0) == 3) else Vk
    kwargs = dict(dt=dt, V=V, g=g, dx=dx, dy=dy, imaginary=imaginary, **scheme_kw)
    n_steps = int(n_steps)
    if scheme == "euler":
        if check:
            P._check_euler_dt(field, P._check_dt(dt), Vk, g, dx, dy, imaginary)
        out, traj = K.euler_steps(field, dt, n_steps, Vk, g, dx, dy, imaginary, store_trajectory=True)
    else:
        traj = B.get_array_module(field).empty((n_steps,) + field.shape, dtype=field.dtype)
        out = field
        for k in range(n_steps):
            traj[k] = out
            out = K.split_steps(out, dt, 1, Vk, g, dx, dy, imaginary, scheme_kw.get("laplacian", "spectral"))
    B.check_finite("the evolved field", out)
    return (out[0] if single else out), KernelTape(scheme, n_steps, kwargs, traj)


def gpe_evolve_backward(tape, grad_out, param_grads: bool = True):
    """:func:`neurophys.physics.gpe.evolve_backward` for either tape: (∂L/∂ψ₀, {'V', 'g', 'dt'}),
    or (∂L/∂ψ₀, {}) without ``param_grads``."""
    from ..physics import gpe as P
    if not isinstance(tape, KernelTape):
        return P.evolve_backward(tape, grad_out, param_grads=param_grads)
    from . import gpe as K
    kw = tape.kwargs
    single = grad_out.ndim == 2
    G = grad_out[None] if single else grad_out
    V = P._prepare_V(kw["V"], G)
    Vk = V[None] if (single and getattr(V, "ndim", 0) == 3) else V
    if tape.scheme == "euler":
        G, grads = K.euler_steps_adjoint(tape.trajectory, G, kw["dt"], Vk, kw["g"], kw["dx"], kw["dy"],
                                         kw["imaginary"])
    else:
        G, grads = _splitstep_backward(tape, G, Vk)
    if not param_grads:
        return (G[0] if single else G), {}
    gV = grads["V"]
    if single and getattr(Vk, "ndim", 0) == 3:
        gV = gV[0]
    out = {"V": float(gV) if isinstance(V, float) else gV.reshape(V.shape),
           "g": float(grads["g"]), "dt": float(grads["dt"])}
    return (G[0] if single else G), out


def _splitstep_backward(tape, G, V):
    """Back through the stored split-step fields: kernels for the phase steps, FFTs between."""
    from ..physics import gpe as P
    from . import gpe as K
    kw = tape.kwargs
    dt, g, imaginary = kw["dt"], kw["g"], kw["imaginary"]
    xp = B.get_array_module(G)
    T = xp.asarray(P.kinetic_symbol(G.shape, kw["dx"], kw["dy"], kw.get("laplacian", "spectral"),
                                    dtype=numpy.float64))
    Kf = P._kinetic_factor(T, dt, imaginary)
    c = -1.0 if imaginary else -1j
    gV = xp.zeros(G.shape, dtype=G.real.dtype)
    gg = 0.0
    gdt = 0.0
    for k in range(tape.n_steps - 1, -1, -1):
        psi = tape.trajectory[k]
        psi1 = K.potential_step(psi, dt / 2, V, g, imaginary)
        psi1_k = xp.fft.fft2(psi1.astype(numpy.complex128))
        psi2 = xp.fft.ifft2(Kf * psi1_k).astype(psi.dtype)
        G2, gV3, gg3 = K.potential_step_adjoint(psi2, G, dt / 2, V, g, imaginary)
        G1 = P._kinetic(G2, Kf.conj())
        gdt += float((G2.conj() * xp.fft.ifft2(c * T * Kf * psi1_k)).real.sum())
        G, gV1, gg1 = K.potential_step_adjoint(psi, G1, dt / 2, V, g, imaginary)
        # θ = (dt/2)(V + g|ψ|²): ∂L/∂dt ∋ Σ r θ / dt = Σ (∂L/∂V)·(V + g|ψ|²) / dt
        gdt += float((gV1 * (V + g * P.density(psi)) + gV3 * (V + g * P.density(psi2))).sum()) / dt
        gV = gV + gV1 + gV3
        gg += float((gg1 + gg3).sum())
    return G, {"V": K._reduce_like(gV, V), "g": gg, "dt": gdt}


# ------------------------------------------------------------------ EqProp
def rho_kind(f, df):
    """0 for the identity, 1 for the hard sigmoid of neurophys.models.eqprop, None otherwise."""
    from ..blocks import get_activation
    from ..models import eqprop as M
    ident = get_activation("identity")
    if (f is M._identity or f is ident.f) and (df is M._ones or df is ident.df):
        return 0
    if getattr(f, "__qualname__", "") == "_rho_pair.<locals>.f" and \
            getattr(df, "__qualname__", "") == "_rho_pair.<locals>.df":
        return 1
    return None


def eqprop_relax_steps(s, W, b, free, rho, drho, eps, beta=0.0, target=None, target_layer=-1,
                       const_drive=None, lo=None, hi=None, order: str = "alternating", n_steps: int = 1,
                       use_kernels=None):
    """``n_steps`` × :func:`neurophys.models.eqprop.relax_step` (same arguments), fused on a GPU.

    The kernel covers: input clamped, all other layers free, the cost on the output layer,
    ρ the identity or the hard sigmoid, float32/float64, layers small enough for shared memory.
    """
    from ..models import eqprop as M

    def reference():
        out = list(s)
        for _ in range(int(n_steps)):
            out = M.relax_step(out, W, b, free, rho, drho, eps, beta, target, target_layer, const_drive, lo, hi,
                               order)
        return out

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
    elif L + 1 > 8:
        reason = "the fused relaxation supports at most 8 layers"
    if reason is None:
        from . import eqprop as K
        try:
            K.relax_tile([a.shape[1] for a in s], s[1].shape[0], s[1].dtype.itemsize,
                         copies=1 if order == "alternating" else 2)
        except KernelError as err:
            reason = str(err)
    if reason:
        _fallback(reason)
        return reference()
    from . import eqprop as K
    xp = B.get_array_module(s[1])
    const = [None]
    for l in range(1, L + 1):
        c = const_drive[l] if const_drive is not None and const_drive[l] is not None else None
        if c is None:  # b_{l-1} plus the clamped input's drive for layer 1
            c = b[l - 1] + (rho[0](s[0]) @ W[0] if l == 1 else 0.0)
        const.append(c)
    lo = lo or [None] * (L + 1)
    hi = hi or [None] * (L + 1)
    return K.relax(s, W, const, kinds, lo, hi, eps, int(n_steps), float(beta or 0.0),
                   target if beta else None, order)


def eqprop_weight_grads(net, s_a, s_b, denominator: float = 1.0, use_kernels=None):
    """``EqPropNet.dE_dtheta_difference``: [∂E/∂θ(s_a) − ∂E/∂θ(s_b)] / denominator, per layer,

        W_l: −[ρ(a_l)ᵀρ(a_{l+1}) − ρ(b_l)ᵀρ(b_{l+1})] / denominator,   b_l: −Σ_batch [ρ(a_{l+1}) − ρ(b_{l+1})] / denominator

    one fused pass per layer on a GPU (EqPropNet.eqprop_gradient uses denominator = scale · batch).
    """
    kinds = [rho_kind(net.rho[l], net.drho[l]) for l in range(net.L + 1)]
    if not kernels_wanted(use_kernels) or None in kinds:
        if kernels_wanted(use_kernels):
            _fallback("the weight-update kernel supports rho = identity or hard sigmoid only")
        return net.dE_dtheta_difference(s_a, s_b, denominator)
    from . import eqprop as K
    out = {}
    for l in range(net.L):
        out[f"W{l}"], out[f"b{l}"] = K.weight_grad(s_a[l], s_a[l + 1], s_b[l], s_b[l + 1], kinds[l], kinds[l + 1],
                                                   -1.0 / denominator)
    return out
