# %% [markdown]
# # Lesson 02 — The Gross–Pitaevskii field: Euler vs split-step, norm, energy, ground states
#
# **Question.** Document 000 puts a small 2D field, evolved by a Gross–Pitaevskii
# equation (GPE), inside a neural network. Before we ask what the field does for
# learning, we ask what the *physics* does: which numerical scheme evolves the field
# faithfully, and what goes wrong with the document's forward-Euler steps?
#
# **Physics.** In units ħ = m = 1 the GPE for a condensate wave function ψ(x, y, t) is
#
#     i ∂ψ/∂t = [ −½∇² + V(x, y) + g|ψ|² ] ψ .
#
# The document writes the bracket as −½∇² − a + 2b|ψ|², i.e. V = −a, g = 2b
# (`gpe.document_params`). Two quantities are conserved by the exact dynamics:
#
#     N = Σ |ψ|² dx dy                                  (particle number, "norm")
#     E = Σ [ ½|∇ψ|² + V|ψ|² + ½ g|ψ|⁴ ] dx dy          (energy)
#
# **Two schemes.**
# *Forward Euler* (the document's): ψ' = ψ − i dt H(ψ)ψ. A Fourier mode of frequency ω
# is multiplied by 1 − iωdt, whose modulus √(1 + ω²dt²) is larger than one for every
# ω ≠ 0: Euler pumps norm into every mode, a little each step, and the fastest modes
# (ω_max ≈ 4/dx² on the 5-point grid) the most. Over a time T = n dt the growth is
# about e^{n ω² dt²/2} = e^{T ω² dt / 2}: it vanishes only as dt → 0 (first order).
# *Strang split-step Fourier*: apply e^{−i dt/2 (V + g|ψ|²)}, then e^{−i dt k²/2} in
# Fourier space, then the half potential step again. Each factor is a pure phase of
# modulus 1, so N is conserved to round-off for any dt; E is not exactly conserved, but
# its error is O(dt²) and does not grow (the scheme is symplectic).
#
# **Experiment.** (1) The ground state in a harmonic trap by imaginary time;
# (2) a vortex imprinted on it, evolved in real time with both schemes at the same dt;
# (3) the drifts against dt; (4) split-step in float32 vs float64 over 1000 steps.
#
# **No randomness.** Every number here follows from the grid, the trap and the imprinted
# field: nothing is drawn at random, so `--seed` changes nothing in this lesson (it is
# recorded all the same). The spread of a result over seeds is a question for the
# learning lessons; here the only "noise" is round-off, measured in part 4.

# %%
import numpy

from neurophys import backend as B
from neurophys import course
from neurophys.physics import gpe
from neurophys.plots import figure_to_image
from neurophys.plots import gpe as gplot

ctx = course.start("02")
n_grid = ctx.pick(quick=32, default=64, full=128)
dx = ctx.pick(quick=1.0, default=0.5, full=0.25)
n_steps = ctx.pick(quick=300, default=1000, full=1000)      # the bar is stated for 1000 steps
dt = 0.01                                                   # the document's dt
omega_trap, N_atoms = 0.25, 100.0
a, b = 0.15, 0.15                                           # the document's a, b
doc = gpe.document_params(a, b)                             # V = −a, g = 2b
g = doc["g"]
X, Y = gpe.grid(n_grid, dx=dx)
V = gpe.harmonic_trap(X, Y, omega_trap) + doc["V"]
extent = [float(X.min()), float(X.max()), float(Y.min()), float(Y.max())]
ctx.log(f"grid {n_grid}² with dx={dx}, dt={dt}, {n_steps} steps; V = ½ω²r² − a, g = 2b = {g}")

# %% [markdown]
# ## 1. The ground state by imaginary time
# Replacing t by −iτ turns the GPE into ∂ψ/∂τ = −Hψ: every eigenmode decays as e^{−E_n τ},
# and after renormalising N each step only the lowest one survives. A check first: for
# g = 0 the ground energy of the 2D harmonic oscillator is exactly ω (here ω − a, with the
# constant shift −a); then the interacting condensate (N = 100 atoms, g = 2b).

# %%
psi_start = gpe.gaussian(X, Y, width=3.0, x0=1.0)
psi_ho, E_ho = gpe.ground_state(psi_start, V, g=0.0, dt=0.05, n_steps=ctx.pick(quick=800, default=3000),
                                N=1.0, dx=dx, scheme="splitstep")
ho_error = abs(E_ho[-1] - (omega_trap - a)) / omega_trap
ctx.log(f"g=0 ground energy {E_ho[-1]:.6f} vs exact ω − a = {omega_trap - a:.6f} (relative error {ho_error:.2e})")
psi_gs, E_gs = gpe.ground_state(psi_start, V, g=g, dt=0.05, n_steps=ctx.pick(quick=800, default=3000),
                                N=N_atoms, dx=dx, scheme="splitstep")
ctx.log(f"condensate ground energy per atom {E_gs[-1] / N_atoms:.5f} after {len(E_gs)} imaginary-time steps")

# %% [markdown]
# ## 2. A vortex pair in the document's field, evolved with both schemes
# Now the document's own setting: no trap, V = −a everywhere, g = 2b, a periodic box.
# A uniform condensate of density n₀ has a healing length ξ = 1/√(g n₀), the size of a
# vortex core. Multiplying it by e^{iφ₁ − iφ₂} (φ₁, φ₂ polar angles around two points)
# winds the phase +1 around one point and −1 around the other: a vortex–antivortex pair,
# which travels together through the fluid (`gpe.imprint_vortex_pair` adds periodic images
# so the phase has no seam at the box edges). A few imaginary-time steps heal the cores.

# %%
n0 = 1.0
V_doc = doc["V"]
psi0 = (numpy.sqrt(n0) * B.ones(X.shape)).astype(gpe.complex_dtype())
d = ctx.pick(quick=4.0, default=4.0, full=4.0)
psi0 = gpe.imprint_vortex_pair(psi0, X, Y, d=d)
N_box = n0 * float(X.size) * dx * dx
for _ in range(20):                          # heal the cores (and the seam of the box)
    psi0 = gpe.normalise(gpe.splitstep_step(psi0, 0.05, V_doc, g, dx=dx, imaginary=True), N_box, dx)
N0 = float(gpe.norm(psi0, dx))
E0_fd = float(gpe.energy(psi0, V_doc, g, dx, laplacian="fd5"))
E0_sp = float(gpe.energy(psi0, V_doc, g, dx, laplacian="spectral"))
ctx.log(f"healing length ξ = {1 / numpy.sqrt(g * n0):.2f}; Euler's stable range here: "
        f"dt ≤ {gpe.euler_max_dt(psi0, V_doc, g, dx):.4f} (we use {dt})")

every = max(1, n_steps // 100)
rec = {"t": [], "euler_N": [], "euler_E": [], "split_N": [], "split_E": []}
frames, snaps = [], []


def recorder(scheme):
    def record(k, psi):
        if k % every:
            return
        lap = "fd5" if scheme == "euler" else "spectral"
        E_ref = E0_fd if scheme == "euler" else E0_sp
        key = "euler" if scheme == "euler" else "split"
        if scheme == "euler":
            rec["t"].append(k * dt)
        rec[f"{key}_N"].append(float(gpe.norm(psi, dx)) / N0 - 1)
        rec[f"{key}_E"].append(float(gpe.energy(psi, V_doc, g, dx, laplacian=lap)) / E_ref - 1)
        if scheme == "splitstep" and k % (n_steps // 4) == 0:
            snaps.append((k * dt, psi))
    return record


psi_euler, _ = gpe.evolve(psi0, n_steps, dt, V_doc, g, scheme="euler", dx=dx, record=recorder("euler"))
psi_split, _ = gpe.evolve(psi0, n_steps, dt, V_doc, g, scheme="splitstep", dx=dx, record=recorder("splitstep"))
euler_norm_drift = float(gpe.norm(psi_euler, dx)) / N0 - 1
splitstep_norm_drift = float(gpe.norm(psi_split, dx)) / N0 - 1
euler_energy_drift = float(gpe.energy(psi_euler, V_doc, g, dx, laplacian="fd5")) / E0_fd - 1
splitstep_energy_drift = float(gpe.energy(psi_split, V_doc, g, dx, laplacian="spectral")) / E0_sp - 1
ctx.log(f"after {n_steps} steps: norm drift Euler {euler_norm_drift:+.3e}, split-step {splitstep_norm_drift:+.3e}; "
        f"energy drift Euler {euler_energy_drift:+.3e}, split-step {splitstep_energy_drift:+.3e}")

fig = gplot.drift_figure(rec["t"], {"Euler: N": rec["euler_N"], "split-step: N": rec["split_N"],
                                    "Euler: E": rec["euler_E"], "split-step: E": rec["split_E"]},
                         "|relative drift|", f"vortex pair, V = −a, g = 2b, dt = {dt} ({B.float_dtype().__name__})")
ctx.savefig(fig, "drift.png")
fig = gplot.field_snapshots([psi_gs, psi0] + [p for _, p in snaps],
                            ["trap ground state", "pair t=0"] + [f"t={t:g}" for t, _ in snaps], extent,
                            suptitle="left: ground state in a trap (imaginary time); right: a vortex pair "
                                     "travelling in the document's field (split-step)")
ctx.savefig(fig, "vortex.png")

# %% [markdown]
# An animation of the travelling pair (split-step; a few dozen frames).

# %%
n_frames = ctx.pick(quick=6, default=40)
frame_dt = 0.05                                   # split-step is stable with larger steps
t_anim = ctx.pick(quick=5.0, default=60.0)
steps_per_frame = max(1, int(round(t_anim / frame_dt / n_frames)))
psi = psi0
import matplotlib.pyplot as plt  # noqa: E402
for f in range(n_frames):
    fig, axes = plt.subplots(1, 2, figsize=(5.2, 2.6))
    gplot.show_field(psi, axes[0], axes[1], f"t={f * steps_per_frame * frame_dt:.0f}", extent)
    fig.tight_layout()
    frames.append(figure_to_image(fig, dpi=60))
    psi, _ = gpe.evolve(psi, steps_per_frame, frame_dt, V_doc, g, scheme="splitstep", dx=dx)
ctx.savegif(frames, "vortex.gif", fps=8)

# %% [markdown]
# ## 3. Why Euler drifts: the drifts against dt at a fixed final time
# Euler's norm error should fall like dt (slope 1 on a log-log plot); split-step's
# norm error is round-off at every dt, and its energy error falls like dt² (slope 2).

# %%
T_final = ctx.pick(quick=1.0, default=4.0)
dts = [0.02, 0.01, 0.005, 0.0025, 0.00125]
conv = {"Euler: N": [], "Euler: E": [], "split-step: E": []}
with B.precision("float64"):            # so that round-off does not hide split-step's dt² error
    p64 = psi0.astype(numpy.complex128)
    for h in dts:
        n = int(round(T_final / h))
        pe, _ = gpe.evolve(p64, n, h, V_doc, g, scheme="euler", dx=dx)
        ps, _ = gpe.evolve(p64, n, h, V_doc, g, scheme="splitstep", dx=dx)
        conv["Euler: N"].append(float(gpe.norm(pe, dx) / gpe.norm(p64, dx)) - 1)
        conv["Euler: E"].append(float(gpe.energy(pe, V_doc, g, dx, laplacian="fd5")
                                      / gpe.energy(p64, V_doc, g, dx, laplacian="fd5")) - 1)
        conv["split-step: E"].append(float(gpe.energy(ps, V_doc, g, dx, laplacian="spectral")
                                           / gpe.energy(p64, V_doc, g, dx, laplacian="spectral")) - 1)
slopes = {k: float(numpy.polyfit(numpy.log(dts), numpy.log(numpy.abs(v) + 1e-18), 1)[0]) for k, v in conv.items()}
ctx.log("slopes of log|drift| vs log dt:", {k: round(v, 2) for k, v in slopes.items()})
ctx.savefig(gplot.convergence_figure(dts, conv, f"drift at t = {T_final} against dt (float64)"), "convergence.png")

# What Euler does with a step beyond its range: refused, with the bound in the message.
try:
    gpe.euler_step(psi0, 0.5, V_doc, g, dx=dx)
    refused = False
except gpe.StabilityError as err:
    refused = True
    ctx.log("dt = 0.5 refused:", str(err)[:160], "...")

# %% [markdown]
# ## 4. Split-step in float32 and float64 over 1000 steps
# In float32, how close to 1 can a phase factor be? cos θ ≈ 1 − θ²/2 is rounded to a
# spacing of 6·10⁻⁸ near 1, so a naive e^{−iθ} has |e^{−iθ}| ≠ 1 by a *bias* that adds up
# step after step. `gpe` keeps the factor as e^{−iθ} − 1 = −2 sin²(θ/2) − i sin θ (small,
# full relative precision), and does the FFT in double precision (a float32 FFT shrank N
# by a few 10⁻⁸ per step when this was written: exercise 5 below measures it). The
# field itself stays float32.

# %%
drift_by_precision = {}
for precision in ("float32", "float64"):
    with B.precision(precision):
        Xp, Yp = gpe.grid(n_grid, dx=dx)
        p0 = (numpy.sqrt(n0) * B.ones(Xp.shape)).astype(gpe.complex_dtype())
        p0 = gpe.imprint_vortex_pair(p0, Xp, Yp, d=d)
        p1, _ = gpe.evolve(p0, 1000, dt, V_doc, g, scheme="splitstep", dx=dx)
        drift_by_precision[precision] = float(gpe.norm(p1, dx) / gpe.norm(p0, dx)) - 1
        ctx.log(f"split-step {precision} ({p0.dtype}): relative norm drift over 1000 steps "
                f"{drift_by_precision[precision]:+.2e}")

# %% [markdown]
# ## What it means
# * Split-step keeps N to round-off (`splitstep_norm_drift_float32`,
#   `splitstep_norm_drift_float64`) and E to O(dt²) (`splitstep_energy_slope_vs_dt` ≈ 2);
#   Euler gains norm and energy every step, first order in dt (`euler_norm_slope_vs_dt` ≈ 1). With the document's
#   dt = 0.01 and only 5 steps the gain is small (lesson 03 measures it in the network),
#   but it is there, and over 1000 steps the "field" is no longer a GPE solution.
# * The imaginary-time ground state reproduces the oscillator energy ω for g = 0: the
#   solver and the energy functional agree.
# * In a network the field is an arbitrary vector reshaped to 32×32: there is no trap,
#   no normalisation, and (with 5 Euler steps of 0.01) very little evolution. Lesson 03
#   asks whether that block does anything at all.
#
# ## Exercises
# 1. Change `dt` to 0.1 and call `gpe.euler_step`: read the refusal. Then set `check=False`
#    and watch Euler blow up over 200 steps; split-step at dt = 0.1 stays bounded. Why?
# 2. Imprint a vortex of charge 2 (`charge=2`). It splits into two charge-1 vortices. Watch.
# 3. Make g negative (attractive). Find the N at which the ground state collapses.
# 4. Measure Euler's norm growth against ω_max dt² · n: is e^{n ω² dt² / 2} a good estimate?
# 5. Do one split-step run with the FFT in float32 (`scipy.fft.fft2` on a complex64 ψ) and one
#    in float64: how much does N drift per step in each?
#
# **Coding exercises, checked automatically.** `python -m neurophys exercises 02` writes
# `neurophys-exercises/ex02.py`; fill in its functions, then run `python -m neurophys check 02`
# (one verdict per exercise: PASS, FAIL with a hint, or NOT STARTED):
# - `euler_step`: the forward-Euler GPE step with the 5-point periodic Laplacian; a plane wave
#   must grow by exactly |1 − i dt ω|.
# - `kinetic_phase`: the split-step kinetic phase F⁻¹ e^{−i dt k²/2} F ψ; the norm must be kept
#   to round-off.

# %%
metrics = {
    "euler_norm_drift": euler_norm_drift,
    "splitstep_norm_drift": splitstep_norm_drift,
    "euler_energy_drift": euler_energy_drift,
    "splitstep_energy_drift": splitstep_energy_drift,
    "splitstep_norm_drift_float32": drift_by_precision["float32"],
    "splitstep_norm_drift_float64": drift_by_precision["float64"],
    "euler_norm_slope_vs_dt": slopes["Euler: N"],
    "splitstep_energy_slope_vs_dt": slopes["split-step: E"],
    "ground_state_energy_error_g0": ho_error,
    "ground_state_energy_per_atom": E_gs[-1] / N_atoms,
    "euler_unstable_dt_refused": refused,
}
ctx.finish(metrics=metrics, settings={
    "randomness": "none: the lesson is deterministic, --seed does not change it",
    "n_grid": n_grid, "dx": dx, "dt": dt, "n_steps": n_steps, "trap_omega": omega_trap, "N": N_atoms,
    "a": a, "b": b, "V_trap": "0.5*omega^2*r^2 - a (section 1)", "V_pair": "-a (sections 2-4)", "n0": n0,
    "vortex_separation": 2 * d, "g": g, "dts_convergence": dts, "T_convergence": T_final,
    "precision_test_steps": 1000, "dtype": B.float_dtype().__name__,
})
