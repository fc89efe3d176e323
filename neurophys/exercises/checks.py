"""The checks of the coding exercises, one function per exercise, and the catalogue.

Each check receives the student's function (wrapped so that the library code the exercise
asks for is switched off while it runs, see :mod:`neurophys.exercises`) and a random
generator drawn fresh from the operating system's entropy for every run, so no input can be
predicted and hard-coded. A check returns a one-line note when everything holds and raises
:class:`CheckFailed` with a hint otherwise.

What the checks guard, in general:

- **agreement** with an independent formula written here (not imported from the library) or
  with the library's own implementation, on random shapes and values;
- **gradients** by central finite differences (:mod:`neurophys.gradcheck`);
- **physical invariants**: norm (unitary steps), energy (symplectic steps), the EqProp theorem
  (the local rule equals the true gradient as β → 0, on exactly solved equilibria), the
  fluctuation–dissipation variance, stationarity of a relaxation;
- **behaviour**: a short training run with the student's rule must learn;
- **no shortcut**: calling the library function the exercise re-implements is refused (the
  ``forbid`` list of each exercise), and where a wholesale import could still pass, the call
  uses a convention the library function does not have (a callable force law instead of a
  system name, preallocated output buffers, two phases with a free input ...).

Every check's docstring says what it verifies and which wrong answers it catches.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy

from .. import backend as B
from ..gradcheck import check_gradient


class CheckFailed(AssertionError):
    """The student's function ran but gave a wrong answer; the message is the hint."""


@dataclass
class Exercise:
    lesson: str            # "01".."13"
    index: int             # 1, 2, ... within the lesson
    name: str              # the function the student writes
    summary: str           # what it asks, in one line
    guards: str            # what the check verifies, in one line
    check: object = None   # check(fn, rng) -> note
    forbid: tuple = field(default_factory=tuple)   # "module:attr" the student may not call


CATALOGUE: dict = {}


def exercise(lesson, index, name, summary, guards, forbid=()):
    def register(fn):
        CATALOGUE.setdefault(lesson, []).append(Exercise(lesson, index, name, summary, guards, fn, tuple(forbid)))
        CATALOGUE[lesson].sort(key=lambda e: e.index)
        return fn
    return register


# ------------------------------------------------------------------ helpers
def expect(cond, message):
    if not cond:
        raise CheckFailed(message)


def arr(value, what, shape=None, complex_ok=False):
    """The student's value as a float64/complex128 NumPy array of the expected shape."""
    try:
        a = numpy.asarray(B.to_host(value) if hasattr(value, "get") else value)
    except Exception as err:  # noqa: BLE001
        raise CheckFailed(f"{what}: expected an array, got {type(value).__name__} ({err})") from None
    if a.dtype == object:
        raise CheckFailed(f"{what}: expected a numeric array, got an object array")
    if shape is not None and tuple(a.shape) != tuple(shape):
        raise CheckFailed(f"{what}: expected shape {tuple(shape)}, got {tuple(a.shape)}")
    if not numpy.all(numpy.isfinite(a)):
        raise CheckFailed(f"{what}: contains NaN or inf")
    return a


def scalar(value, what):
    try:
        v = float(numpy.asarray(value).reshape(()))
    except Exception:  # noqa: BLE001
        raise CheckFailed(f"{what}: expected a single number, got {type(value).__name__} "
                          f"of shape {numpy.shape(value)}") from None
    expect(math.isfinite(v), f"{what}: is {v}")
    return v


def unpack(result, n, what):
    if not isinstance(result, (tuple, list)) or len(result) != n:
        raise CheckFailed(f"{what} must return {n} values as a tuple, got {type(result).__name__}"
                          + (f" of length {len(result)}" if isinstance(result, (tuple, list)) else ""))
    return result


def rel_err(a, b):
    a, b = numpy.asarray(a), numpy.asarray(b)
    return float(numpy.abs(a - b).max() / max(numpy.abs(b).max(), 1e-300)) if b.size else 0.0


def close(got, want, tol, what, hint=""):
    err = rel_err(got, want)
    expect(err <= tol, f"{what}: relative error {err:.2e} (allowed {tol:.0e})" + (f"; {hint}" if hint else ""))
    return err


def unchanged(before, after, what):
    expect(numpy.array_equal(before, after), f"your function changed its input {what} in place; "
                                             "compute new arrays instead")


def _f64():
    """NumPy backend in float64 for library objects built inside a check."""
    class _Ctx:
        def __enter__(self):
            self._a = B.using("numpy")
            self._a.__enter__()
            self._b = B.precision("float64")
            self._b.__enter__()

        def __exit__(self, *exc):
            self._b.__exit__(*exc)
            self._a.__exit__(*exc)
    return _Ctx()


def _cplx(rng, shape, scale=1.0):
    return scale * (rng.standard_normal(shape) + 1j * rng.standard_normal(shape))


def _roll_laplacian(f):
    return (numpy.roll(f, 1, -1) + numpy.roll(f, -1, -1) + numpy.roll(f, 1, -2) + numpy.roll(f, -1, -2) - 4 * f)


def _euler_ref(psi, dt, V, g, imaginary=False):
    """Independent forward Euler (numpy.roll Laplacian), the checks' own reference."""
    H = -0.5 * _roll_laplacian(psi) + (V + g * numpy.abs(psi) ** 2) * psi
    return psi - (1.0 if imaginary else 1j) * dt * H


# ---------------------------------------------------------------- exact equilibria of linear EqProp
def equilibrium(x, W, b, beta=0.0, target=None, free_input=False, clamp_out=None, target_layer=-1):
    """The exact minimum of F = E + β C for the energy on the states (ρ(s) = s, no box),

        E = ½ Σ_{l free} ‖s_l‖² − Σ_l s_l W_l · s_{l+1} − Σ_{l≥1} b_{l−1} · s_l,   C = ½ ‖s_k − t‖²

    found by one linear solve (the Hessian I − offdiag(W) + β P_k), not by relaxation.
    Layer 0 is clamped to x unless ``free_input``; the output is clamped to ``clamp_out`` if given.
    Returns the list of states [s_0, ..., s_L].
    """
    L = len(W)
    N = (x if x is not None else clamp_out).shape[0]
    sizes = [W[0].shape[0]] + [w.shape[1] for w in W]
    free = [free_input] + [True] * (L - 1) + [clamp_out is None]
    s = [x if not free_input else None] + [None] * L
    if clamp_out is not None:
        s[L] = clamp_out
    tl = target_layer % (L + 1)
    idx, off = {}, 0
    for l in range(L + 1):
        if free[l]:
            idx[l] = (off, off + sizes[l])
            off += sizes[l]
    H = numpy.eye(off)
    R = numpy.zeros((N, off))
    for l in range(L + 1):
        if not free[l]:
            continue
        a, z = idx[l]
        if l >= 1:
            R[:, a:z] += b[l - 1]
            if free[l - 1]:
                p, q = idx[l - 1]
                H[p:q, a:z] -= W[l - 1]
                H[a:z, p:q] -= W[l - 1].T
            else:
                R[:, a:z] += s[l - 1] @ W[l - 1]
        if l < L and not free[l + 1]:
            R[:, a:z] += s[l + 1] @ W[l].T
        if beta and l == tl:
            H[a:z, a:z] += beta * numpy.eye(sizes[l])
            R[:, a:z] += beta * target
    Z = numpy.linalg.solve(H, R.T).T
    out = list(s)
    for l, (a, z) in idx.items():
        out[l] = Z[:, a:z]
    return out


def _small_net(rng, sizes, scale=0.4):
    W = [scale * rng.standard_normal((a, c)) / math.sqrt(max(a, c)) for a, c in zip(sizes[:-1], sizes[1:])]
    b = [0.1 * rng.standard_normal(c) for c in sizes[1:]]
    return W, b


def _energy(s, W, b, free_input=False):
    E = 0.0
    for l in range(1, len(s)):
        E = E + 0.5 * (s[l] * s[l]).sum(axis=1) - s[l] @ b[l - 1]
    for l in range(len(s) - 1):
        E = E - ((s[l] @ W[l]) * s[l + 1]).sum(axis=1)
    if free_input:
        E = E + 0.5 * (s[0] * s[0]).sum(axis=1)
    return E


def _eqprop_ref(s_free, s_nudged, beta):
    n = s_free[0].shape[0]
    out = {}
    for l in range(len(s_free) - 1):
        out[f"W{l}"] = -(s_nudged[l].T @ s_nudged[l + 1] - s_free[l].T @ s_free[l + 1]) / (beta * n)
        out[f"b{l}"] = -(s_nudged[l + 1] - s_free[l + 1]).sum(axis=0) / (beta * n)
    return out


def _grads_dict(result, like, what):
    expect(isinstance(result, dict), f"{what} must return a dict of gradients keyed 'W0', 'b0', ..., "
                                     f"got {type(result).__name__}")
    missing = [k for k in like if k not in result]
    expect(not missing, f"{what}: missing gradient(s) {missing}")
    return {k: arr(result[k], f"{what}[{k!r}]", like[k].shape) for k in like}


def _theorem_gradient(x, W, b, t, **kw):
    """∂L/∂θ of L = mean_n C(s⁰_n(θ)) by central differences through the exact equilibrium."""
    tl = kw.get("target_layer", -1)

    def loss():
        s = equilibrium(x, W, b, **kw)
        d = s[tl] - t
        return 0.5 * float((d * d).sum()) / d.shape[0]

    out = {}
    for name, group in (("W", W), ("b", b)):
        for l, p in enumerate(group):
            g = numpy.zeros_like(p)
            flat, gf = p.reshape(-1), g.reshape(-1)
            for i in range(flat.size):
                old = flat[i]
                flat[i] = old + 1e-6
                up = loss()
                flat[i] = old - 1e-6
                down = loss()
                flat[i] = old
                gf[i] = (up - down) / 2e-6
            out[f"{name}{l}"] = g
    return out


def _compare_grads(got, want, tol, what, hint=""):
    worst = max(rel_err(got[k], want[k]) for k in want)
    flat_g = numpy.concatenate([got[k].ravel() for k in want])
    flat_w = numpy.concatenate([want[k].ravel() for k in want])
    cos = float(flat_g @ flat_w / (numpy.linalg.norm(flat_g) * numpy.linalg.norm(flat_w) + 1e-300))
    flipped = [k for k in want if rel_err(got[k], -want[k]) <= max(tol, 1e-8) < rel_err(got[k], want[k])]
    if flipped:
        raise CheckFailed(f"{what}: {', '.join(flipped)} has the wrong sign (it is minus the right answer); the "
                          "gradient is −[nudged − free] / (βN), from ∂E/∂W = −s_lᵀ s_{l+1}")
    if cos < -0.9:
        raise CheckFailed(f"{what}: your gradient points the opposite way (cosine {cos:.3f}); check the sign "
                          "(nudged minus free, and the minus sign of ∂E/∂W = −s_lᵀ s_{l+1})")
    expect(worst <= tol, f"{what}: relative error {worst:.2e} (allowed {tol:.0e}), cosine {cos:.4f}"
           + (f"; {hint}" if hint else ""))
    return worst


# ==================================================================== lesson 01
@exercise("01", 1, "momentum_step", "the momentum update v ← μv − η∇E, θ ← θ + v (a damped particle)",
          "formula on random arrays; 5 steps equal neurophys.blocks.SGD; inertia beats plain descent on an "
          "ill-conditioned bowl; a 2-8-1 tanh network trained with it solves XOR")
def check_momentum_step(fn, rng):
    """Guards: the order of the two updates (θ moves by the NEW velocity), the sign of the force,
    no in-place change of the inputs, agreement with the library's SGD over several steps, and
    that the rule trains a network."""
    shape = (int(rng.integers(2, 6)), int(rng.integers(2, 6)))
    theta, v, grad = (rng.standard_normal(shape) for _ in range(3))
    lr, mu = float(rng.uniform(0.01, 0.5)), float(rng.uniform(0.05, 0.95))
    keep = [a.copy() for a in (theta, v, grad)]
    th_new, v_new = unpack(fn(theta, v, grad, lr, mu), 2, "momentum_step")
    for name, before, after in zip(("theta", "v", "grad"), keep, (theta, v, grad)):
        unchanged(before, after, name)
    v_want = mu * v - lr * grad
    close(arr(v_new, "v'", shape), v_want, 1e-12, "the new velocity v'", "v' = μ v − η ∇E")
    th_new = arr(th_new, "θ'", shape)
    if rel_err(th_new, theta + v) < 1e-12 and rel_err(v_want, v) > 1e-6:
        raise CheckFailed("θ' moved by the OLD velocity; update v first, then θ ← θ + v'")
    close(th_new, theta + v_want, 1e-12, "the new position θ'", "θ' = θ + v'")

    # five steps in a quadratic bowl, against the library's SGD
    from ..blocks import SGD
    d = 5
    Q = numpy.linalg.qr(rng.standard_normal((d, d)))[0]
    A = Q @ numpy.diag(rng.uniform(0.1, 1.0, d)) @ Q.T
    th0 = rng.standard_normal(d)
    params = {"w": th0.copy()}
    opt = SGD(lr=lr, momentum=mu)
    th, vel = th0.copy(), numpy.zeros(d)
    for _ in range(5):
        opt.step(params, {"w": A @ params["w"]})
        th, vel = unpack(fn(th, vel, A @ th, lr, mu), 2, "momentum_step")
        th, vel = arr(th, "θ'", (d,)), arr(vel, "v'", (d,))
    close(th, params["w"], 1e-10, "five steps against neurophys.blocks.SGD")

    # inertia: condition number 100, η = 1/λ_max
    lam = numpy.geomspace(1.0, 100.0, d)
    A = Q @ numpy.diag(lam) @ Q.T
    errs = {}
    for m in (0.0, 0.9):
        th, vel = th0.copy(), numpy.zeros(d)
        for _ in range(300):
            th, vel = fn(th, vel, A @ th, 1.0 / lam[-1], m)
        errs[m] = float(numpy.linalg.norm(arr(th, "θ", (d,))))
    expect(errs[0.9] < 1e-4 * numpy.linalg.norm(th0),
           f"with μ = 0.9 the particle did not settle in the bowl's minimum after 300 steps "
           f"(|θ| = {errs[0.9]:.2e} from {numpy.linalg.norm(th0):.2e})")
    expect(errs[0.9] < errs[0.0], "inertia (μ = 0.9) should settle an ill-conditioned bowl faster than μ = 0")

    # a network learns XOR with the student's rule (three random starts; one must separate)
    x = numpy.array([[0, 0], [0, 1], [1, 0], [1, 1]], float)
    t = numpy.array([[0], [1], [1], [0]], float)
    finals = []
    for _ in range(3):
        P = {"W0": rng.standard_normal((2, 8)), "b0": numpy.zeros(8),
             "W1": rng.standard_normal((8, 1)) * 0.5, "b1": numpy.zeros(1)}
        V = {k: numpy.zeros_like(p) for k, p in P.items()}
        for _ in range(1500):
            h = numpy.tanh(x @ P["W0"] + P["b0"])
            y = numpy.tanh(h @ P["W1"] + P["b1"])
            dz1 = (y - t) / 4 * (1 - y * y)
            dz0 = dz1 @ P["W1"].T * (1 - h * h)
            G = {"W1": h.T @ dz1, "b1": dz1.sum(0), "W0": x.T @ dz0, "b0": dz0.sum(0)}
            for k in P:
                P[k], V[k] = fn(P[k], V[k], G[k], 0.1, 0.9)
                P[k], V[k] = numpy.asarray(P[k], float), numpy.asarray(V[k], float)
        y = numpy.tanh(numpy.tanh(x @ P["W0"] + P["b0"]) @ P["W1"] + P["b1"])
        finals.append(float(0.5 * ((y - t) ** 2).sum() / 4))
        if numpy.all((y > 0.5) == (t > 0.5)):
            return f"XOR learnt with your rule (final energy {finals[-1]:.2e})"
    raise CheckFailed(f"three 2-8-1 networks trained with your rule did not separate XOR "
                      f"(final energies {', '.join(f'{e:.3f}' for e in finals)})")


@exercise("01", 2, "xor_energy", "the energy E = (1/N) Σ ½‖y − t‖² and its force ∂E/∂y",
          "formula on random shapes; central differences of your E equal your ∂E/∂y; E = 0.125 at the XOR "
          "saddle; agreement with neurophys.blocks.squared_error",
          forbid=("neurophys.blocks.losses:squared_error", "neurophys.blocks.losses:squared_error_grad",
                  "neurophys.blocks:squared_error", "neurophys.blocks:squared_error_grad"))
def check_xor_energy(fn, rng):
    """Guards: the ½ and the 1/N (a missing factor fails the saddle value 0.125), the gradient's
    consistency with the energy (finite differences), the shape of the force."""
    N, k = int(rng.integers(2, 9)), int(rng.integers(1, 4))
    y, t = rng.standard_normal((N, k)), rng.standard_normal((N, k))
    E, dE = unpack(fn(y, t), 2, "xor_energy")
    E, dE = scalar(E, "E"), arr(dE, "∂E/∂y", (N, k))
    close(E, 0.5 * ((y - t) ** 2).sum() / N, 1e-12, "E", "E = (1/N) Σ ½‖y − t‖²: mind the ½ and the 1/N")
    err = check_gradient(lambda: scalar(fn(y, t)[0], "E"), y, dE, max_entries=None)
    expect(err < 1e-6, f"∂E/∂y disagrees with central differences of your E (relative error {err:.2e})")
    saddle = scalar(fn(numpy.full((4, 1), 0.5), numpy.array([[0.], [1.], [1.], [0.]]))[0], "E at the saddle")
    expect(abs(saddle - 0.125) < 1e-12, f"E at the XOR saddle (every output 0.5) should be 0.125, got {saddle}")
    from ..blocks import losses
    close(E, losses.squared_error(y, t), 1e-12, "E against neurophys.blocks.squared_error")
    close(dE, losses.squared_error_grad(y, t), 1e-12, "∂E/∂y against neurophys.blocks.squared_error_grad")
    return "energy, force and the saddle value 0.125 agree"


# ==================================================================== lesson 02
@exercise("02", 1, "euler_step", "the forward-Euler step ψ' = ψ − i dt H(ψ)ψ with the 5-point periodic Laplacian",
          "agreement with neurophys.physics.gpe.euler_step (real and imaginary time, batch, non-square grid, "
          "potential map); a plane wave grows by exactly |1 − i dt ω|",
          forbid=("neurophys.physics.gpe:euler_step", "neurophys.physics.gpe:apply_hamiltonian",
                  "neurophys.physics.gpe:laplacian5", "neurophys.physics.gpe:_neighbour_sums"))
def check_euler_step(fn, rng):
    """Guards: the periodic wrap, the axes (a non-square grid catches x/y mix-ups), the sign of
    i, the nonlinearity g|ψ|²ψ, imaginary time, and Euler's hallmark: a plane wave of
    frequency ω is multiplied by 1 − i dt ω, so the norm grows by 1 + dt²ω²."""
    from ..physics import gpe
    ny, nx = int(rng.integers(5, 9)), int(rng.integers(9, 13))
    psi = _cplx(rng, (2, ny, nx), 0.5)
    V = rng.uniform(-0.5, 0.5, (ny, nx))
    g, dt = float(rng.uniform(0.1, 1.0)), float(rng.uniform(0.01, 0.04))
    keep = psi.copy()
    for imaginary in (False, True):
        want = gpe.euler_step(psi, dt, V, g, imaginary=imaginary, check=False)
        got = arr(fn(psi, dt, V, g, imaginary=imaginary), "ψ'", psi.shape)
        close(got, want, 1e-10, f"ψ' ({'imaginary' if imaginary else 'real'} time) against the library",
              "ψ' = ψ − i dt (−½∇²ψ + Vψ + g|ψ|²ψ); imaginary time drops the i")
    unchanged(keep, psi, "psi")
    one = arr(fn(psi[0], dt, V, g), "ψ' of a single (Ny, Nx) field", psi[0].shape)
    close(one, gpe.euler_step(psi[0], dt, V, g, check=False), 1e-10, "a single 2-D field")
    # a plane wave: exact growth factor
    mx, my = int(rng.integers(1, nx // 2)), int(rng.integers(1, ny // 2))
    X, Y = numpy.meshgrid(numpy.arange(nx), numpy.arange(ny))
    kx, ky = 2 * numpy.pi * mx / nx, 2 * numpy.pi * my / ny
    wave = numpy.exp(1j * (kx * X + ky * Y))
    omega = 2 * numpy.sin(kx / 2) ** 2 + 2 * numpy.sin(ky / 2) ** 2
    dt2 = float(rng.uniform(0.1, 0.5))
    out = arr(fn(wave, dt2, 0.0, 0.0), "ψ' of a plane wave", wave.shape)
    close(out, (1 - 1j * dt2 * omega) * wave, 1e-10, "a plane wave after one step",
          "with V = g = 0 each Fourier mode is multiplied by 1 − i dt ω, ω = 2 sin²(kx/2) + 2 sin²(ky/2)")
    growth = float((numpy.abs(out) ** 2).sum() / (numpy.abs(wave) ** 2).sum())
    return f"agrees with the library; a plane wave's norm grows by {growth:.6f} = 1 + dt²ω² (Euler is not unitary)"


@exercise("02", 2, "kinetic_phase", "the split-step kinetic phase ψ' = F⁻¹ e^{−i dt k²/2} F ψ",
          "norm kept to 1e-12; agreement with neurophys.physics.gpe.splitstep_step at V = g = 0 (real and "
          "imaginary time); a plane wave turns by exactly e^{−i dt k²/2}; dtype kept",
          forbid=("neurophys.physics.gpe:splitstep_step", "neurophys.physics.gpe:_kinetic",
                  "neurophys.physics.gpe:kinetic_symbol", "neurophys.physics.gpe:_kinetic_factor"))
def check_kinetic_phase(fn, rng):
    """Guards: the wave numbers (2π·fftfreq, not fftfreq; kx along columns, ky along rows on a
    non-square grid), the ½, unitarity (norm conserved), imaginary time (e^{−dt T} decays)."""
    from ..physics import gpe
    ny, nx = int(rng.integers(6, 10)), int(rng.integers(11, 16))
    psi = _cplx(rng, (2, ny, nx))
    dt = float(rng.uniform(0.05, 1.0))
    keep = psi.copy()
    out = arr(fn(psi, dt), "ψ'", psi.shape)
    unchanged(keep, psi, "psi")
    n0, n1 = (numpy.abs(psi) ** 2).sum(), (numpy.abs(out) ** 2).sum()
    expect(abs(n1 / n0 - 1) < 1e-12, f"the kinetic phase must keep the norm Σ|ψ|² (every factor has modulus 1); "
                                     f"it changed by {n1 / n0 - 1:.2e}")
    for imaginary in (False, True):
        want = gpe.splitstep_step(psi, dt, 0.0, 0.0, imaginary=imaginary, laplacian="spectral", check=False)
        got = arr(fn(psi, dt, imaginary=imaginary), "ψ'", psi.shape)
        close(got, want, 1e-9, f"ψ' ({'imaginary' if imaginary else 'real'} time) against the split-step at V = g = 0",
              "T = ½(kx² + ky²) with k = 2π·fftfreq(N); real time e^{−i dt T}, imaginary e^{−dt T}")
    mx, my = int(rng.integers(-(nx // 2) + 1, nx // 2)), int(rng.integers(-(ny // 2) + 1, ny // 2))
    X, Y = numpy.meshgrid(numpy.arange(nx), numpy.arange(ny))
    kx, ky = 2 * numpy.pi * mx / nx, 2 * numpy.pi * my / ny
    wave = numpy.exp(1j * (kx * X + ky * Y))
    close(arr(fn(wave, dt), "ψ'", wave.shape), numpy.exp(-0.5j * dt * (kx * kx + ky * ky)) * wave, 1e-10,
          f"a plane wave with modes ({mx}, {my})", "it should turn by e^{−i dt (kx² + ky²)/2}")
    small = fn(psi.astype(numpy.complex64), dt)
    expect(getattr(small, "dtype", None) == numpy.complex64, "a complex64 field should come back as complex64 "
                                                             f"(got {getattr(small, 'dtype', type(small))})")
    return f"norm kept to {abs(n1 / n0 - 1):.1e}; agrees with the split-step"


# ==================================================================== lesson 03
def _conv_ref(x, W, b, pad):
    N, H, Wd, C = x.shape
    F, _, k, _ = W.shape
    xp_ = numpy.pad(x, ((0, 0), (pad, pad), (pad, pad), (0, 0)))
    Ho, Wo = H + 2 * pad - k + 1, Wd + 2 * pad - k + 1
    z = numpy.zeros((N, Ho, Wo, F)) + b
    for i in range(k):
        for j in range(k):
            z += numpy.einsum("nyxc,fc->nyxf", xp_[:, i:i + Ho, j:j + Wo, :], W[:, :, i, j])
    return z


@exercise("03", 1, "conv2d_backward", "the backward of a channels-last convolution: ∂L/∂x, ∂L/∂W, ∂L/∂b",
          "central differences through an independent convolution for x, W and b; agreement with "
          "neurophys.blocks.conv.Conv2D.backward; random kernel size and padding",
          forbid=("neurophys.blocks.conv:Conv2D.backward", "neurophys.blocks.conv:col2im"))
def check_conv2d_backward(fn, rng):
    """Guards: the weight layout (F, C, k, k), the padding crop of ∂L/∂x, the transposition of
    the offsets (a flipped kernel fails the finite differences), the bias sum."""
    k = int(rng.integers(2, 4))
    pad = int(rng.integers(0, k))
    N, H, Wd, C, F = 2, int(rng.integers(4, 6)), int(rng.integers(5, 7)), int(rng.integers(1, 3)), int(rng.integers(2, 4))
    x = rng.standard_normal((N, H, Wd, C))
    W, b = rng.standard_normal((F, C, k, k)), rng.standard_normal(F)
    Ho, Wo = H + 2 * pad - k + 1, Wd + 2 * pad - k + 1
    dz = rng.standard_normal((N, Ho, Wo, F))
    keep = [x.copy(), W.copy(), dz.copy()]
    dx, dW, db = unpack(fn(x, W, dz, pad), 3, "conv2d_backward")
    dx, dW, db = arr(dx, "dx", x.shape), arr(dW, "dW", W.shape), arr(db, "db", (F,))
    for name, before, after in zip(("x", "W", "dz"), keep, (x, W, dz)):
        unchanged(before, after, name)

    def L():
        return float((dz * _conv_ref(x, W, b, pad)).sum())

    for name, p, g in (("x", x, dx), ("W", W, dW), ("b", b, db)):
        err = check_gradient(L, p, g, max_entries=40, seed=int(rng.integers(1 << 30)))
        expect(err < 1e-6, f"∂L/∂{name} disagrees with central differences (relative error {err:.2e}); "
                           f"L = Σ dz ⊙ conv(x, W, b) with pad={pad}, kernel {k}×{k}")
    from ..blocks.conv import Conv2D
    with _f64():
        conv = Conv2D(C, F, kernel=k, pad=pad)
        conv.params["W"], conv.params["b"] = W.copy(), b.copy()
        conv.forward(x)
        lib_dx = conv.backward(dz)
    close(dx, lib_dx, 1e-10, "dx against Conv2D.backward")
    close(dW, conv.grads["W"], 1e-10, "dW against Conv2D.backward")
    return f"gradients pass central differences (kernel {k}×{k}, pad {pad}) and match Conv2D"


@exercise("03", 2, "gpe_euler_backward", "the adjoint of one real-time GPE Euler step (∂L/∂ψ for a complex field)",
          "central differences of a random real loss through an independent Euler step, over Re ψ and Im ψ; "
          "agreement with neurophys.physics.gpe.euler_step_backward",
          forbid=("neurophys.physics.gpe:euler_step_backward",))
def check_gpe_euler_backward(fn, rng):
    """Guards: the complex-gradient convention G = ∂L/∂Re ψ + i ∂L/∂Im ψ, the conjugate c̄ on the
    Hamiltonian term, the 2g|ψ|² of the linearisation and the cψ²conj(G') term (each missing piece
    fails the finite differences)."""
    from ..physics import gpe
    ny, nx = int(rng.integers(4, 6)), int(rng.integers(5, 7))
    psi = _cplx(rng, (2, ny, nx), 0.6)
    V = rng.uniform(-0.5, 0.5, (ny, nx))
    g, dt = float(rng.uniform(0.2, 1.0)), float(rng.uniform(0.02, 0.08))
    A = _cplx(rng, psi.shape)
    w = rng.uniform(0.5, 1.5, psi.shape)
    out = _euler_ref(psi, dt, V, g)
    Gp = A + 2 * w * out                       # ∂L/∂ψ' for L = Re Σ conj(A) ψ' + Σ w |ψ'|²
    keep = psi.copy()
    G = arr(fn(psi, Gp, dt, V, g), "G", psi.shape)
    unchanged(keep, psi, "psi")

    def L(p):
        o = _euler_ref(p, dt, V, g)
        return float((numpy.conj(A) * o).real.sum() + (w * numpy.abs(o) ** 2).sum())

    num = numpy.zeros_like(psi)
    flat, nf = psi.reshape(-1), num.reshape(-1)
    for i in range(flat.size):
        for unit in (1.0, 1j):
            p = psi.copy().reshape(-1)
            p[i] += 1e-6 * unit
            up = L(p.reshape(psi.shape))
            p[i] -= 2e-6 * unit
            down = L(p.reshape(psi.shape))
            nf[i] += unit * (up - down) / 2e-6
    close(G, num, 1e-6, "G against central differences over Re ψ and Im ψ",
          "G = G' + conj(c) H_lin G' + c g ψ² conj(G'), c = −i dt, H_lin = −½∇² + V + 2g|ψ|²")
    lib, _ = gpe.euler_step_backward(psi, Gp, dt, V, g, param_grads=False)
    close(G, lib, 1e-10, "G against neurophys.physics.gpe.euler_step_backward")
    return "the adjoint passes central differences in Re ψ and Im ψ"


# ==================================================================== lesson 04
@exercise("04", 1, "ewc_penalty", "the EWC penalty (λ/2) Σ F (θ − θ*)² and its gradient λF(θ − θ*)",
          "formula and central differences per parameter; zero at the anchors; a weight with zero Fisher is "
          "free; two regression tasks: EWC keeps task A better than plain fine-tuning")
def check_ewc_penalty(fn, rng):
    """Guards: the ½, λ, the Fisher weighting (a spring per weight), the gradient's sign, and that
    the penalty does what it is for: it protects the old task."""
    shapes = {"W0": (3, 4), "b0": (4,), "W1": (4, 2)}
    params = {k: rng.standard_normal(s) for k, s in shapes.items()}
    anchors = {k: rng.standard_normal(s) for k, s in shapes.items()}
    fisher = {k: rng.uniform(0, 2, s) for k, s in shapes.items()}
    fisher["b0"][:] = 0.0
    lam = float(rng.uniform(0.5, 50))
    omega, grads = unpack(fn(params, anchors, fisher, lam), 2, "ewc_penalty")
    omega = scalar(omega, "Ω")
    grads = _grads_dict(grads, params, "ewc_penalty")
    want = 0.5 * lam * sum((fisher[k] * (params[k] - anchors[k]) ** 2).sum() for k in params)
    close(omega, want, 1e-12, "Ω", "Ω = (λ/2) Σ F (θ − θ*)²")
    for k in params:
        err = check_gradient(lambda: scalar(fn(params, anchors, fisher, lam)[0], "Ω"), params[k], grads[k],
                             max_entries=None)
        expect(err < 1e-6, f"∂Ω/∂{k} disagrees with central differences of your Ω (relative error {err:.2e})")
    expect(numpy.all(grads["b0"] == 0), "a parameter with zero Fisher information must feel no force")
    om0, g0 = unpack(fn({k: a.copy() for k, a in anchors.items()}, anchors, fisher, lam), 2, "ewc_penalty")
    expect(abs(scalar(om0, "Ω")) < 1e-14 and all(numpy.abs(arr(g0[k], k)).max() < 1e-14 for k in g0),
           "at the anchors θ = θ* the penalty and its gradient must vanish")

    # two linear-regression tasks that disagree
    d, n = 6, 200
    wa, wb = rng.standard_normal(d), rng.standard_normal(d)
    sa = numpy.r_[numpy.ones(3), 0.05 * numpy.ones(3)]
    Xa, Xb = rng.standard_normal((n, d)) * sa, rng.standard_normal((n, d))
    ya, yb = Xa @ wa, Xb @ wb
    theta_a = numpy.linalg.lstsq(Xa, ya, rcond=None)[0]
    F = {"w": (Xa * Xa).mean(axis=0)}

    def loss(X, y, th):
        return 0.5 * float(((X @ th - y) ** 2).mean())

    finals = {}
    for use_ewc in (False, True):
        th = theta_a.copy()
        for _ in range(400):
            g = Xb.T @ (Xb @ th - yb) / n
            if use_ewc:
                g = g + arr(fn({"w": th}, {"w": theta_a}, F, 20.0)[1]["w"], "∂Ω/∂θ", (d,))
            th = th - 0.04 * g
        finals[use_ewc] = (loss(Xa, ya, th), loss(Xb, yb, th))
    expect(finals[True][0] < 0.5 * finals[False][0],
           f"with your EWC gradient, task A's loss after learning task B is {finals[True][0]:.3f}; plain "
           f"fine-tuning gives {finals[False][0]:.3f}: the springs should hold task A's weights")
    expect(finals[True][1] < loss(Xb, yb, theta_a), "with EWC the network should still learn task B")
    return (f"task A loss after task B: {finals[True][0]:.3f} with EWC vs {finals[False][0]:.3f} fine-tuning")


@exercise("04", 2, "diagonal_fisher", "the diagonal Fisher information of a softmax classifier",
          "agreement with a per-example loop written in the check; non-negative; the mean of SQUARED "
          "per-example gradients, not the square of the mean gradient",
          forbid=("neurophys.learning.regularisers:diagonal_fisher",
                  "neurophys.learning.regularisers:per_example_squared_grads"))
def check_diagonal_fisher(fn, rng):
    """Guards: squaring per example (the square of the batch gradient is a common wrong answer and
    fails), p − onehot(y) as the logit gradient, the 1/N."""
    N, d, K = int(rng.integers(5, 12)), int(rng.integers(2, 5)), int(rng.integers(2, 5))
    x, W, b = rng.standard_normal((N, d)), rng.standard_normal((d, K)), rng.standard_normal(K)
    y = rng.integers(0, K, N)
    F = fn(x, W, b, y)
    expect(isinstance(F, dict) and "W" in F and "b" in F, "diagonal_fisher must return {'W': ..., 'b': ...}")
    FW, Fb = arr(F["W"], "F['W']", (d, K)), arr(F["b"], "F['b']", (K,))
    wantW, wantb = numpy.zeros((d, K)), numpy.zeros(K)
    meanW = numpy.zeros((d, K))
    for n in range(N):
        z = x[n] @ W + b
        p = numpy.exp(z - z.max())
        p /= p.sum()
        e = p.copy()
        e[y[n]] -= 1
        gW = numpy.outer(x[n], e)
        wantW += gW ** 2 / N
        wantb += e ** 2 / N
        meanW += gW / N
    expect(FW.min() >= 0 and Fb.min() >= 0, "Fisher information is a mean of squares: it cannot be negative")
    if rel_err(FW, meanW ** 2) < 1e-8:
        raise CheckFailed("you squared the batch-mean gradient; the Fisher needs each example's gradient squared, "
                          "then the mean")
    close(FW, wantW, 1e-10, "F['W']", "F = (1/N) Σ_n (x_n ⊗ (p_n − onehot(y_n)))²")
    close(Fb, wantb, 1e-10, "F['b']")
    return "agrees with a per-example computation"


# ==================================================================== lesson 05
@exercise("05", 1, "dlm_velocity_update",
          "the DLM velocity dynamics: injection, dissipation, gradient force, thermal noise, current drive",
          "formula with given random draws; pure dissipation decays as (1 − γ)ⁿ with D = γΣv²; "
          "fluctuation–dissipation: the stationary variance is 2T·dt / (1 − (1 − γ)²)",
          forbid=("neurophys.models.dlm:DissipativeLearningMachine.step_dynamics",))
def check_dlm_velocity_update(fn, rng):
    """Guards: the order of the steps (D measured before the decay), √(2T dt) (not 2T dt, not
    √T), normalised injection and drive, no in-place change, and the physics: a noisy damped
    velocity settles at the temperature set by fluctuation–dissipation."""
    shape = (int(rng.integers(3, 7)), int(rng.integers(2, 6)))
    v, grad, u, xi = (rng.standard_normal(shape) for _ in range(4))
    c_in, c_out = rng.uniform(0.1, 1, shape[0]), rng.uniform(0.1, 1, shape[1])
    dt, gamma, eps, T, kappa = (float(rng.uniform(*r)) for r in
                                ((0.005, 0.05), (0.01, 0.3), (0.01, 0.2), (0.1, 2), (0.05, 0.5)))
    keep = v.copy()
    v_new, D = unpack(fn(v, grad, u, xi, c_in, c_out, dt, gamma, eps, T, kappa), 2, "dlm_velocity_update")
    unchanged(keep, v, "v")
    w = v + math.sqrt(eps * dt) * u / numpy.linalg.norm(u)
    D_want = gamma * (w * w).sum()
    w = (1 - gamma) * w - dt * grad + math.sqrt(2 * T * dt) * xi
    drive = numpy.outer(c_in, c_out)
    w = w + kappa * dt * drive / numpy.linalg.norm(drive)
    close(scalar(D, "D"), D_want, 1e-6, "the dissipation D", "D = γ Σ v² after the injection, before the decay")
    close(arr(v_new, "v'", shape), w, 1e-6, "v'", "inject, decay by (1 − γ), −dt·grad, + √(2T dt) ξ, + κ dt drive/‖drive‖")

    # pure dissipation
    z = numpy.zeros(shape)
    vv = v.copy()
    for _ in range(10):
        vv, D = fn(vv, z, u, xi, c_in, c_out, dt, gamma, 0.0, 0.0, 0.0)
    close(arr(vv, "v", shape), (1 - gamma) ** 10 * v, 1e-9, "ten steps of pure dissipation (ε = T = κ = 0)",
          "v should decay as (1 − γ)ⁿ")
    # fluctuation–dissipation
    big = (60, 50)
    gamma2, T2, dt2 = float(rng.uniform(0.1, 0.3)), float(rng.uniform(0.2, 2.0)), 0.01
    zb, ones_in, ones_out = numpy.zeros(big), numpy.ones(big[0]), numpy.ones(big[1])
    vv, samples = zb, []
    for n in range(int(8 / gamma2) + 40):
        vv, _ = fn(vv, zb, rng.standard_normal(big), rng.standard_normal(big), ones_in, ones_out,
                   dt2, gamma2, 0.0, T2, 0.0)
        if n >= int(8 / gamma2):
            samples.append(float(numpy.var(vv)))
    want = 2 * T2 * dt2 / (1 - (1 - gamma2) ** 2)
    ratio = float(numpy.mean(samples)) / want
    expect(abs(ratio - 1) < 0.12, f"the stationary variance of v is {numpy.mean(samples):.3e}; "
                                  f"fluctuation–dissipation predicts 2T·dt/(1 − (1 − γ)²) = {want:.3e}")
    return f"stationary variance / fluctuation–dissipation prediction = {ratio:.3f}"


@exercise("05", 2, "update_currents", "the information currents: moving averages of |activity| and J",
          "formula on random batches; the fixed point of repeated updates is ⟨|h|⟩, ⟨|z|⟩; agreement with "
          "the currents of neurophys.models.dlm.DissipativeLearningMachine after one forward pass",
          forbid=("neurophys.models.dlm:DissipativeLearningMachine.forward",
                  "neurophys.models.dlm:DissipativeLearningMachine.currents"))
def check_update_currents(fn, rng):
    """Guards: the absolute value, averaging over the batch (axis 0, not over units), the 0.9/0.1
    weights, J computed from the UPDATED currents."""
    N, n_in, n_out = int(rng.integers(3, 9)), int(rng.integers(2, 7)), int(rng.integers(2, 7))
    h, zz = rng.standard_normal((N, n_in)), rng.standard_normal((N, n_out))
    c_in, c_out = rng.uniform(0, 1, n_in), rng.uniform(0, 1, n_out)
    ci, co, J = unpack(fn(c_in, c_out, h, zz), 3, "update_currents")
    ci, co = arr(ci, "c_in", (n_in,)), arr(co, "c_out", (n_out,))
    wi, wo = 0.9 * c_in + 0.1 * numpy.abs(h).mean(0), 0.9 * c_out + 0.1 * numpy.abs(zz).mean(0)
    close(ci, wi, 1e-12, "c_in", "0.9 c_in + 0.1 ⟨|h|⟩ over the batch (axis 0)")
    close(co, wo, 1e-12, "c_out")
    close(scalar(J, "J"), wo.mean() - wi.mean(), 1e-10, "J", "J = mean(c_out) − mean(c_in), after the update")
    a, c = numpy.zeros(n_in), numpy.zeros(n_out)
    for _ in range(250):
        a, c, J = fn(a, c, h, zz)
    close(arr(a, "c_in"), numpy.abs(h).mean(0), 1e-8, "the fixed point of c_in under a repeated batch")
    from ..models.dlm import DissipativeLearningMachine
    with _f64():
        net = DissipativeLearningMachine([n_in, n_out, 2], temperature=0.0, rng=B.rng(int(rng.integers(1 << 30))))
        net.forward(h)
        z0 = h @ net.params["W0"] + net.params["b0"]
        lib_in, lib_out = net.c_in[0], net.c_out[0]
    ci, co, _ = fn(numpy.zeros(n_in), numpy.zeros(n_out), h, z0)
    close(arr(ci, "c_in"), lib_in, 1e-10, "c_in against the DLM's first forward pass")
    close(arr(co, "c_out"), lib_out, 1e-10, "c_out against the DLM's first forward pass")
    return "currents agree with the formula and with the DLM"


# ==================================================================== lesson 06
@exercise("06", 1, "eqprop_update", "the EqProp weight update from the free and the nudged equilibria",
          "formula on random states; the EqProp theorem on exactly solved equilibria (the update equals "
          "∂C(s⁰)/∂θ by central differences as β → 0, for β of either sign); a linear EqProp network "
          "trained with it learns a regression",
          forbid=("neurophys.models.eqprop:EqPropNet.eqprop_gradient",
                  "neurophys.models.eqprop:EqPropNet.dE_dtheta_difference",
                  "neurophys.models.eqprop:EqPropNet.dE_dtheta"))
def check_eqprop_update(fn, rng):
    """Guards: the sign (nudged minus free, and ∂E/∂W = −sᵀs; a sign error gives cosine −1 and
    fails with that diagnosis), the 1/(βN), both ends of each weight from the same phase, and the
    theorem that makes the rule a gradient. Ends with 150 learning steps that must cut the cost."""
    sizes = [int(rng.integers(2, 5)), int(rng.integers(3, 6)), int(rng.integers(2, 4))]
    N = int(rng.integers(3, 7))
    s_free = [rng.uniform(0, 1, (N, n)) for n in sizes]
    s_nudged = [s_free[0]] + [rng.uniform(0, 1, (N, n)) for n in sizes[1:]]
    beta = float(rng.uniform(0.1, 1.0))
    want = _eqprop_ref(s_free, s_nudged, beta)
    got = _grads_dict(fn(s_free, s_nudged, beta), want, "eqprop_update")
    _compare_grads(got, want, 1e-10, "the update on random states",
                   "∂L/∂W_l ≈ −[s^βᵀ_l s^β_{l+1} − s⁰ᵀ_l s⁰_{l+1}] / (β N)")
    # the theorem
    W, b = _small_net(rng, sizes)
    x, t = rng.uniform(0, 1, (N, sizes[0])), rng.uniform(0, 1, (N, sizes[-1]))
    true = _theorem_gradient(x, W, b, t)
    s0 = equilibrium(x, W, b)
    for bet in (1e-5, -1e-5):
        sb = equilibrium(x, W, b, beta=bet, target=t)
        est = _grads_dict(fn(s0, sb, bet), true, "eqprop_update")
        _compare_grads(est, true, 1e-2, f"the EqProp estimate at β = {bet:g} against the true gradient of C(s⁰)")
    # it learns
    sizes = [3, 6, 2]
    W, b = _small_net(rng, sizes, 0.3)
    x = rng.uniform(0, 1, (32, 3))
    M = 0.3 * rng.standard_normal((3, 2))
    t = x @ M + 0.2

    def cost():
        d = equilibrium(x, W, b)[-1] - t
        return 0.5 * float((d * d).sum()) / len(x)

    c0 = c1 = cost()
    for step in range(1, 401):
        sf = equilibrium(x, W, b)
        sb = equilibrium(x, W, b, beta=0.1, target=t)
        g = fn(sf, sb, 0.1)
        for l in range(2):
            W[l] = W[l] - 0.2 * arr(g[f"W{l}"], f"W{l}")
            b[l] = b[l] - 0.2 * arr(g[f"b{l}"], f"b{l}")
        if step % 25 == 0:
            c1 = cost()
            if c1 < 0.2 * c0:
                break
    expect(c1 < 0.2 * c0, f"{step} EqProp steps with your update took the cost from {c0:.4f} to {c1:.4f}; "
                          "expected at least a 5× drop")
    return f"theorem holds (β → 0); training cut the cost {c0 / c1:.0f}×"


@exercise("06", 2, "hopfield_energy", "the layered Hopfield energy E(s) the network relaxes on",
          "formula on random states; central differences of your E give the relaxation force "
          "s_l − (s_{l−1}W_{l−1} + b + s_{l+1}W_lᵀ); agreement with neurophys.models.eqprop.EqPropNet.energy",
          forbid=("neurophys.models.eqprop:EqPropNet.energy",))
def check_hopfield_energy(fn, rng):
    """Guards: the ½‖s‖² on every non-input layer (not the input), the coupling sign, the bias
    index (b[l−1] belongs to layer l), one value per example."""
    sizes = [int(rng.integers(2, 5)) for _ in range(int(rng.integers(3, 5)))]
    N = int(rng.integers(2, 6))
    s = [rng.uniform(0, 1, (N, n)) for n in sizes]
    W, b = _small_net(rng, sizes, 1.0)
    E = arr(fn(s, W, b), "E", (N,))
    close(E, _energy(s, W, b), 1e-12, "E", "½ Σ_{l≥1}‖s_l‖² − Σ (s_l W_l)·s_{l+1} − Σ b_{l−1}·s_l")
    l = int(rng.integers(1, len(sizes)))
    force = s[l] - s[l - 1] @ W[l - 1] - b[l - 1] - (s[l + 1] @ W[l].T if l + 1 < len(sizes) else 0)
    err = check_gradient(lambda: float(arr(fn(s, W, b), "E").sum()), s[l], force, max_entries=None)
    expect(err < 1e-6, f"∂E/∂s_{l} of your energy is not the relaxation force (relative error {err:.2e})")
    from ..models.eqprop import EqPropNet
    with _f64():
        net = EqPropNet(sizes, energy="raw", clip=None)
        for k in range(len(W)):
            net.params[f"W{k}"], net.params[f"b{k}"] = W[k].copy(), b[k].copy()
        lib = B.to_host(net.energy(s))
    close(E, lib, 1e-12, "E against EqPropNet.energy")
    return "energy, its force and the library agree"


# ==================================================================== lesson 07
@exercise("07", 1, "dream", "dreaming: relax with the label clamped and the input free, in the box [0, 1]",
          "the label stays clamped; every state in [0, 1]; the dream is a minimum of the energy "
          "(projected gradient zero: KKT conditions); agreement with neurophys.models.eqprop.EqPropNet.dream",
          forbid=("neurophys.models.eqprop:EqPropNet.dream", "neurophys.models.eqprop:EqPropNet.relax",
                  "neurophys.models.eqprop:relax_step", "neurophys.kernels.dispatch:eqprop_relax_steps"))
def check_dream(fn, rng):
    """Guards: the output never moves, the input's drive s_1 W_0ᵀ without a bias, the clipping,
    convergence to the constrained minimum (checked by its optimality conditions, not by copying
    a trajectory)."""
    sizes = [int(rng.integers(4, 8)), int(rng.integers(3, 6)), int(rng.integers(2, 4))]
    N = int(rng.integers(2, 5))
    # mostly excitatory weights (so that dreams light up), small enough for a unique minimum
    W = [rng.uniform(-0.3, 1.0, (a, c)) / max(a, c) for a, c in zip(sizes[:-1], sizes[1:])]
    b = [0.1 * rng.standard_normal(c) for c in sizes[1:]]
    y = numpy.eye(sizes[-1])[rng.integers(0, sizes[-1], N)]
    keep = y.copy()
    s = fn(W, b, y, n_steps=500, eps=0.5)
    expect(isinstance(s, (list, tuple)) and len(s) == len(sizes),
           f"dream must return the list of {len(sizes)} states [s_0, ..., s_L]")
    s = [arr(s_l, f"s_{l}", (N, n)) for l, (s_l, n) in enumerate(zip(s, sizes))]
    unchanged(keep, y, "y")
    expect(numpy.array_equal(s[-1], y), "the output layer must stay clamped to the label y")
    for l in range(len(sizes) - 1):
        expect(s[l].min() >= 0 and s[l].max() <= 1, f"layer {l} left the box [0, 1]: clip after each step")
    for l in range(len(sizes) - 1):
        drive = s[l + 1] @ W[l].T + (s[l - 1] @ W[l - 1] + b[l - 1] if l > 0 else 0)
        g = s[l] - drive
        inside = (s[l] > 1e-9) & (s[l] < 1 - 1e-9)
        bad = (numpy.abs(g[inside]).max(initial=0) > 1e-5 or (g[s[l] <= 1e-9] < -1e-5).any()
               or (g[s[l] >= 1 - 1e-9] > 1e-5).any())
        expect(not bad, f"layer {l} is not at rest: the energy still pulls it (max |∂F/∂s| inside the box "
                        f"{numpy.abs(g[inside]).max(initial=0):.2e}); relax longer, or check its drive "
                        "(the input's drive is s_1 W_0ᵀ, with no bias)")
    from ..models.eqprop import EqPropNet
    with _f64():
        net = EqPropNet(sizes, energy="scellier", clip=(0.0, 1.0))
        for k in range(len(W)):
            net.params[f"W{k}"], net.params[f"b{k}"] = W[k].copy(), b[k].copy()
        lib = B.to_host(net.dream(y, n_steps=600, eps=0.5, input_range=(0.0, 1.0)))
    close(s[0], lib, 1e-5, "the dream against EqPropNet.dream")
    return f"the dream is the energy's minimum in the box ({int((s[0] > 0).sum())} of {s[0].size} pixels lit)"


@exercise("07", 2, "generative_update", "the EqProp update in the generative direction (free, nudged input)",
          "the EqProp theorem with the label clamped and the cost on the INPUT, on exactly solved equilibria: "
          "your update equals ∂C(s⁰)/∂θ by central differences; a shortcut that treats the input as clamped fails",
          forbid=("neurophys.models.eqprop:EqPropNet.eqprop_gradient",
                  "neurophys.models.eqprop:EqPropNet.dE_dtheta_difference",
                  "neurophys.models.eqprop:EqPropNet.train_generative_step"))
def check_generative_update(fn, rng):
    """Guards: the rule when NO layer is the same in both phases (lesson 06's clamped-input
    shortcut, ρ(s_0)ᵀ[ρ(a_1) − ρ(b_1)], is wrong here and fails), the sign and 1/(βN)."""
    sizes = [int(rng.integers(3, 6)), int(rng.integers(3, 5)), int(rng.integers(2, 4))]
    N = int(rng.integers(3, 6))
    W, b = _small_net(rng, sizes)
    y = numpy.eye(sizes[-1])[rng.integers(0, sizes[-1], N)]
    img = rng.uniform(0, 1, (N, sizes[0]))
    kw = dict(free_input=True, clamp_out=y, target_layer=0)
    true = _theorem_gradient(None, W, b, img, **kw)
    s0 = equilibrium(None, W, b, **kw)
    sb = equilibrium(None, W, b, beta=1e-5, target=img, **kw)
    est = _grads_dict(fn(s0, sb, 1e-5), true, "generative_update")
    _compare_grads(est, true, 1e-2, "the generative EqProp estimate against the true gradient of ½‖s⁰_0 − x‖²",
                   "the input moved between the phases: use s^β_0 with s^β_1 and s⁰_0 with s⁰_1")
    return "the local rule is the gradient in the generative direction too"


# ==================================================================== lesson 08
@exercise("08", 1, "surprise_gate", "the surprise gate: which examples to learn from, and the learning-rate scale",
          "mask and scale on random surprises and thresholds (None opens the gate); a gated EqProp run learns "
          "and skips the examples it already knows",
          forbid=("neurophys.learning.surprise:SurpriseGate.surprising",))
def check_surprise_gate(fn, rng):
    """Guards: the strict inequality, threshold None, boost·k/N (not boost, not k/N), and that the
    gate still lets the network learn while skipping unsurprising examples."""
    N = int(rng.integers(8, 30))
    surprise = rng.exponential(1.0, N)
    thr, boost = float(numpy.quantile(surprise, rng.uniform(0.2, 0.8))), float(rng.uniform(0.5, 3))
    surprise[0] = thr    # exactly at the threshold: not surprising
    mask, scale = unpack(fn(surprise, thr, boost), 2, "surprise_gate")
    mask = numpy.asarray(mask)
    expect(mask.shape == (N,) and mask.dtype == bool, f"the mask must be a boolean array of shape ({N},)")
    expect(numpy.array_equal(mask, surprise > thr), "learn exactly the examples with surprise > threshold "
                                                    "(strictly: one at the threshold is skipped)")
    close(scalar(scale, "lr_scale"), boost * mask.sum() / N, 1e-12, "lr_scale", "boost · k / N")
    m2, s2 = unpack(fn(surprise, None, boost), 2, "surprise_gate")
    expect(numpy.all(numpy.asarray(m2)) and abs(scalar(s2, "lr_scale") - boost) < 1e-12,
           "threshold None must open the gate for every example (lr_scale = boost)")
    # gated learning on a linear EqProp regression
    sizes = [3, 5, 2]
    W, b = _small_net(rng, sizes, 0.3)
    x = rng.uniform(0, 1, (40, 3))
    t = x @ (0.3 * rng.standard_normal((3, 2))) + 0.2
    learned, c0, presented = 0, None, 0
    for step in range(400):
        sf = equilibrium(x, W, b)
        C = 0.5 * ((sf[-1] - t) ** 2).sum(axis=1)
        c0 = float(C.mean()) if c0 is None else c0
        if C.mean() < 0.3 * c0 and learned < presented:
            break
        mask, scale = fn(C, 2e-3, 1.0)
        mask = numpy.asarray(mask, bool)
        learned, presented = learned + int(mask.sum()), presented + len(x)
        if not mask.any():
            continue
        sb = equilibrium(x[mask], W, b, beta=0.1, target=t[mask])
        g = _eqprop_ref([a[mask] for a in sf], sb, 0.1)
        for l in range(2):
            W[l] -= 0.2 * float(scale) * g[f"W{l}"]
            b[l] -= 0.2 * float(scale) * g[f"b{l}"]
    c1 = float((0.5 * ((equilibrium(x, W, b)[-1] - t) ** 2).sum(axis=1)).mean())
    expect(c1 < 0.3 * c0, f"gated EqProp with your gate took the cost from {c0:.4f} to {c1:.4f}")
    expect(learned < presented, "the gate never skipped an example, even once they were learnt")
    return f"learnt (cost {c0:.4f} → {c1:.4f}) from {learned / presented:.0%} of the example presentations"


@exercise("08", 2, "energy_jump", "the energy-jump surprise [F(s^β) − E(s⁰)] / β",
          "formula on random states; on exactly solved equilibria 0 ≤ jump ≤ C(s⁰) and jump → C(s⁰) as β → 0 "
          "(the two surprise signals agree)",
          forbid=("neurophys.learning.surprise:energy_jump", "neurophys.models.eqprop:EqPropNet.energy"))
def check_energy_jump(fn, rng):
    """Guards: F = E + βC on the NUDGED state, E on the free one, the division by β; then the
    physics that makes it a surprise signal: it is bounded by the cost and equals it as β → 0."""
    sizes = [int(rng.integers(2, 5)), int(rng.integers(3, 6)), int(rng.integers(2, 4))]
    N = int(rng.integers(3, 7))
    W, b = _small_net(rng, sizes, 0.25)
    sf = [rng.uniform(0, 1, (N, n)) for n in sizes]
    sn = [sf[0]] + [rng.uniform(0, 1, (N, n)) for n in sizes[1:]]
    t = rng.uniform(0, 1, (N, sizes[-1]))
    beta = float(rng.uniform(0.1, 1))
    want = (_energy(sn, W, b) + beta * 0.5 * ((sn[-1] - t) ** 2).sum(1) - _energy(sf, W, b)) / beta
    close(arr(fn(sf, sn, t, W, b, beta), "jump", (N,)), want, 1e-10, "the jump on random states",
          "F(s^β) = E(s^β) + β ½‖s^β_L − t‖²; subtract E(s⁰); divide by β")
    x = rng.uniform(0, 1, (N, sizes[0]))
    s0 = equilibrium(x, W, b)
    C = 0.5 * ((s0[-1] - t) ** 2).sum(1)
    for bet in (0.5, 1e-5):
        jump = arr(fn(s0, equilibrium(x, W, b, beta=bet, target=t), t, W, b, bet), "jump", (N,))
        expect(numpy.all(jump >= -1e-9) and numpy.all(jump <= C + 1e-9),
               f"at equilibrium the jump must lie between 0 and the cost C(s⁰) (β = {bet})")
    close(jump, C, 1e-2, "the jump at β = 1e-5 against the cost C(s⁰)")
    return "0 ≤ jump ≤ C(s⁰), and jump → C(s⁰) as β → 0"


# ==================================================================== lesson 09
@exercise("09", 1, "score_sequences", "scoring imagined action sequences: F = Σ γ^t E(s_{t+1}) through the model",
          "agreement with a loop written in the check (random linear model, energy and discount); the model "
          "is called once per step for ALL sequences; the lowest F steers a point mass home",
          forbid=("neurophys.learning.active_inference:ActiveInferencePlanner.free_energy",
                  "neurophys.learning.active_inference:ActiveInferencePlanner.imagine"))
def check_score_sequences(fn, rng):
    """Guards: the discount exponent (γ⁰ on the first imagined state), energies of the predicted
    states (not of s0), batching over sequences, and that the score ranks plans sensibly."""
    d, k, n, H = 3, 2, int(rng.integers(3, 8)), int(rng.integers(2, 6))
    M, Bm = 0.5 * rng.standard_normal((d, d)), rng.standard_normal((k, d))
    w = rng.uniform(0.5, 2, d)
    calls = []

    def predict(S, A):
        calls.append(len(S))
        return S @ M + A @ Bm

    def energy(S):
        return (w * S * S).sum(axis=-1)

    s0, acts, gamma = rng.standard_normal(d), rng.standard_normal((n, H, k)), float(rng.uniform(0.5, 1))
    F = arr(fn(s0, acts, predict, energy, gamma), "F", (n,))
    want = numpy.zeros(n)
    for i in range(n):
        s = s0.copy()
        for t_ in range(H):
            s = s @ M + acts[i, t_] @ Bm
            want[i] += gamma ** t_ * (w * s * s).sum()
    close(F, want, 1e-10, "F", "F = Σ_{t=0}^{H−1} γ^t E(s_{t+1}), with s_{t+1} = predict(s_t, a_t)")
    expect(len(calls) == H and all(c == n for c in calls),
           f"imagine all {n} sequences as one batch per step: predict should be called {H} times with "
           f"{n} states each (got {len(calls)} calls)")
    # a point mass: push towards the origin
    dt = 0.1

    def mass(S, A):
        x, v = S[:, 0], S[:, 1]
        v2 = v + dt * A[:, 0]
        return numpy.stack([x + dt * v2, v2], axis=1)

    x0 = float(rng.choice([-1, 1]) * rng.uniform(1, 3))
    plans = numpy.stack([numpy.full((8, 1), a) for a in (-1.0, 0.0, 1.0)])
    F = arr(fn(numpy.array([x0, 0.0]), plans, mass, lambda S: S[..., 0] ** 2, 1.0), "F", (3,))
    expect(int(numpy.argmin(F)) == (0 if x0 > 0 else 2), "the lowest F should push the mass towards x = 0")
    return "scores agree, batched imagination, sensible plan"


@exercise("09", 2, "rls_update", "one recursive-least-squares step of the linear world model",
          "formula on random inputs; streaming a noiseless linear system recovers the batch ridge solution "
          "exactly; with forgetting it tracks a changed system; agreement with "
          "neurophys.models.world_model.LinearModel",
          forbid=("neurophys.models.world_model:LinearModel.fit_delta",))
def check_rls_update(fn, rng):
    """Guards: the gain's denominator λ + φᵀPφ, the error computed with the OLD weights, the /λ of
    forgetting, the symmetric rank-one update of P; and the theorem: RLS is exact ridge regression
    computed one sample at a time."""
    m, d = int(rng.integers(3, 6)), int(rng.integers(1, 4))
    W, phi, delta = rng.standard_normal((m, d)), rng.standard_normal(m), rng.standard_normal(d)
    Q = rng.standard_normal((m, m))
    P = Q @ Q.T + numpy.eye(m)
    lam = float(rng.uniform(0.8, 1.0))
    keep = (W.copy(), P.copy())
    W1, P1 = unpack(fn(W, P, phi, delta, lam), 2, "rls_update")
    unchanged(keep[0], W, "W")
    unchanged(keep[1], P, "P")
    Pphi = P @ phi
    g = Pphi / (lam + phi @ Pphi)
    close(arr(W1, "W'", (m, d)), W + numpy.outer(g, delta - phi @ W), 1e-10, "W'",
          "g = Pφ / (λ + φᵀPφ); W' = W + g (Δ − φᵀW)")
    close(arr(P1, "P'", (m, m)), (P - numpy.outer(g, Pphi)) / lam, 1e-10, "P'", "P' = (P − g φᵀ P) / λ")
    # streaming = batch ridge
    ridge, n = 1e-3, 40
    Wt = rng.standard_normal((m, d))
    Phi = rng.standard_normal((n, m))
    Dl = Phi @ Wt
    Ws, Ps = numpy.zeros((m, d)), numpy.eye(m) / ridge
    for p_, d_ in zip(Phi, Dl):
        Ws, Ps = fn(Ws, Ps, p_, d_, 1.0)
    Wr = numpy.linalg.solve(Phi.T @ Phi + ridge * numpy.eye(m), Phi.T @ Dl)
    close(arr(Ws, "W"), Wr, 1e-6, "RLS after 40 samples against the batch ridge solution")
    # forgetting tracks a switched system
    W2 = rng.standard_normal((m, d))
    for p_ in rng.standard_normal((80, m)):
        Ws, Ps = fn(Ws, Ps, p_, p_ @ W2, 0.9)
    close(arr(Ws, "W"), W2, 1e-2, "with forgetting λ = 0.9, after the system changed")
    from ..models.world_model import LinearModel
    obs, act = m - 2, 1
    lm = LinearModel(obs, act, ridge=0.01, forgetting=lam)
    S, U = rng.standard_normal((6, obs)), rng.standard_normal((6, act))
    Dd = rng.standard_normal((6, obs))
    lm.fit_delta(S, U, Dd)
    Ws, Ps = numpy.zeros((m, obs)), numpy.eye(m) / 0.01
    for s_, u_, d_ in zip(S, U, Dd):
        Ws, Ps = fn(Ws, Ps, numpy.concatenate([s_, u_, [1.0]]), d_, lam)
    close(arr(Ws, "W"), lm.W, 1e-8, "against LinearModel.fit_delta (features [s, u, 1])")
    return "RLS equals batch ridge regression, and tracks a change with forgetting"


# ==================================================================== lesson 10
@exercise("10", 1, "verlet_step", "a velocity-Verlet (kick–drift–kick) step for any force law",
          "formula with a random nonlinear force; time reversibility (forward then back with −dt returns to "
          "the start); second order (halving dt quarters the error); bounded energy error on a Kepler orbit; "
          "agreement with neurophys.physics.mechanics.velocity_verlet_step",
          forbid=("neurophys.physics.mechanics:velocity_verlet_step",))
def check_verlet_step(fn, rng):
    """Guards: half kicks (a full kick is symplectic Euler: first order, fails the order test),
    the force evaluated at the NEW position for the second kick, reversibility; the call uses a
    force FUNCTION, a convention the library's system-name API does not accept."""
    K = rng.standard_normal((3, 3))
    K = K @ K.T + numpy.eye(3)
    c3 = float(rng.uniform(0, 0.5))

    def accel(q):
        return -q @ K - c3 * q ** 3

    q, v, dt = rng.standard_normal((4, 3)), rng.standard_normal((4, 3)), float(rng.uniform(0.01, 0.1))
    q1, v1 = unpack(fn(accel, q, v, dt), 2, "verlet_step")
    vh = v + 0.5 * dt * accel(q)
    qw = q + dt * vh
    close(arr(q1, "q'", q.shape), qw, 1e-12, "q'", "q' = q + dt (v + ½ dt a(q))")
    close(arr(v1, "v'", v.shape), vh + 0.5 * dt * accel(qw), 1e-12, "v'", "v' = v_½ + ½ dt a(q')")
    qq, vv = q.copy(), v.copy()
    for _ in range(50):
        qq, vv = fn(accel, qq, vv, dt)
    for _ in range(50):
        qq, vv = fn(accel, qq, vv, -dt)
    close(arr(qq, "q"), q, 1e-9, "50 steps forward then 50 back (time reversibility)")
    # order: harmonic oscillator, exact solution
    w = float(rng.uniform(0.5, 2))

    def err(h):
        qh, vh_ = numpy.array([1.0]), numpy.array([0.0])
        for _ in range(int(round(1.0 / h))):
            qh, vh_ = fn(lambda z: -w * w * z, qh, vh_, h)
        return abs(float(numpy.asarray(qh)[0]) - math.cos(w))

    ratio = err(0.02) / err(0.01)
    expect(3.5 < ratio < 4.5, f"halving dt should quarter the error of a second-order method; it divided it "
                              f"by {ratio:.2f}")
    # Kepler orbit, energy error bounded
    GM = 3.986
    e = float(rng.uniform(0.1, 0.5))
    qo, vo = numpy.array([[1.0 - e, 0.0]]), numpy.array([[0.0, math.sqrt(GM * (1 + e) / (1 - e))]])

    def kepler(z):
        return -GM * z / numpy.linalg.norm(z, axis=-1, keepdims=True) ** 3

    def energy(z, u):
        return 0.5 * (u * u).sum() - GM / numpy.linalg.norm(z)

    E0, worst = energy(qo, vo), 0.0
    for i in range(3000):
        qo, vo = fn(kepler, qo, vo, 2e-3)
        if i % 10 == 0:
            worst = max(worst, abs(energy(qo, vo) - E0) / abs(E0))
    expect(worst < 1e-3, f"the orbit's energy error reached {worst:.2e}; Verlet keeps it bounded and small")
    from ..physics import mechanics
    qs, vs = rng.standard_normal((5, 1)), rng.standard_normal((5, 1))
    lib_q, lib_v, _ = mechanics.velocity_verlet_step("spring", qs, vs, dt, k=3.0, m=1.5)
    mq, mv = fn(lambda z: -(3.0 / 1.5) * z, qs, vs, dt)
    close(arr(mq, "q'"), lib_q, 1e-12, "a spring step against mechanics.velocity_verlet_step")
    close(arr(mv, "v'"), lib_v, 1e-12, "a spring step against mechanics.velocity_verlet_step")
    return f"reversible, second order (error ratio {ratio:.2f}), orbit energy error ≤ {worst:.1e}"


@exercise("10", 2, "orbit_invariants", "the Kepler orbit's energy and angular momentum",
          "agreement with neurophys.physics.mechanics.invariants on random states and constants; both stay "
          "constant along an exact circular orbit",
          forbid=("neurophys.physics.mechanics:invariants",))
def check_orbit_invariants(fn, rng):
    """Guards: the sign of the potential −GM m / r, the m in both terms, the orientation of L
    (x vy − y vx), any batch shape."""
    from ..physics import mechanics
    shape = (int(rng.integers(2, 5)), int(rng.integers(2, 5)), 4)
    states = rng.standard_normal(shape)
    GM, m = float(rng.uniform(1, 5)), float(rng.uniform(0.5, 2))
    E, L = unpack(fn(states, GM=GM, m=m), 2, "orbit_invariants")
    lib = mechanics.invariants("orbit", states, GM=GM, m=m)
    close(arr(E, "E", shape[:-1]), lib["total"], 1e-12, "E", "E = ½ m v² − GM m / r")
    close(arr(L, "L", shape[:-1]), lib["angular_momentum"], 1e-12, "L", "L = m (x vy − y vx)")
    R = float(rng.uniform(0.5, 3))
    om = math.sqrt(GM / R ** 3)
    t = numpy.linspace(0, 10, 50)
    circ = numpy.stack([R * numpy.cos(om * t), R * numpy.sin(om * t),
                        -R * om * numpy.sin(om * t), R * om * numpy.cos(om * t)], axis=-1)
    E, L = fn(circ, GM=GM, m=m)
    E, L = arr(E, "E", t.shape), arr(L, "L", t.shape)
    expect(numpy.ptp(E) < 1e-10 * abs(E[0]) and numpy.ptp(L) < 1e-10 * abs(L[0]),
           "E and L should be constant along an exact circular orbit")
    close(E[0], -0.5 * GM * m / R, 1e-10, "E of a circular orbit", "it is −GM m / (2R)")
    return "E and L agree with the library and are conserved on a circular orbit"


# ==================================================================== lesson 11
def _gru_ref(x, h, Wx, Wh, b, c):
    H = h.shape[1]
    sig = lambda a: 1 / (1 + numpy.exp(-a))  # noqa: E731
    ax, ah = x @ Wx + b, h @ Wh
    r = sig(ax[:, :H] + ah[:, :H])
    u = sig(ax[:, H:2 * H] + ah[:, H:2 * H])
    n = numpy.tanh(ax[:, 2 * H:] + r * (ah[:, 2 * H:] + c))
    return (1 - u) * n + u * h


@exercise("11", 1, "gru_step_backward", "the backward of one GRU step through its reset and update gates",
          "central differences of Σ dh ⊙ h' through an independent GRU step for x, h, Wx, Wh, b and c; "
          "agreement with neurophys.blocks.gru.GRU.backward",
          forbid=("neurophys.blocks.gru:GRU.backward",))
def check_gru_step_backward(fn, rng):
    """Guards: the reset gate acting INSIDE the candidate (on h U_n + c, so ∂c gets r), the update
    gate's ∂u = dh (h − n), the direct path dh ⊙ u to h_prev, the gate derivatives σ(1 − σ)."""
    N, n_in, H = int(rng.integers(2, 4)), int(rng.integers(2, 5)), int(rng.integers(2, 5))
    x, h = rng.standard_normal((N, n_in)), 0.8 * rng.standard_normal((N, H))
    Wx, Wh = 0.7 * rng.standard_normal((n_in, 3 * H)), 0.7 * rng.standard_normal((H, 3 * H))
    b, c = 0.3 * rng.standard_normal(3 * H), 0.3 * rng.standard_normal(H)
    dh = rng.standard_normal((N, H))
    out = unpack(fn(x, h, Wx, Wh, b, c, dh), 6, "gru_step_backward")
    names = ("x", "h_prev", "Wx", "Wh", "b", "c")
    arrays = (x, h, Wx, Wh, b, c)
    got = [arr(o, f"d{nm}", a.shape) for o, nm, a in zip(out, names, arrays)]

    def L():
        return float((dh * _gru_ref(x, h, Wx, Wh, b, c)).sum())

    for nm, a, g in zip(names, arrays, got):
        err = check_gradient(L, a, g, max_entries=30, seed=int(rng.integers(1 << 30)))
        expect(err < 1e-6, f"∂L/∂{nm} disagrees with central differences (relative error {err:.2e})")
    from ..blocks.gru import GRU
    with _f64():
        gru = GRU(n_in, H)
        gru.params.update(Wx=Wx.copy(), Wh=Wh.copy(), b=b.copy(), c=c.copy())
        gru.forward(x[:, None, :], h0=h.copy())
        dX = gru.backward(dh[:, None, :])
    close(got[0], dX[:, 0], 1e-10, "dx against GRU.backward")
    close(got[1], gru.dh0, 1e-10, "dh_prev against GRU.backward")
    close(got[3], gru.grads["Wh"], 1e-10, "dWh against GRU.backward")
    return "all six gradients pass central differences and match the library's GRU"


@exercise("11", 2, "conservation_penalty", "the energy-conservation loss: variance of Ê along each trajectory",
          "formula; central differences; zero for energies constant along each trajectory; blind to a "
          "per-trajectory offset")
def check_conservation_penalty(fn, rng):
    """Guards: the mean over each ROW (a trajectory), not over the batch (a global variance is
    not blind to per-trajectory offsets and fails), the 2/(BT) of the gradient."""
    Bn, T = int(rng.integers(2, 6)), int(rng.integers(3, 9))
    E = rng.standard_normal((Bn, T))
    P, dP = unpack(fn(E, ), 2, "conservation_penalty")
    dev = E - E.mean(1, keepdims=True)
    close(scalar(P, "P"), (dev ** 2).mean(), 1e-12, "P", "P = mean over b, t of (Ê_bt − Ē_b)², Ē_b the row mean")
    dP = arr(dP, "∂P/∂Ê", E.shape)
    err = check_gradient(lambda: scalar(fn(E)[0], "P"), E, dP, max_entries=None)
    expect(err < 1e-6, f"∂P/∂Ê disagrees with central differences of your P (relative error {err:.2e})")
    flat = numpy.repeat(rng.standard_normal((Bn, 1)), T, axis=1)
    expect(abs(scalar(fn(flat)[0], "P")) < 1e-20, "energies constant along every trajectory must cost nothing, "
                                                  "even if trajectories have different energies")
    shift = rng.standard_normal((Bn, 1)) * 10
    close(scalar(fn(E + shift)[0], "P"), scalar(P, "P"), 1e-9, "P after adding a constant to each trajectory")
    return "penalty and gradient agree; only changes along a trajectory cost"


# ==================================================================== lesson 12
def _spring_terms(rng, n=8, T=60):
    """Analytic spring trajectories x = A cos(ωt + φ), v = −Aω sin(ωt + φ); terms [x², v², x v, x, v]."""
    k, m = float(rng.uniform(1, 5)), float(rng.uniform(0.5, 2))
    w = math.sqrt(k / m)
    t = numpy.linspace(0, 4, T)
    A, ph = rng.uniform(0.5, 2, n), rng.uniform(0, 2 * numpy.pi, n)
    x = A[:, None] * numpy.cos(w * t + ph[:, None])
    v = -A[:, None] * w * numpy.sin(w * t + ph[:, None])
    Theta = numpy.stack([x * x, v * v, x * v, x, v], axis=-1)
    energy = numpy.array([k / 2, m / 2, 0, 0, 0])
    return Theta, t, energy / numpy.linalg.norm(energy)


def _along_between_ref(Theta, t):
    m = Theta.shape[-1]
    dT = numpy.gradient(Theta, t, axis=1, edge_order=2).reshape(-1, m)
    return dT.T @ dT / len(dT), numpy.cov(Theta.mean(axis=1), rowvar=False).reshape(m, m)


def _ridge(A):
    """A + 1e-10·tr(A)/m·I: the spring's energy makes A singular (it does not change at all)."""
    return A + 1e-10 * numpy.trace(A) / len(A) * numpy.eye(len(A))


def _top_direction(A, Bm):
    import scipy.linalg
    mu, V = scipy.linalg.eigh(Bm, _ridge(A))
    c = V[:, -1]
    return mu[-1], c / numpy.linalg.norm(c)


@exercise("12", 1, "along_and_between", "the two matrices of the conserved-quantity search: change along vs spread between",
          "agreement with an independent computation on non-uniform times; A is symmetric positive "
          "semi-definite and blind to a term constant in time; with them the spring's energy is discovered")
def check_along_and_between(fn, rng):
    """Guards: derivatives along TIME (axis 1) with the real, non-uniform times; the per-trajectory
    means for B (a covariance over all samples fails); ddof = 1."""
    n, T, m = int(rng.integers(4, 8)), int(rng.integers(6, 12)), int(rng.integers(2, 5))
    Theta = rng.standard_normal((n, T, m))
    Theta[..., 0] = rng.standard_normal((n, 1))        # a term constant along each trajectory
    t = numpy.cumsum(rng.uniform(0.05, 0.2, T))
    A, Bm = unpack(fn(Theta, t), 2, "along_and_between")
    A, Bm = arr(A, "A", (m, m)), arr(Bm, "B", (m, m))
    Aw, Bw = _along_between_ref(Theta, t)
    close(A, Aw, 1e-10, "A", "dΘ/dt by numpy.gradient(Theta, t, axis=1, edge_order=2), then Θ̇ᵀΘ̇ / (n·T)")
    close(Bm, Bw, 1e-10, "B", "the covariance (ddof = 1) of the per-trajectory means of Θ")
    expect(abs(A[0]).max() < 1e-12, "a term constant along every trajectory must have no 'along' change")
    Theta, t, energy = _spring_terms(rng)
    A, Bm = fn(Theta, t)
    _, c = _top_direction(arr(A, "A"), arr(Bm, "B"))
    cos = abs(float(c @ energy))
    expect(cos > 0.999, f"with your matrices the most conserved direction is not the spring's energy "
                        f"(|cos| = {cos:.4f})")
    return f"matrices agree; the spring's energy is found (|cos| = {cos:.6f})"


@exercise("12", 2, "conserved_direction", "the generalised eigenproblem B c = μ A c that finds a conserved quantity",
          "residual ‖Bc − μAc‖ ≈ 0 on random symmetric matrices; μ is the largest; unit length; discovers "
          "the spring's energy from its trajectories",
          forbid=("neurophys.symbolic.conserved:find_conserved",))
def check_conserved_direction(fn, rng):
    """Guards: solving B c = μ A c (not B c = μ c, nor A c = μ B c), taking the LARGEST μ, the
    normalisation; ends with the discovery of E = (k/2) x² + (m/2) v² from raw motion."""
    m = int(rng.integers(3, 7))
    Q = rng.standard_normal((m, m))
    A = Q @ Q.T + 0.5 * numpy.eye(m)
    R = rng.standard_normal((m, m - 1))
    Bm = R @ R.T
    mu, c = unpack(fn(A, Bm), 2, "conserved_direction")
    mu, c = scalar(mu, "μ"), arr(c, "c", (m,))
    expect(abs(numpy.linalg.norm(c) - 1) < 1e-8, "return c with unit length")
    res = numpy.linalg.norm(Bm @ c - mu * A @ c) / (numpy.linalg.norm(Bm) + mu * numpy.linalg.norm(A))
    expect(res < 1e-8, f"(μ, c) does not solve B c = μ A c (relative residual {res:.2e})")
    top, _ = _top_direction(A, Bm)
    close(mu, top, 1e-8, "μ", "take the LARGEST generalised eigenvalue")
    Theta, t, energy = _spring_terms(rng)
    A, Bm = _along_between_ref(Theta, t)
    _, c = fn(_ridge(A), Bm)
    cos = abs(float(arr(c, "c") @ energy))
    expect(cos > 0.999, f"the top direction should be the spring's energy (k/2) x² + (m/2) v² (|cos| = {cos:.4f})")
    return f"the generalised eigenvector is the spring's energy (|cos| = {cos:.6f})"


def _savgol_weights(window, polyorder):
    """The central weights of a least-squares polynomial fit over ``window`` samples (no scipy):
    the fitted value at the centre is  Σ_j w_j y_j."""
    j = numpy.arange(window) - window // 2
    V = numpy.vander(j, polyorder + 1, increasing=True).astype(float)
    return numpy.linalg.pinv(V)[0]


def _noise_floor_ref(values, window, polyorder):
    w = _savgol_weights(window, polyorder)
    fit = numpy.lib.stride_tricks.sliding_window_view(values, window) @ w     # interior samples only
    r = values[window // 2: len(values) - window // 2] - fit
    return float(numpy.sqrt(numpy.mean(r * r) / (1.0 - w[window // 2])))


def _noise_floor_hint(got, values, window, polyorder):
    """Name the likely mistake behind a wrong noise floor."""
    from scipy.signal import savgol_filter
    w = _savgol_weights(window, polyorder)
    ref = _noise_floor_ref(values, window, polyorder)
    half = window // 2
    r_all = values - savgol_filter(values, window, polyorder)
    if min(abs(got - values.std(ddof=d)) for d in (0, 1)) <= 1e-6 * values.std():
        return ("that is the spread of the values themselves (their drift), not the noise: take the residual "
                "of the smooth Savitzky-Golay fit")
    if abs(got - ref * numpy.sqrt(1 - w[half])) <= 1e-6 * ref:
        return "the residual's variance is σ²(1 − h₀): divide mean(r²) by 1 − h₀, h₀ the filter's central weight"
    if min(abs(got - numpy.sqrt(numpy.mean(r_all ** 2) / s)) for s in (1.0, 1 - w[half])) <= 1e-6 * ref:
        return f"use the interior residuals only: drop window // 2 = {half} samples at each end"
    return ("σ̂ = √(mean(r²) / (1 − h₀)) with r the residual of savgol_filter(values, window, polyorder) on the "
            "interior samples")


def _oscillator_energy(rng, T, gamma=0.0):
    """Energy ½k x² + ½m v² of an (under)damped spring, sampled at T uniform times in [0, 20]."""
    k, m = float(rng.uniform(1, 5)), float(rng.uniform(0.5, 2))
    t = numpy.linspace(0, 20, T)
    w = math.sqrt(k / m - gamma ** 2)
    A, ph = float(rng.uniform(0.5, 2)), float(rng.uniform(0, 2 * numpy.pi))
    x = A * numpy.exp(-gamma * t) * numpy.cos(w * t + ph)
    v = A * numpy.exp(-gamma * t) * (-gamma * numpy.cos(w * t + ph) - w * numpy.sin(w * t + ph))
    return 0.5 * k * x * x + 0.5 * m * v * v


@exercise("12", 3, "noise_floor", "the noise floor of find_conserved: σ of the measurement noise from Savitzky-Golay "
          "residuals",
          "agreement with an independent least-squares fit on random signals, windows and orders; on a "
          "spring's energy measured with noise σ (drawn at random, four levels) the floor is σ within 20 % and "
          "the energy counts as conserved; on a damped spring's energy the drift stays > 5x the floor",
          forbid=("neurophys.symbolic.conserved:_trajectory_stats", "neurophys.symbolic.conserved:find_conserved"))
def check_noise_floor(fn, rng):
    """Guards: the residual of a smooth fit (the raw spread of the values is the drift, not the
    noise), the interior samples only, the 1/(1 − h₀) correction, any window and order."""
    for _ in range(3):
        T = int(rng.integers(30, 200))
        window = int(rng.choice([5, 7, 9, 11, 13, 15]))
        polyorder = int(rng.integers(1, min(4, window - 2) + 1))
        t = numpy.linspace(0, 1, T)
        values = (numpy.polyval(rng.standard_normal(4), t) + numpy.sin(rng.uniform(2, 8) * t)
                  + 10 ** rng.uniform(-3, -1) * rng.standard_normal(T))
        before = values.copy()
        got = scalar(fn(values, window, polyorder), "noise_floor")
        unchanged(before, values, "values")
        ref = _noise_floor_ref(values, window, polyorder)
        err = abs(got - ref) / ref
        expect(err <= 1e-8, f"noise_floor(window={window}, polyorder={polyorder}) = {got:.6g}, expected {ref:.6g}: "
                            + _noise_floor_hint(got, values, window, polyorder))
    # the physics: a conserved energy measured with noise σ sits on its floor ≈ σ; a damped one does not
    T, window, polyorder = 2000, int(rng.choice([5, 7, 9, 11])), int(rng.integers(1, 4))
    window = max(window, polyorder + 2)
    ratios = []
    for lo, hi in ((-4, -3), (-3, -2.5), (-2.5, -2), (-2, -1.5)):
        E = _oscillator_energy(rng, T)
        level = float(10 ** rng.uniform(lo, hi))        # noise relative to the energy
        sigma = level * float(E.mean())
        noisy = E + sigma * rng.standard_normal(T)
        floor = scalar(fn(noisy, window, polyorder), "noise_floor")
        ratios.append(floor / sigma)
        expect(0.8 <= floor / sigma <= 1.2,
               f"a spring's energy measured with Gaussian noise σ = {sigma:.3g} (window {window}, order "
               f"{polyorder}): your floor is {floor:.3g} = {floor / sigma:.3f} σ; it should estimate σ (within 20 %)")
        drift = float(noisy.std(ddof=1))
        expect(drift <= 2 * floor, f"the spring's noisy energy drifts {drift:.3g} = {drift / floor:.2f} x your floor "
                                   f"{floor:.3g}: find_conserved (noise_factor 2) would reject a true invariant")
        damped = _oscillator_energy(rng, T, gamma=float(rng.uniform(0.05, 0.15)))
        noisy = damped + level * float(damped[0]) * rng.standard_normal(T)
        floor = scalar(fn(noisy, window, polyorder), "noise_floor")
        drift = float(noisy.std(ddof=1))
        expect(drift > 5 * floor,
               f"a DAMPED spring loses energy, yet its drift {drift:.3g} is only {drift / floor:.2f} x your floor "
               f"{floor:.3g}: the floor must measure the noise around the smooth trend (the residual of the fit), "
               "not the trend itself")
    return (f"agrees with a least-squares fit; floor/σ = {min(ratios):.3f}..{max(ratios):.3f} on a noisy spring's "
            "energy; a damped spring's drift stays far above its floor")


# ==================================================================== lesson 13
@exercise("13", 1, "euler_step_out", "the NumPy twin of the fused Euler kernel: one step in preallocated buffers",
          "agreement with neurophys.physics.gpe.euler_step; the result is written into `out` and returned; "
          "psi untouched; no complex field-sized temporary (tracemalloc peak below one field)",
          forbid=("neurophys.physics.gpe:euler_step", "neurophys.physics.gpe:apply_hamiltonian",
                  "neurophys.physics.gpe:laplacian5", "neurophys.physics.gpe:_neighbour_sums"))
def check_euler_step_out(fn, rng):
    """Guards: the arithmetic (against the library step) and the kernel's discipline: memory moved
    once, no temporaries. A call of the library's own step allocates several fields and fails the
    memory check even where it would give the right numbers."""
    import tracemalloc
    from ..physics import gpe
    ny, nx = int(rng.integers(24, 40)), int(rng.integers(40, 56))
    psi = _cplx(rng, (2, ny, nx), 0.5)
    V, g, dt = float(rng.uniform(-0.5, 0.5)), float(rng.uniform(0.1, 1)), float(rng.uniform(0.01, 0.05))
    out, work = numpy.empty_like(psi), numpy.empty_like(psi)
    keep = psi.copy()
    fn(psi, dt, V, g, out, work)         # warm-up (first calls may allocate caches)
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        res = fn(psi, dt, V, g, out, work)
        peak = tracemalloc.get_traced_memory()[1] - base
    finally:
        tracemalloc.stop()
    unchanged(keep, psi, "psi")
    expect(res is out, "return the `out` array you were given (the result must be written into it)")
    close(out, gpe.euler_step(psi, dt, V, g, check=False), 1e-12, "ψ' against neurophys.physics.gpe.euler_step")
    expect(peak < psi.nbytes, f"the step allocated {peak / psi.nbytes:.1f} fields of temporaries; a fused kernel "
                              "allocates none: use slices, numpy.add(..., out=...) and the `work` buffer")
    return f"right numbers, written in place, peak temporaries {peak / psi.nbytes:.2f} of a field"


@exercise("13", 2, "relax_twin", "the NumPy twin of the fused relaxation kernel: synchronous steps in two ping-pong buffers",
          "agreement with neurophys.models.eqprop.relax_step (synchronous, box [0, 1]) and with a loop written "
          "in the check, for odd and even step counts; every returned array is one of the two buffers",
          forbid=("neurophys.models.eqprop:relax_step", "neurophys.kernels.dispatch:eqprop_relax_steps",
                  "neurophys.models.eqprop:EqPropNet.relax"))
def check_relax_twin(fn, rng):
    """Guards: the synchronous order (all layers read the OLD states; an in-place Gauss–Seidel
    sweep fails), the clip, which buffer holds the result after an odd or even number of steps."""
    from ..models import eqprop as EP
    sizes = [int(rng.integers(3, 7)), int(rng.integers(3, 7)), int(rng.integers(3, 7)), int(rng.integers(2, 4))]
    N, L = int(rng.integers(2, 5)), len(sizes) - 1
    W, b = _small_net(rng, sizes, 1.5)
    x = rng.uniform(0, 1, (N, sizes[0]))
    start = [rng.uniform(0, 1, (N, n)) for n in sizes[1:]]
    eps = float(rng.uniform(0.2, 0.9))
    for n_steps in (int(rng.integers(2, 5)) * 2 - 1, int(rng.integers(1, 4)) * 2):
        buf_a = [s.copy() for s in start]
        buf_b = [numpy.empty_like(s) for s in start]
        res = fn(x, W, b, eps, n_steps, buf_a, buf_b)
        expect(isinstance(res, (list, tuple)) and len(res) == L, f"return the list of the {L} free layers' states")
        home = buf_b if n_steps % 2 else buf_a
        expect(all(r is h for r, h in zip(res, home)),
               f"after {n_steps} steps the states must be in {'buf_b' if n_steps % 2 else 'buf_a'} (the returned "
               "arrays must be those buffers, no copies)")
        s = [x] + [a.copy() for a in start]
        for _ in range(n_steps):
            new = [x]
            for l in range(1, L + 1):
                drive = s[l - 1] @ W[l - 1] + b[l - 1] + (s[l + 1] @ W[l].T if l < L else 0)
                new.append(numpy.clip(s[l] - eps * (s[l] - drive), 0, 1))
            s = new
        close(numpy.concatenate([numpy.asarray(r).ravel() for r in res]),
              numpy.concatenate([a.ravel() for a in s[1:]]), 1e-12, f"the states after {n_steps} steps",
              "synchronous: every layer reads the states of the previous step")
    lib = [x] + [a.copy() for a in start]
    ones = [lambda z: numpy.ones_like(z)] * (L + 1)
    ident = [lambda z: z] * (L + 1)
    for _ in range(n_steps):
        lib = EP.relax_step(lib, W, b, [False] + [True] * L, ident, ones, eps, lo=[None] + [0.0] * L,
                            hi=[None] + [1.0] * L, order="synchronous")
    close(numpy.concatenate([numpy.asarray(r).ravel() for r in res]),
          numpy.concatenate([a.ravel() for a in lib[1:]]), 1e-12, "against neurophys.models.eqprop.relax_step")
    return "synchronous steps agree with the library, ping-ponging between the two buffers"
