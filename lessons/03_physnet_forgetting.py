# %% [markdown]
# # Lesson 03 — PhysNet: a GPE field as hidden layer, MNIST → permuted MNIST, forgetting
#
# **Question.** Document 000 ("PhysNet") claims that a network whose middle is a 2D field
# evolved by a Gross–Pitaevskii equation learns MNIST (98.86 %), then a pixel-permuted
# MNIST (95.93 %), and afterwards still knows 72.43 % of the first task: "forgetting
# 26.43 %", reduced, it suggests, by "physical attractor dynamics". Two things were never
# checked: (1) does the field *do* anything? (2) would the same network without the field
# forget less, or more?
#
# **What the original code does** (docs/originals.md): a CNN encoder → Linear 64 → Linear into
# a 2×32×32 field ψ₀ → **5 forward-Euler steps** of i∂ψ/∂t = [−½∇² − a + 2b|ψ|²]ψ with
# dt = 0.01, a = b = 0.15 → a CNN readout of (Re ψ, Im ψ) → 10 logits. Adam, lr 1e-3,
# batch 128, 5 epochs per task, one optimizer throughout. We rebuild it with hand-written
# convolutions (`neurophys.blocks.conv`) and the GPE block of lesson 02
# (`neurophys.physics.gpe.GPELayer`), backward included.
#
# Five steps of dt = 0.01 evolve the field for a total time of 0.05, while the fastest
# mode on the grid has a period of 2π/ω_max ≈ 1.5: the field can barely move. We measure
# how much it moves, then we run the control the document did not run: the **same
# network with the physics replaced by the identity**.
#
# **Tiers.** The default tier keeps the one comparison that
# decides the claim: the document's network (`faithful`) against the identity `control`,
# two seeds each, trained long enough that both learn task 1 to ≥ 95 % (one epoch of
# 51 200 images per task = 400 Adam steps of batch 128 at the document's lr 1e-3; a few
# dozen steps, as in earlier versions of this lesson, leave the CNN on its initial plateau
# and its "forgetting" means nothing). `--full` runs the document's protocol: all 60 000
# images, 5 + 5 epochs, three seeds, and the variants that let the physics act —
# split-step with the same time (`splitstep`), split-step for a total time of 2
# (`moresteps`), and the document's wording ("replaces the dense hidden layers"): a net
# whose only hidden layer is the field, x → Linear → ψ₀ → GPE → |ψ|² → Linear → classes
# (`fieldonly`, and its no-physics twin `fieldonly_control`). The field-only net under the
# document's unchecked Euler blows up in the full tier (section 2 says where), so the full
# tier also runs it with split-step (`fieldonly_splitstep`). The quick tier is a smoke run.
#
# **Units.** Every (variant, seed) pair is one *unit* of a sweep (`ctx.sweep`, running
# `neurophys.learning.physnet_protocol.two_task_unit`): task 1 then task 2 for one network
# from its seed alone, saved to `units/` as soon as it finishes. The default tier runs two
# units at a time (two processes: about 6-7 minutes of CPU, 3-4 minutes of wall time on
# two idle cores). The full tier is hours of CPU; interrupted, it continues with `--resume`;
# `--jobs N` runs N units at a time and `--scheduler tcp://host:8786` sends them to a Dask
# cluster — same numbers.
#
# **Euler's stability during training.** `gpe.euler_step` refuses a step with dt·ω_max > 1
# (ω_max = 4 + |a| + 4b·max|ψ|² on this grid; lesson 02). At initialisation the injected
# field is tiny (rms |ψ₀| ≈ 0.14), but training grows it: on the full data, within the first
# epoch, the largest |ψ|² passed ≈ 160 and the refusal fired (dt·ω_max > 1: at that pixel
# each Euler step turns the phase by ~0.5 rad and inflates the amplitude by ~10 %). The
# document's code never checks. To reproduce it faithfully the `faithful` variant runs with
# `check_stability=False` and records the largest dt·ω_max it met (`euler_max_dt_omega`).
#
# **Forgetting** = task-1 accuracy right after task 1 minus task-1 accuracy after task 2
# (a fraction; `neurophys.learning.continual.forgetting` of the 2×2 accuracy matrix).

# %%
import functools
import os

import numpy

from neurophys import course, stats
from neurophys.learning import continual
from neurophys.learning.physnet_protocol import VARIANTS, build, field_change, two_task_unit
from neurophys.learning.tasks import permuted_mnist
from neurophys.plots import gpe as gplot

ctx = course.start("03")
n_train = ctx.pick(quick=640, default=51200, full=None)       # images per task (None = all 60 000)
n_test = ctx.pick(quick=200, default=2000, full=None)         # None = all 10 000
epochs = ctx.pick(quick=1, default=1, full=5)                 # per task (the document: 5)
seeds = ctx.pick(quick=[ctx.seed], default=[ctx.seed + k for k in range(2)],
                 full=[ctx.seed + k for k in range(3)])
variants = ctx.pick(quick=["faithful", "control", "fieldonly"], default=["faithful", "control"],
                    full=list(VARIANTS))
batch_size, lr = 128, 1e-3                                     # the document's
n_field_images = ctx.pick(quick=200, default=1000, full=1000)  # test images for the attractor figure
PERM_SEED = 1234                                               # one fixed permutation for every run
DOC = {"task1_accuracy": 0.9886, "task2_accuracy": 0.9593, "task1_after_task2": 0.7243, "forgetting": 0.2643}
ctx.log(f"{n_train or 60000} training / {n_test or 10000} test images per task, {epochs} epoch(s) per task, "
        f"variants {variants}, seeds {seeds}")

# %% [markdown]
# ## 1. How much does the field move?
# Before training: inject test images through the untrained encoder, evolve, and compare.

# %%
probe = permuted_mnist(n_tasks=1, n_train=1, n_test=256, seed=PERM_SEED, normalise="standard")[0].x_test
net0 = build("faithful", ctx.rng(0))
change_init, growth_init, rms_init = field_change(net0, probe)
ctx.log(f"untrained faithful net: 5 Euler steps change the field by {100 * change_init:.1f} % "
        f"and its norm by {100 * growth_init:+.3f} %; rms |ψ₀| = {rms_init:.3f}, so g|ψ|² ≈ "
        f"{0.3 * rms_init ** 2:.1e}: the nonlinearity is negligible and the step is a linear Schrödinger step")
if "moresteps" in variants:
    change_more = field_change(build("moresteps", ctx.rng(0)), probe)[0]
    ctx.log(f"split-step for t = 2 (the 'moresteps' variant) changes it by {100 * change_more:.0f} %")

# %% [markdown]
# ## 2. Task 1 (MNIST), then task 2 (permuted MNIST), for every variant and seed
# One unit per (variant, seed). The first seed of the faithful net also reports its evolved
# field per digit after each task (section 4).

# %%
unit = functools.partial(two_task_unit, n_train=n_train, n_test=n_test, epochs=epochs, batch_size=batch_size,
                         lr=lr, perm_seed=PERM_SEED)
# Variant by variant, the document's network and its control first: an interrupted full run
# (hours) has the headline comparison over every seed before it starts the other variants.
units = [{"variant": v, "seed": s} for v in variants for s in seeds]
# the attractor maps: one extra keyword for the first faithful unit
units[0]["field_images"] = n_field_images
# Two units at a time in the default tier (two processes, one BLAS thread each): on a 2-core
# machine the four units take half the wall time, same numbers. `--jobs N` sets another count.
if ctx.tier == "default" and ctx.jobs == 1 and ctx.scheduler is None:
    ctx.jobs = min(2, os.cpu_count() or 1)
measured = ctx.sweep(unit, units)

results, epoch_times, margins, fields_unit = {v: [] for v in variants}, {v: [] for v in variants}, [], None
diverged = {v: [] for v in variants}
for u, out in zip(units, measured):
    v = u["variant"]
    if out.get("diverged"):       # NaN logits: the unit stopped there and is left out of the means below
        d = out["diverged"]
        diverged[v].append(u["seed"])
        ctx.log(f"{v:18s} seed {u['seed']}: DIVERGED at task {d['task']}, epoch {d['epoch']}, batch {d['batch']} "
                f"(largest Euler dt·ω_max met: {out['euler_max_dt_omega']})")
        continue
    R = numpy.array([[out["R"][0][0], numpy.nan], out["R"][1]], dtype=float)
    results[v].append(R)
    epoch_times[v].extend(out["seconds_per_epoch"])
    if v == "faithful":
        margins.append(out["euler_max_dt_omega"])
        if "field_density" in out:
            fields_unit = out
    ctx.log(f"{v:18s} seed {u['seed']}: task1 {R[0, 0]:.4f}  task2 {R[1, 1]:.4f}  task1 after task2 {R[1, 0]:.4f}  "
            f"forgetting {continual.forgetting(R):.4f}  ({out['cpu_seconds']:.0f} s CPU)")
n_seen = measured[0]["n_train"]

# %% [markdown]
# ## 3. The numbers: mean ± std over seeds
# ± is the sample standard deviation over seeds (ddof = 1, `neurophys.stats.spread`). The
# variants share seeds (same initialisation stream, same minibatch order), so the faithful
# net and its control are compared pair by pair (`neurophys.stats.paired`).

# %%
metrics = {}
for variant, Rs in results.items():
    prefix = "" if variant == "faithful" else f"{variant}_"
    metrics[prefix + "n_diverged"] = len(diverged[variant])      # which seeds: settings["diverged_seeds"]
    if not Rs:
        ctx.log(f"{variant:18s} diverged in every seed: no accuracies to report")
        continue
    cols = {"task1_accuracy": [R[0, 0] for R in Rs], "task2_accuracy": [R[1, 1] for R in Rs],
            "task1_after_task2": [R[1, 0] for R in Rs], "forgetting": [continual.forgetting(R) for R in Rs]}
    for key, vals in cols.items():
        sp = stats.spread(vals)
        metrics[prefix + key] = sp["mean"]
        metrics[prefix + key + "_std"] = sp["std"]
        metrics[prefix + key + "_min"] = float(numpy.min(vals))
    ctx.log(f"{variant:18s} " + "  ".join(f"{k} {metrics[prefix + k]:.4f}±{metrics[prefix + k + '_std']:.4f}"
                                          for k in cols))

# The verdict on the document's claim: does the physics change forgetting beyond the seed-to-seed spread?
for variant, ref in (("faithful", "control"), ("splitstep", "control"), ("moresteps", "control"),
                     ("fieldonly", "fieldonly_control"), ("fieldonly_splitstep", "fieldonly_control")):
    if variant not in results or ref not in results:
        continue
    p = "" if variant == "faithful" else variant + "_"
    if diverged[variant] or diverged[ref]:      # pairs need both members of a seed
        ctx.log(f"forgetting {variant} − {ref}: not compared (diverged seeds {diverged[variant]} / {diverged[ref]})")
        continue
    f_variant = [continual.forgetting(R) for R in results[variant]]
    f_ref = [continual.forgetting(R) for R in results[ref]]
    pair = stats.paired(f_variant, f_ref)
    # the 95 % t interval of the mean per-seed difference: does it exclude zero?
    interval = stats.spread(numpy.subtract(f_variant, f_ref))
    diff, sd, lo, hi = pair["mean_diff"], pair["std_diff"], interval["ci95_low"], interval["ci95_high"]
    metrics[f"{p}forgetting_minus_{ref}"] = diff
    metrics[f"{p}forgetting_minus_{ref}_std"] = sd
    metrics[f"{p}forgetting_minus_{ref}_ci95_low"] = lo
    metrics[f"{p}forgetting_minus_{ref}_ci95_high"] = hi
    metrics[f"{p}forgetting_minus_{ref}_t_p_value"] = pair["t_p_value"]
    verdict = ("with one seed there is no spread to estimate" if pair["n"] < 2 else
               ("a real difference: its 95 % interval excludes 0" if lo > 0 or hi < 0 else
                "not distinguishable from 0: its 95 % interval includes 0"))
    ctx.log(f"forgetting {variant} − {ref} = {diff:+.4f} ± {sd:.4f} over {pair['n']} paired seed(s), 95 % interval "
            f"[{lo:+.3f}, {hi:+.3f}]: {verdict} (paired t p = {pair['t_p_value']:.2g})")

metrics.update({"field_change_init": change_init, "field_norm_growth_init": growth_init, "field_rms_init": rms_init,
                "euler_max_dt_omega": float(numpy.max(margins))})
if fields_unit is not None:
    for key in ("field_change_trained", "field_norm_growth_trained", "field_rms_trained"):
        metrics[key] = fields_unit[key]
    ctx.log(f"trained faithful net: the field changes by {100 * metrics['field_change_trained']:.1f} % "
            f"(norm {100 * metrics['field_norm_growth_trained']:+.3f} %, rms |ψ₀| {metrics['field_rms_trained']:.3f}); "
            f"largest Euler dt·ω_max met in training {metrics['euler_max_dt_omega']:.3f} (refused above 1)")
if "moresteps" in variants:
    metrics["moresteps_field_change_init"] = change_more

# Speed: wall seconds per epoch on this tier's subset, scaled to the 60 000 images of a full epoch.
spe = {}
for variant, secs in epoch_times.items():
    if not secs:                   # every seed diverged: no whole epoch to time
        continue
    spe[variant] = float(numpy.mean(secs)) * 60000 / n_seen
    metrics[f"{'' if variant == 'faithful' else variant + '_'}seconds_per_epoch"] = spe[variant]
full_estimate_h = sum(spe.get(v, spe["faithful"]) for v in VARIANTS) * 10 * 3 / 3600   # 5 + 5 epochs, 3 seeds
ctx.log("seconds per 60k-image epoch (measured here, scaled): " + ", ".join(f"{v} {s:.0f}" for v, s in spe.items())
        + f"; full tier ≈ {full_estimate_h:.1f} h of one core on this machine (split it with --jobs)")

# %% [markdown]
# ## 4. Field "attractors": the mean field per digit, after task 1 and after task 2
# The document's next step was to "visualize field attractors". For the faithful net
# (first seed) we push task-1 test images through the trained network and average
# the evolved field per digit: mean |ψ|² and the phase of the mean ψ. If the field held a
# memory of task 1, these maps would survive task 2; we measure how much they move.

# %%
import matplotlib.pyplot as plt  # noqa: E402

if fields_unit is not None:
    dens = [numpy.array(d) for d in fields_unit["field_density"]]
    phases = [numpy.array(p) for p in fields_unit["field_phase"]]
    corr = [float(numpy.corrcoef(dens[0][k].ravel(), dens[1][k].ravel())[0, 1]) for k in range(10)]
    metrics["attractor_density_correlation"] = float(numpy.mean(corr))
    ctx.log(f"per-digit mean |ψ|² after task 1 vs after task 2: correlation {numpy.mean(corr):.3f} (mean over digits)")
    fig = gplot.class_fields_figure(dens, phases, ["after task 1", "after task 2"],
                                    suptitle="faithful PhysNet: evolved field per digit (task-1 test images)")
    ctx.savefig(fig, "field_attractors.png")

# A bar chart of the accuracies and forgetting per variant (mean ± std over seeds).
names = [v for v in results if results[v]]
fig, ax = plt.subplots(figsize=(7, 3.4))
for k, (key, label) in enumerate((("task1_accuracy", "task 1"), ("task2_accuracy", "task 2"),
                                  ("task1_after_task2", "task 1 after task 2"), ("forgetting", "forgetting"))):
    means = [metrics[("" if v == "faithful" else v + "_") + key] for v in names]
    stds = [numpy.nan_to_num(metrics[("" if v == "faithful" else v + "_") + key + "_std"]) for v in names]
    ax.bar(numpy.arange(len(names)) + 0.2 * (k - 1.5), means, 0.2, yerr=stds, label=label, capsize=2)
ax.set_xticks(numpy.arange(len(names)))
ax.set_xticklabels(names, rotation=15, fontsize=8)
ax.set_ylim(0, 1.05)
ax.set_title(f"{ctx.tier} tier: {n_seen} images/task, {epochs} epoch(s)/task, {len(seeds)} seed(s)", fontsize=9)
ax.legend(fontsize=7, ncol=4, loc="lower center")
fig.tight_layout()
ctx.savefig(fig, "forgetting.png")

# %% [markdown]
# ## What it means (read the numbers in `results.json`; the lesson logs a verdict for each)
# * **Both networks learn.** In the default tier the faithful net and the control reach
#   ≥ 95 % on task 1 for every seed (`task1_accuracy_min`, `control_task1_accuracy_min`) and
#   learn task 2 far above chance: the forgetting numbers below compare trained networks.
# * **The physics block is close to an identity map.** Five Euler steps of 0.01 change the
#   injected field by the fraction `field_change_init` (≈ 10 %, almost all of it the
#   Laplacian acting on a pixel-rough field; the amplitude is so small at first that g|ψ|²
#   does nothing). Training grows the field (`field_rms_trained`) and pushes the unchecked
#   Euler to or past its stability limit (`euler_max_dt_omega`). Below the limit five steps
#   can at most multiply a mode by √2⁵ ≈ 5.7; past it, a field blows up. How far a run goes
#   varies: in the committed default run (seed 0) dt·ω_max reached 1.30 and on 256 test images
#   the evolved field differs from the injected one by 78 times its norm (`field_change_trained`;
#   the norm grew 6,100-fold), an earlier build of the code, equal up to float32 rounding,
#   stopped at 1.03 and a 27 % change. The net classifies regardless (task 1 ≈ 97 %): the
#   convolutions after the field learn to read whatever it becomes.
# * **The control decides the claim.** `forgetting_minus_control` compares the faithful net
#   with the same net without physics, seed by seed, and its 95 % interval
#   (`forgetting_minus_control_ci95_low/high`) says whether the difference is more than the
#   seed-to-seed noise. Forgetting here is that of an ordinary network fine-tuned on a second
#   task, and it swings widely from seed to seed (`forgetting_std`), while a faithful net and
#   its control that share a seed (the same initial weights, the same batches) forget alike:
#   pairing by seed removes the swing, and what is left is what the field changes.
# * **On the document's protocol** (`--full`, 60 000 images, 5 + 5 epochs, seeds 0-2,
#   `figures/03_physnet_forgetting/full/results.json`) the faithful net reaches the
#   document's accuracies (task 1 0.9834 ± 0.0010 against 0.9886, task 2 0.9593 ± 0.0012
#   against 0.9593) but forgets 0.645 ± 0.109 of task 1, not 0.2643. The control forgets
#   0.538 ± 0.051: the field adds +0.107 ± 0.090 forgetting, and with three seeds that is
#   not distinguishable from zero (95 % interval about [−0.12, +0.33], p = 0.17). Letting the
#   field move more does not change the picture: split-step for the same time forgets
#   0.484 ± 0.087, split-step for t = 2 (`moresteps`, the field changes by 141 % at
#   initialisation) 0.413 ± 0.232; paired with the control, −0.054 (interval [−0.21, +0.11])
#   and −0.125 ([−0.82, +0.57]): no variant's difference from the control is more than noise.
# * **The field as the only hidden layer** (the document's words: the field "replaces the
#   dense hidden layers"): under the document's unchecked Euler it *diverges* in every seed,
#   in task 1's second epoch, once training has grown the field past Euler's stability limit
#   (dt·ω_max 2.5-2.7 before |ψ|² overflows; `settings.diverged_seeds`). With split-step
#   (`fieldonly_splitstep_*`) it trains (task 1 0.966 ± 0.007) and forgets 0.042 ± 0.021;
#   its no-physics twin (`fieldonly_control`, a shallow quadratic layer) learns task 1 to
#   0.968 and forgets 0.034 ± 0.024 (paired +0.009 ± 0.041, p = 0.75). A shallow net
#   forgets far less than the CNN here, with or without a field: the architecture, not the
#   physics, sets how much is forgotten.
# * **Field "attractors".** The per-digit mean fields look like pixel noise: the field is a
#   reshaped dense vector with no spatial structure for the dynamics to act on, and the
#   maps move when task 2 is learnt (`attractor_density_correlation`).
# * The default tier trains one epoch of 51 200 images per task (the document: five of
#   60 000), so its accuracies sit a little below the document's; the full tier runs the
#   document's protocol (`seconds_per_epoch` says how long an epoch takes here).
#
# ## Exercises
# 1. Set `n_steps=50` in the faithful variant: Euler's `max_dt_omega` grows with the field;
#    when does training hit the stability refusal?
# 2. Make V learnable: `GPELayer(param_grads=True)` returns ∂L/∂V; add it to the optimizer.
# 3. Train three permuted tasks and compute `continual.summarise(R)`.
# 4. Replace Adam with SGD (lr 0.01). Does forgetting change more than the physics did?
#
# **Coding exercises, checked automatically.** `python -m neurophys exercises 03` writes
# `neurophys-exercises/ex03.py`; fill in its functions, then run `python -m neurophys check 03`
# (one verdict per exercise: PASS, FAIL with a hint, or NOT STARTED):
# - `conv2d_backward`: the backward of the channels-last convolution (∂L/∂x, ∂L/∂W, ∂L/∂b),
#   checked by finite differences.
# - `gpe_euler_backward`: the adjoint of one GPE Euler step for a complex field, checked by
#   finite differences over Re ψ and Im ψ.

# %%
ctx.finish(metrics=metrics, settings={
    "n_train_per_task": n_seen, "n_test": measured[0]["n_test"], "epochs_per_task": epochs,
    "steps_per_task": measured[0]["steps_per_task"], "seeds": seeds, "variants_run": variants,
    "diverged_seeds": diverged,
    "batch_size": batch_size, "optimizer": "adam", "lr": lr,
    "one_optimizer_for_both_tasks": True, "normalise": "standard (mean 0.1307, std 0.3081)",
    "permutation": f"one fixed permutation (seed {PERM_SEED}) applied after normalisation",
    "variants": {v: VARIANTS[v] for v in variants},
    "spread": "± is the sample std over seeds (ddof=1, neurophys.stats.spread); faithful vs control paired by seed",
    "subset_note": (f"{ctx.tier} tier: a subset of MNIST ({n_seen} images per task, {epochs} epoch(s) each), NOT "
                    "the document's protocol; use --full for 60000 images and 5 + 5 epochs")
                   if not ctx.full else "the document's protocol",
    "seconds_per_epoch_note": "wall seconds per epoch on this tier, scaled to 60000 images",
    "full_tier_estimate_hours_this_machine": round(full_estimate_h, 2),
    "document_claims": DOC,
})
