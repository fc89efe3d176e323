# %% [markdown]
# # Lesson 11 — A GRU encoder with an energy-conservation loss
#
# **Question.** Document 002 trains a GRU encoder on trajectories with an extra
# loss that asks a learned "energy" Ê_t to stay constant along each trajectory,
# and reports that this physics-aware model drifts far less in energy than a
# standard one: **12.4 % vs 0.3 %** average energy drift. Does that reproduce,
# and what does the energy term actually teach the network?
#
# **Model** (`neurophys.models.gru_encoder.GRUEnergyEncoder`, every gradient by hand):
# a GRU (hidden 128) reads the trajectory x_1 … x_T; z_t = h_t W_z + b_z is a
# 32-dimensional latent at every step; a decoder MLP rebuilds the whole
# trajectory from z_T; an energy head MLP maps every z_t to Ê_t.
#
#     L = mean (x̂ − x)²  +  λ_E · mean_b Var_t(Ê)  +  λ_R · ‖θ‖²
#
# (The document writes the energy term as mean (Ê_{t+1} − Ê_t)²; `--energy-loss diff`
# uses that form.) λ_E = 0 is the "standard" model, λ_E = 0.1 the "physics-aware" one.
#
# **Caveat, before any experiment.** The head never sees an energy label. The
# cheapest way to make Var_t(Ê) small is to make Ê the same number for every
# state — a collapsed head conserves "energy" perfectly and knows nothing. So we
# measure several things and say which is which:
#
# - **drift** (the table's number): the *physical* energy of the reconstructed
#   trajectory, E(x̂_t) from `mechanics.invariants`, against the true conserved
#   energy E of that trajectory: drift = mean over test trajectories and steps of
#   |E(x̂_t) − E| / |E| (in %), and Max |ΔE| = max over them of |E(x̂_t) − E|.
#   This is a property of the motion the model outputs, the only "energy drift"
#   that can be compared between a model with and one without the energy term.
# - **head drift**: the head's own prediction, median over test trajectories of
#   mean_t |Ê_t − Ē| / |Ē| (Ē = the trajectory's mean Ê). This is what an
#   "energy monitor" on the network's output shows; it is the definition under
#   which a standard-vs-physics gap is to be expected, since it is the quantity
#   the energy term minimises.
# - **conservation ratio** ρ = mean_b Var_t(Ê) / Var_b(mean_t Ê) of the head: ρ ≪ 1
#   means Ê is constant along trajectories *and* differs between them.
# - **latent_energy_r2**: R² on test trajectories of a linear read-out z_T → E
#   (least squares on the training trajectories), next to the same read-out from
#   an untrained network of the same shape (random features are a strong baseline).
#
# Options (the document's, as command-line flags; unknown flags are left to the runner):
# `--system {projectile,spring,orbit,all}`, `--epochs`, `--batch-size`, `--lambda-e`
# (alias `--energy-weight`), `--lambda-r`, `--latent-dim`, `--energy-loss {var,diff}`,
# `--lr`, `--seeds N` (initialisations averaged in the main table), `--tag` (writes
# into a sub-folder `run_<tag>/` instead of the lesson's folder), e.g.
# `python lessons/11_gru_energy_encoder.py --system spring --lambda-e 0.1 --tag mine`.

# %%
import argparse
import functools

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from neurophys import backend as B  # noqa: E402
from neurophys import course, stats  # noqa: E402
from neurophys.learning import gru_protocol as GP  # noqa: E402
from neurophys.models import gru_encoder as G  # noqa: E402
from neurophys.physics import mechanics as M  # noqa: E402
from neurophys.plots import mechanics as P  # noqa: E402

parser = argparse.ArgumentParser(description="lesson 11 options (document 002's train.py flags)",
                                 allow_abbrev=False)
parser.add_argument("--system", choices=M.SYSTEMS + ("all",), default="all")
parser.add_argument("--epochs", type=int, default=None)
parser.add_argument("--batch-size", "--batch_size", dest="batch_size", type=int, default=None)
parser.add_argument("--lambda-e", "--energy-weight", dest="lambda_e", type=float, default=0.1,
                    help="λ_E of the physics-aware model (the standard model has 0)")
parser.add_argument("--lambda-r", dest="lambda_r", type=float, default=1e-5)
parser.add_argument("--latent-dim", dest="latent_dim", type=int, default=32)
parser.add_argument("--hidden", type=int, default=None)
parser.add_argument("--energy-loss", dest="energy_loss", choices=G.ENERGY_LOSSES, default="var")
parser.add_argument("--lr", type=float, default=None, help="Adam step (default 1e-3; quick tier 3e-3)")
parser.add_argument("--ablation-system", dest="ablation_system", choices=M.SYSTEMS, default="spring")
parser.add_argument("--seeds", type=int, default=None,
                    help="initialisation seeds for the main table (default 1; full tier 3)")
parser.add_argument("--tag", default="")
ctx = course.start("11", options=parser)  # the lesson's own options are parsed with the run options
opts = ctx.options
if opts.tag:
    ctx.out = ctx.out / f"run_{opts.tag}"
    ctx.out.mkdir(parents=True, exist_ok=True)

systems = M.SYSTEMS if opts.system == "all" else (opts.system,)
n_traj = ctx.pick(quick=96, default=600, full=2000)       # trajectories per system (document: 2,000)
seq_len = ctx.pick(quick=12, default=40, full=100)        # samples per trajectory (T)
epochs = opts.epochs or ctx.pick(quick=15, default=30, full=100)   # document's default: 100
batch_size = opts.batch_size or 64                         # document: 64
lr = opts.lr or ctx.pick(quick=3e-3, default=1e-3, full=1e-3)  # document: 1e-3
n_hidden = opts.hidden or ctx.pick(quick=32, default=128, full=128)
latent_dims = ctx.pick(quick=(4, 8), default=(4, 8, 16, 32), full=(4, 8, 16, 32))
seeds = [ctx.seed + i for i in range(opts.seeds or ctx.pick(quick=1, default=1, full=3))]  # main table
test_fraction = 0.2
n_show = 6                                                 # trajectories in the dashboard files
lambda_e = opts.lambda_e
metrics, settings, tables = {}, {}, {}

# %% [markdown]
# ## 1. Data
#
# `mechanics.simulate` with RK45 (rtol 1e-9) and the random initial conditions of
# lesson 10, sampled at T points over the default window of each system
# (projectile 2 s, spring 10 s ≈ 3.6 periods, orbit 10 s ≈ 1–3 orbits). Each
# state variable is standardised with the training set's mean and standard
# deviation; reconstruction errors are in these standardised units.

# %%
def make_data(system):
    """The lesson's data for one system (`neurophys.learning.gru_protocol.make_data`)."""
    return GP.make_data(system, n_traj, seq_len, ctx.seed, test_fraction)


# %% [markdown]
# **Units.** Every trained model is one unit of a sweep (`ctx.sweep`, see `neurophys.sweep`):
# a system, a model (standard or physics-aware), a latent dimension and an initialisation.
# `neurophys.learning.gru_protocol.gru_energy_unit` makes the unit's data, trains the
# encoder (`fit`), measures it (`evaluate`: the drift, the head's ratio, the read-outs —
# read it, every number below is defined there) and keeps a few test trajectories for the
# figures. Each finished unit is saved at once (folder `units/`), so a stopped `--full` run
# continues with `--resume`; `--jobs 2` trains two models at a time, `--scheduler
# tcp://host:8786` sends them to a Dask cluster. Initialisation i uses the seeds
# `--seed` + 100 i (weights and minibatch order); the data always come from `--seed`.

# %% [markdown]
# ## 2. Standard (λ_E = 0) vs physics-aware (λ_E = 0.1)
#
# Same data, same initial weights (same seed), same schedule; only λ_E differs.

# %%
def over_seeds(values):
    """The spread over seeds (sample std, ddof=1) of the values that are defined, or None if none
    is. A value is undefined (None) where the head's ρ = 0/0: the head has collapsed to one number."""
    defined = [v for v in values if v is not None]
    return stats.spread(defined) if defined else None


def put(key, values):
    """A metric: the mean over seeds, with a matching _std key when there are several; undefined
    values are left out and counted under key + '_undefined' (none defined: the metric is None)."""
    sp = over_seeds(values)
    n = 0 if sp is None else sp["n"]
    if n < len(values):
        metrics[key + "_undefined"] = len(values) - n
    metrics[key] = None if sp is None else sp["mean"]
    if n > 1:
        metrics[key + "_std"] = sp["std"]


def pm(values, fmt):
    """'mean' or 'mean ± std' for the tables ('undefined' where no seed defines it)."""
    sp = over_seeds(values)
    if sp is None:
        return "undefined"
    return fmt.format(sp["mean"]) + (" ± " + fmt.format(sp["std"]) if sp["n"] > 1 else "")


def show(value, fmt):
    return "undefined" if value is None else fmt.format(value)


unit = functools.partial(GP.gru_energy_unit, data_seed=ctx.seed, n_traj=n_traj, seq_len=seq_len, epochs=epochs,
                         batch_size=batch_size, lr=lr, n_hidden=n_hidden, lambda_e=lambda_e, lambda_r=opts.lambda_r,
                         energy_loss=opts.energy_loss, test_fraction=test_fraction, n_show=n_show)
main_units = [{"system": system, "model": name, "latent_dim": opts.latent_dim, "init": i}
              for i in range(len(seeds)) for system in systems for name in GP.MODELS]
# section 4's ablation: the physics-aware model at each latent dimension, first initialisation
abl_system = opts.ablation_system
abl_units = [{"system": abl_system, "model": "physics", "latent_dim": dim, "init": 0} for dim in latent_dims]
# order: the first initialisation of every system, the ablation, then the other initialisations
# (a stopped run already holds every table, from one initialisation)
first = [u for u in main_units if u["init"] == 0]
units = first + [u for u in abl_units if u not in first] + [u for u in main_units if u["init"] > 0]
measured = {tuple(u.values()): res for u, res in zip(units, ctx.sweep(unit, units))}
for (system, name, dim, i), res in measured.items():
    for key in ("recon", "E_recon", "E_head", "E_head_calibrated", "latents", "pca", "pca_explained"):
        res[key] = np.asarray(res[key], dtype=float)        # lists in the unit's file, arrays here
    settings[f"n_params_{system}_latent{dim}"] = res["n_params"]
    lam = 0.0 if name == "standard" else lambda_e
    ctx.log(f"{system} λ_E={lam:g} latent={dim} init {i}: {res['seconds']:.0f} s, recon {res['recon_mse']:.4f}, "
            f"drift {res['drift']:.2f} %, head ρ {show(res['head_ratio'], '{:.3g}')} (std Ê {res['head_std']:.2g}), "
            f"R²(z→E) {res['energy_r2']:.4f}")

runs, data_by_system = {}, {}
for system in systems:
    data = data_by_system[system] = make_data(system)
    per = {name: [measured[system, name, opts.latent_dim, i] for i in range(len(seeds))] for name in GP.MODELS}
    runs[system] = {"standard": per["standard"][0], "physics": per["physics"][0], "all": per}
    # untrained network of the same shape: how good are random GRU features already?
    untrained = G.GRUEnergyEncoder(M.state_dim(system), seq_len, n_hidden=n_hidden, latent_dim=opts.latent_dim,
                                   rng=ctx.rng(0))
    Z0_tr = untrained.predict(data["Xtr"])[2][:, -1]
    Z0_te = untrained.predict(data["Xte"])[2][:, -1]
    r2_0, _, _ = G.linear_readout(Z0_tr, data["E_train"][:, 0], Z0_te, data["E_test"][:, 0])
    for name in ("standard", "physics"):
        rs = per[name]
        tag = "" if name == "physics" else "_standard"       # the names are the physics model's
        put(f"drift_{name}_{system}", [r["drift"] / 100 for r in rs])
        put(f"drift_median_{name}_{system}", [r["drift_median"] / 100 for r in rs])
        put(f"max_dE_{name}_{system}", [r["max_dE"] for r in rs])
        put(f"recon_mse{tag}_{system}", [r["recon_mse"] for r in rs])
        put(f"latent_energy_r2{tag}_{system}", [r["energy_r2"] for r in rs])
        put(f"head_conservation_ratio_{name}_{system}", [r["head_ratio"] for r in rs])
        put(f"head_energy_std_{name}_{system}", [r["head_std"] for r in rs])
        put(f"head_energy_r2_{name}_{system}", [r["head_energy_r2"] for r in rs])
        put(f"head_drift_{name}_{system}", [r["head_drift"] / 100 for r in rs])
    metrics[f"latent_energy_r2_untrained_{system}"] = r2_0
    metrics[f"train_seconds_{system}"] = float(sum(r["seconds"] for rs in per.values() for r in rs))

rows = ["| system | model | avg energy drift (%) | median drift (%) | max abs(ΔE) | recon MSE | head drift (%) | "
        "head ρ | R²(Ê level → E) | R²(z→E) |",
        "|---|---|---|---|---|---|---|---|---|---|",
        "| (document, claimed) | standard | 12.4 | | 0.347 | | | | | |",
        "| (document, claimed) | physics-aware λ_E=0.1 | 0.3 | | 0.008 | | | | | |"]
for system in systems:
    for name, label in (("standard", "standard λ_E=0"), ("physics", f"physics-aware λ_E={lambda_e:g}")):
        rs = runs[system]["all"][name]
        col = lambda key, fmt: pm([r[key] for r in rs], fmt)  # noqa: E731
        rows.append(f"| {system} | {label} | {col('drift', '{:.2f}')} | {col('drift_median', '{:.2f}')} | "
                    f"{col('max_dE', '{:.3g}')} | {col('recon_mse', '{:.4f}')} | {col('head_drift', '{:.2f}')} | "
                    f"{col('head_ratio', '{:.3g}')} | "
                    f"{col('head_energy_r2', '{:.3f}')} | {col('energy_r2', '{:.4f}')} |")
    rows.append(f"| {system} | untrained network (read-out only) | | | | | | | | "
                f"{metrics[f'latent_energy_r2_untrained_{system}']:.4f} |")
tables["drift"] = "\n".join(rows)
print(tables["drift"])

# %%
fig, axes = plt.subplots(2, len(systems), figsize=(4.5 * len(systems), 7), squeeze=False)
for k, system in enumerate(systems):
    hist = {name: runs[system][name]["history"] for name in ("standard", "physics")}
    P.plot_loss_curves(axes[0, k], hist, "recon", title=f"{system}: reconstruction loss")
    P.plot_loss_curves(axes[1, k], hist, "energy", title=f"{system}: Var_t(Ê) (the energy term)")
fig.tight_layout()
ctx.savefig(fig, "training.png")

fig, axes = plt.subplots(2, len(systems), figsize=(4.6 * len(systems), 8), squeeze=False)
for k, system in enumerate(systems):
    d, r = data_by_system[system], runs[system]["physics"]
    P.plot_trajectories(axes[0, k], system, d["t"], d["test"], n_show=4, recon=r["recon"],
                        title=f"{system}: true (solid) vs reconstructed (dashed)")
    P.plot_energy_monitor(axes[1, k], d["t"], d["E_test"][:4], E_recon=r["E_recon"][:4],
                          E_pred=r["E_head_calibrated"][:4], title=f"{system}, physics-aware")
fig.tight_layout()
ctx.savefig(fig, "reconstruction_energy.png")

# %% [markdown]
# ## 3. The latent space: PCA by SVD, coloured by the true energy

# %%
fig, axes = plt.subplots(2, len(systems), figsize=(4.8 * len(systems), 8), squeeze=False)
pcas = {}
for k, system in enumerate(systems):
    d = data_by_system[system]
    E_all = np.concatenate([d["E_train"][:, 0], d["E_test"][:, 0]])
    for row, name in enumerate(("standard", "physics")):
        r = runs[system][name]
        # z_T of all trajectories (train and test) by SVD to 2 dimensions (the unit did it:
        # gru_protocol.pca_energy), and how much of the energy the two leading directions carry:
        # a linear fit, and a quadratic form of them (a radius in the plane, as for the spring's
        # phase portrait), both in-sample
        Pz, ratio = r["pca"], r["pca_explained"]
        r2_pc, r2_q = r["pca2_energy_r2"], r["pca2_quadratic_energy_r2"]
        metrics[f"pca2_energy_r2_{name}_{system}"] = r2_pc
        metrics[f"pca2_quadratic_energy_r2_{name}_{system}"] = r2_q
        P.plot_latent_pca(axes[row, k], Pz, E_all, ratio,
                          title=f"{system}, {name}\nR² of E: linear {r2_pc:.2f}, quadratic {r2_q:.2f} in (PC1, PC2)")
        if name == "physics":
            pcas[system] = (Pz, E_all, ratio)
fig.tight_layout()
ctx.savefig(fig, "latent_pca.png")

# %% [markdown]
# ## 4. Latent-dimension ablation (the document's second table)
#
# The physics-aware model on one system (spring by default, as in the document's
# ablation command) with latent dimension 4, 8, 16, 32. The document gives the
# command but reports no numbers for it; this table is the measurement. Two
# things to look for: the reconstruction does not need 32 dimensions (a spring
# trajectory is fixed by two numbers; with a fixed number of epochs the smaller
# models even fit slightly better), while the linear read-out of the energy
# needs enough dimensions to hold a quadratic form of those two numbers.

# %%
abl_rows = ["| latent dim | recon MSE | avg energy drift (%) | head ρ | R²(z→E) | seconds |", "|---|---|---|---|---|---|"]
abl = {}
for dim in latent_dims:
    res = measured[abl_system, "physics", dim, 0]         # the main table's unit where they coincide
    abl[dim] = res
    metrics[f"ablation_latent{dim}_recon_mse"] = res["recon_mse"]
    metrics[f"ablation_latent{dim}_drift"] = res["drift"] / 100
    metrics[f"ablation_latent{dim}_energy_r2"] = res["energy_r2"]
    abl_rows.append(f"| {dim} | {res['recon_mse']:.4f} | {res['drift']:.2f} | {res['head_ratio']:.3g} | "
                    f"{res['energy_r2']:.4f} | {res['seconds']:.0f} |")
tables["ablation"] = f"System: {abl_system}, λ_E = {lambda_e:g}\n\n" + "\n".join(abl_rows)
print(tables["ablation"])

fig, axes = plt.subplots(1, 3, figsize=(12, 3.4))
dims = list(abl)
for ax, key, label in zip(axes, ("recon_mse", "drift", "energy_r2"),
                          ("recon MSE (standardised)", "avg energy drift of x̂ (%)", "R² of linear z_T → E")):
    ax.plot(dims, [abl[d][key] for d in dims], "o-")
    ax.set_xscale("log", base=2)
    ax.set_xticks(dims, [str(d) for d in dims])
    ax.set_xlabel("latent dimension")
    ax.set_title(label)
fig.suptitle(f"Latent-dimension ablation, {abl_system}")
fig.tight_layout()
ctx.savefig(fig, "latent_ablation.png")

# %% [markdown]
# ## 5. Files for the lesson-12 dashboard
#
# `dashboard_<system>.npz` (allow_pickle=False), for the physics-aware model:
#
# | key | shape | meaning |
# |---|---|---|
# | `system`, `state_names` | str, (D,) str | which system, the state layout |
# | `t` | (T,) | sample times |
# | `states_true`, `states_recon` | (n_show, T, D) | test trajectories and the model's reconstruction (physical units) |
# | `states_recon_standard` | (n_show, T, D) | the λ_E = 0 model's reconstruction |
# | `energy_true` | (n_show, T) | E(x_t), the true (conserved) energy |
# | `energy_recon`, `energy_recon_standard` | (n_show, T) | E(x̂_t), energy of the reconstructions |
# | `energy_pred` | (n_show, T) | the head's Ê_t (arbitrary units, never shown a label) |
# | `energy_pred_calibrated` | (n_show, T) | a·Ê_t + b, affine fit onto E over the training set |
# | `angular_momentum_true` | (n_show, T) | orbit only: L along the true trajectories |
# | `latents` | (n_show, L) | z_T of the shown trajectories |
# | `pca_latents`, `pca_energy` | (n, 2), (n,) | PCA (SVD) of z_T for all trajectories, their true E |
# | `pca_explained` | (2,) | explained-variance ratios of PC1, PC2 |
# | `lambda_e`, `latent_dim` | () | the model's settings |

# %%
for system in systems:
    d, r, rs = data_by_system[system], runs[system]["physics"], runs[system]["standard"]
    Pz, E_all, ratio = pcas[system]
    arrays = {
        "system": np.array(system), "state_names": np.array(M.STATE_NAMES[system]), "t": d["t"],
        "states_true": d["test"][:n_show], "states_recon": r["recon"][:n_show],
        "states_recon_standard": rs["recon"][:n_show],
        "energy_true": d["E_test"][:n_show], "energy_recon": r["E_recon"][:n_show],
        "energy_recon_standard": rs["E_recon"][:n_show],
        "energy_pred": r["E_head"][:n_show], "energy_pred_calibrated": r["E_head_calibrated"][:n_show],
        "latents": r["latents"], "pca_latents": Pz, "pca_energy": E_all, "pca_explained": ratio,
        "lambda_e": np.array(lambda_e), "latent_dim": np.array(opts.latent_dim),
    }
    if system == "orbit":
        arrays["angular_momentum_true"] = M.invariants(system, d["test"][:n_show])["angular_momentum"]
    np.savez_compressed(ctx.path(f"dashboard_{system}.npz"), **{k: np.asarray(v, dtype=np.float32)
                        if np.asarray(v).dtype.kind == "f" else np.asarray(v) for k, v in arrays.items()})
    ctx.log(f"wrote {ctx.path(f'dashboard_{system}.npz')}")

with open(ctx.path("tables.md"), "w") as fh:
    fh.write(f"# Lesson 11 tables (tier {ctx.tier}, seed {ctx.seed}; measured by the lesson)\n\n"
             "Drift = mean over test trajectories and time steps of |E(x̂_t) − E| / |E|, where E is the true "
             "conserved energy; max abs(ΔE) = the largest |E(x̂_t) − E|.\n\n"
             f"## Energy drift: standard vs physics-aware\n\n{tables['drift']}\n\n"
             f"## Latent-dimension ablation\n\n{tables['ablation']}\n")

# %% [markdown]
# ## What it means
#
# Read the numbers in `tables.md` (written by this run) with the caveat above in mind:
#
# - **The energy term does what it says to the head.** Var_t(Ê) falls by orders of
#   magnitude when λ_E = 0.1 (`training.png`, bottom), and the head drift falls
#   with it: measured on the network's own energy output, the document's kind of
#   gap (standard ≫ physics-aware) *does* appear. But that is the loss being
#   minimised, not physics learnt: Ê itself shrinks (`head_energy_std_*`). Where ρ does become small, the head has found
#   *some* per-trajectory constant: the GRU's z_t depends on the whole history,
#   so the network can simply carry a number from the first step to the last.
#   Whether that constant is the energy is measured by R²(Ê level → E), the
#   fit of each trajectory's mean Ê to its true E. It can rise well above the
#   standard model's (the spring: a smooth head that must not vary along an
#   ellipse in phase space drifts towards a function of the ellipse's size),
#   but it does not reach 1 and for the orbit it stays at zero: no term of the
#   loss asks for energy, and "constant along the trajectory" is satisfied by
#   any function of the initial condition that the GRU carries in memory.
# - **An untrained head dies.** In the full tier (100 epochs) the standard model's head, which
#   only the weight penalty λ_r reaches (λ_E = 0), ends with every weight at exactly zero in all
#   nine runs: Ê = 0 everywhere, so its head drift is 0 and its ρ = 0/0 is undefined (`None` in
#   `results.json`, with `_undefined` counts). The "perfectly conserved" head of the caveat,
#   literally; compare the two models by R²(Ê level → E) and by the drift of the motion, not by
#   the head's drift.
# - **The drift of the motion does not move.** The physical energy of the
#   reconstructed trajectory, E(x̂_t), is set by how well the decoder
#   reconstructs, and both models reconstruct equally well (the energy term's
#   gradient into the shared encoder is tiny next to the reconstruction's). The
#   document's 12.4 % → 0.3 % does not reproduce under any definition we could
#   measure; the document gives neither its definition nor its code.
# - **A latent that "knows" the energy is cheap.** A linear read-out of z_T
#   predicts the energy almost perfectly for the projectile and the spring — and
#   so does the z_T of an *untrained* network of the same shape
#   (`latent_energy_r2_untrained_*`): a spring trajectory is fixed by two
#   numbers, and 32 random smooth features of two numbers span a quadratic form
#   almost exactly. High R² here is not evidence that the network learnt energy.
# - **The picture is still instructive.** For the spring the first two principal
#   components of z_T are (close to) the final point in phase space, and the
#   energy is its squared radius (`pca2_quadratic_energy_r2_*` near 1, the linear
#   one near 0): the conserved quantity is visible in the latent, as a radius.
# - The orbit is the hard case at this size: its reconstructions pass close to
#   the star, where −GM/r̂ is huge, so its energy errors are heavy-tailed
#   (compare the average and median drift).
# - Lesson 12 takes the honest route to the document's title: find conserved
#   functions of the state from the trajectories themselves, with no labels.
#
# ## Exercises
# 1. Run with `--energy-loss diff` (the document's formula). Does anything change? Why would it not?
# 2. Add a term that forbids collapse, e.g. −λ_V · Var_b(mean_t Ê) (reward differences *between*
#    trajectories), write its gradient, check it with `check_gradient`, and look at ρ again.
# 3. Replace the head's input z_t by the current state x_t only (no memory). What must Ê become
#    for ρ → 0? Compare with lesson 12's label-free invariants.
# 4. Increase `--epochs` for the orbit until the reconstruction MSE falls below 0.01: how does the drift move?
#
# **Coding exercises, checked automatically.** `python -m neurophys exercises 11` writes
# `neurophys-exercises/ex11.py`; fill in its functions, then run `python -m neurophys check 11`
# (one verdict per exercise: PASS, FAIL with a hint, or NOT STARTED):
# - `gru_step_backward`: the backward of one GRU step through its reset and update gates,
#   checked by finite differences.
# - `conservation_penalty`: the energy-conservation loss (variance of Ê along each trajectory)
#   and its gradient.

# %%
settings.update({
    "systems": list(systems), "n_trajectories": n_traj, "test_fraction": test_fraction, "seq_len": seq_len,
    "integrator": "rk45", "rtol": M.RK45_RTOL, "atol": M.RK45_ATOL, "epochs": epochs, "batch_size": batch_size,
    "lr": lr, "optimizer": "adam, gradient clip 5", "n_hidden": n_hidden, "latent_dim": opts.latent_dim,
    "decoder_hidden": 128, "energy_hidden": 64, "lambda_e_physics": lambda_e, "lambda_r": opts.lambda_r,
    "energy_loss": opts.energy_loss, "ablation_system": abl_system, "ablation_latent_dims": list(latent_dims),
    "tag": opts.tag, "drift_definition": "mean over test trajectories and steps of |E(x_hat_t) - E| / |E| "
    "(fraction; tables.md shows %); drift_median: median over test trajectories of the per-trajectory mean",
    "seeds": seeds, "data_seed": ctx.seed,
})
ctx.finish(metrics=metrics, settings=settings)
