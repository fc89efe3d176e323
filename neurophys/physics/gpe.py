"""The Gross–Pitaevskii equation on a periodic 2D grid, and its hand-written adjoints.

    i ∂ψ/∂t = H(ψ) ψ,     H(ψ) = −½∇² + V + g|ψ|²                    (ħ = m = 1)

Document 000 writes the same equation as  i ∂ψ/∂t = [−½∇² − a + 2b|ψ|²] ψ;
that is  V = −a,  g = 2b  (see :func:`document_params`).

Imaginary time (t = −iτ) turns the equation into a diffusion that relaxes any
field towards the ground state:  ∂ψ/∂τ = −H(ψ) ψ.

Fields are complex arrays of shape (Ny, Nx) or (batch, Ny, Nx), complex64 by
default (complex128 inside ``backend.precision('float64')``); y is the row axis.
V may be a number, an (Ny, Nx) map or a (batch, Ny, Nx) array; g and dt are numbers.

Two steppers, ONE function each (a GPU kernel may replace either):

- :func:`euler_step`  — the document's explicit forward Euler with the 5-point
  periodic Laplacian:  ψ' = ψ − i dt H(ψ)ψ.  Never norm-preserving: each Fourier
  mode of frequency ω is multiplied by |1 − i dt ω| = √(1 + dt²ω²) > 1.
- :func:`splitstep_step` — Strang split-step Fourier:
  ψ' = e^{−i dt/2 (V+g|ψ|²)} F⁻¹ e^{−i dt k²/2} F e^{−i dt/2 (V+g|ψ|²)} ψ.
  Every factor has modulus 1, so the norm is conserved to round-off.

Gradients. A loss L is real; for a complex field ψ = u + iv its gradient is the
complex array  G = ∂L/∂u + i ∂L/∂v  (so that δL = Re Σ conj(G) δψ).  For a step
ψ' = A ψ + B ψ̄ (linearised, A and B acting pointwise or as real-symmetric
operators) the adjoint is  G = A^H G' + Bᵀ conj(G').  Each ``*_backward`` returns
G and the gradients with respect to V, g and dt (a number for a number, an array
of V's shape for an array).

Memory of :func:`evolve`: by default it STORES the input field of every step
(n_steps fields: n_steps · batch · Ny · Nx · 8 bytes in complex64, 16 in complex128;
PhysNet's 5 steps on a batch of 128 fields of 32×32 keep 5.2 MB). With
``checkpoint=k`` it keeps every k-th field and RECOMPUTES the others segment by
segment in the backward (≈ n_steps/k + k fields, one extra forward pass). The
split-step backward also recomputes the two inner fields of each step (ψ₁, ψ₂),
so it costs about two forward steps per step, unless ``keep_inner=True`` kept them
(:class:`GPELayer` does: five fields' worth more per step, F ψ₁ in complex128; one forward
step less per step).

Precision: the split-step's FFTs run in complex128 whatever the field's dtype
(NumPy's float32 FFT shrinks the norm by a bias of a few 10⁻⁸ per step), and the
phase factors are applied as ψ + (e^{cθ} − 1)ψ; see :func:`phase_step` and :func:`apply_kinetic`.
"""
from __future__ import annotations

import math

import numpy

from .. import backend as B
from .. import cpu
from .. import parallel
from .. import validate
from ..blocks.base import Module
from ..cpu import gpe as cpu_gpe

SCHEMES = ("euler", "splitstep")
LAPLACIANS = ("fd5", "spectral")

# Forward Euler's refusal thresholds on dt·ω_max (see euler_max_dt).
EULER_REAL_LIMIT = 1.0       # real time: the fastest mode may grow at most by √2 per step
EULER_IMAG_LIMIT = 2.0       # imaginary time: |1 − dt ω| < 1 needs dt ω < 2


class StabilityError(ValueError):
    """A forward-Euler step size is outside its stable range; the message gives the bound."""


# ---------------------------------------------------------------- parameters and checks
def document_params(a: float = 0.15, b: float = 0.15) -> dict:
    """Document 000's  −a + 2b|ψ|²  as this module's  V + g|ψ|²:  V = −a, g = 2b."""
    return {"V": -float(a), "g": 2.0 * float(b)}


def check_field(psi, name: str = "psi"):
    """Raise ValueError unless ψ is a finite complex array of shape (Ny, Nx) or (batch, Ny, Nx)."""
    if not hasattr(psi, "dtype") or not hasattr(psi, "ndim"):
        raise ValueError(f"{name} must be a complex array (numpy or cupy), got {type(psi).__name__}")
    if psi.ndim not in (2, 3):
        raise ValueError(f"{name} must have shape (Ny, Nx) or (batch, Ny, Nx), got {tuple(psi.shape)}; "
                         "a single field is 2-D, a batch of fields 3-D")
    if psi.dtype.kind != "c":
        raise ValueError(f"{name} must be complex (complex64 or complex128), got {psi.dtype}; "
                         "build it as re + 1j*im, or use psi.astype(numpy.complex64)")
    if min(psi.shape[-2:]) < 3:
        raise ValueError(f"{name} needs at least 3 grid points per side for the 5-point Laplacian, "
                         f"got {tuple(psi.shape[-2:])}")
    validate.check_input_finite(name, psi)
    return psi


def _real_dtype(psi):
    return numpy.float64 if psi.dtype == numpy.complex128 else numpy.float32


def _coefficient_array(name, v, what):
    """``v`` as an array for checking (``v`` itself when it is one), or a NeurophysInputError naming
    ``name`` unless it is a real number or an array of real numbers (bool, complex, strings refused)."""
    if isinstance(v, (bool, numpy.bool_)) or isinstance(v, str) or v is None:
        raise validate.NeurophysInputError(f"{name} ({what}) must be a finite real number or an array of them, "
                                           f"got {validate.describe(v)}; e.g. {name}=0.3")
    a = v if hasattr(v, "dtype") and hasattr(v, "ndim") else None
    if a is None:
        try:
            a = numpy.asarray(v)
        except Exception as e:  # ragged lists and the like
            raise validate.NeurophysInputError(f"{name} ({what}) must be a number or an array of numbers, "
                                               f"got {validate.describe(v)} ({e})") from None
    kind = a.dtype.kind
    if kind not in "fiu":
        why = "complex: pass its real part" if kind == "c" else f"dtype {a.dtype}"
        raise validate.NeurophysInputError(f"{name} ({what}) must be a finite real number or an array of real "
                                           f"numbers, got {validate.describe(v)} ({why})")
    return a


def _check_coefficient_shape(name, a, psi):
    """A NeurophysInputError unless the array ``a`` (V or g) has a shape that lines up with the field."""
    if psi is None or a.ndim == 0 or not hasattr(psi, "shape"):
        return
    shape = tuple(psi.shape)
    if a.ndim > len(shape) or tuple(a.shape) != shape[len(shape) - a.ndim:]:
        grid = shape[-2:]
        options = f"a number or an array of shape {grid}" + (f" or {shape}" if len(shape) == 3 else "")
        raise validate.NeurophysInputError(
            f"{name} of shape {tuple(a.shape)} does not match the field of shape {shape}; expected {options} "
            "(one value per grid point, the same grid as ψ)")


def _check_finite_coefficient(name, what, v, a):
    if a.ndim == 0:
        if not (math.isfinite(v) if isinstance(v, (int, float)) else validate.is_finite(a)):
            raise validate.NeurophysInputError(f"{name} ({what}) must be finite, got {v!r}; pass a finite number "
                                               "(NaN or inf here would make the whole field NaN)")
    else:
        validate.check_input_finite(f"{name} ({what})", a)


def check_V(V, psi=None, finite: bool = True):
    """Raise NeurophysInputError unless the potential V is a finite real number or a finite real array
    that lines up with ψ (a number, an (Ny, Nx) map or a (batch, Ny, Nx) array). V is not converted."""
    a = _coefficient_array("V", V, "the potential")
    _check_coefficient_shape("V", a, psi)
    if finite:
        _check_finite_coefficient("V", "the potential", V, a)
    return V


def check_g(g, psi=None):
    """Raise NeurophysInputError unless the interaction strength g is a finite real number (or a finite
    real array that lines up with ψ, as V does). g is not converted."""
    a = _coefficient_array("g", g, "the interaction strength")
    _check_coefficient_shape("g", a, psi)
    _check_finite_coefficient("g", "the interaction strength", g, a)
    return g


def prepare_V(V, psi):
    """V as a number or an array of psi's real dtype that broadcasts against psi."""
    if numpy.ndim(V) == 0 and not hasattr(V, "shape"):
        check_V(V, psi)                     # a Python number: real and finite
        return float(V)
    check_V(V, psi, finite=False)           # real and of the field's shape; finite in psi's precision below
    xp = B.get_array_module(psi)
    V = xp.asarray(V, dtype=_real_dtype(psi))
    validate.check_input_finite("V", V)
    return V


def reduce_like(grad, V):
    """Sum a pointwise gradient down to V's shape (a float for a number)."""
    if isinstance(V, float):
        return float(grad.sum())
    extra = grad.ndim - V.ndim
    if extra > 0:
        grad = grad.sum(axis=tuple(range(extra)))
    return grad.reshape(V.shape)


def check_dt(dt):
    """dt as a float > 0: Python/NumPy ints and floats are accepted; bool, NaN, inf, <= 0 refused."""
    return validate.positive_real("dt", dt)


def check_dx(dx, dy=None):
    """(dx, dy) as floats > 0 (dy = dx when None): a grid spacing of 0 or < 0 has no meaning."""
    dx = validate.positive_real("dx (the grid spacing)", dx)
    return dx, (dx if dy is None else validate.positive_real("dy (the grid spacing)", dy))


# ---------------------------------------------------------------- the operators
def _neighbour_sums(psi):
    """(ψ[j,i+1] + ψ[j,i−1],  ψ[j+1,i] + ψ[j−1,i]) on the periodic grid, two new arrays.

    Built by slicing, not np.roll (which copies the field four times): the interior
    comes from one shifted add along the flattened rows (x) or fields (y); the first
    and last column (x) and row (y) are then redone with their periodic neighbours.
    """
    xp = B.get_array_module(psi)
    ny, nx = psi.shape[-2:]
    flat = psi.reshape(-1, ny * nx)                      # one row per field (a view when psi is contiguous)
    sum_x = xp.empty(psi.shape, dtype=psi.dtype)         # C-ordered, so the reshapes below are views
    sum_y = xp.empty(psi.shape, dtype=psi.dtype)
    fx, fy = sum_x.reshape(-1, ny * nx), sum_y.reshape(-1, ny * nx)
    xp.add(flat[:, 2:], flat[:, :-2], out=fx[:, 1:-1])            # ψ[i+1] + ψ[i−1] (wrong at row ends)
    xp.add(psi[..., 1], psi[..., -1], out=sum_x[..., 0])          # i = 0:    ψ[1] + ψ[Nx−1]
    xp.add(psi[..., 0], psi[..., -2], out=sum_x[..., -1])         # i = Nx−1: ψ[0] + ψ[Nx−2]
    xp.add(flat[:, 2 * nx:], flat[:, :-2 * nx], out=fy[:, nx:-nx])  # ψ[j+1] + ψ[j−1]
    xp.add(psi[..., 1, :], psi[..., -1, :], out=sum_y[..., 0, :])
    xp.add(psi[..., 0, :], psi[..., -2, :], out=sum_y[..., -1, :])
    return sum_x, sum_y


def laplacian5(psi, dx: float = 1.0, dy: float | None = None):
    """The 5-point periodic Laplacian

        ∇²ψ[j,i] ≈ (ψ[j,i+1] − 2ψ[j,i] + ψ[j,i−1]) / dx² + (ψ[j+1,i] − 2ψ[j,i] + ψ[j−1,i]) / dy².

    It is real and symmetric, so it is its own adjoint.

    Computed as  ∇²ψ = [Σx + r Σy − 2(1 + r)ψ] / dx²,  r = (dx/dy)², with Σx = ψ[j,i+1] + ψ[j,i−1]
    and Σy = ψ[j+1,i] + ψ[j−1,i] (:func:`_neighbour_sums`): three passes over the field when dx = dy = 1.
    """
    dx, dy = check_dx(dx, dy)
    r = (dx / dy) ** 2
    lap, sum_y = _neighbour_sums(psi)
    if r != 1:
        sum_y *= r
    lap += sum_y
    lap -= (2 * (1 + r)) * psi
    if dx != 1:
        lap *= 1 / dx ** 2
    return lap


def kinetic_symbol(shape, dx: float = 1.0, dy: float | None = None, laplacian: str = "spectral", dtype=None):
    """T(k) = ½|k|², the kinetic energy of each Fourier mode, shape (Ny, Nx).

    'spectral': T = ½(kx² + ky²) with k = 2π·fftfreq(N, dx) (exact derivatives);
    'fd5': T = (2/dx²) sin²(kx dx/2) + (2/dy²) sin²(ky dy/2), the symbol of −½ × the 5-point
    Laplacian, so that split-step and Euler solve the same semi-discrete equation.
    """
    if laplacian not in LAPLACIANS:
        raise ValueError(f"unknown laplacian {laplacian!r}; valid names are: {', '.join(LAPLACIANS)}")
    dx, dy = check_dx(dx, dy)
    xp = B.xp()
    ny, nx = shape[-2:]
    kx = 2 * numpy.pi * numpy.fft.fftfreq(nx, dx)
    ky = 2 * numpy.pi * numpy.fft.fftfreq(ny, dy)
    if laplacian == "spectral":
        T = 0.5 * (ky[:, None] ** 2 + kx[None, :] ** 2)
    else:
        T = 2 / dy ** 2 * numpy.sin(ky[:, None] * dy / 2) ** 2 + 2 / dx ** 2 * numpy.sin(kx[None, :] * dx / 2) ** 2
    return xp.asarray(T, dtype=dtype or B.float_dtype())


def apply_hamiltonian(psi, V=0.0, g=0.0, dx: float = 1.0, dy: float | None = None, n=None):
    """H(ψ)ψ = −½∇²ψ + Vψ + g|ψ|²ψ  with the 5-point Laplacian (``n`` = |ψ|² if already known)."""
    n = density(psi) if n is None else n
    H_psi = laplacian5(psi, dx, dy)
    H_psi *= -0.5
    H_psi += (V + g * n) * psi
    return H_psi


# ---------------------------------------------------------------- functionals
def density(psi):
    """n = |ψ|²."""
    return psi.real ** 2 + psi.imag ** 2


def norm(psi, dx: float = 1.0, dy: float | None = None):
    """N = Σ |ψ|² dx dy  (the particle number), one value per field of the batch.

    Accumulated in float64 so that the measurement is not limited by float32 round-off.
    """
    dx, dy = check_dx(dx, dy)
    n = density(psi).astype(numpy.float64)
    return n.sum(axis=(-2, -1)) * dx * dy


def energy(psi, V=0.0, g=0.0, dx: float = 1.0, dy: float | None = None, laplacian: str = "fd5"):
    """E = Σ [ ½|∇ψ|² + V|ψ|² + ½ g|ψ|⁴ ] dx dy, one value per field (float64).

    The kinetic term is ½⟨ψ, −∇²ψ⟩ with the same Laplacian as the scheme
    ('fd5' for Euler, 'spectral' for split-step); real-time evolution conserves E.
    """
    dx, dy = check_dx(dx, dy)
    check_V(V, psi)
    check_g(g, psi)
    psi = psi.astype(numpy.complex128)
    n = density(psi)
    if laplacian == "fd5":
        kinetic = 0.5 * (-(psi.conj() * laplacian5(psi, dx, dy)).real).sum(axis=(-2, -1))
    else:
        T = kinetic_symbol(psi.shape, dx, dy, laplacian, dtype=numpy.float64)
        psi_k = fft_module(psi).fft2(psi)
        kinetic = (T * (psi_k.real ** 2 + psi_k.imag ** 2)).sum(axis=(-2, -1)) / (psi.shape[-1] * psi.shape[-2])
    potential = (V * n).sum(axis=(-2, -1)) if not isinstance(V, float) else V * n.sum(axis=(-2, -1))
    interaction = 0.5 * g * (n * n).sum(axis=(-2, -1))
    return (kinetic + potential + interaction) * dx * dy


# ---------------------------------------------------------------- forward Euler
def euler_max_dt(psi, V=0.0, g=0.0, dx: float = 1.0, dy: float | None = None, imaginary: bool = False,
                 n_max: float | None = None) -> float:
    """The largest step forward Euler accepts for this field.

    ω_max = 2/dx² + 2/dy² + max|V| + 2|g| max|ψ|²  bounds the frequencies of the
    linearised H (the 5-point −½∇² has eigenvalues in [0, 2/dx² + 2/dy²]).

    - imaginary time: a mode decays by (1 − dt ω); stable iff dt ω < 2, so dt < 2 / ω_max.
    - real time: a mode is multiplied by |1 − i dt ω| = √(1 + dt²ω²) > 1: Euler is
      never norm-preserving; we refuse dt ω_max > 1 (the fastest mode would grow
      by more than √2 per step), so dt ≤ 1 / ω_max.

    ``n_max`` = max|ψ|² when the caller has it already (the density is not recomputed).
    """
    dx, dy = check_dx(dx, dy)
    xp = B.get_array_module(psi)
    v_max = abs(float(V)) if isinstance(V, float) else float(xp.abs(V).max())
    n_max = float(density(psi).max()) if n_max is None else float(n_max)
    omega = 2 / dx ** 2 + 2 / dy ** 2 + v_max + 2 * abs(g) * n_max
    return (EULER_IMAG_LIMIT if imaginary else EULER_REAL_LIMIT) / omega


def check_euler_dt(psi, dt, V, g, dx, dy, imaginary, n_max=None):
    dt_max = euler_max_dt(psi, V, g, dx, dy, imaginary, n_max)
    if dt > dt_max:
        if imaginary:
            rule = "imaginary-time Euler is stable only for dt < 2/ω_max"
        else:
            rule = "real-time Euler amplifies every mode by √(1+dt²ω²); it is refused beyond dt = 1/ω_max"
        raise StabilityError(
            f"forward Euler step dt={dt:g} is beyond its stable range: {rule}, with "
            f"ω_max = 2/dx² + 2/dy² + max|V| + 2|g|max|ψ|², i.e. dt ≤ {dt_max:.4g} here; "
            "lower dt, coarsen the grid (larger dx), or use scheme='splitstep'")


def euler_step(psi, dt: float, V=0.0, g=0.0, dx: float = 1.0, dy: float | None = None,
               imaginary: bool = False, check: bool | str = True):
    """One forward-Euler step (the document's scheme):

        real time:       ψ' = ψ − i dt [−½∇²ψ + Vψ + g|ψ|²ψ]
        imaginary time:  ψ' = ψ −   dt [−½∇²ψ + Vψ + g|ψ|²ψ]

    With ``check`` the field is validated and dt is compared with :func:`euler_max_dt`
    (a :class:`StabilityError` names the bound); ``check='dt'`` compares dt only (what
    :func:`evolve` asks for: it validates the field once before the first step and once after
    the last). The stability test reuses the density |ψ|² of the step, so it costs one max.

    >>> from neurophys.physics import gpe
    >>> X, Y = gpe.grid(16)
    >>> psi = gpe.normalise(gpe.gaussian(X, Y, width=3.0))       # N = Σ|ψ|² dx dy = 1
    >>> out = gpe.euler_step(psi, dt=0.01, V=-0.15, g=0.3)        # document 000: V = −a, g = 2b
    >>> out.shape, out.dtype
    ((16, 16), dtype('complex64'))
    >>> bool(gpe.norm(out) > 1.0)                                # Euler is never norm-preserving
    True
    >>> gpe.euler_step(psi, dt=1.0)                              # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    neurophys.physics.gpe.StabilityError: forward Euler step dt=1 is beyond its stable range: ...
    """
    dt = check_dt(dt)
    if check is True:
        check_field(psi)
    V = prepare_V(V, psi)
    check_g(g, psi)
    n = density(psi)
    if check:
        check_euler_dt(psi, dt, V, g, dx, dy, imaginary, n_max=n.max())
    c = -dt if imaginary else -1j * dt
    dpsi = apply_hamiltonian(psi, V, g, dx, dy, n=n)
    dpsi *= c
    return psi + dpsi


def euler_step_backward(psi, grad_out, dt: float, V=0.0, g=0.0, dx: float = 1.0, dy: float | None = None,
                        imaginary: bool = False, param_grads: bool = True):
    """Adjoint of :func:`euler_step` at the input field ψ.

    With c = −i dt (real time) or −dt (imaginary time), ψ' = ψ + c H(ψ)ψ is, to first order,
    δψ' = [1 + c H_lin] δψ + c g ψ² δψ̄,   H_lin = −½∇² + V + 2g|ψ|²  (real symmetric), so

        G      = G' + c̄ H_lin G' + c g ψ² conj(G')
        ∂L/∂V  = Re[ conj(G') c ψ ]            (pointwise, summed to V's shape)
        ∂L/∂g  = Σ Re[ conj(G') c |ψ|² ψ ]
        ∂L/∂dt = Σ Re[ conj(G') (c/dt) H(ψ)ψ ]

    Returns (G, {'V': ..., 'g': ..., 'dt': ...}) (an empty dict with ``param_grads=False``).
    """
    dt = check_dt(dt)
    V = prepare_V(V, psi)
    check_g(g, psi)
    c = -dt if imaginary else -1j * dt
    n = density(psi)
    Gp = grad_out
    H_lin_G = apply_hamiltonian(Gp, V, 2 * g, dx, dy, n=n)     # −½∇²G' + (V + 2g|ψ|²) G'
    G = psi * psi                                              # G = G' + c̄ H_lin G' + c g ψ² conj(G')
    G *= Gp.conj()
    G *= c * g
    G += Gp
    H_lin_G *= numpy.conj(c)
    G += H_lin_G
    if not param_grads:
        return G, {}
    cGbar = c * Gp.conj()
    grads = {
        "V": reduce_like((cGbar * psi).real, V),
        "g": float((cGbar * n * psi).real.sum()),
        "dt": float((cGbar * apply_hamiltonian(psi, V, g, dx, dy, n=n)).real.sum()) / dt,
    }
    return G, grads


# ---------------------------------------------------------------- Strang split-step Fourier
def fft_module(a):
    """The FFTs for an array: scipy.fft for NumPy arrays, the array module's fft otherwise (cupy's cuFFT).

    scipy.fft is the same pocketfft as numpy.fft, vectorised over the batch of fields
    (≈ 2.5× faster on a (128, 32, 32) complex128 batch here); the results agree to round-off.
    """
    xp = B.get_array_module(a)
    if xp is numpy:
        import scipy.fft
        return scipy.fft
    return xp.fft


def _phase(psi, h, V, g, imaginary):
    """θ = h (V + g|ψ|²) and  e^{cθ} − 1  (c = −i real time, −1 imaginary time; h = dt/2).

    The factor is kept as e^{cθ} − 1 = −2 sin²(θ/2) − i sin θ (or expm1(−θ)): in float32 a
    number like cos θ ≈ 1 − θ²/2 is rounded to a spacing of 6·10⁻⁸ near 1, so |e^{−iθ}| ≠ 1 by
    a bias that adds up step after step; e^{cθ} − 1 is small and kept to full relative precision.
    """
    xp = B.get_array_module(psi)
    theta = h * (V + g * density(psi))
    if imaginary:
        return theta, xp.expm1(-theta)
    return theta, -2 * xp.sin(0.5 * theta) ** 2 - 1j * xp.sin(theta)


def kinetic_factor(T, dt, imaginary):
    """K = e^{c dt T} in complex128 (T is float64)."""
    xp = B.get_array_module(T)
    return xp.exp(-dt * T).astype(numpy.complex128) if imaginary else xp.exp(-1j * dt * T)


def apply_kinetic(psi, K):
    """F⁻¹ K F ψ, computed in complex128 and returned in ψ's dtype.

    NumPy's float32 FFT (pocketfft) is not norm-neutral: with a phase between F and F⁻¹
    it shrinks Σ|ψ|² by a few 10⁻⁸ per step, a bias (measured in lesson 02) that would
    dominate the split-step's drift over 1000 steps, so the transform is done in double.
    """
    fft = fft_module(psi)
    return fft.ifft2(K * fft.fft2(psi.astype(numpy.complex128))).astype(psi.dtype)


def phase_step(psi, h: float, V=0.0, g=0.0, imaginary: bool = False):
    """The split-step's real-space factor  ψ' = e^{cθ} ψ,  θ = h (V + g|ψ|²)  (h = dt/2),

    computed as ψ + (e^{cθ} − 1) ψ (see :func:`_phase`). V is a number or an array that
    broadcasts against ψ (as :func:`prepare_V` returns it). A GPU kernel may stand in for
    it (``phase_ops`` of :func:`splitstep_step`).
    """
    _, m = _phase(psi, h, V, g, imaginary)
    return psi + m * psi


def phase_step_adjoint(psi, grad_out, h: float, V=0.0, g=0.0, imaginary: bool = False, param_grads: bool = True):
    """Adjoint of :func:`phase_step` at its input ψ: (G, ∂L/∂V map, ∂L/∂g map).

        r = Re[conj(G') c ψ']          (= ∂L/∂θ, pointwise; ψ' the step's output)
        G = conj(e^{cθ}) G' + 2h g r ψ
        ∂L/∂V = h r,   ∂L/∂g = h r |ψ|²   (pointwise maps; None, None without ``param_grads``)
    """
    _, m = _phase(psi, h, V, g, imaginary)
    return _phase_adjoint(psi, psi + m * psi, m, grad_out, h, g, imaginary, param_grads)


def _phase_adjoint(psi, psi_out, m, grad_out, h, g, imaginary, param_grads):
    """:func:`phase_step_adjoint` given the step's output ψ' and factor m = e^{cθ} − 1."""
    c = -1.0 if imaginary else -1j
    r = (c * grad_out.conj() * psi_out).real
    G = grad_out + m.conj() * grad_out + (2 * h * g) * r * psi     # e^{cθ} = 1 + m
    if not param_grads:
        return G, None, None
    gV = h * r
    return G, gV, gV * density(psi)


PHASE_OPS = (phase_step, phase_step_adjoint)


def splitstep_step(psi, dt: float, V=0.0, g=0.0, dx: float = 1.0, dy: float | None = None,
                   imaginary: bool = False, laplacian: str = "spectral", check: bool = True, phase_ops=None,
                   keep=None):
    """One Strang split-step Fourier step (second order in dt):

        ψ₁ = e^{c dt/2 (V + g|ψ|²)} ψ          half step of potential + interaction
        ψ₂ = F⁻¹ e^{c dt T(k)} F ψ₁             full kinetic step, T = ½k²
        ψ' = e^{c dt/2 (V + g|ψ₂|²)} ψ₂         half step again

    with c = −i (real time: every factor has modulus 1, the norm is kept to round-off)
    or c = −1 (imaginary time). ``laplacian='fd5'`` uses the 5-point Laplacian's symbol.
    ``phase_ops``: (phase_step, phase_step_adjoint) of the real-space half steps, by default
    :data:`PHASE_OPS` (the GPU kernels pass theirs; the rest of the step is this function).
    ``keep``: a dict that receives the step's inner fields (ψ₁, its factor m₁ = e^{cθ} − 1, F ψ₁
    and ψ₂), which :func:`splitstep_step_backward` then does not recompute (reference phase steps only).

    >>> import numpy
    >>> from neurophys.physics import gpe
    >>> X, Y = gpe.grid(16)
    >>> psi = gpe.normalise(gpe.gaussian(X, Y, width=3.0))
    >>> out = gpe.splitstep_step(psi, dt=0.1, V=-0.15, g=0.3)
    >>> out.shape, out.dtype
    ((16, 16), dtype('complex64'))
    >>> bool(abs(gpe.norm(out) - 1.0) < 1e-6)          # every factor has modulus 1
    True
    """
    dt = check_dt(dt)
    if check:
        check_field(psi)
    V = prepare_V(V, psi)
    check_g(g, psi)
    step = (phase_ops or PHASE_OPS)[0]
    K = kinetic_factor(kinetic_symbol(psi.shape, dx, dy, laplacian, dtype=numpy.float64), dt, imaginary)
    if keep is None or phase_ops is not None:
        psi1 = step(psi, dt / 2, V, g, imaginary)
        psi2 = apply_kinetic(psi1, K)
    else:      # the same operations as phase_step and apply_kinetic, keeping what the backward needs
        _, m1 = _phase(psi, dt / 2, V, g, imaginary)
        psi1 = psi + m1 * psi
        fft = fft_module(psi)
        psi1_k = fft.fft2(psi1.astype(numpy.complex128))
        psi2 = fft.ifft2(K * psi1_k).astype(psi.dtype)
        keep.update(psi1=psi1, m1=m1, psi1_k=psi1_k, psi2=psi2)
    return step(psi2, dt / 2, V, g, imaginary)


def splitstep_step_backward(psi, grad_out, dt: float, V=0.0, g=0.0, dx: float = 1.0, dy: float | None = None,
                            imaginary: bool = False, laplacian: str = "spectral", param_grads: bool = True,
                            phase_ops=None, inner=None):
    """Adjoint of :func:`splitstep_step` at the input field ψ (recomputes the step's inner fields,
    unless ``inner`` holds them: the ``keep`` dict of that forward step).

    Backwards through the three factors:  the phase steps by :func:`phase_step_adjoint`
    (∂L/∂θ = r; θ = (dt/2)(V + g|ψ|²) gives ∂L/∂V = (dt/2) r, ∂L/∂g = (dt/2) r|ψ|²,
    ∂L/∂dt ∋ r θ / dt = (∂L/∂V)(V + g|ψ|²) / dt), the kinetic step by F⁻¹ conj(e^{c dt T}) F
    (the adjoint of a unitary Fourier multiplier), with ∂L/∂dt ∋ Re Σ conj(G₂) F⁻¹ c T e^{c dt T} F ψ₁.
    ``phase_ops`` as in :func:`splitstep_step`.

    Returns (G, {'V': ..., 'g': ..., 'dt': ...}).
    """
    dt = check_dt(dt)
    V = prepare_V(V, psi)
    check_g(g, psi)
    step, adjoint = phase_ops or PHASE_OPS
    T = kinetic_symbol(psi.shape, dx, dy, laplacian, dtype=numpy.float64)
    K = kinetic_factor(T, dt, imaginary)
    c = -1.0 if imaginary else -1j
    fft = fft_module(psi)
    if inner:              # the forward kept them (evolve(..., keep_inner=True))
        psi1, m1, psi1_k, psi2 = inner["psi1"], inner["m1"], inner["psi1_k"], inner["psi2"]
    else:                  # forward again, keeping the inner fields
        if phase_ops is None:  # the reference keeps the first half step's factor for its adjoint
            _, m1 = _phase(psi, dt / 2, V, g, imaginary)
            psi1 = psi + m1 * psi
        else:
            psi1 = step(psi, dt / 2, V, g, imaginary)
        psi1_k = fft.fft2(psi1.astype(numpy.complex128))
        psi2 = fft.ifft2(K * psi1_k).astype(psi.dtype)
    # backwards
    G2, gV3, gg3 = adjoint(psi2, grad_out, dt / 2, V, g, imaginary, param_grads)
    G1 = apply_kinetic(G2, K.conj())
    if phase_ops is None:
        G, gV1, gg1 = _phase_adjoint(psi, psi1, m1, G1, dt / 2, g, imaginary, param_grads)
    else:
        G, gV1, gg1 = adjoint(psi, G1, dt / 2, V, g, imaginary, param_grads)
    if not param_grads:
        return G, {}
    dK = fft.ifft2(c * T * K * psi1_k)
    grad_dt_kin = float((G2.conj() * dK).real.sum())
    grads = {
        "V": reduce_like(gV1 + gV3, V),
        "g": float((gg1 + gg3).sum()),
        "dt": grad_dt_kin + float((gV1 * (V + g * density(psi)) + gV3 * (V + g * density(psi2))).sum()) / dt,
    }
    return G, grads


# ---------------------------------------------------------------- many steps
STEPPERS = {"euler": (euler_step, euler_step_backward), "splitstep": (splitstep_step, splitstep_step_backward)}


def get_stepper(scheme: str):
    """(step, step_backward) for 'euler' or 'splitstep'."""
    if scheme not in STEPPERS:
        raise ValueError(f"unknown scheme {scheme!r}; valid names are: {', '.join(SCHEMES)}")
    return STEPPERS[scheme]


class Tape:
    """What :func:`evolve` keeps for its backward: the stored fields and the step's settings."""

    def __init__(self, scheme, n_steps, kwargs, stored, every, inner=None):
        self.scheme, self.n_steps, self.kwargs = scheme, n_steps, kwargs
        self.stored, self.every = stored, every   # stored[j] = field after j·every steps
        self.inner = inner                        # split-step, keep_inner: inner[j] = step j's inner fields

    @property
    def nbytes(self) -> int:
        kept = [a for d in (self.inner or []) for a in d.values()]
        return int(sum(p.nbytes for p in self.stored) + sum(a.nbytes for a in kept))


def evolve(psi, n_steps: int, dt: float, V=0.0, g=0.0, scheme: str = "splitstep", dx: float = 1.0,
           dy: float | None = None, imaginary: bool = False, checkpoint: int | None = None,
           record=None, check: bool = True, keep_inner: bool = False, **scheme_kw):
    """Apply ``n_steps`` steps of ``scheme``; returns (ψ_final, tape) for :func:`evolve_backward`.

    checkpoint=None stores all n_steps + 1 fields; checkpoint=k stores every k-th and the
    backward recomputes the steps in between. ``keep_inner=True`` (split-step, no checkpoints)
    also keeps each step's inner fields, so that the backward recomputes nothing (five fields'
    worth more per step; what :class:`GPELayer` asks for, for its few steps).
    ``record(step, psi)``, if given, is called after each step (for plots of norm and energy).
    The field is validated once at the start and checked for NaN/inf once at the end; Euler's
    stability refusal runs at every step (max|ψ|² can grow), and ``check=False`` skips it.
    """
    step, _ = get_stepper(scheme)
    n_steps = validate.positive_int("n_steps", n_steps, minimum=0)     # 2.7 steps is refused, not run as 2
    every = 1 if checkpoint is None else validate.positive_int("checkpoint (steps between stored fields)",
                                                               checkpoint)
    check_field(psi)
    dt = check_dt(dt)
    dx, dy = check_dx(dx, dy)
    check_V(V, psi)                       # before the first step, so that no step size is blamed for them
    check_g(g, psi)
    kwargs = dict(dt=dt, V=V, g=g, dx=dx, dy=dy, imaginary=imaginary, **scheme_kw)
    stored = [psi]
    inner = [] if (keep_inner and scheme == "splitstep" and every == 1) else None
    for k in range(1, n_steps + 1):
        if inner is not None:
            inner.append({})
            psi = step(psi, check=False, keep=inner[-1], **kwargs)
        else:
            psi = step(psi, check="dt" if (check and scheme == "euler") else False, **kwargs)
        if k % every == 0 and k < n_steps:
            stored.append(psi)
        if record is not None:
            record(k, psi)
    validate.check_finite("the evolved field ψ", psi, where=f"step {n_steps} of {scheme}",
                          fix=f"lower dt={dt:g} (or use scheme='splitstep'), and check the size of ψ₀, V and g")
    return psi, Tape(scheme, n_steps, kwargs, stored, every, inner)


def evolve_backward(tape: Tape, grad_out, param_grads: bool = True):
    """Back through all steps of :func:`evolve`: (∂L/∂ψ₀, {'V', 'g', 'dt'}) ({} without ``param_grads``).

    Walks the checkpoints from last to first, recomputing each segment's fields
    (nothing to recompute when every field was stored).
    """
    step, step_backward = get_stepper(tape.scheme)
    kw = dict(tape.kwargs)
    G = grad_out
    if tape.n_steps == 0:
        if not param_grads:
            return G, {}
        V = prepare_V(kw["V"], G)
        return G, {"V": 0.0 if isinstance(V, float) else 0 * V, "g": 0.0, "dt": 0.0}
    totals = None
    for j in range(len(tape.stored) - 1, -1, -1):
        start = j * tape.every
        stop = min(start + tape.every, tape.n_steps)
        fields = [tape.stored[j]]
        for _ in range(start, stop - 1):
            fields.append(step(fields[-1], check=False, **kw))
        for i, psi in reversed(list(enumerate(fields))):
            extra = {"inner": tape.inner[start + i]} if tape.inner else {}
            G, grads = step_backward(psi, G, param_grads=param_grads, **kw, **extra)
            totals = grads if totals is None else {k: totals[k] + grads[k] for k in grads}
    return G, totals


# the reference implementations of the named operations (neurophys.backend.op); the cupy
# backend's plug-in (neurophys.kernels) registers fused kernels under the same names
B.register_op("gpe.evolve", "numpy", evolve)
B.register_op("gpe.evolve_backward", "numpy", evolve_backward)


# ---------------------------------------------------------------- imaginary time and fields to look at
def normalise(psi, N: float = 1.0, dx: float = 1.0, dy: float | None = None):
    """ψ · √(N / Σ|ψ|² dx dy), per field (N > 0; a field that is zero everywhere is refused)."""
    N = validate.positive_real("N (the particle number)", N)
    xp = B.get_array_module(psi)
    total = norm(psi, dx, dy)
    if not bool(xp.all(total != 0)):
        which = "" if numpy.ndim(total) == 0 else \
            f" (field {int(B.to_host(xp.flatnonzero(total == 0))[0])} of the batch)"
        raise validate.NeurophysInputError(f"psi is zero everywhere{which}: it cannot be normalised to N = {N:g}; "
                                           "start from a field with some density (e.g. neurophys.physics.gpe.gaussian)")
    scale = xp.sqrt(N / total).astype(_real_dtype(psi))
    return psi * (scale[..., None, None] if psi.ndim == 3 else scale)


def ground_state(psi0, V=0.0, g=0.0, dt: float = 0.01, n_steps: int = 2000, N: float = 1.0, dx: float = 1.0,
                 dy: float | None = None, scheme: str = "splitstep", tol: float | None = 1e-10, **scheme_kw):
    """The ground state by imaginary time: ψ ← normalise(step_τ(ψ)) until E stops changing.

    Imaginary time damps each eigenmode as e^{−E_n τ}; renormalising after each step
    keeps N fixed, so the lowest-energy mode is what survives.
    Returns (ψ, energies per step as a NumPy array). (No backward: use it to prepare fields.)

    >>> from neurophys.physics import gpe
    >>> X, Y = gpe.grid(16)
    >>> V = gpe.harmonic_trap(X, Y, omega=0.5)                   # V = ½ω²r²: E₀ = ω = 0.5 without g
    >>> psi, E = gpe.ground_state(gpe.gaussian(X, Y, width=3.0), V=V, g=0.0, dt=0.05, n_steps=500)
    >>> round(float(E[-1]), 6)
    0.5
    """
    step, _ = get_stepper(scheme)
    N = validate.positive_real("N (the particle number)", N)
    dt = check_dt(dt)
    dx, dy = check_dx(dx, dy)
    n_steps = validate.positive_int("n_steps", n_steps)
    psi0 = check_field(psi0)
    check_V(V, psi0)
    check_g(g, psi0)
    if float(numpy.max(B.to_host(norm(psi0, dx, dy)))) == 0.0:
        raise validate.NeurophysInputError("psi0 is zero everywhere: imaginary time needs a field to start from "
                                           "(e.g. a Gaussian from neurophys.physics.gpe.gaussian)")
    psi = normalise(psi0, N, dx, dy)
    lap = "fd5" if scheme == "euler" else scheme_kw.get("laplacian", "spectral")
    fix = f"lower dt={dt:g}" + (" or use scheme='splitstep'" if scheme == "euler" else "")
    if float(numpy.min(B.to_host(g))) < 0:
        fix += ("; or the interaction is too attractive for a ground state to exist: with g < 0 and g·N "
                "below a critical value a 2-D field collapses to a point, so try a smaller |g| or N")
    energies = []
    for _ in range(int(n_steps)):
        psi = normalise(step(psi, dt, V, g, dx=dx, dy=dy, imaginary=True, **scheme_kw), N, dx, dy)
        energies.append(float(numpy.sum(B.to_host(energy(psi, V, g, dx, dy, laplacian=lap)))))
        validate.check_finite("the energy", energies[-1], where=f"imaginary-time step {len(energies)}", fix=fix)
        if tol is not None and len(energies) > 10 and abs(energies[-1] - energies[-2]) < tol * abs(energies[-1]):
            break
    return psi, numpy.asarray(energies)


def grid(nx: int, ny: int | None = None, dx: float = 1.0, dy: float | None = None):
    """Centred coordinates (X, Y) of an (ny, nx) grid, on the active backend."""
    ny = nx if ny is None else ny
    dy = dx if dy is None else dy
    xp = B.xp()
    x = (numpy.arange(nx) - nx / 2) * dx
    y = (numpy.arange(ny) - ny / 2) * dy
    X, Y = numpy.meshgrid(x, y)
    return xp.asarray(X, dtype=B.float_dtype()), xp.asarray(Y, dtype=B.float_dtype())


def complex_dtype():
    """complex64 in float32 mode, complex128 in float64 mode."""
    return numpy.complex128 if B.float_dtype() == numpy.float64 else numpy.complex64


def gaussian(X, Y, width: float = 4.0, x0: float = 0.0, y0: float = 0.0, kx: float = 0.0, ky: float = 0.0):
    """ψ = exp(−((x−x₀)² + (y−y₀)²) / (2w²)) · e^{i(kx x + ky y)}  (a wave packet)."""
    xp = B.get_array_module(X)
    r2 = (X - x0) ** 2 + (Y - y0) ** 2
    return (xp.exp(-r2 / (2 * width ** 2)) * xp.exp(1j * (kx * X + ky * Y))).astype(complex_dtype())


def imprint_vortex(psi, X, Y, x0: float = 0.0, y0: float = 0.0, charge: int = 1, core: float = 1.0):
    """ψ · e^{i m φ} · tanh(r / ξ): a vortex of charge m (phase winds by 2πm) with core size ξ."""
    xp = B.get_array_module(psi)
    dxv, dyv = X - x0, Y - y0
    r = xp.sqrt(dxv ** 2 + dyv ** 2)
    phase = xp.exp(1j * charge * xp.arctan2(dyv, dxv))
    return (psi * phase * xp.tanh(r / core)).astype(psi.dtype)


def imprint_vortex_pair(psi, X, Y, d: float = 4.0, images: int = 10, core: float = 1.0):
    """A vortex (+1) at (−d, 0) and an antivortex (−1) at (+d, 0) on a periodic box:

        φ(x, y) = Σ_{n=−K..K} [ atan2(y − n L_y, x + d) − atan2(y − n L_y, x − d) ]

    The images n L_y make the phase periodic across the top and bottom edges (a lone
    dipole would leave a seam of ~8d/L radians there); φ is even in x, so it matches
    across the left and right edges. The density is cut to zero in each core by tanh(r/ξ).
    """
    xp = B.get_array_module(psi)
    Ly = float(Y.max() - Y.min()) + float(Y[1, 0] - Y[0, 0])
    phase = xp.zeros(X.shape, dtype=X.dtype)
    for n in range(-images, images + 1):
        phase += xp.arctan2(Y - n * Ly, X + d) - xp.arctan2(Y - n * Ly, X - d)
    r1 = xp.sqrt((X + d) ** 2 + Y ** 2)
    r2 = xp.sqrt((X - d) ** 2 + Y ** 2)
    return (psi * xp.exp(1j * phase) * xp.tanh(r1 / core) * xp.tanh(r2 / core)).astype(psi.dtype)


def harmonic_trap(X, Y, omega: float = 0.1):
    """V = ½ ω² (x² + y²)."""
    return 0.5 * omega ** 2 * (X ** 2 + Y ** 2)


# ---------------------------------------------------------------- Euler on (Re ψ, Im ψ): the layer's NumPy path
def _laplacian_real(a, out, tmp, dx: float = 1.0):
    """out = ∇²a, the 5-point periodic Laplacian of a real contiguous (batch, Ny, Nx) array
    (tmp: a scratch array of a's shape), as :func:`laplacian5` computes it for dx = dy.

    The neighbour sums run over the flattened batch: a[k+1] + a[k−1] is right everywhere except
    in the first and last column of each row, which are redone with their periodic neighbours
    (and a[k+Nx] + a[k−Nx] except in the first and last row of each field), so the long passes
    are over contiguous memory."""
    nx = a.shape[-1]
    f, o, t = a.reshape(-1), out.reshape(-1), tmp.reshape(-1)
    numpy.add(f[2:], f[:-2], out=o[1:-1])                    # a[j, i+1] + a[j, i−1]
    numpy.add(a[..., 1], a[..., -1], out=out[..., 0])
    numpy.add(a[..., 0], a[..., -2], out=out[..., -1])
    numpy.add(f[2 * nx:], f[:-2 * nx], out=t[nx:-nx])        # a[j+1, i] + a[j−1, i]
    numpy.add(a[..., 1, :], a[..., -1, :], out=tmp[..., 0, :])
    numpy.add(a[..., 0, :], a[..., -2, :], out=tmp[..., -1, :])
    out += tmp
    numpy.multiply(a, 4.0, out=tmp)
    out -= tmp
    if dx != 1:
        out *= 1 / dx ** 2
    return out


def _h_real(a, w, out, tmp, dx):
    """out = −½∇²a + w a  for real parts a (… , batch, Ny, Nx): H ψ for a = (Re ψ, Im ψ) and w = V + g|ψ|²,
    H_lin G for a = (Re G, Im G) and w = V + 2g|ψ|² (both parts in one pass each)."""
    _laplacian_real(a, out, tmp, dx)
    out *= -0.5
    numpy.multiply(w, a, out=tmp)
    out += tmp
    return out


def euler_density_limit(dt: float, V: float, g: float, dx: float = 1.0) -> float:
    """A max|ψ|² below which :func:`check_euler_dt` (real time, V and g numbers, dx = dy) surely accepts dt:

        dt ≤ 1 / ω_max,  ω_max = 4/dx² + |V| + 2|g| max|ψ|²   ⇔   max|ψ|² ≤ (1/dt − 4/dx² − |V|) / 2|g|

    lowered by a relative 10⁻⁶ so that rounding cannot let a field through that the check refuses
    (a field above it gets the check itself). −inf when even ψ = 0 is refused, inf when g = 0 and it is not."""
    room = 1 / dt - (4 / dx ** 2 + abs(V))
    if room <= 0:
        return -numpy.inf
    if g == 0:
        return numpy.inf
    return room / (2 * abs(g)) * (1 - 1e-6)


def euler_evolve_planes(psi, n_steps: int, dt: float, V: float, g: float, dx: float = 1.0, check: bool = True):
    """:func:`evolve` with ``scheme='euler'`` (real time, numbers V and g) on ψ = u + iv held as its
    real and imaginary parts, one contiguous real array psi = (u, v) of shape (2, batch, Ny, Nx):

        n = u² + v²,   w = V + g n
        Hu = −½∇²u + w u,   Hv = −½∇²v + w v          (H(ψ)ψ = Hu + i Hv)
        u' = u + dt Hv,     v' = v − dt Hu             (ψ' = ψ − i dt H(ψ)ψ)

    the same operations as :func:`euler_step` (NumPy's complex arithmetic would cast the real
    w to complex and loop over interleaved numbers). Returns (ψ, tape, max|ψ₀|²): the tape holds
    the fields before each step, for :func:`euler_evolve_planes_backward`.

    On the CPU each step is one compiled sweep (:mod:`neurophys.cpu.gpe`, the same operations in the
    same order, so the same numbers); it flags the fields whose max|ψ|² passes
    :func:`euler_density_limit`, and only those get the exact stability check."""
    n, tmp = numpy.empty_like(psi[0]), numpy.empty_like(psi)
    H = numpy.empty_like(psi)
    stored, n0_max = [], None
    fused = cpu.active(psi)                                # one compiled sweep per step (neurophys.cpu.gpe)
    if fused:
        n_limit = euler_density_limit(dt, V, g, dx) if check else numpy.inf
    for k in range(int(n_steps)):
        stored.append(psi)
        if fused:
            new = numpy.empty_like(psi)
            over = cpu_gpe.euler_step(psi, new, dt, V, g, dx, n_limit=numpy.inf if k == 0 else n_limit)
            if k == 0 or over:                             # the exact max|ψ|² where it is read
                n_max = cpu_gpe.density_max(psi)
                n0_max = n_max if k == 0 else n0_max
                if check:
                    check_euler_dt(psi[0], dt, V, g, dx, dx, False, n_max=n_max)
            psi = new
            continue
        u, v = psi
        numpy.multiply(u, u, out=n)
        numpy.multiply(v, v, out=tmp[0])
        n += tmp[0]
        if k == 0 or check:
            n_max = float(n.max())
            n0_max = n_max if k == 0 else n0_max
            if check:
                check_euler_dt(u, dt, V, g, dx, dx, False, n_max=n_max)
        n *= g                                             # w = V + g n
        n += V
        _h_real(psi, n, H, tmp, dx)                        # (Hu, Hv)
        H *= dt
        new = numpy.empty_like(psi)
        numpy.add(u, H[1], out=new[0])
        numpy.subtract(v, H[0], out=new[1])
        psi = new
    if not validate.is_finite(psi):
        validate.check_finite("the evolved field ψ", float("nan"), where=f"step {n_steps} of euler",
                              fix=f"lower dt={dt:g} (or use scheme='splitstep'), and check the size of ψ₀, V and g")
    return psi, stored, n0_max


def euler_evolve_planes_backward(stored, G, dt: float, V: float, g: float, dx: float = 1.0):
    """Adjoint of :func:`euler_evolve_planes` (:func:`euler_step_backward` on real and imaginary
    parts), from G' = (P, Q) = (∂L/∂Re ψ, ∂L/∂Im ψ) at the end back to ψ₀, step by step:

        (A, B) = H_lin (P, Q),   H_lin = −½∇² + V + 2g n
        s = u² − v²,  t = 2uv,  X = sP + tQ,  Y = tP − sQ        (ψ² conj(G') = X + iY)
        G = (P + dt g Y − dt B) + i (Q − dt g X + dt A)          (G' + c̄ H_lin G' + c g ψ² conj(G'), c = −i dt)
    """
    w, s, t, X, Y = (numpy.empty_like(G[0]) for _ in range(5))
    HG, tmp = numpy.empty_like(G), numpy.empty_like(G)
    fused = cpu.active(G, *stored)                         # one compiled sweep per step (neurophys.cpu.gpe)
    for psi in reversed(stored):
        if fused:
            new = numpy.empty_like(G)
            cpu_gpe.euler_step_adjoint(psi, G, new, dt, V, g, dx)
            G = new
            continue
        u, v = psi
        P, Q = G
        numpy.multiply(u, u, out=s)
        numpy.multiply(v, v, out=t)
        numpy.add(s, t, out=w)                             # w₂ = V + 2g n
        w *= 2 * g
        w += V
        _h_real(G, w, HG, tmp, dx)                         # (A, B)
        s -= t                                             # s = u² − v²
        numpy.multiply(u, v, out=t)
        t += t                                             # t = 2uv
        numpy.multiply(s, P, out=X)                        # X = sP + tQ
        numpy.multiply(t, Q, out=tmp[0])
        X += tmp[0]
        numpy.multiply(t, P, out=Y)                        # Y = tP − sQ
        numpy.multiply(s, Q, out=tmp[0])
        Y -= tmp[0]
        new = numpy.empty_like(G)
        Y *= dt * g                                        # real part: P + dt g Y − dt B
        numpy.add(Y, P, out=new[0])
        HG *= dt
        new[0] -= HG[1]
        X *= dt * g                                        # imaginary part: Q − dt g X + dt A
        numpy.subtract(Q, X, out=new[1])
        new[1] += HG[0]
        G = new
    return G


# ---------------------------------------------------------------- the field as a network layer
class _Shards:
    """The tapes of a batch evolved in shards (``GPELayer.threads``): shard k is rows edges[k]:edges[k+1]."""

    def __init__(self, tapes, edges):
        self.tapes, self.edges = tapes, edges


class GPELayer(Module):
    """A GPE field as a network block: real channels (batch, Ny, Nx, 2) = (Re ψ₀, Im ψ₀) in,
    the evolved field's channels out (``readout='field'``) or its density |ψ|² (``readout='density'``,
    shape (batch, Ny, Nx, 1)).

    ``scheme``: 'euler' (document 000), 'splitstep', or 'identity' (the control: no physics).
    Nothing is learnable (as in the document); ``backward`` returns ∂L/∂input (with
    ``param_grads=True`` it also keeps ∂L/∂V, ∂L/∂g, ∂L/∂dt in ``self.param_grads``).

    ``threads`` (default 1): with T > 1 and NumPy arrays, the batch of complex fields is evolved
    (and back-propagated) as T shards in T threads; every field evolves independently and NumPy and
    scipy.fft release the interpreter lock, so the same numbers come out, on T cores. The
    shards run on :func:`neurophys.parallel.map_shards` (inside another's shards: one after the other).
    The real-planes Euler path (below) stays on one thread: its many short NumPy calls hand the lock
    back and forth, and two threads were slower than one (fwd + bwd, 5 steps, idle 2-core machine:
    16.4 → 21.4 ms for 128 fields, 62 → 90 ms for 512; split-step in two threads: 117 → 65 ms).
    """

    threads = 1
    block = 16       # fields per block on the NumPy path (see _plane_blocks)

    def __init__(self, n_steps: int = 5, dt: float = 0.01, V=-0.15, g=0.30, scheme: str = "euler",
                 dx: float = 1.0, readout: str = "field", check: bool = True, param_grads: bool = False,
                 **scheme_kw):
        if scheme not in SCHEMES + ("identity",):
            raise ValueError(f"unknown scheme {scheme!r}; valid names are: {', '.join(SCHEMES + ('identity',))}")
        if readout not in ("field", "density"):
            raise ValueError(f"unknown readout {readout!r}; valid names are: field, density")
        self.n_steps = validate.positive_int("n_steps", n_steps, minimum=0)
        self.dt, self.V, self.g, self.scheme = check_dt(dt), check_V(V), check_g(g), scheme
        self.dx = check_dx(dx)[0]
        self.readout, self.check, self.scheme_kw = readout, check, scheme_kw
        self.params, self.grads, self.want_param_grads, self.param_grads = {}, {}, param_grads, {}
        self.max_dt_omega = 0.0  # largest dt·ω_max met in forward (Euler's stability margin)
        self._tape = self._psi_c = self._planes = None

    def forward(self, x):
        x = validate.as_float_array("x", x, ndim=4)
        if x.shape[-1] != 2:
            raise validate.NeurophysInputError(f"GPELayer expects x of shape (batch, Ny, Nx, 2) = (Re, Im) channels, "
                                               f"got {tuple(x.shape)}")
        if self._planar(x):
            return self._forward_planes(x)
        psi0 = (x[..., 0] + 1j * x[..., 1]).astype(numpy.complex128 if x.dtype == numpy.float64
                                                   else numpy.complex64)
        if self.scheme == "identity":
            psi = psi0
        else:
            if self.scheme == "euler":  # Euler's stability margin, dt·ω_max (refused above 1)
                dt_omega = EULER_REAL_LIMIT * self.dt / euler_max_dt(psi0, self.V, self.g, self.dx)
                self.max_dt_omega = max(self.max_dt_omega, dt_omega)
            # the named op: evolve() here, the fused CUDA kernels when neurophys.kernels registered them (cupy)
            psi, self._tape = self._evolve(psi0)
        self._psi = psi
        xp = B.get_array_module(x)
        if self.readout == "density":
            return density(psi)[..., None].astype(x.dtype)
        return xp.stack([psi.real, psi.imag], axis=-1).astype(x.dtype)

    # ------------------------------------------------------------------ the NumPy path on (Re ψ, Im ψ)
    def _planar(self, x) -> bool:
        """Whether this forward runs on the real and imaginary parts as two real arrays (NumPy, the
        document's Euler or the identity, a field readout, numbers V and g, no parameter gradients)."""
        return (B.get_array_module(x) is numpy and self.scheme in ("euler", "identity") and self.readout == "field"
                and not self.scheme_kw and not self.want_param_grads and min(x.shape[1:3]) >= 3
                and numpy.ndim(self.V) == 0 and numpy.ndim(self.g) == 0)

    def _plane_blocks(self, n):
        """Edges of the blocks of fields evolved one after the other (all steps of a block while its
        arrays sit in the core's cache: ``block`` fields of 2 × 32 × 32 floats, × 6 arrays ≈ 800 KB)."""
        k = max(1, -(-n // max(1, int(self.block))))
        return [i * n // k for i in range(k + 1)]

    def _forward_planes(self, x):
        """Forward on ψ as the planes (Re ψ, Im ψ), block by block: the output (batch, Ny, Nx, 2) is a
        channels-last view of the planes (the next convolution reads them plane by plane)."""
        if self.scheme == "identity":
            self._tape, self._planes, self._psi_c = None, (x[..., 0], x[..., 1]), None
            return x
        validate.check_input_finite("psi", x)
        edges = self._plane_blocks(x.shape[0])
        run = lambda k: euler_evolve_planes(numpy.ascontiguousarray(x[edges[k]:edges[k + 1]].transpose(3, 0, 1, 2)),
                                            self.n_steps, self.dt, float(self.V), float(self.g), self.dx,
                                            bool(self.check))
        outs = [run(k) for k in range(len(edges) - 1)]
        out = numpy.empty((2,) + x.shape[:3], dtype=x.dtype)
        for k, (psi, _, _) in enumerate(outs):
            out[:, edges[k]:edges[k + 1]] = psi
        if self.n_steps:
            n_max = max(o[2] for o in outs)
        else:
            n_max = float((x[..., 0] ** 2 + x[..., 1] ** 2).max())
        dt_omega = EULER_REAL_LIMIT * self.dt / euler_max_dt(out, float(self.V), float(self.g), self.dx, n_max=n_max)
        self.max_dt_omega = max(self.max_dt_omega, dt_omega)
        self._tape, self._planes, self._psi_c = ("planes", edges, [o[1] for o in outs]), (out[0], out[1]), None
        return out.transpose(1, 2, 3, 0)

    def _backward_planes(self, dout):
        if self._tape is None:                       # the identity
            return dout
        _, edges, tapes = self._tape
        run = lambda k: euler_evolve_planes_backward(
            tapes[k], numpy.ascontiguousarray(dout[edges[k]:edges[k + 1]].transpose(3, 0, 1, 2)),
            self.dt, float(self.V), float(self.g), self.dx)
        outs = [run(k) for k in range(len(tapes))]
        G = numpy.empty((2,) + dout.shape[:3], dtype=dout.dtype)
        for k, Gk in enumerate(outs):
            G[:, edges[k]:edges[k + 1]] = Gk
        self.param_grads = {}
        return G.transpose(1, 2, 3, 0)

    @property
    def _psi(self):
        """ψ after the last forward (complex); from the planes, made on first use, on the NumPy path."""
        if self._psi_c is None and self._planes is not None:
            u, v = self._planes
            psi = numpy.empty(u.shape, dtype=numpy.complex128 if u.dtype == numpy.float64 else numpy.complex64)
            psi.real, psi.imag = u, v
            self._psi_c = psi
        return self._psi_c

    @_psi.setter
    def _psi(self, psi):
        self._psi_c, self._planes = psi, None

    def _evolve(self, psi0):
        """evolve (the named op) on the whole batch, or on ``threads`` shards side by side."""
        op = B.op("gpe.evolve")
        kw = dict(scheme=self.scheme, dx=self.dx, check=self.check, **self.scheme_kw)
        if self.scheme == "splitstep" and op is evolve:   # the reference (a kernel op keeps its own tape):
            kw["keep_inner"] = True      # a few steps, so keep the inner fields; the backward recomputes nothing
        T, n = int(self.threads), psi0.shape[0]
        if (T < 2 or n < 2 * T or B.get_array_module(psi0) is not numpy
                or numpy.ndim(self.V) > 2 or numpy.ndim(self.g) > 2):   # per-example V/g: not sharded
            return op(psi0, self.n_steps, self.dt, self.V, self.g, **kw)
        edges = [k * n // T for k in range(T + 1)]
        outs = parallel.map_shards(lambda k: op(psi0[edges[k]:edges[k + 1]], self.n_steps, self.dt,
                                                self.V, self.g, **kw), T)
        return numpy.concatenate([o[0] for o in outs]), _Shards([o[1] for o in outs], edges)

    def backward(self, dout):
        if self._psi_c is None and self._planes is None:
            raise RuntimeError("GPELayer.backward called before forward")
        if self._planes is not None:
            return self._backward_planes(dout)
        if self.readout == "density":
            G = 2 * dout[..., 0] * self._psi       # ∂L/∂ψ of L(|ψ|²): 2 (∂L/∂n) ψ
        else:
            G = dout[..., 0] + 1j * dout[..., 1]
        G = G.astype(self._psi.dtype)
        if self.scheme != "identity" and isinstance(self._tape, _Shards):
            back = B.op("gpe.evolve_backward")
            e = self._tape.edges
            outs = parallel.map_shards(
                lambda k: back(self._tape.tapes[k], G[e[k]:e[k + 1]], param_grads=self.want_param_grads),
                len(self._tape.tapes))
            G = numpy.concatenate([o[0] for o in outs])
            self.param_grads = {k: sum(o[1][k] for o in outs) for k in outs[0][1]}
        elif self.scheme != "identity":
            G, self.param_grads = B.op("gpe.evolve_backward")(self._tape, G, param_grads=self.want_param_grads)
        xp = B.get_array_module(dout)
        return xp.stack([G.real, G.imag], axis=-1).astype(dout.dtype)

