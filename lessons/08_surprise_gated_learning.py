# %% [markdown]
# # Lesson 08 — Surprise-gated ("dopamine") learning
#
# **Question.** A brain does not rewire on every experience; it learns when it is
# *surprised*. Document 004 proposes the same for EqProp: a global signal — how far
# reality had to pull the network during the nudge — switches learning off when the
# prediction was good and spikes it when it was bad. Can we skip most updates and
# keep the accuracy? How much compute does it save, really?
#
# **Physics.** The "energy jump" of the nudge, [F(s^β) − E(s⁰)]/β, and the cost at
# the free equilibrium, C(s⁰) = ½‖y⁰ − t‖², are the same signal as β → 0:
#
#     dF(s^β)/dβ |_{β=0} = ∂F/∂s · ds/dβ + C(s⁰) = C(s⁰),     since ∂E/∂s = 0 at s⁰.
#
# The cost needs only the free phase — which we run anyway to predict — so gating on
# it lets a confident, correct example skip both nudged phases and the weight update.
# The modulator: learning rate 0 if C(s⁰) ≤ θ, `boost` × the rate above θ.
#
# **Experiment.** Train the same network three times for the same number of epochs: on
# every example, gated per batch, and gated with a pool of surprising examples; compare
# test accuracy, the fraction of examples not learned from, and the compute, counted in
# relaxation steps (deterministic) rather than in seconds (which measure the machine's load).

# %%
import functools

import numpy

from neurophys import backend as B
from neurophys import course, stats
from neurophys.data import load_mnist
from neurophys.learning.surprise import energy_jump, surprise_unit
from neurophys.models.eqprop import EqPropNet

ctx = course.start("08")
settings = dict(
    hidden=ctx.pick(quick=128, default=256, full=500),
    n_train=ctx.pick(quick=4000, default=None, full=None),
    n_test=ctx.pick(quick=1000, default=None, full=None),
    epochs=ctx.pick(quick=2, default=3, full=10),
    batch_size=32, eps=1.0, n_free=10, n_nudged=4, beta=0.5, lr=[0.2, 0.1],
    threshold=0.02,  # θ on C(s⁰) = ½‖y⁰ − t‖²
    boost=1.5,       # the rate multiplier for surprising examples
)
x_train, y_train, x_test, y_test = load_mnist(n_train=settings["n_train"], n_test=settings["n_test"])


def make_net():
    return EqPropNet([784, settings["hidden"], 10], eps=settings["eps"], n_free=settings["n_free"],
                     n_nudged=settings["n_nudged"], beta=settings["beta"], lr=settings["lr"], rng=ctx.rng())


# %% [markdown]
# ## Are the two surprise signals the same?
# On a network trained for one pass over 1000 images, compare the energy jump / β
# with the free-phase cost, test digit by test digit, for a large and a small β.

# %%
probe_net = make_net()
probe_net.learn(x_train[:1000], y_train[:1000], batch_size=32, rng=ctx.host_rng(5))
xs, ts = x_test[:300], probe_net.as_target(y_test[:300], 300)
s0 = probe_net.free_phase(xs)
cost0 = B.to_host(probe_net.cost(s0[-1], ts))
jumps = {b: B.to_host(energy_jump(probe_net, s0, ts, beta=b, n_steps=20)) for b in (0.5, 0.05)}
agreement = {b: float(numpy.corrcoef(cost0, j)[0, 1]) for b, j in jumps.items()}
ctx.log("correlation of energy jump/β with C(s⁰): " + ", ".join(f"β={b}: {r:.4f}" for b, r in agreement.items()))

import matplotlib.pyplot as plt  # noqa: E402

fig, ax = plt.subplots(figsize=(4.6, 4.2))
for b, j in jumps.items():
    ax.loglog(cost0 + 1e-6, j + 1e-6, ".", ms=4, alpha=0.6, label=f"β = {b} (r = {agreement[b]:.3f})")
lim = [1e-6, max(cost0.max(), 1) * 2]
ax.plot(lim, lim, "k:", lw=1, label="jump/β = C")
ax.set_xlabel("cost at the free equilibrium C(s⁰)")
ax.set_ylabel("energy jump [F(s^β) − E(s⁰)] / β")
ax.legend(fontsize=8)
ax.set_title("two surprise signals, one per test digit")
ctx.savefig(fig, "surprise_signals.png")

# %% [markdown]
# ## Ungated, gated per batch, gated with a pool — equal epochs
# Three runs from the same initial weights and the same example order:
#
# - **ungated**: plain EqProp, every example gets its two nudged phases and the update;
# - **gated per batch** (`gated_train_step`): every batch gets its free phase, only its
#   surprising examples (C(s⁰) > θ) get the nudged phases, on a sub-batch, and the
#   update at `boost` × the rate;
# - **gated with a pool** (`PooledGate`): the surprising examples and their free states
#   wait in a pool; only when 32 are waiting does a nudged phase run, on a full batch,
#   followed by one update (the same step per learned example as the per-batch gate).
#
# **Counting compute.** Wall time on a shared machine measures the neighbours; we count
# relaxation steps, which are deterministic. *Example-steps* (examples relaxed × steps)
# follow the arithmetic; *batch-steps* (steps per relaxation call) follow the fixed cost of
# each call, which dominates batches of 32 on a CPU. Plain EqProp spends
# n_free + 2·n_nudged = 18 of each per example / per batch. Each (mode, seed) is a unit of a
# sweep (`neurophys.learning.surprise.surprise_unit`); the default tier runs two seeds.

# %%
seeds = [ctx.seed + k for k in range(ctx.pick(quick=1, default=2, full=3))]   # --seed s: s, s+1, ...
modes = ("ungated", "gated", "pooled")
unit = functools.partial(surprise_unit, **{k: settings[k] for k in (
    "hidden", "n_train", "n_test", "epochs", "batch_size", "eps", "n_free", "n_nudged", "beta", "lr", "threshold",
    "boost")})
units = [{"mode": m, "seed": seed} for seed in seeds for m in modes]
by = {(u["mode"], u["seed"]): r for u, r in zip(units, ctx.sweep(unit, units))}
for (mode, seed), r in by.items():
    ctx.log(f"seed {seed} {mode:8s}: test {r['test_accuracy']:.4f} (per epoch {r['curve']}), not learned from "
            f"{r['skipped']:.3f}, relaxation steps {r['example_steps'] / r['ungated_example_steps']:.3f} "
            f"(examples) / {r['batch_steps'] / r['ungated_batch_steps']:.3f} (calls) of plain EqProp, "
            f"CPU {r['cpu_seconds']:.1f} s")


def saved(mode, kind):
    """1 − steps run / steps of plain EqProp, per seed."""
    return [1 - by[mode, s][f"{kind}_steps"] / by[mode, s][f"ungated_{kind}_steps"] for s in seeds]


acc = {m: [by[m, s]["test_accuracy"] for s in seeds] for m in modes}
diff = {m: stats.paired(acc[m], acc["ungated"]) for m in ("gated", "pooled")}
metrics = {f"{m}_test_accuracy": stats.spread(acc[m])["mean"] for m in modes}
metrics.update({f"{m}_test_accuracy_std": stats.spread(acc[m])["std"] for m in modes})
metrics.update({
    "updates_skipped": stats.spread([by["gated", s]["skipped"] for s in seeds])["mean"],
    "zero_cost_fraction": stats.spread([by["gated", s]["zero_cost_fraction"] for s in seeds])["mean"],
    "compute_saved": stats.spread(saved("pooled", "example"))["mean"],
    "compute_saved_calls": stats.spread(saved("pooled", "batch"))["mean"],
    "gated_compute_saved": stats.spread(saved("gated", "example"))["mean"],
    "gated_compute_saved_calls": stats.spread(saved("gated", "batch"))["mean"],
    "pooled_minus_ungated_accuracy": diff["pooled"]["mean_diff"],
    "gated_minus_ungated_accuracy": diff["gated"]["mean_diff"],
})
# CPU time of the training loops (process time, which the other programs on the machine do not
# inflate much, but which still depends on load and machine: reported, not the claim)
cpu = {m: sum(by[m, s]["cpu_seconds"] for s in seeds) for m in modes}
metrics["pooled_cpu_time_saved"] = 1 - cpu["pooled"] / cpu["ungated"]
metrics["gated_cpu_time_saved"] = 1 - cpu["gated"] / cpu["ungated"]
bar_met = metrics["compute_saved"] >= 0.25 and metrics["compute_saved_calls"] >= 0.25 \
    and abs(metrics["pooled_minus_ungated_accuracy"]) <= 0.005
ctx.log(f"pooled gate: saves {metrics['compute_saved']:.3f} of the relaxation steps ({metrics['compute_saved_calls']:.3f} "
        f"of the calls) at {100 * metrics['pooled_minus_ungated_accuracy']:+.2f} points of accuracy vs ungated "
        f"({'meets' if bar_met else 'misses'} the bar: >= 25 % saved within 0.5 point); per-batch gate: "
        f"{metrics['gated_compute_saved']:.3f} of the steps but {metrics['gated_compute_saved_calls']:.3f} of the calls")

fig, (a1, a2) = plt.subplots(1, 2, figsize=(9.5, 3.4))
ep = numpy.arange(1, settings["epochs"] + 1)
for mode, style in (("ungated", "o-"), ("gated", "s-"), ("pooled", "^-")):
    a1.plot(ep, 100 * numpy.asarray(by[mode, seeds[0]]["curve"]), style, label=mode)
a1.set_xlabel("epoch")
a1.set_ylabel("test accuracy (%)")
a1.set_title(f"seed {seeds[0]}")
a1.legend()
a1.grid(alpha=0.3)
labels = ["ungated", "gated\nper batch", "gated\npooled"]
run_ex = [1 - metrics["gated_compute_saved"] if m == "gated" else 1 - metrics["compute_saved"] if m == "pooled"
          else 1.0 for m in modes]
run_calls = [1 - metrics["gated_compute_saved_calls"] if m == "gated" else 1 - metrics["compute_saved_calls"]
             if m == "pooled" else 1.0 for m in modes]
a2.bar(numpy.arange(3) - 0.2, run_ex, 0.4, label="example-steps")
a2.bar(numpy.arange(3) + 0.2, run_calls, 0.4, label="relaxation calls")
a2.set_xticks(numpy.arange(3), labels)
a2.set_ylim(0, 1.05)
a2.set_ylabel("relaxation work / plain EqProp")
a2.set_title(f"θ = {settings['threshold']}, boost = {settings['boost']}")
a2.legend(fontsize=8)
fig.tight_layout()
ctx.savefig(fig, "gated_vs_ungated.png")

# %% [markdown]
# ## What it means
# - The energy jump of the nudge and the free-phase cost carry the same information
#   (exactly so as β → 0), so the cheap one is the better gate.
# - Once the network is decent, most examples are already predicted well; skipping
#   them costs little accuracy, while the surprising few still drive learning.
# - A surprise of exactly zero is common: the output units are clipped to [0, 1], so a
#   confident correct answer sits *exactly* on the one-hot target and its nudge moves
#   nothing — plain EqProp spends two nudged phases on it to compute a zero update.
#   `zero_cost_fraction` says how many of the examples were of that kind.
# - **Skipping updates is not skipping work.** The per-batch gate skips most examples'
#   nudged phases (`gated_compute_saved`, counted in example-steps), but a batch of 32
#   almost always holds a few surprising examples, so it still makes almost every nudged
#   relaxation call (`gated_compute_saved_calls`: 1 % in the default tier, 12 % in the
#   full tier, where more examples are learned). At batches of 32 on a CPU a call
#   costs mostly fixed overhead, which is why its measured time saving was small.
# - **The pool skips the calls themselves.** Waiting until 32 surprising examples are
#   pooled, the nudged phases run only once per several batches, on a full batch: the
#   example-steps and the calls fall together (`compute_saved`, `compute_saved_calls`).
#   The step per learned example is the per-batch gate's, so the accuracy matches the
#   ungated run. What cannot be saved is the free phase: every example needs its
#   prediction to measure its surprise, so the saving is bounded by 2·n_nudged /
#   (n_free + 2·n_nudged) = 8/18 ≈ 44 % here, however confident the network.
# - The pooled nudged phases start from free states computed a few batches earlier with
#   slightly older weights; with a handful of steps the symmetric ±β estimate still
#   lands close, which is why the pool does not hurt. Scaling the pooled step down by
#   the batches it waited for (`PooledGate(scale="seen")`) is the cautious variant: stable,
#   but it learns several times less per example and falls behind.
#
# ## Exercises
# 1. Gate on the energy jump instead of the cost (use `energy_jump`). What does it
#    cost in time, and why can it never save the nudged phase?
# 2. Raise θ until accuracy drops by a full point. Which digits does the gated
#    network get wrong that the ungated one gets right?
# 3. Set `boost=1`. Does the boost matter, or only the skipping?
# 5. Run `PooledGate` with `scale="seen"` (the pooled step divided by the batches it
#    waited for) and with a pool of 64. How do accuracy and the compute saved change?
# 4. In continual learning (lesson 07), a surprise gate would stay shut for a task
#    the network knows and open for a new one — why could that help against
#    forgetting, and why is it not enough on its own?
#
# **Coding exercises, checked automatically.** `python -m neurophys exercises 08` writes
# `neurophys-exercises/ex08.py`; fill in its functions, then run `python -m neurophys check 08`
# (one verdict per exercise: PASS, FAIL with a hint, or NOT STARTED):
# - `surprise_gate`: the surprise gate (which examples to learn, the learning-rate scale); a
#   gated run must learn and skip.
# - `energy_jump`: the energy-jump surprise [F(s^β) − E(s⁰)]/β; it must lie in [0, C(s⁰)] and
#   tend to C(s⁰) as β → 0.

# %%
ctx.finish(
    metrics={
        **metrics,
        "surprise_correlation_beta_0.5": agreement[0.5],
        "surprise_correlation_beta_0.05": agreement[0.05],
    },
    settings={**settings, "seeds": seeds,
              "curves": {f"{m}_seed{s}": by[m, s]["curve"] for m in modes for s in seeds},
              "skipped_per_epoch": {f"gated_seed{s}": by["gated", s]["skipped_curve"] for s in seeds},
              "compute_measure": "relaxation steps: example-steps (examples x steps) and calls (steps per "
                                 "relaxation call), 1 - gated / plain EqProp over the whole training",
              "cpu_time_measure": "process CPU time of the training loops, measured under the load of the "
                                  "moment (not idle); not a headline",
              "pooled_gate": "PooledGate(scale='batch'): nudged phases on full pools of 32 surprising examples"},
)
