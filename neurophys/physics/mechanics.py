"""Three classical systems, their equations of motion, their invariants, two integrators.

Document 002 (NeurophysicsLab) learns conservation laws from the motion of a
projectile, a spring and a Kepler orbit. This module makes that motion.

Systems and state layouts (``STATE_NAMES``; the last axis of every state array)
-------------------------------------------------------------------------------
=============  ======================  =========================================
system         state                   equations of motion
=============  ======================  =========================================
``projectile`` ``[x, y, vx, vy]``      ẍ = 0,  ÿ = −g            (no ground)
``spring``     ``[x, v]``              m ẍ = −k x                 (1-D, Hooke)
``orbit``      ``[x, y, vx, vy]``      r̈ = −GM r / |r|³           (Kepler)
=============  ======================  =========================================

The spring is one-dimensional, as in the document's table (state dim 2). The
projectile flies for the whole window: there is no ground, so y may become
negative and energy stays conserved. Physical constants (``DEFAULT_PARAMS``):
m = 1, g = 9.81; m = 1, k = 5 (so k/2 = 2.5, the document's fit says 2.47);
m = 1, GM = 3.986 (the document's orbit fit has −3.986/r).

Invariants (:func:`invariants`)
-------------------------------
    projectile  K = ½ m (vx² + vy²),  U = m g y
    spring      K = ½ m v²,           U = ½ k x²
    orbit       K = ½ m (vx² + vy²),  U = −GM m / r,  L = m (x vy − y vx)
and E = K + U for all three.

Integrators (:func:`simulate`)
------------------------------
``"rk45"``: ``scipy.integrate.solve_ivp(method="RK45")``, one call per
trajectory, with the tolerances ``rtol``/``atol`` (defaults ``RK45_RTOL`` =
1e-9, ``RK45_ATOL`` = 1e-12), sampled on the output grid with ``t_eval``.
``"verlet"``: hand-written velocity Verlet (kick–drift–kick leapfrog) with a
fixed step ``dt``, vectorised over trajectories; it is symplectic, so its
energy error stays bounded instead of drifting.

Quick use::

    from neurophys.physics import mechanics as M
    t, s = M.simulate("orbit", n_trajectories=100, t_max=10.0, n_steps=200, integrator="verlet")
    inv = M.invariants("orbit", s)          # dict of (100, 200) arrays
    drift = M.relative_drift(inv["total"])  # (100,) max_t |E(t) − E(0)| / |E(0)|

Simulation runs on the host in float64 (NumPy/SciPy); :func:`invariants` works
on NumPy or CuPy arrays alike.
"""
from __future__ import annotations

import math
import os

import numpy as np

from .. import backend as B
from .. import validate as V

SYSTEMS = ("projectile", "spring", "orbit")
INTEGRATORS = ("rk45", "verlet")
STATE_NAMES = {
    "projectile": ("x", "y", "vx", "vy"),
    "spring": ("x", "v"),
    "orbit": ("x", "y", "vx", "vy"),
}
DEFAULT_PARAMS = {
    "projectile": {"m": 1.0, "g": 9.81},
    "spring": {"m": 1.0, "k": 5.0},
    "orbit": {"m": 1.0, "GM": 3.986},
}
# Default time window (s), output samples, and Verlet step (s) per system.
DEFAULT_T_MAX = {"projectile": 2.0, "spring": 10.0, "orbit": 10.0}
DEFAULT_N_STEPS = 100
DEFAULT_DT = {"projectile": 0.01, "spring": 0.005, "orbit": 0.001}
RK45_RTOL, RK45_ATOL = 1e-9, 1e-12
RK45_MAX_NFEV = 2_000_000  # force-law evaluations per trajectory before RK45 is stopped (no call spins for ever)


# ------------------------------------------------------------------ validation
def check_system(system: str) -> str:
    """Return ``system`` if known, else raise ValueError listing the valid names."""
    if not isinstance(system, str) or system not in SYSTEMS:
        raise ValueError(f"unknown system {system!r}; valid systems are: {', '.join(SYSTEMS)}")
    return system


def state_dim(system: str) -> int:
    """Number of state variables: 4 for projectile and orbit, 2 for the spring."""
    return len(STATE_NAMES[check_system(system)])


def params_for(system: str, **params) -> dict:
    """The system's constants: ``DEFAULT_PARAMS`` updated by ``params`` (unknown keys raise)."""
    p = dict(DEFAULT_PARAMS[check_system(system)])
    for key, value in params.items():
        if key not in p:
            raise ValueError(f"unknown parameter {key!r} for system {system!r}; valid: {', '.join(p)}")
        value = float(value)
        if not math.isfinite(value) or value <= 0:
            raise ValueError(f"parameter {key!r} must be a positive finite number, got {value}")
        p[key] = value
    return p


def check_states(system: str, states, name: str = "states"):
    """Raise ValueError unless ``states[..., :]`` has the system's state size and is finite."""
    check_system(system)
    states = V.as_float_array(name, states, dtype=np.float64, finite=False)  # real, non-empty
    shape = tuple(getattr(states, "shape", ()))
    d = state_dim(system)
    if len(shape) == 0 or shape[-1] != d:
        raise V.NeurophysInputError(f"{name} for {system!r} must end in {d} state variables "
                                    f"{list(STATE_NAMES[system])}, got shape {shape}")
    V.check_input_finite(name, states)
    return states


def check_start(system: str, y0, name: str = "initial_states", **params):
    """Refuse initial states no solver can start from: an orbit at r = 0 (the force GM/r² is
    infinite there). Called before integrating, so that no step size is blamed for it."""
    if system != "orbit":
        return y0
    GM = params_for(system, **params)["GM"]
    r = np.hypot(y0[:, 0], y0[:, 1])
    with np.errstate(divide="ignore", over="ignore"):
        singular = ~np.isfinite(GM / (r * r))
    if singular.any():
        i = int(np.flatnonzero(singular)[0])
        raise V.NeurophysInputError(
            f"{name}[{i}] = {y0[i].tolist()} starts the orbit at r = {r[i]:g}, the centre, where the force "
            "GM/r² is infinite: no integrator can start there. Move the start away from (0, 0), "
            "e.g. initial_states=[[1, 0, 0, 1]] (a circular orbit for GM = 1)")
    return y0


# ------------------------------------------------------------------ physics
def acceleration(system: str, q, **params):
    """a(q) for positions q (..., n_pos): the force law divided by the mass.

        projectile  a = (0, −g)
        spring      a = −(k/m) x
        orbit       a = −GM q / |q|³
    """
    return _acceleration(system, q, params_for(system, **params))


def _acceleration(system, q, p):
    """:func:`acceleration` with the constants ``p`` already checked (inner loops)."""
    xp = B.get_array_module(q)
    if system == "projectile":
        a = xp.zeros_like(q)
        a[..., 1] = -p["g"]
        return a
    if system == "spring":
        return -(p["k"] / p["m"]) * q
    r = xp.sqrt((q * q).sum(axis=-1, keepdims=True))
    return -p["GM"] * q / r ** 3


def derivatives(system: str, state, **params):
    """ds/dt = (velocity, acceleration) for states (..., state_dim)."""
    state = check_states(system, state, "state")
    xp = B.get_array_module(state)
    n = state.shape[-1] // 2
    q, v = state[..., :n], state[..., n:]
    return xp.concatenate([v, acceleration(system, q, **params)], axis=-1)


def invariants(system: str, states, **params) -> dict:
    """Kinetic, potential and total energy (+ angular momentum for the orbit).

    ``states`` has shape (..., state_dim); every returned array has shape
    ``states.shape[:-1]``. Keys: ``kinetic``, ``potential``, ``total`` and, for
    the orbit, ``angular_momentum``.

        projectile  K = ½ m (vx² + vy²),  U = m g y
        spring      K = ½ m v²,           U = ½ k x²
        orbit       K = ½ m (vx² + vy²),  U = −GM m / r,  L = m (x vy − y vx)
    """
    check_states(system, states)
    p = params_for(system, **params)
    xp = B.get_array_module(states)
    m = p["m"]
    if system == "projectile":
        x, y, vx, vy = (states[..., i] for i in range(4))
        K = 0.5 * m * (vx ** 2 + vy ** 2)
        U = m * p["g"] * y
        return {"kinetic": K, "potential": U, "total": K + U}
    if system == "spring":
        x, v = states[..., 0], states[..., 1]
        K = 0.5 * m * v ** 2
        U = 0.5 * p["k"] * x ** 2
        return {"kinetic": K, "potential": U, "total": K + U}
    x, y, vx, vy = (states[..., i] for i in range(4))
    r = xp.sqrt(x ** 2 + y ** 2)
    K = 0.5 * m * (vx ** 2 + vy ** 2)
    U = -p["GM"] * m / r
    L = m * (x * vy - y * vx)
    return {"kinetic": K, "potential": U, "total": K + U, "angular_momentum": L}


def relative_drift(values, axis: int = -1):
    """Relative drift of a quantity that should be constant along ``axis`` (time):

        drift = max_t |Q(t) − Q(0)| / |Q(0)|

    One number per trajectory; e.g. ``relative_drift(inv["total"])``.
    """
    values = V.as_float_array("values", values)
    xp = B.get_array_module(values)
    v = xp.moveaxis(values, axis, -1)
    if v.shape[-1] == 0:
        raise V.NeurophysInputError(f"values has no samples along axis {axis} (shape {tuple(values.shape)}); "
                                    "a drift needs at least Q(0)")
    q0 = v[..., :1]
    return xp.abs(v - q0).max(axis=-1) / xp.maximum(xp.abs(q0[..., 0]), 1e-300)


# ------------------------------------------------------------------ initial conditions
def initial_conditions(system: str, n_trajectories: int, seed: int = 0, **params):
    """Random initial states (n_trajectories, state_dim), float64, from a seeded NumPy generator.

    projectile  x0 = 0, y0 ~ U(0, 5) m, speed v0 ~ U(5, 20) m/s, angle θ ~ U(15°, 75°):
                (vx, vy) = v0 (cos θ, sin θ)
    spring      amplitude A ~ U(0.5, 2), phase φ ~ U(0, 2π), ω = √(k/m):
                x0 = A cos φ,  v0 = −A ω sin φ
    orbit       semi-major axis a ~ U(1, 2), eccentricity e ~ U(0, 0.6), true anomaly
                f ~ U(0, 2π), orientation ϖ ~ U(0, 2π), p = a(1 − e²), counter-clockwise:
                r = p / (1 + e cos f),  position r (cos f, sin f),
                velocity √(GM/p) (−sin f, e + cos f), both rotated by ϖ
    """
    p = params_for(system, **params)
    n = V.positive_int("n_trajectories", n_trajectories)
    rng = np.random.default_rng(V.seed("seed", seed))
    if system == "projectile":
        y0 = rng.uniform(0.0, 5.0, n)
        v0 = rng.uniform(5.0, 20.0, n)
        theta = np.deg2rad(rng.uniform(15.0, 75.0, n))
        return np.stack([np.zeros(n), y0, v0 * np.cos(theta), v0 * np.sin(theta)], axis=1)
    if system == "spring":
        A = rng.uniform(0.5, 2.0, n)
        phi = rng.uniform(0.0, 2 * np.pi, n)
        omega = math.sqrt(p["k"] / p["m"])
        return np.stack([A * np.cos(phi), -A * omega * np.sin(phi)], axis=1)
    a = rng.uniform(1.0, 2.0, n)
    e = rng.uniform(0.0, 0.6, n)
    f = rng.uniform(0.0, 2 * np.pi, n)
    varpi = rng.uniform(0.0, 2 * np.pi, n)
    semi_latus = a * (1 - e ** 2)
    r = semi_latus / (1 + e * np.cos(f))
    pos = np.stack([r * np.cos(f), r * np.sin(f)], axis=1)
    vel = np.sqrt(p["GM"] / semi_latus)[:, None] * np.stack([-np.sin(f), e + np.cos(f)], axis=1)
    c, s = np.cos(varpi), np.sin(varpi)
    rot = np.stack([np.stack([c, -s], 1), np.stack([s, c], 1)], 1)  # (n, 2, 2)
    pos = np.einsum("nij,nj->ni", rot, pos)
    vel = np.einsum("nij,nj->ni", rot, vel)
    return np.concatenate([pos, vel], axis=1)


# ------------------------------------------------------------------ integrators
def velocity_verlet_step(system: str, q, v, dt: float, a=None, **params):
    """One kick–drift–kick (velocity Verlet / leapfrog) step:

        v_{½} = v_n + ½ dt a(q_n)
        q_{n+1} = q_n + dt v_{½}
        v_{n+1} = v_{½} + ½ dt a(q_{n+1})

    Symplectic and time-reversible, second order in dt. Returns
    (q_{n+1}, v_{n+1}, a(q_{n+1})); pass that acceleration back as ``a`` to the
    next step, so each step costs one evaluation of the force law.
    """
    p = params_for(system, **params)
    a = _acceleration(system, q, p) if a is None else a
    v_half = v + 0.5 * dt * a
    q_new = q + dt * v_half
    a_new = _acceleration(system, q_new, p)
    v_new = v_half + 0.5 * dt * a_new
    return q_new, v_new, a_new


def _verlet(system, y0, t, dt, **params):
    """Integrate all trajectories at once, recording the state at the times ``t``."""
    p = params_for(system, **params)
    if system == "spring":
        omega_dt = math.sqrt(p["k"] / p["m"]) * dt
        if omega_dt >= 2.0:
            raise ValueError(f"Verlet is unstable for the spring when ω·dt >= 2 (here {omega_dt:.3g}); "
                             "lower dt")
    n_pos = y0.shape[1] // 2
    q, v = y0[:, :n_pos].copy(), y0[:, n_pos:].copy()
    out = np.empty((y0.shape[0], len(t), y0.shape[1]))
    out[:, 0] = y0
    a = _acceleration(system, q, p)
    for i in range(1, len(t)):
        interval = t[i] - t[i - 1]
        n_sub = max(1, int(math.ceil(interval / dt - 1e-9)))
        h = interval / n_sub  # the largest step <= dt that lands exactly on the output time
        for _ in range(n_sub):
            # velocity Verlet (see velocity_verlet_step), inlined without per-step checks
            v_half = v + 0.5 * h * a
            q = q + h * v_half
            a = _acceleration(system, q, p)
            v = v_half + 0.5 * h * a
        out[:, i, :n_pos], out[:, i, n_pos:] = q, v
    if not V.is_finite(out):
        raise V.DivergenceError(f"Verlet integration of {system!r} produced NaN/inf; lower dt (was {dt})"
                                + (" or start further from the centre (a close pass of r = 0)"
                                   if system == "orbit" else ""))
    return out


def _fast_rhs(system, p, max_nfev: int = RK45_MAX_NFEV):
    """ds/dt for one state vector, the same law as :func:`derivatives` without its checks
    (solve_ivp calls it thousands of times per trajectory)."""
    if system == "projectile":
        g = p["g"]
        return lambda _t, s: np.array([s[2], s[3], 0.0, -g])
    if system == "spring":
        w2 = p["k"] / p["m"]
        return lambda _t, s: np.array([s[1], -w2 * s[0]])
    GM = p["GM"]
    budget = [max_nfev]

    def rhs(_t, s):
        budget[0] -= 1  # the orbit's adaptive steps shrink without bound near r = 0: stop instead
        if budget[0] < 0:
            raise _TooManySteps(_t)
        x, y = s[0], s[1]
        c = -GM / (x * x + y * y) ** 1.5
        return np.array([s[2], s[3], c * x, c * y])
    return rhs


class _TooManySteps(Exception):
    """Raised inside RK45's right-hand side when a trajectory uses up its evaluation budget."""


def _rk45(system, y0, t, rtol, atol, on_failure="raise", max_nfev: int = RK45_MAX_NFEV, **params):
    """solve_ivp(RK45) per trajectory; returns states, total RHS evaluations, failed trajectory indices."""
    from scipy.integrate import solve_ivp

    p = params_for(system, **params)

    out = np.full((y0.shape[0], len(t), y0.shape[1]), np.nan)
    nfev, failed = 0, []
    for i, s0 in enumerate(y0):
        rhs = _fast_rhs(system, p, max_nfev)  # a fresh evaluation budget per trajectory
        try:
            sol = solve_ivp(rhs, (t[0], t[-1]), s0, method="RK45", t_eval=t, rtol=rtol, atol=atol)
        except _TooManySteps as stop:
            msg = (f"RK45 used {max_nfev} force evaluations on trajectory {i} of {system!r} and stopped at "
                   f"t = {float(stop.args[0]):.4g} < t_max: its steps shrink without end (a pass through "
                   "r ≈ 0?); start it further from the centre, loosen rtol/atol, or pass on_failure='nan'")
            if on_failure == "raise":
                raise V.DivergenceError(msg) from None
            failed.append(i)
            nfev += max_nfev
            continue
        if not sol.success:
            if on_failure == "raise":
                near = ""
                if system == "orbit":
                    r_min = float(np.hypot(sol.y[0], sol.y[1]).min()) if sol.y.size else float(np.hypot(*s0[:2]))
                    near = f"; the orbit came within r = {r_min:.3g} of the centre, where GM/r² blows up: start further out"
                raise ValueError(f"RK45 failed on trajectory {i} of {system!r} at t = {sol.t[-1]:.4g}: "
                                 f"{sol.message}{near} (or tighten rtol/atol, or pass on_failure='nan')")
            failed.append(i)
        out[i, :sol.y.shape[1]] = sol.y.T
        nfev += sol.nfev
    return out, nfev, failed


def simulate(system: str, n_trajectories: int = 100, t_max: float | None = None,
             n_steps: int = DEFAULT_N_STEPS, integrator: str = "rk45", seed: int = 0,
             rtol: float = RK45_RTOL, atol: float = RK45_ATOL, dt: float | None = None,
             initial_states=None, return_info: bool = False, on_failure: str = "raise", **params):
    """Simulate random trajectories of ``system``.

    Returns ``(t, states)``: t of shape (n_steps,) from 0 to ``t_max``, and
    states of shape (n_trajectories, n_steps, state_dim) in the layout of
    ``STATE_NAMES[system]``, float64 NumPy arrays. With ``return_info=True`` a
    third item, a dict with the integrator's cost (``nfev`` = evaluations of the
    force law, ``dt``), is returned.

    - ``integrator="rk45"``: scipy's adaptive RK45 with ``rtol``, ``atol``.
    - ``integrator="verlet"``: velocity Verlet with fixed step ``dt`` (default
      ``DEFAULT_DT[system]``; each output interval is split into equal substeps).
    - ``initial_states`` (n, state_dim) overrides the random initial conditions
      of :func:`initial_conditions` (which ``seed`` draws).
    - ``on_failure``: when RK45 cannot finish a trajectory (e.g. an orbit that
      spirals into the centre at loose tolerances), ``"raise"`` a ValueError, or
      ``"nan"``: keep what was computed, fill the rest with NaN and list the
      trajectory in ``info["failed"]``.
    - ``params`` override the constants (``m``, ``g``, ``k``, ``GM``).

    >>> from neurophys.physics import mechanics as M
    >>> t, states = M.simulate("spring", 4, n_steps=50, seed=0)
    >>> t.shape, states.shape, M.STATE_NAMES["spring"]
    ((50,), (4, 50, 2), ('x', 'v'))
    >>> bool(M.relative_drift(M.invariants("spring", states)["total"]).max() < 1e-7)   # E is conserved
    True
    """
    check_system(system)
    if integrator not in INTEGRATORS:
        raise ValueError(f"unknown integrator {integrator!r}; valid integrators are: {', '.join(INTEGRATORS)}")
    p = params_for(system, **params)
    t_max = DEFAULT_T_MAX[system] if t_max is None else float(t_max)
    if not math.isfinite(t_max) or t_max <= 0:
        raise ValueError(f"t_max must be a positive number of seconds, got {t_max}")
    n_steps = V.positive_int("n_steps (output samples including t = 0)", n_steps, minimum=2)
    if initial_states is None:
        y0 = initial_conditions(system, n_trajectories, seed=seed, **p)
    else:
        y0 = V.as_float_array("initial_states", initial_states, ndim=(1, 2), dtype=np.float64)
        y0 = np.asarray(B.to_host(y0), dtype=np.float64)
        if y0.ndim == 1:
            y0 = y0[None, :]
        check_states(system, y0, "initial_states")
    check_start(system, y0, **p)
    t = np.linspace(0.0, t_max, n_steps)
    if integrator == "verlet":
        dt = DEFAULT_DT[system] if dt is None else V.positive_real("dt (seconds)", dt)
        states = _verlet(system, y0, t, dt, **p)
        n_sub = np.ceil(np.diff(t) / dt - 1e-9).clip(min=1).sum()
        info = {"integrator": "verlet", "dt": dt, "nfev": int((n_sub + 1) * y0.shape[0])}
    else:
        if not (rtol > 0 and atol > 0):
            raise ValueError(f"rtol and atol must be positive, got rtol={rtol}, atol={atol}")
        if on_failure not in ("raise", "nan"):
            raise ValueError(f"on_failure must be 'raise' or 'nan', got {on_failure!r}")
        states, nfev, failed = _rk45(system, y0, t, rtol, atol, on_failure, **p)
        info = {"integrator": "rk45", "rtol": rtol, "atol": atol, "nfev": int(nfev), "failed": failed}
    return (t, states, info) if return_info else (t, states)


# ------------------------------------------------------------------ datasets
def save_dataset(path, system: str, t, states, integrator: str = "", seed: int = 0, **params) -> None:
    """Save a dataset as .npz (no pickle): t, states, invariants, names and constants.

    Keys: ``system`` (str), ``state_names`` (str array), ``t`` (n_steps,),
    ``states`` (n, n_steps, state_dim), ``energy_total``, ``energy_kinetic``,
    ``energy_potential`` (n, n_steps), ``angular_momentum`` (orbit only),
    ``param_names``/``param_values``, ``integrator`` (str), ``seed`` (int).
    ``path`` gets the suffix ``.npz`` when it has none (as :func:`load_dataset` looks for it).
    """
    check_states(system, states)
    steps = np.shape(states)[-2] if np.ndim(states) >= 2 else None
    if np.ndim(t) != 1 or (steps is not None and np.shape(t)[0] != steps):
        raise V.NeurophysInputError(f"t must hold one time per sample: shape ({steps},) for states of shape "
                                    f"{np.shape(states)}, got shape {np.shape(t)}; pass the t that simulate() "
                                    "returned with these states")
    p = params_for(system, **params)
    inv = invariants(system, np.asarray(states), **p)
    arrays = {
        "system": np.array(system), "state_names": np.array(STATE_NAMES[system]),
        "t": np.asarray(t), "states": np.asarray(states),
        "energy_total": inv["total"], "energy_kinetic": inv["kinetic"], "energy_potential": inv["potential"],
        "param_names": np.array(list(p)), "param_values": np.array(list(p.values())),
        "integrator": np.array(integrator), "seed": np.array(int(seed)),
    }
    if "angular_momentum" in inv:
        arrays["angular_momentum"] = inv["angular_momentum"]
    np.savez_compressed(_npz_path(path), **arrays)


def _npz_path(path):
    """``path`` with the suffix ``.npz`` added when it does not end in it (what numpy.savez does);
    an open file is left as it is."""
    if hasattr(path, "write") or hasattr(path, "read"):
        return path
    text = os.fspath(path)
    return text if text.endswith(".npz") else text + ".npz"


def load_dataset(path) -> dict:
    """Load a dataset written by :func:`save_dataset` (allow_pickle=False) as a dict.

    Strings come back as Python str, constants as ``params`` (a dict). A path without the
    suffix ``.npz`` is read as :func:`save_dataset` wrote it (with ``.npz`` added), unless a
    file of exactly that name exists.
    """
    if not hasattr(path, "read") and not os.path.isfile(os.fspath(path)):
        if not os.path.isfile(_npz_path(path)):
            raise FileNotFoundError(f"no dataset at {os.fspath(path)}"
                                    + ("" if os.fspath(path) == _npz_path(path) else f" (nor {_npz_path(path)})")
                                    + "; write one with mechanics.save_dataset or generate_dataset(system, path)")
        path = _npz_path(path)
    with np.load(path, allow_pickle=False) as f:
        data = {k: f[k] for k in f.files}
    for key in ("system", "integrator"):
        data[key] = str(data[key])
    data["state_names"] = tuple(str(s) for s in data["state_names"])
    data["seed"] = int(data["seed"])
    data["params"] = dict(zip((str(s) for s in data.pop("param_names")), map(float, data.pop("param_values"))))
    check_states(data["system"], data["states"], f"states in {path}")
    return data


def generate_dataset(system: str, path=None, n_trajectories: int = 2000, t_max: float | None = None,
                     n_steps: int = DEFAULT_N_STEPS, integrator: str = "rk45", seed: int = 0, **kw):
    """Simulate ``n_trajectories`` (the document's 2,000) and, if ``path`` is given, save them.

    Returns ``(t, states)``; extra keywords go to :func:`simulate`.
    """
    t, states = simulate(system, n_trajectories, t_max, n_steps, integrator=integrator, seed=seed, **kw)
    if path is not None:
        params = {k: v for k, v in kw.items() if k in DEFAULT_PARAMS[system]}
        save_dataset(path, system, t, states, integrator=integrator, seed=seed, **params)
    return t, states


# ---------------------------------------------------------------- a control without invariants
def damped_spring(n_trajectories: int, t, gamma: float = 0.3, k: float = 5.0, seed: int = 0):
    """Trajectories of a damped spring  ẍ = −k x − γ ẋ  (unit mass): a system with *no* conserved
    quantity, the control of a conservation-law search (lesson 12): E = ½v² + ½kx² decays as
    dE/dt = −γ v².

    Starts (x₀, v₀) ~ U(−2, 2)² from ``numpy.random.default_rng(seed)``; integrated by
    ``scipy.integrate.solve_ivp`` (RK45, rtol 1e-9, atol 1e-12) and sampled at the times ``t``.
    Returns states of shape (n_trajectories, len(t), 2), columns (x, v).

    >>> import numpy
    >>> from neurophys.physics.mechanics import damped_spring
    >>> t = numpy.linspace(0.0, 10.0, 201)
    >>> s = damped_spring(3, t, gamma=0.3, k=5.0)
    >>> s.shape
    (3, 201, 2)
    >>> E = 0.5 * s[..., 1] ** 2 + 0.5 * 5.0 * s[..., 0] ** 2
    >>> bool((E[:, -1] < 0.1 * E[:, 0]).all())        # e^{−γt}: about 5 % of the energy is left
    True
    """
    from scipy.integrate import solve_ivp   # slow to import; only the integrators need it
    t = np.asarray(t, dtype=float)
    gen = np.random.default_rng(seed)
    out = []
    for x0, v0 in gen.uniform(-2, 2, (int(n_trajectories), 2)):
        sol = solve_ivp(lambda _t, s: [s[1], -k * s[0] - gamma * s[1]], (t[0], t[-1]), [x0, v0], t_eval=t,
                        rtol=1e-9, atol=1e-12)
        out.append(sol.y.T)
    return np.array(out)
