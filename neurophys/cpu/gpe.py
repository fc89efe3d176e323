"""One forward-Euler step of the GPE on ψ = (Re, Im) planes, and its adjoint, each as one sweep.

The twins of the loop bodies of :func:`neurophys.physics.gpe.euler_evolve_planes` and
:func:`~neurophys.physics.gpe.euler_evolve_planes_backward` (about twenty NumPy passes per step
there, one sweep here). Fields are one contiguous real array (2, batch, Ny, Nx) = (u, v), ψ = u + iv,
on a periodic grid; each expression below is the reference's, operation for operation.

A point's neighbours are (j, i ± 1) and (j ± 1, i), wrapped around the grid. A row is swept as its
first point, the points 1 … Nx − 2 (whose neighbours need no wrapping: a loop the compiler turns
into vector instructions), and its last point.
"""
from __future__ import annotations

import numpy

from . import constants, jit


@jit(inline=True)
def _laplacian_sum(a, b, j, up, dn, i, im, ip, four):
    """(a[j, i+1] + a[j, i−1]) + (a[j+1, i] + a[j−1, i]) − 4 a[j, i] in field b: the 5-point ∇²a · dx²,
    summed as :func:`neurophys.physics.gpe._laplacian_real` sums it."""
    return ((a[b, j, ip] + a[b, j, im]) + (a[b, dn, i] + a[b, up, i])) - a[b, j, i] * four


@jit(inline=True)
def _euler_point(u, v, out_u, out_v, b, j, up, dn, i, im, ip, dt, V, g, four, minus_half, inv_dx2, scaled):
    """One point of the step; returns its density n = u² + v²."""
    ui, vi = u[b, j, i], v[b, j, i]
    n = ui * ui + vi * vi
    w = n * g + V                                              # w = V + g n
    lap_u = _laplacian_sum(u, b, j, up, dn, i, im, ip, four)
    lap_v = _laplacian_sum(v, b, j, up, dn, i, im, ip, four)
    if scaled:
        lap_u = lap_u * inv_dx2
        lap_v = lap_v * inv_dx2
    hu = lap_u * minus_half + w * ui                           # Hu = −½∇²u + w u
    hv = lap_v * minus_half + w * vi
    out_u[b, j, i] = ui + hv * dt                              # u' = u + dt Hv
    out_v[b, j, i] = vi - hu * dt                              # v' = v − dt Hu
    return n


@jit
def _euler_sweep(u, v, out_u, out_v, dt, V, g, four, minus_half, inv_dx2, scaled, n_limit):
    nb, ny, nx = u.shape
    over = False
    for b in range(nb):
        for j in range(ny):
            up = j - 1 if j > 0 else ny - 1
            dn = j + 1 if j < ny - 1 else 0
            n = _euler_point(u, v, out_u, out_v, b, j, up, dn, 0, nx - 1, 1, dt, V, g, four, minus_half, inv_dx2, scaled)
            over |= not (n <= n_limit)
            for i in range(1, nx - 1):
                n = _euler_point(u, v, out_u, out_v, b, j, up, dn, i, i - 1, i + 1,
                                 dt, V, g, four, minus_half, inv_dx2, scaled)
                over |= not (n <= n_limit)
            n = _euler_point(u, v, out_u, out_v, b, j, up, dn, nx - 1, nx - 2, 0,
                             dt, V, g, four, minus_half, inv_dx2, scaled)
            over |= not (n <= n_limit)
    return over


@jit(inline=True)
def _adjoint_point(u, v, P, Q, out_P, out_Q, b, j, up, dn, i, im, ip, dt, V, g2, dtg, four, minus_half, inv_dx2,
                   scaled):
    ui, vi, Pi, Qi = u[b, j, i], v[b, j, i], P[b, j, i], Q[b, j, i]
    uu, vv = ui * ui, vi * vi
    w = (uu + vv) * g2 + V                                     # w₂ = V + 2g n
    lap_P = _laplacian_sum(P, b, j, up, dn, i, im, ip, four)
    lap_Q = _laplacian_sum(Q, b, j, up, dn, i, im, ip, four)
    if scaled:
        lap_P = lap_P * inv_dx2
        lap_Q = lap_Q * inv_dx2
    A = lap_P * minus_half + w * Pi                            # (A, B) = H_lin (P, Q)
    B = lap_Q * minus_half + w * Qi
    s = uu - vv                                                # s = u² − v²
    t = ui * vi
    t = t + t                                                  # t = 2uv
    X = s * Pi + t * Qi
    Y = t * Pi - s * Qi
    out_P[b, j, i] = (Y * dtg + Pi) - B * dt                   # P + dt g Y − dt B
    out_Q[b, j, i] = (Qi - X * dtg) + A * dt                   # Q − dt g X + dt A


@jit
def _adjoint_sweep(u, v, P, Q, out_P, out_Q, dt, V, g2, dtg, four, minus_half, inv_dx2, scaled):
    nb, ny, nx = u.shape
    for b in range(nb):
        for j in range(ny):
            up = j - 1 if j > 0 else ny - 1
            dn = j + 1 if j < ny - 1 else 0
            _adjoint_point(u, v, P, Q, out_P, out_Q, b, j, up, dn, 0, nx - 1, 1,
                           dt, V, g2, dtg, four, minus_half, inv_dx2, scaled)
            for i in range(1, nx - 1):
                _adjoint_point(u, v, P, Q, out_P, out_Q, b, j, up, dn, i, i - 1, i + 1,
                               dt, V, g2, dtg, four, minus_half, inv_dx2, scaled)
            _adjoint_point(u, v, P, Q, out_P, out_Q, b, j, up, dn, nx - 1, nx - 2, 0,
                           dt, V, g2, dtg, four, minus_half, inv_dx2, scaled)


@jit
def _density_max(u, v):
    """max (u² + v²) over the field, NaN when a point is NaN (as NumPy's max of the reference's n)."""
    n_max = u.ravel()[0] * 0
    for u_k, v_k in zip(u.ravel(), v.ravel()):
        n = u_k * u_k + v_k * v_k
        if n > n_max:
            n_max = n
        elif n != n:
            return n
    return n_max


def density_max(psi) -> float:
    """max |ψ|² = max (u² + v²) of planes psi (2, batch, Ny, Nx): what the reference's stability check reads."""
    return float(_density_max(psi[0], psi[1]))


def euler_step(psi, out, dt: float, V: float, g: float, dx: float, n_limit: float = numpy.inf) -> bool:
    """out = the field after one Euler step of psi (both (2, batch, Ny, Nx), contiguous):

        n = u² + v²,  w = V + g n,   Hu = −½∇²u + w u,  Hv = −½∇²v + w v
        u' = u + dt Hv,   v' = v − dt Hu

    Returns whether some point of psi has n > n_limit (or a NaN n): the caller then runs the
    stability check on the exact max n (:func:`density_max`). A flag, not the maximum itself,
    because a running maximum keeps the sweep from running as vector instructions."""
    c = constants(psi.dtype, dt, V, g, 4.0, -0.5, 1 / dx ** 2)
    return bool(_euler_sweep(psi[0], psi[1], out[0], out[1], *c, dx != 1, psi.dtype.type(n_limit)))


def euler_step_adjoint(psi, G, out, dt: float, V: float, g: float, dx: float):
    """out = G pulled back through one Euler step taken from psi (all (2, batch, Ny, Nx), contiguous):

        (A, B) = H_lin (P, Q),  H_lin = −½∇² + V + 2g n
        s = u² − v²,  t = 2uv,  X = sP + tQ,  Y = tP − sQ
        out = (P + dt g Y − dt B,  Q − dt g X + dt A)"""
    c = constants(psi.dtype, dt, V, 2 * g, dt * g, 4.0, -0.5, 1 / dx ** 2)
    _adjoint_sweep(psi[0], psi[1], G[0], G[1], out[0], out[1], *c, dx != 1)
