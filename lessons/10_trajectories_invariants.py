# %% [markdown]
# # Lesson 10 — Trajectories: projectile, spring, orbit, and their invariants
#
# **Question.** Document 002 (NeurophysicsLab) wants a network to discover
# conservation laws from motion data. Before any learning: how well does the
# *data* itself conserve what physics says it conserves? A conservation law
# learnt from trajectories can be no better than the integrator that made them.
#
# **Physics.** Three systems, state layouts as in `neurophys.physics.mechanics`:
#
# | system | state | equation of motion | invariants |
# |---|---|---|---|
# | projectile | [x, y, vx, vy] | ẍ = 0, ÿ = −g | E = ½m(vx²+vy²) + mgy |
# | spring | [x, v] | mẍ = −kx | E = ½mv² + ½kx² |
# | orbit | [x, y, vx, vy] | r̈ = −GM r/\|r\|³ | E = ½m\|v\|² − GMm/r, L = m(x vy − y vx) |
#
# with m = 1, g = 9.81, k = 5, GM = 3.986.
#
# **Two integrators.** The document integrates with `scipy.integrate.solve_ivp`
# (RK45, adaptive, 5th order with a 4th-order error estimate). RK45 is accurate
# per step but not *symplectic*: its small errors push the energy in a
# systematic direction, so over long times the energy drifts. Velocity Verlet
# (leapfrog) is only 2nd order, but it is the exact flow of a slightly different
# ("shadow") Hamiltonian, so its energy error oscillates and stays bounded for
# ever. We measure both over long times.
#
# **Drift** of a quantity Q along one trajectory: max_t |Q(t) − Q(0)| / |Q(0)|;
# the metrics are medians over trajectories.

# %%
import time

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from neurophys import course  # noqa: E402
from neurophys.physics import mechanics as M  # noqa: E402
from neurophys.plots import mechanics as P  # noqa: E402

ctx = course.start("10")
n_dataset = ctx.pick(quick=20, default=500, full=2000)         # full: the document's 2,000 per system
n_long = ctx.pick(quick=4, default=40, full=200)                # trajectories in the long-time test
long_periods = ctx.pick(quick=10, default=100, full=400)        # spring periods / orbits in that test
rtol, atol = M.RK45_RTOL, M.RK45_ATOL                            # dataset tolerances (1e-9, 1e-12)
rtol_long, atol_long = 1e-6, 1e-9                                # long test: a common "accurate" setting
dt_long = {"projectile": 0.01, "spring": 0.01, "orbit": 0.02}   # Verlet steps: about RK45's cost at rtol 1e-6
metrics, settings = {}, {}

# %% [markdown]
# ## 1. The data sets: random trajectories per system, RK45
#
# The document makes 2,000 trajectories per system; `--full` does too. The default
# tier makes 500 per system (a quarter of the CPU time: each trajectory is one adaptive
# `solve_ivp` call at rtol 1e-9), enough for every median below to be stable to the
# digits we discuss. The whole full tier (these data sets and 200 long runs of 400
# periods in section 3) takes about 10 minutes of CPU, so unlike the learning lessons it
# is not split into resumable units: a stopped run is simply started again.
#
# Initial conditions are random (see `mechanics.initial_conditions`): launch
# speed, angle and height for the projectile; amplitude and phase for the spring;
# semi-major axis, eccentricity, orientation and starting point on the ellipse
# for the orbit. Each set is saved as `<system>_trajectories.npz` (no pickle)
# with its invariants, and can be read back with `mechanics.load_dataset`.

# %%
datasets = {}
for system in M.SYSTEMS:
    t0 = time.time()
    # the same trajectories as M.simulate(system, n_dataset, seed=ctx.seed), made 25 at a time for the progress bar
    y0_all = M.initial_conditions(system, n_dataset, seed=ctx.seed)
    bar = ctx.progress(total=n_dataset, desc=f"{system}: RK45 trajectories", unit="traj")
    parts = []
    for idx in np.array_split(np.arange(n_dataset), max(1, n_dataset // 25)):
        t, part = M.simulate(system, integrator="rk45", rtol=rtol, atol=atol, initial_states=y0_all[idx])
        parts.append(part)
        bar.update(len(idx))
    bar.close()
    states = np.concatenate(parts)
    M.save_dataset(ctx.path(f"{system}_trajectories.npz"), system, t, states, integrator="rk45", seed=ctx.seed)
    inv = M.invariants(system, states)
    datasets[system] = (t, states, inv)
    drift = M.relative_drift(inv["total"])
    metrics[f"dataset_energy_drift_{system}"] = float(np.median(drift))
    metrics[f"dataset_energy_drift_max_{system}"] = float(drift.max())
    ctx.log(f"{system}: {n_dataset} trajectories {states.shape} in {time.time() - t0:.1f} s; "
            f"energy drift median {np.median(drift):.2e}, max {drift.max():.2e}")
    if system == "orbit":
        metrics["dataset_L_drift_orbit"] = float(np.median(M.relative_drift(inv["angular_momentum"])))

fig, axes = plt.subplots(2, 3, figsize=(13, 7.5))
for k, system in enumerate(M.SYSTEMS):
    t, states, inv = datasets[system]
    P.plot_trajectories(axes[0, k], system, t, states, n_show=8, title=f"{system}: 8 of {n_dataset}")
    E0 = inv["total"][:, 0]
    axes[1, k].hist(E0, bins=40, color=f"C{k}")
    axes[1, k].set_xlabel("total energy E")
    axes[1, k].set_ylabel("trajectories")
    axes[1, k].set_title(f"{system}: spread of energies")
fig.suptitle("Randomised initial conditions: paths (top) and their energies (bottom)")
fig.tight_layout()
ctx.savefig(fig, "trajectories.png")

# %% [markdown]
# ## 2. The invariants along one trajectory
#
# Kinetic and potential energy trade places; their sum stays put. For the orbit
# the angular momentum stays put too (Kepler's second law: equal areas in equal times).

# %%
fig, axes = plt.subplots(1, 3, figsize=(13, 3.6))
for k, system in enumerate(M.SYSTEMS):
    t, states, inv = datasets[system]
    ax = axes[k]
    for key, style in (("kinetic", "--"), ("potential", ":"), ("total", "-")):
        ax.plot(t, inv[key][0], style, label=key)
    if system == "orbit":
        ax.plot(t, inv["angular_momentum"][0], "-", label="angular momentum L")
    ax.set_xlabel("t")
    ax.set_title(system)
    ax.legend(fontsize=7)
fig.tight_layout()
ctx.savefig(fig, "invariants.png")

# %% [markdown]
# ## 3. Long times: RK45 vs velocity Verlet
#
# Same initial conditions for both. RK45 at rtol = 1e-6, and Verlet at a fixed
# step chosen so that both cost about the same number of force evaluations
# (nfev, shown in the legend). For contrast, RK45 at scipy's defaults
# (rtol = 1e-3, atol = 1e-6: what `solve_ivp` does when nobody sets a tolerance)
# over the first 10 periods only: run longer, the orbits spiral into the star
# and RK45 stops with "Required step size is less than spacing between numbers".
# Even within 10 orbits a few eccentric orbits fail; they are counted
# (`rk45_default_tol_failed_*`) and enter the median as an infinite drift.

# %%
omega = np.sqrt(M.DEFAULT_PARAMS["spring"]["k"] / M.DEFAULT_PARAMS["spring"]["m"])
t_long = {"projectile": 10.0,
          "spring": long_periods * 2 * np.pi / omega,
          "orbit": long_periods * 2 * np.pi * np.sqrt(1.5 ** 3 / M.DEFAULT_PARAMS["orbit"]["GM"])}
n_out = ctx.pick(quick=100, default=400, full=1000)
fig, axes = plt.subplots(1, 3, figsize=(14, 4))
for k, system in enumerate(ctx.progress(M.SYSTEMS, desc="long runs (RK45, RK45 loose, Verlet)", unit="system")):
    y0 = M.initial_conditions(system, n_long, seed=ctx.seed + 1)
    t0 = time.time()
    t, s_rk, i_rk = M.simulate(system, t_max=t_long[system], n_steps=n_out, integrator="rk45",
                               rtol=rtol_long, atol=atol_long, initial_states=y0, return_info=True)
    t_loose = t_long[system] * (1.0 if system == "projectile" else min(1.0, 10 / long_periods))
    t3, s_rk3, i_rk3 = M.simulate(system, t_max=t_loose, n_steps=n_out, integrator="rk45",
                                  rtol=1e-3, atol=1e-6, initial_states=y0, return_info=True, on_failure="nan")
    _, s_v, i_v = M.simulate(system, t_max=t_long[system], n_steps=n_out, integrator="verlet",
                             dt=dt_long[system], initial_states=y0, return_info=True)
    ok3 = np.setdiff1d(np.arange(n_long), i_rk3["failed"])   # trajectories RK45 could finish
    s_rk3 = s_rk3[ok3]
    n_failed = len(i_rk3["failed"])
    curves = {}
    for label, tt, s, info in ((f"RK45 rtol={rtol_long:g}", t, s_rk, i_rk),
                               ("RK45 rtol=1e-3 (scipy default)" + (f", {n_failed} failed" if n_failed else ""),
                                t3, s_rk3, i_rk3),
                               (f"Verlet dt={dt_long[system]:g}", t, s_v, i_v)):
        E = M.invariants(system, s)["total"]
        curves[f"{label}, {info['nfev'] / n_long:.0f} nfev/traj"] = (tt, np.abs(E - E[:, :1]) / np.abs(E[:, :1]))
    E_rk, E_rk3, E_v = (M.invariants(system, s)["total"] for s in (s_rk, s_rk3, s_v))
    metrics[f"rk45_energy_drift_{system}"] = float(np.median(M.relative_drift(E_rk)))
    # a trajectory that RK45 could not finish counts as drift = inf in the median
    drift3 = np.concatenate([M.relative_drift(E_rk3), np.full(n_failed, np.inf)])
    metrics[f"rk45_default_tol_energy_drift_{system}"] = float(np.median(drift3))
    metrics[f"rk45_default_tol_failed_{system}"] = n_failed
    metrics[f"verlet_energy_drift_{system}"] = float(np.median(M.relative_drift(E_v)))
    metrics[f"rk45_nfev_per_traj_{system}"] = i_rk["nfev"] / n_long
    metrics[f"verlet_nfev_per_traj_{system}"] = i_v["nfev"] / n_long
    # secular growth: drift over the second half divided by drift over the first half
    half = n_out // 2
    for name, E in (("rk45", E_rk), ("verlet", E_v)):
        err = np.abs(E - E[:, :1])
        growth = err[:, half:].max(1) / np.maximum(err[:, :half].max(1), 1e-300)
        metrics[f"{name}_drift_growth_{system}"] = float(np.median(growth))
    if system == "orbit":
        for name, s in (("rk45", s_rk), ("verlet", s_v)):
            L = M.invariants(system, s)["angular_momentum"]
            metrics[f"{name}_L_drift_orbit"] = float(np.median(M.relative_drift(L)))
    P.plot_relative_error(axes[k], curves, title=f"{system}, t_max = {t_long[system]:.0f}")
    ctx.log(f"{system}: long run ({time.time() - t0:.1f} s) drift RK45 {metrics[f'rk45_energy_drift_{system}']:.2e}, "
            f"RK45 default tol {metrics[f'rk45_default_tol_energy_drift_{system}']:.2e}, "
            f"Verlet {metrics[f'verlet_energy_drift_{system}']:.2e}")
fig.suptitle(f"Relative energy error over long times (median and 10–90 % band of {n_long} trajectories)")
fig.tight_layout()
ctx.savefig(fig, "energy_drift.png")

# %% [markdown]
# ## What it means
#
# - The projectile is integrated exactly by both methods (its acceleration is
#   constant, so RK45 and Verlet are exact up to round-off): what grows is
#   round-off only (1e-16 → 1e-13 as the body falls and E = K + U becomes a
#   difference of large numbers).
# - Read the drift curves and the drift numbers together: the curves show the
#   median error at each time, the metric is the *largest* error along each
#   trajectory (Verlet's error oscillates, largest near the orbit's periapsis).
# - For the spring and the orbit, at about the same cost, the two integrators
#   end the long run with energy errors of the same order — but RK45's error
#   *grows* with time (`rk45_drift_growth_*` ≈ 2: the second half of the run is
#   twice as bad as the first, a secular drift), while Verlet's stays inside a
#   band that does not grow (`verlet_drift_growth_*` ≈ 1). Run ten times longer
#   and RK45 is ten times worse; Verlet is not.
# - At scipy's default tolerances RK45 loses a large part of the orbit's energy in
#   ten orbits (`rk45_default_tol_energy_drift_orbit`, the median largest relative
#   error: 28 % in the default tier, 48 % in the full tier, where 23 of 200 orbits
#   failed outright): a simulator used without stated tolerances makes data whose
#   "conserved" energy is not conserved.
# - Verlet conserves the orbit's angular momentum to round-off: the force is
#   central and each kick is along r, so x vy − y vx changes only by rounding.
# - With the tight dataset tolerances (rtol = 1e-9) the drift over the short
#   training windows is tiny, so the learning lessons 11 and 12 see data whose
#   invariants are conserved to far better than any network will resolve.
#
# ## Exercises
# 1. Set Verlet's dt for the spring to 0.9 (ω·dt ≈ 2.0) and then to 0.95: what happens, and why
#    is ω·dt = 2 the limit? (Hint: the amplification matrix of one step.)
# 2. Replace velocity Verlet by the explicit Euler step; plot its energy error. Which way does it drift?
# 3. Integrate the orbit with e = 0.9: where along the orbit does RK45 take its smallest steps?
# 4. Give the projectile a drag force −γ v. What is conserved now? Check with `invariants`.
#
# **Coding exercises, checked automatically.** `python -m neurophys exercises 10` writes
# `neurophys-exercises/ex10.py`; fill in its functions, then run `python -m neurophys check 10`
# (one verdict per exercise: PASS, FAIL with a hint, or NOT STARTED):
# - `verlet_step`: a velocity-Verlet step for any force law; it must be time-reversible, second
#   order and keep an orbit's energy.
# - `orbit_invariants`: the Kepler orbit's energy and angular momentum, constant along a
#   circular orbit.

# %%
settings.update({
    "n_dataset": n_dataset, "dataset_rtol": rtol, "dataset_atol": atol, "n_steps": M.DEFAULT_N_STEPS,
    "t_max": M.DEFAULT_T_MAX, "params": M.DEFAULT_PARAMS, "n_long": n_long, "long_periods": long_periods,
    "t_long": t_long, "rk45_long_rtol": rtol_long, "rk45_long_atol": atol_long, "verlet_dt_long": dt_long,
    "rk45_default_tol_horizon": "first 10 periods of the long run (min(1, 10/long_periods) * t_long); "
                                "the whole run for the projectile",
    "n_out_long": n_out, "drift_definition": "median over trajectories of max_t |E(t) - E(0)| / |E(0)|",
})
ctx.finish(metrics=metrics, settings=settings)
