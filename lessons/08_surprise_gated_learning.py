# %% [markdown]
# # Lesson 08 — Surprise-gated ("dopamine") learning
#
# **Question.** A brain does not rewire on every experience; it learns when it is
# *surprised*. Document 004 proposes the same for EqProp: a global signal — how far
# reality had to pull the network during the nudge — switches learning off when the
# prediction was good and spikes it when it was bad. Can we skip most updates and
# keep the accuracy? How much time does it save, really?
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
# **Experiment.** Train the same network twice for the same number of epochs, once
# on every example, once gated (every batch gets its free phase; only its surprising
# examples get the nudged phases and the update, at `boost` × the rate); compare test accuracy, the fraction of examples
# whose update was skipped, and the compute time (process CPU time, which the other
# programs sharing the machine do not inflate; wall time is logged too).

# %%
import time

import numpy

from neurophys import backend as B
from neurophys import course
from neurophys.data import load_mnist, minibatch_indices
from neurophys.learning.surprise import SurpriseGate, energy_jump, gated_train_step
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
# ## Ungated vs gated, equal epochs

# %%
runs = {}
for mode in ("ungated", "gated"):
    net = make_net()
    # ungated: threshold None, every example gets its nudged phases and update (plain EqProp)
    gate = SurpriseGate(None) if mode == "ungated" else SurpriseGate(settings["threshold"], settings["boost"])
    shuffle = ctx.host_rng(1)  # the same example order for both
    learned = seen = zero_cost = 0
    cpu = wall = learn_cpu = 0.0
    curve, skipped_curve = [], []
    for epoch in ctx.progress(range(settings["epochs"]), desc=mode):
        ep_learned = ep_seen = 0
        c0, w0 = time.process_time(), time.perf_counter()
        for idx in minibatch_indices(len(x_train), settings["batch_size"], shuffle):
            info = gated_train_step(net, x_train[idx], y_train[idx], gate)
            ep_learned += info["n_learned"]
            ep_seen += info["n_examples"]
            learn_cpu += info["learn_seconds"]
            zero_cost += int(B.to_host((info["surprise"] == 0).sum()))
        B.synchronize()
        cpu += time.process_time() - c0
        wall += time.perf_counter() - w0
        learned, seen = learned + ep_learned, seen + ep_seen
        curve.append(net.accuracy(x_test, y_test))
        skipped_curve.append(1 - ep_learned / ep_seen)
        ctx.log(f"{mode} epoch {epoch + 1}: test {curve[-1]:.4f}, skipped {skipped_curve[-1]:.3f}")
    runs[mode] = dict(test_accuracy=curve[-1], curve=curve, skipped=1 - learned / seen,
                      skipped_curve=skipped_curve, cpu_seconds=cpu, wall_seconds=wall, zero_cost=zero_cost / seen,
                      learn_cpu_seconds=learn_cpu)
    ctx.log(f"{mode}: test accuracy {curve[-1]:.4f}, updates skipped {runs[mode]['skipped']:.3f}, "
            f"CPU {cpu:.1f} s, wall {wall:.1f} s")

time_saved = 1 - runs["gated"]["cpu_seconds"] / runs["ungated"]["cpu_seconds"]
time_saved_wall = 1 - runs["gated"]["wall_seconds"] / runs["ungated"]["wall_seconds"]
learning_time_saved = 1 - runs["gated"]["learn_cpu_seconds"] / runs["ungated"]["learn_cpu_seconds"]
ctx.log(f"time saved: {time_saved:.3f} (CPU time), {time_saved_wall:.3f} (wall clock); "
        f"in the learning part alone (nudged phases + update): {learning_time_saved:.3f}")

fig, (a1, a2) = plt.subplots(1, 2, figsize=(9, 3.4))
ep = numpy.arange(1, settings["epochs"] + 1)
for mode, style in (("ungated", "o-"), ("gated", "s-")):
    a1.plot(ep, 100 * numpy.asarray(runs[mode]["curve"]), style, label=mode)
a1.set_xlabel("epoch")
a1.set_ylabel("test accuracy (%)")
a1.legend()
a1.grid(alpha=0.3)
a2.bar(ep, runs["gated"]["skipped_curve"], color="C1")
a2.set_ylim(0, 1)
a2.set_xlabel("epoch")
a2.set_ylabel("fraction of updates skipped")
a2.set_title(f"θ = {settings['threshold']}, boost = {settings['boost']}")
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
#   `zero_cost_fraction` says how many of the skipped examples were of that kind; the
#   rest were skipped because their cost was small but not zero.
# - The saving is smaller than the fraction skipped: every example still needs its
#   free phase (the prediction that measures the surprise), and only the nudged
#   phases and the update are saved (`learning_time_saved` measures that part alone).
#   Compare `updates_skipped` with `time_saved`: with batches of 32 a relaxation step
#   costs mostly fixed overhead (a few NumPy calls), so relaxing 10 surprising examples
#   instead of 32 is not 3× cheaper; only batches with no surprise at all are free.
# - We also tried pooling the surprising examples into full batches of 32 (so every
#   learning step is full-sized): it saved more time but training became unstable —
#   a batch made only of hard examples is a much larger step in their direction.
#
# ## Exercises
# 1. Gate on the energy jump instead of the cost (use `energy_jump`). What does it
#    cost in time, and why can it never save the nudged phase?
# 2. Raise θ until accuracy drops by a full point. Which digits does the gated
#    network get wrong that the ungated one gets right?
# 3. Set `boost=1`. Does the boost matter, or only the skipping?
# 5. Pool the surprising examples into full batches (keep their free states) and
#    learn from a pool whenever it holds 32. Measure time and accuracy; then scale the
#    step by the fraction of surprising examples. Why does that restore stability?
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
        "gated_test_accuracy": runs["gated"]["test_accuracy"],
        "ungated_test_accuracy": runs["ungated"]["test_accuracy"],
        "updates_skipped": runs["gated"]["skipped"],
        "time_saved": time_saved,
        "time_saved_wall": time_saved_wall,
        "zero_cost_fraction": runs["gated"]["zero_cost"],
        "learning_time_saved": learning_time_saved,
        "gated_cpu_seconds": runs["gated"]["cpu_seconds"],
        "ungated_cpu_seconds": runs["ungated"]["cpu_seconds"],
        "surprise_correlation_beta_0.5": agreement[0.5],
        "surprise_correlation_beta_0.05": agreement[0.05],
    },
    settings={**settings, "curves": {m: r["curve"] for m, r in runs.items()},
              "skipped_per_epoch": runs["gated"]["skipped_curve"],
              "time_saved_measure": "1 - CPU time gated / CPU time ungated (training loop only)"},
)
