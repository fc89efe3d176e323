"""GPE steps on the GPU: launches of the kernels in ``gpe.cu``, with their adjoints.

The physics (and the NumPy reference) lives in :mod:`neurophys.physics.gpe`; this
module only runs the same arithmetic as fused kernels. Each function takes the
field psi as a complex (batch, Ny, Nx) array, cupy on the GPU (``device='cuda'``,
the default for cupy arrays) or NumPy with ``device='host'`` (the kernel compiled
for the CPU, slow; what the tests use to check the arithmetic without a GPU).

Time factor c: real time (i dpsi/dt = H psi) is c = -i, imaginary time (dpsi/dtau = -H psi)
is c = -1.

Adjoint convention: for a real loss L, a complex field's gradient is
G = dL/dRe(psi) + i dL/dIm(psi).
"""
from __future__ import annotations

from functools import partial

import numpy

from .. import backend as B
from ..physics import gpe as P
from .loader import KernelError, blocks_for, module, real_suffix, resolve_target

THREADS = 256
NULL = numpy.uint64(0)  # a null pointer argument (an 8-byte zero), accepted by cupy and the emulation
MAX_SHARED_BYTES = 48 * 1024  # dynamic shared memory without an opt-in, on every CUDA GPU


def _check_field(psi, what: str):
    if getattr(psi, "ndim", None) != 3:
        raise KernelError(f"{what}: psi must be a complex array (batch, Ny, Nx), got shape "
                          f"{getattr(psi, 'shape', None)}; add a batch axis with psi[None]")
    if psi.dtype.kind != "c":
        raise KernelError(f"{what}: psi must be complex64 or complex128, got {psi.dtype}; "
                          "build it as psi_re + 1j * psi_im")
    suffix, real = real_suffix(psi.dtype, what)
    return suffix, real


def _time_factor(imaginary: bool):
    return (-1.0, 0.0) if imaginary else (0.0, -1.0)


def _potential(V, psi, real, what: str):
    """(array or None, scalar V0, batch stride) for a scalar, (Ny, Nx) or (batch, Ny, Nx) potential."""
    xp = B.get_array_module(psi)
    B_, Ny, Nx = psi.shape
    if numpy.ndim(V) == 0:
        return NULL, real(V), numpy.int64(0)
    V = xp.ascontiguousarray(xp.asarray(V, dtype=real))
    if V.shape == (Ny, Nx):
        return V, real(0), numpy.int64(0)
    if V.shape == (B_, Ny, Nx):
        return V, real(0), numpy.int64(Ny * Nx)
    raise KernelError(f"{what}: V must be a scalar, (Ny, Nx) = {(Ny, Nx)} or (batch, Ny, Nx), got {V.shape}")


def multistep_fits(shape, dtype) -> bool:
    """Whether one field (two ping-pong copies) fits in a block's shared memory."""
    _, Ny, Nx = shape
    return 2 * Ny * Nx * numpy.dtype(dtype).itemsize <= MAX_SHARED_BYTES


def _multistep_threads(plane: int) -> int:
    return int(min(256, max(32, (plane + 31) // 32 * 32)))  # <= 64 registers/thread measured: safe anywhere


def _euler_launch_args(field, V, g, dt, dx, dy, imaginary, real, what):
    """What every Euler launch (forward or adjoint) passes besides the fields:
    the potential (array, scalar, stride), the scalars (g, dt, Re c, Im c, 1/dx², 1/dy²)
    and the dimensions (batch, Ny, Nx)."""
    Bn, Ny, Nx = field.shape
    Varr, V0, vstride = _potential(V, field, real, what)
    cr, ci = _time_factor(imaginary)
    dy = dx if dy is None else dy
    scal = [real(g), real(dt), real(cr), real(ci), real(1.0 / dx**2), real(1.0 / dy**2)]
    dims = [numpy.int32(Bn), numpy.int32(Ny), numpy.int32(Nx)]
    return Varr, V0, vstride, scal, dims


def _points_grid(n_fields: int, plane: int) -> tuple:
    """Launch grid of the one-step Euler kernels: x over the points of a plane, y over the fields."""
    return (blocks_for(plane, THREADS), int(min(n_fields, 65535)))


def euler_steps(psi, dt: float, n_steps: int = 1, V=0.0, g: float = 0.0, dx: float = 1.0, dy=None,
                imaginary: bool = False, store_trajectory: bool = False, fused=None, device=None):
    """n_steps forward-Euler steps psi <- psi + c dt [-1/2 lap(psi) + (V + g|psi|^2) psi].

    5-point periodic Laplacian with spacing dx. ``fused`` (default: when the field fits)
    runs all steps in one launch with the field in shared memory; otherwise one launch
    per step. Returns ``(psi_n, trajectory)``; the trajectory (n_steps, batch, Ny, Nx)
    holds psi_0..psi_{n-1} (what :func:`euler_steps_adjoint` needs) or is None.
    """
    what = "euler_steps"
    suffix, real = _check_field(psi, what)
    device = resolve_target(device, psi, what)
    n_steps = int(n_steps)
    if n_steps < 1:
        raise KernelError(f"{what}: n_steps must be >= 1, got {n_steps}")
    xp = B.get_array_module(psi)
    psi = xp.ascontiguousarray(psi)
    Bn, Ny, Nx = psi.shape
    Varr, V0, vstride, scal, dims = _euler_launch_args(psi, V, g, dt, dx, dy, imaginary, real, what)
    mod = module("gpe", device)
    traj = xp.empty((n_steps,) + psi.shape, dtype=psi.dtype) if store_trajectory else None
    if fused is None:
        fused = n_steps > 1 and multistep_fits(psi.shape, psi.dtype)
    if fused:
        if not multistep_fits(psi.shape, psi.dtype):
            raise KernelError(f"{what}: a {Ny}x{Nx} {psi.dtype} field does not fit in 48 KiB of shared memory "
                              "for the fused kernel; pass fused=False (one launch per step)")
        out = xp.empty_like(psi)
        plane = Ny * Nx
        mod.get_function(f"gpe_euler_multistep_{suffix}")(
            (Bn,), (_multistep_threads(plane),),
            [psi, out, NULL if traj is None else traj, Varr, V0, vstride, *scal, *dims, numpy.int32(n_steps)],
            shared_mem=2 * plane * psi.dtype.itemsize)
        return out, traj
    kernel = mod.get_function(f"gpe_euler_step_{suffix}")
    grid = _points_grid(Bn, Ny * Nx)
    cur = psi
    for k in range(n_steps):
        if traj is not None:
            traj[k] = cur
        nxt = xp.empty_like(psi)
        kernel(grid, (THREADS,), [cur, nxt, Varr, V0, vstride, *scal, *dims])
        cur = nxt
    return cur, traj


def euler_steps_adjoint(trajectory, grad_out, dt: float, V=0.0, g: float = 0.0, dx: float = 1.0, dy=None,
                        imaginary: bool = False, fused=None, device=None):
    """Backward of :func:`euler_steps` through the stored trajectory.

    Returns ``(grad_psi0, grads)``: G at the initial field and a dict of dL/dV (in the
    shape of V, a float for a number: :func:`neurophys.physics.gpe.reduce_like`), dL/dg and
    dL/ddt (0-d arrays), as :func:`neurophys.physics.gpe.evolve_backward` returns them.
    """
    what = "euler_steps_adjoint"
    if getattr(trajectory, "ndim", None) != 4:
        raise KernelError(f"{what}: trajectory must be (n_steps, batch, Ny, Nx) as euler_steps returns "
                          "with store_trajectory=True")
    suffix, real = _check_field(grad_out, what)
    if trajectory.shape[1:] != grad_out.shape or trajectory.dtype != grad_out.dtype:
        raise KernelError(f"{what}: grad_out {grad_out.shape} {grad_out.dtype} does not match the trajectory "
                          f"{trajectory.shape[1:]} {trajectory.dtype}")
    device = resolve_target(device, grad_out, what)
    xp = B.get_array_module(grad_out)
    trajectory, grad_out = xp.ascontiguousarray(trajectory), xp.ascontiguousarray(grad_out)
    n_steps = trajectory.shape[0]
    Bn, Ny, Nx = grad_out.shape
    Varr, V0, vstride, scal, dims = _euler_launch_args(grad_out, V, g, dt, dx, dy, imaginary, real, what)
    gV = xp.zeros(grad_out.shape, dtype=real)
    gg = xp.zeros(grad_out.shape, dtype=real)
    gdt = xp.zeros(grad_out.shape, dtype=real)
    mod = module("gpe", device)
    if fused is None:
        fused = n_steps > 1 and multistep_fits(grad_out.shape, grad_out.dtype)
    if fused:
        if not multistep_fits(grad_out.shape, grad_out.dtype):
            raise KernelError(f"{what}: field too large for the fused kernel; pass fused=False")
        gin = xp.empty_like(grad_out)
        plane = Ny * Nx
        mod.get_function(f"gpe_euler_adjoint_multistep_{suffix}")(
            (Bn,), (_multistep_threads(plane),),
            [trajectory, grad_out, gin, gV, gg, gdt, Varr, V0, vstride, *scal, *dims, numpy.int32(n_steps)],
            shared_mem=2 * plane * grad_out.dtype.itemsize)
    else:
        kernel = mod.get_function(f"gpe_euler_adjoint_step_{suffix}")
        grid = _points_grid(Bn, Ny * Nx)
        gin = grad_out
        for k in range(n_steps - 1, -1, -1):
            nxt = xp.empty_like(grad_out)
            kernel(grid, (THREADS,), [xp.ascontiguousarray(trajectory[k]), gin, nxt, gV, gg, gdt, Varr, V0, vstride,
                                      *scal, *dims])
            gin = nxt
    return gin, {"V": P.reduce_like(gV, P.prepare_V(V, grad_out)), "g": gg.sum(), "dt": gdt.sum()}


def potential_step(psi, h: float, V=0.0, g: float = 0.0, imaginary: bool = False, device=None):
    """The split-step's real-space step psi <- exp(c h (V + g|psi|^2)) psi (pointwise).

    Computed as psi + (e^{c h a} - 1) psi with the small factor kept to full precision,
    as :func:`neurophys.physics.gpe.phase_step` does (whose place it takes in ``PHASE_OPS``)."""
    what = "potential_step"
    suffix, real = _check_field(psi, what)
    device = resolve_target(device, psi, what)
    xp = B.get_array_module(psi)
    psi = xp.ascontiguousarray(psi)
    Varr, V0, vstride = _potential(V, psi, real, what)
    cr, ci = _time_factor(imaginary)
    out = xp.empty_like(psi)
    module("gpe", device).get_function(f"gpe_potential_step_{suffix}")(
        (blocks_for(psi.size, THREADS),), (THREADS,),
        [psi, out, Varr, V0, vstride, real(g), real(h), real(cr), real(ci), *map(numpy.int32, psi.shape)])
    return out


def potential_step_adjoint(psi, grad_out, h: float, V=0.0, g: float = 0.0, imaginary: bool = False,
                           param_grads: bool = True, device=None):
    """Backward of :func:`potential_step` at its input psi: ``(grad_psi, gV_map, gg_map)``, as
    :func:`neurophys.physics.gpe.phase_step_adjoint` (the kernel fills the maps whatever ``param_grads``).

    The maps are per point (batch, Ny, Nx); sum them as V and g broadcast.
    """
    what = "potential_step_adjoint"
    suffix, real = _check_field(psi, what)
    if grad_out.shape != psi.shape or grad_out.dtype != psi.dtype:
        raise KernelError(f"{what}: grad_out {grad_out.shape} {grad_out.dtype} must match psi "
                          f"{psi.shape} {psi.dtype}")
    device = resolve_target(device, psi, what)
    xp = B.get_array_module(psi)
    psi, grad_out = xp.ascontiguousarray(psi), xp.ascontiguousarray(grad_out)
    Varr, V0, vstride = _potential(V, psi, real, what)
    cr, ci = _time_factor(imaginary)
    gin = xp.empty_like(psi)
    gV = xp.zeros(psi.shape, dtype=real)
    gg = xp.zeros(psi.shape, dtype=real)
    module("gpe", device).get_function(f"gpe_potential_adjoint_{suffix}")(
        (blocks_for(psi.size, THREADS),), (THREADS,),
        [psi, grad_out, gin, gV, gg, Varr, V0, vstride, real(g), real(h), real(cr), real(ci),
         *map(numpy.int32, psi.shape)])
    return gin, gV, gg


# the kernels in place of neurophys.physics.gpe.phase_step / phase_step_adjoint (its phase_ops=)
PHASE_OPS = (potential_step, potential_step_adjoint)


def split_steps(psi, dt: float, n_steps: int = 1, V=0.0, g: float = 0.0, dx: float = 1.0, dy=None,
                imaginary: bool = False, laplacian: str = "spectral", device=None):
    """Strang split-step Fourier, n_steps: :func:`neurophys.physics.gpe.splitstep_step` with the
    half potential steps as kernels, the kinetic step in Fourier space between them (the array
    library's FFT: cuFFT under cupy, in complex128 as the NumPy reference does).
    """
    device = resolve_target(device, psi, "split_steps")
    ops = (partial(potential_step, device=device), partial(potential_step_adjoint, device=device))
    for _ in range(int(n_steps)):
        psi = P.splitstep_step(psi, dt, V, g, dx, dy, imaginary, laplacian, check=False, phase_ops=ops)
    return psi
